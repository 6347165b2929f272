#!/bin/bash
# Paired SMTP runs of two builds: alternates `node bench/smtp-throughput.js --servers mailintake`
# between two checkouts (each built with `npm run build`), so that both see the same drift of a
# noisy machine; prints each run and the medians per build and sender count.
#
#   bench/ab-smtp.sh DIR_A DIR_B [rounds=3] [senders=1,8] [warmup=1000]
#   e.g. git worktree add ../base <commit> && (cd ../base && npm ci && npm run build)
#        bench/ab-smtp.sh ../base . 5 1
set -euo pipefail
A=${1:?checkout A}
B=${2:?checkout B}
ROUNDS=${3:-3}
SENDERS=${4:-1,8}
WARMUP=${5:-1000}
out=$(mktemp)
for _ in $(seq "$ROUNDS"); do
  for d in "$A" "$B"; do
    (cd "$d" && node bench/smtp-throughput.js --servers mailintake --senders "$SENDERS" --warmup "$WARMUP") |
      awk -v d="$d" '$1 == "mailintake" { print d, $2, $4, $6; fflush() }' | tee -a "$out"
  done
done
echo "checkout senders median-msg/s median-cpu-ms runs"
awk '{ k = $1 " " $2; r[k] = r[k] " " $3; c[k] = c[k] " " $4 }
  END { for (k in r) print k, r[k], "|", c[k] }' "$out" |
  while read -r dir s rest; do
    rates=${rest%%|*}
    cpus=${rest#*|}
    med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    echo "$dir $s $(echo "$rates" | med) $(echo "$cpus" | med) [$rates ]"
  done
rm -f "$out"
