/** IMAP source entry point (loaded by the source registry as `./imap/index.js`). */
import type { SourceFactory } from '../types.js';
import { createImapSource } from './source.js';

export { createImapSource, DEFAULT_SOURCE_TUNING, type ImapSourceTuning } from './source.js';

export const createSource: SourceFactory = (ctx) => createImapSource(ctx);
