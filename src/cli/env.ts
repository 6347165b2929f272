// Imported first by the CLI: fsyncs run in libuv's pool, 4 threads by default is too few for
// concurrent spool writes, handler writes and directory syncs.
process.env.UV_THREADPOOL_SIZE ??= '16';
export {};
