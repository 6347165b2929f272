/** Command handler: no shell, exit-code mapping, stdin carries the exact bytes. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { tempDir, testApp } from '../../helpers/app.js';

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function runWith(argv: string[], raw: Buffer, extra: Record<string, unknown> = {}) {
  const dir = tempDir();
  app = testApp(dir, {
    pipeline: { maxAttempts: 2, backoffBase: 1, backoffMax: 2 },
    routes: [{ name: 'all', handlers: ['cmd'] }],
    handlers: { cmd: { command: { argv, ...extra } } },
  });
  app.pipeline.start();
  const r = await app.intake.receive(raw, {
    envelope: { mailFrom: null, rcptTo: [] },
    source: { kind: 'replay', source: 'replay', positionKey: 'c:1' },
  });
  await app.pipeline.idle({ retries: true });
  return { dir, row: app.store.get(r.row.id)! };
}

describe('command handler', () => {
  it('passes the raw bytes on stdin', async () => {
    const out = join(tempDir(), 'out.eml');
    const raw = Buffer.concat([
      Buffer.from('Subject: x\r\n\r\n'),
      Buffer.from([0xff, 0x00, 0xe9, 0x0d, 0x0a]),
    ]);
    const { row } = await runWith(['/bin/sh', '-c', `cat > ${out}`], raw);
    expect(row.status).toBe('delivered');
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(
      createHash('sha256').update(raw).digest('hex'),
    );
  });

  it('never uses a shell: metacharacters in a subject cannot run anything', async () => {
    const marker = join(tempDir(), 'pwned');
    const raw = Buffer.from(`Subject: $(touch ${marker}); touch ${marker}\r\n\r\nbody\r\n`);
    const { row } = await runWith(['/bin/echo', 'static-arg'], raw);
    expect(row.status).toBe('delivered');
    expect(existsSync(marker)).toBe(false);
  });

  it('maps exit 75 to retry (then dead after maxAttempts) and other codes to dead', async () => {
    const t = await runWith(
      ['/bin/sh', '-c', 'cat >/dev/null; exit 75'],
      Buffer.from('Subject: t\r\n\r\nb\r\n'),
    );
    expect(t.row).toMatchObject({ status: 'dead', attempts: 2 });
    await app?.close();
    const p = await runWith(
      ['/bin/sh', '-c', 'echo bad input >&2; exit 3'],
      Buffer.from('Subject: p\r\n\r\nb\r\n'),
    );
    expect(p.row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(p.row.reason).toMatch(/exit 3: bad input/);
    await app?.close();
    const missing = await runWith(['/nonexistent/program'], Buffer.from('Subject: m\r\n\r\nb\r\n'));
    expect(missing.row).toMatchObject({ status: 'dead', attempts: 1 });
  });
});
