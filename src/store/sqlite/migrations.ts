/** Schema migrations, applied in order inside one transaction each; `user_version` tracks them. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    position_key TEXT NOT NULL UNIQUE,
    source_kind TEXT NOT NULL,
    source TEXT NOT NULL,
    content_key TEXT NOT NULL,
    message_id TEXT,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    spool_path TEXT NOT NULL,
    envelope TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    reason TEXT,
    route TEXT,
    duplicate_of INTEGER,
    settled_at INTEGER,
    settle_action TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX messages_content ON messages(content_key);
  CREATE INDEX messages_due ON messages(status, next_attempt_at);
  CREATE INDEX messages_unsettled ON messages(source, settled_at, status);
  CREATE TABLE handler_outcomes (
    message INTEGER NOT NULL REFERENCES messages(id),
    handler TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (message, handler)
  );
  CREATE TABLE source_state (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, key)
  );
  `,
  // Claiming in id order without sorting the whole backlog each time.
  `CREATE INDEX messages_status_id ON messages(status, id);`,
  // Message-IDs of notifications the application sent → ticket (the ticket route's thread rule).
  `CREATE TABLE threads (message_id TEXT PRIMARY KEY, ticket TEXT NOT NULL, created_at INTEGER);`,
  // Set when a row's spool file was found missing or cut short (a power loss before the message was
  // acknowledged): that row no longer counts as the first copy of its content, so the sender's
  // retry or the next fetch is handled instead of being skipped as its duplicate.
  `ALTER TABLE messages ADD COLUMN spool_lost INTEGER;`,
  // Unsettled rows by source, in id order, without the status: a row's status changes once or twice
  // in its life (received → delivered), and each change moved its entry in this index (two more
  // pages written per message). The unsettled queries filter the status on the few rows of a source
  // that are not settled yet.
  `DROP INDEX messages_unsettled;
  CREATE INDEX messages_unsettled ON messages(source, settled_at);`,
];
