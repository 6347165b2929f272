/** `mailintake check`: validate config; log in to each pull source and list what it offers. */
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { openSqliteStore } from '../store/sqlite/store.js';
import { Intake } from '../core/intake.js';
import { Spool } from '../store/spool.js';
import { createSource } from '../sources/registry.js';
import { EXIT } from './common.js';

export async function checkCommand(path: string, opts: { offline: boolean }): Promise<number> {
  const { config, baseDir } = loadConfig(path);
  const out: Record<string, unknown> = {
    config: path,
    ok: true,
    sources: Object.keys(config.sources),
    routes: config.routes.map((r) => r.name),
    handlers: Object.keys(config.handlers),
    push: config.push ? config.push.listen : null,
  };
  let code: number = EXIT.OK;
  if (!opts.offline && Object.keys(config.sources).length) {
    const log = createLogger({ level: config.log.level });
    const store = openSqliteStore(':memory:');
    const intake = new Intake(store, new Spool(config.store.spool));
    const reports: Record<string, unknown> = {};
    for (const [name, sc] of Object.entries(config.sources)) {
      const src = await createSource({
        name,
        config: sc,
        intake,
        store,
        log: log.child({ source: name }),
        onOutcome: () => () => undefined,
        awaitOutcomes: () => Promise.resolve(),
        baseDir,
      });
      const r = await src.check().catch((err: unknown) => ({ ok: false, error: (err as Error).message }));
      reports[name] = r;
      if (!r.ok) code = EXIT.UNAVAILABLE;
    }
    out.checks = reports;
    store.close();
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return code;
}
