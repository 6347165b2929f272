/**
 * The thread map: Message-IDs of notifications the application sent → the ticket they are about.
 * The ticket route's thread rule looks replies' In-Reply-To/References up here.
 *
 * Ids are stored normalised exactly as the parser normalises inbound ones (no angle brackets,
 * domain lower-cased), so `<Abc@App.Example>` remembered matches `In-Reply-To: <Abc@app.example>`.
 * Writes are idempotent (re-remembering an id replaces its ticket); an application process may
 * write while the worker runs (WAL, busy timeout).
 */
import type { Store } from '../types.js';
import { openSqliteStore } from './store.js';

/** One remembered notification. */
export interface ThreadEntry {
  messageId: string;
  ticket: string;
}

/** Records several sent notifications at once. */
export function rememberThreads(
  store: Pick<Store, 'rememberThread'>,
  entries: Iterable<ThreadEntry>,
  now = Date.now(),
): number {
  let n = 0;
  for (const e of entries) {
    store.rememberThread(e.messageId, e.ticket, now);
    n++;
  }
  return n;
}

/** What an application needs to record the notifications it sends. */
export interface ThreadMap {
  remember(messageId: string, ticket: string): void;
  lookup(messageId: string): string | undefined;
  close(): void;
}

/** Opens the thread map of a mailintake SQLite database (creating/migrating it if needed). */
export function openThreadMap(sqlitePath: string): ThreadMap {
  const store = openSqliteStore(sqlitePath);
  return {
    remember: (messageId, ticket) => store.rememberThread(messageId, ticket),
    lookup: (messageId) => store.lookupThread(messageId),
    close: () => store.close(),
  };
}
