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
  const deadline = loaded.config.shutdownTimeout;
  // Signal handlers go in before the service starts: the pipeline runs handlers from the first
  // moment (resumed rows), and a SIGTERM while sources connect must still stop gracefully.
  let signalled: string | null = null;
  let onSignal: (signal: string) => void = () => undefined;
  const signalPromise = new Promise<string>((resolve) => (onSignal = resolve));
  const handle = (signal: string) => {
    if (signalled) {
      log.warn({ action: 'force-exit', signal }, 'second signal: exiting now');
      process.exit(130);
    }
    signalled = signal;
    log.info({ action: 'shutdown', signal, deadlineMs: deadline }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ action: 'shutdown-timeout' }, 'shutdown deadline passed; exiting');
      process.exit(EXIT.FAILURES);
    }, deadline + 2000);
    timer.unref();
    onSignal(signal);
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
  const svc = await startService(app, opts);
  const first = await Promise.race([
    svc.done.then((code) => ({ code })),
    signalPromise.then(() => ({ code: EXIT.OK })),
  ]);
  await svc.stop(deadline);
  await app.close();
  return first.code;
}
