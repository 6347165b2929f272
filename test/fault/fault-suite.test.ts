// The fault suite (issue 9): IMAP + POP3 + SMTP through one worker process under kill -9, Dovecot
// restarts, cut/stalled/slow/refused connections, a webhook that answers 503 for a while and a
// handler that hangs. Short form in CI (a few hundred messages); `FAULT_LONG=1` runs the long form
// (10,000 messages, >= 100 kills, >= 100 connection faults). See docs/RELIABILITY.md.
// Needs the built CLI (`npm run build`; or MAILINTAKE_CLI=/path/to/dist/cli/main.js).
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.js';
import { HAVE_CLI, LONG } from './kit.js';

const SHORT = {
  imap: 150,
  pop3: 100,
  smtp: 100,
  minKills: 4,
  minNetFaults: 7,
  chaosMs: 45_000,
  finishMs: 60_000,
  hangRate: 0.02,
  hookRate: 0.1,
};
const LONG_FORM = {
  imap: 4000,
  pop3: 3000,
  smtp: 3000,
  minKills: 100,
  minNetFaults: 100,
  chaosMs: 40 * 60_000,
  finishMs: 10 * 60_000,
  hangRate: 0.01,
  hookRate: 0.1,
};

describe.skipIf(!HAVE_CLI)(`fault suite (${LONG ? 'long' : 'short'} form)`, () => {
  it(
    'every message handled exactly once or dead with a reason; nothing acknowledged before its outcome',
    async () => {
      const r = await runChaos({ ...(LONG ? LONG_FORM : SHORT), log: (l) => console.log(`[fault] ${l}`) });
      const summary = { ...r, lost: r.lost.length, duplicates: r.duplicates.length, ackedWithoutLedger: r.ackedWithoutLedger.length, unsettled: r.unsettled.length, deadWithoutReason: r.deadWithoutReason.length, wrongOutcome: r.wrongOutcome.length }; // prettier-ignore
      console.log(`[fault] ${JSON.stringify(summary)}`);
      expect(r.ackedWithoutLedger).toEqual([]);
      expect(r.lost.slice(0, 20)).toEqual([]);
      expect(r.duplicates.slice(0, 20)).toEqual([]);
      expect(r.unsettled.slice(0, 20)).toEqual([]);
      expect(r.deadWithoutReason).toEqual([]);
      expect(r.wrongOutcome.slice(0, 20)).toEqual([]);
      expect(r.hung).toBe(0);
      const want = LONG ? LONG_FORM : SHORT;
      expect(r.kills).toBeGreaterThanOrEqual(want.minKills);
      const net = r.faults.cut! + r.faults.stall! + r.faults.slow! + r.faults.drop! + r.faults.dovecotRestart! + r.faults.kick!; // prettier-ignore
      expect(net).toBeGreaterThanOrEqual(want.minNetFaults);
      expect(r.ledger.dead).toBeGreaterThan(0); // the hanging handler's messages, with reasons
    },
    LONG ? 4 * 3600_000 : 170_000,
  );
});
