#!/bin/sh
# Runs the reliability suites (docs/RELIABILITY.md). Usage:
#   scripts/fault-suite.sh            short form (as in CI): fault, property and security suites
#   scripts/fault-suite.sh long       long form: FAULT_LONG=1 (10,000 messages, >= 100 kills and
#                                     >= 100 connection faults; 20x the property inputs) + the
#                                     100,000-message hostile-parse bench
# Needs root for the full-disk test (tmpfs mount) and Dovecot/Postfix/swaks (scripts/test-deps.sh).
set -eu
cd "$(dirname "$0")/.."
npm run build
if [ "${1:-short}" = long ]; then
  FAULT_LONG=1 npx vitest run test/fault test/property test/security
  node bench/hostile-parse.js 100000
else
  npx vitest run test/fault test/property test/security
fi
