/**
 * A handler call's signal plus its own timeout, without AbortSignal.any([s, AbortSignal.timeout()]):
 * on Node 20 the timeout signal inside such a composite can be garbage collected before it fires
 * (nodejs/node#57736), so a hung command/webhook ran until the pipeline's handlerTimeout (120 s by
 * default) instead of its own. Here a real timer and listener hold the controller strongly.
 */
export interface Deadline {
  signal: AbortSignal;
  /** Clears the timer and the listener on the outer signal (call when the operation settled). */
  dispose(): void;
}

export function deadline(outer: AbortSignal, ms: number): Deadline {
  const ac = new AbortController();
  const onOuter = (): void => ac.abort(outer.reason);
  if (outer.aborted) ac.abort(outer.reason);
  else outer.addEventListener('abort', onOuter, { once: true });
  const timer = setTimeout(() => ac.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
    },
  };
}
