/**
 * The parser module (mailparser, mailsplit, libmime, iconv-lite, html-to-text...) takes about
 * 0.13 s to load here, more than a third of `run --once`'s start-up. It is imported on first use;
 * `preloadParser()` starts that import early without waiting for it, so it loads while a source
 * connects and logs in instead of before.
 */
type ParseModule = typeof import('./parse.js');

let loading: Promise<ParseModule> | null = null;
let loaded: ParseModule | null = null;

/** The parser module, imported once. */
export function parser(): Promise<ParseModule> {
  loading ??= import('./parse.js').then(
    (m) => (loaded = m),
    (err: unknown) => {
      loading = null; // the next message tries again (and fails the same way, visibly)
      throw err;
    },
  );
  return loading;
}

/** The parser module if it finished loading, else null (saves a promise per message). */
export function parserIfLoaded(): ParseModule | null {
  return loaded;
}

/** Starts loading the parser in the background. A failure goes to `onError` (the service logs
 * it at once) and surfaces again when a message needs the parser: that message fails, temporarily. */
export function preloadParser(onError: (err: unknown) => void = () => undefined): void {
  parser().catch(onError);
}
