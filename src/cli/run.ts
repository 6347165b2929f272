/** `mailintake run`: the worker, with graceful shutdown (second signal forces exit). */
import { createApp } from '../app.js';
import { startService } from '../service/run.js';
import { EXIT, load } from './common.js';

export async function runCommand(
  configFlag: string | undefined,
  opts: { push: boolean; once: boolean },
): Promise<number> {
  const { loaded, log } = load(configFlag);
  const app = createApp(loaded.config, loaded.baseDir, log);
  const svc = await startService(app, opts);
  const deadline = loaded.config.shutdownTimeout;
  let stopping: Promise<number> | null = null;
  const stop = (signal: string): Promise<number> => {
    if (stopping) {
      log.warn({ action: 'force-exit', signal }, 'second signal: exiting now');
      process.exit(130);
    }
    log.info({ action: 'shutdown', signal, deadlineMs: deadline }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ action: 'shutdown-timeout' }, 'shutdown deadline passed; exiting');
      process.exit(EXIT.FAILURES);
    }, deadline + 2000);
    timer.unref();
    stopping = svc.stop(deadline).then(async () => {
      await app.close();
      return EXIT.OK;
    });
    return stopping;
  };
  const signalled = new Promise<number>((resolve) => {
    process.on('SIGTERM', () => void stop('SIGTERM').then(resolve));
    process.on('SIGINT', () => void stop('SIGINT').then(resolve));
  });
  const code = await Promise.race([svc.done, signalled]);
  if (!stopping) {
    await svc.stop(deadline);
    await app.close();
  } else await stopping;
  return code;
}
