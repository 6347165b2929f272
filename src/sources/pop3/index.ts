/** POP3 source entry point (loaded by the source registry as `./pop3/index.js`). */
import type { SourceFactory } from '../types.js';
import { createPop3Source } from './source.js';

export { createPop3Source, DEFAULT_POP3_TUNING, type Pop3SourceTuning } from './source.js';
export { Pop3Client, Pop3Error } from './client.js';

export const createSource: SourceFactory = (ctx) => createPop3Source(ctx);
