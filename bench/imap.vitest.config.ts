// Vitest config for the IMAP benches (they need the Dovecot harness from test/, hence vitest):
//   npm run build && npx vitest run -c bench/imap.vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/imap-*.bench.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
