import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.doUnmock('../../../src/core/parse.js');
  vi.resetModules();
});

describe('lazy parser module', () => {
  it('loads once, on first use; parserIfLoaded is null until then', async () => {
    vi.resetModules();
    const lazy = await import('../../../src/core/parse-lazy.js');
    expect(lazy.parserIfLoaded()).toBeNull();
    const p1 = lazy.parser();
    expect(lazy.parser()).toBe(p1);
    const mod = await p1;
    expect(typeof mod.parseHeaders).toBe('function');
    expect(lazy.parserIfLoaded()).toBe(mod);
  });

  it('a failed load is reported to preloadParser and tried again at the next use', async () => {
    vi.resetModules();
    let attempts = 0;
    vi.doMock('../../../src/core/parse.js', () => {
      attempts++;
      throw new Error('mailparser missing');
    });
    const lazy = await import('../../../src/core/parse-lazy.js');
    const seen: unknown[] = [];
    lazy.preloadParser((err) => seen.push(err));
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    // (vitest wraps a throwing mock factory's error; the original is its cause)
    const why = (e: unknown) => String((e as Error).cause ?? e);
    expect(why(seen[0])).toContain('mailparser missing');
    const again = await lazy.parser().catch((e: unknown) => e);
    expect(why(again)).toContain('mailparser missing');
    expect(attempts).toBe(2);
    expect(lazy.parserIfLoaded()).toBeNull();
  });
});
