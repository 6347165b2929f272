/**
 * A small HTML-to-text reducer for reply bodies that knows where mail clients put quoted history.
 *
 * Guarantees: a single forward scan using indexOf (no regex over the whole document, no DOM), so the
 * cost is linear in the input; `<blockquote>` content comes out `> `-prefixed so the plain-text rules
 * apply; the first known quote container (Gmail `div.gmail_quote`, Outlook `#divRplyFwdMsg`,
 * `#appendonsend`, `#OLK_SRC_BODY_SECTION`, Hotmail `hr#stopSpelling`, Thunderbird
 * `.moz-cite-prefix`, Yahoo `.yahoo_quoted`, …) splits the output into `text` and `quoted`.
 */

/** Result of reducing an HTML reply body to text. */
export interface HtmlSplit {
  /** Text before the first quote container. */
  text: string;
  /** Text from the first quote container on ("" when none was found). */
  quoted: string;
  /** Which container split the document, e.g. "gmail_quote"; null when none did. */
  marker: string | null;
}

const QUOTE_CONTAINER =
  /(?:^|[\s"'])(?:x_)?(gmail_quote|divRplyFwdMsg|appendonsend|stopSpelling|OLK_SRC_BODY_SECTION|moz-cite-prefix|yahoo_quoted|protonmail_quote|zmail_extra|mail-editor-reference-message-container)(?:$|[\s"'])/i;
const BLOCK = new Set([
  'p', 'div', 'br', 'tr', 'li', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'pre',
  'section', 'article', 'header', 'footer', 'address', 'dd', 'dt', 'dl', 'center', 'blockquote', 'tbody',
]); // prettier-ignore
const SKIP = new Set(['script', 'style', 'head', 'title', 'xml', 'template']);
const NAMED: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", ndash: '–', mdash: '—', hellip: '…',
  laquo: '«', raquo: '»', copy: '©', reg: '®', euro: '€', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”',
  zwnj: '', zwj: '', shy: '', lrm: '', rlm: '', bull: '•', middot: '·', iexcl: '¡', iquest: '¿',
}; // prettier-ignore

/** Decode the HTML character references that occur in mail bodies. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (m, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED[ref.toLowerCase()] ?? m;
  });
}

class TextSink {
  private readonly parts: string[] = [];
  private atLineStart = true;
  depth = 0;
  pre = 0;

  newline(): void {
    this.parts.push('\n');
    this.atLineStart = true;
  }

  write(raw: string): void {
    let s = decodeEntities(raw);
    if (this.pre === 0) s = s.replace(/\s+/g, ' ');
    if (this.atLineStart) s = s.replace(/^ +/, '');
    if (s.length === 0) return;
    const prefix = '> '.repeat(this.depth);
    const chunks = s.split('\n');
    chunks.forEach((chunk, idx) => {
      if (idx > 0) this.newline();
      if (chunk.length === 0) return;
      if (this.atLineStart && prefix) this.parts.push(prefix);
      this.parts.push(chunk);
      this.atLineStart = false;
    });
  }

  toString(): string {
    return this.parts
      .join('')
      .split('\n')
      .map((l) => l.replace(/[ \t]+$/, ''))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  }
}

/** Attributes are only inspected on tags up to this length (bounds the attribute regexes). */
const MAX_TAG = 4000;
const ATTR_RE = {
  id: /\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i,
  class: /\sclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i,
} as const;

function attr(tag: string, name: keyof typeof ATTR_RE): string | null {
  const m = ATTR_RE[name].exec(tag);
  return m ? (m[1] ?? m[2] ?? m[3] ?? '') : null;
}

function containerOf(tag: string): string | null {
  if (tag.length > MAX_TAG) return null;
  for (const name of ['id', 'class'] as const) {
    const v = attr(tag, name);
    if (v === null) continue;
    const m = QUOTE_CONTAINER.exec(` ${v} `);
    if (m?.[1]) return m[1];
  }
  return null;
}

/** Reduce `html` to text, splitting at the first quote container. */
export function htmlToText(html: string): HtmlSplit {
  const before = new TextSink();
  const after = new TextSink();
  let sink = before;
  let marker: string | null = null;
  const lower = html.toLowerCase();
  let pos = 0;
  while (pos < html.length) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) {
      sink.write(html.slice(pos));
      break;
    }
    if (lt > pos) sink.write(html.slice(pos, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      pos = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break; // an unterminated tag: drop the rest
    const tag = html.slice(lt, gt + 1);
    const m = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(tag);
    pos = gt + 1;
    if (!m) continue; // <!DOCTYPE>, <?xml?>, stray '<'
    const closing = m[1] === '/';
    const name = (m[2] ?? '').toLowerCase();
    if (!closing && SKIP.has(name)) {
      // Skip to the closing tag; an unclosed <head> or <style> is ignored rather than eating the body.
      const end = lower.indexOf(`</${name}`, pos);
      if (end >= 0) {
        const close = html.indexOf('>', end);
        pos = close < 0 ? html.length : close + 1;
      }
      continue;
    }
    if (!closing && marker === null) {
      const container = containerOf(tag);
      if (container) {
        marker = container;
        after.depth = 0;
        sink = after;
      }
    }
    if (!closing && name === 'div' && /class\s*=\s*["']?[^"'>]*gmail_signature/i.test(tag)) {
      sink.newline();
      sink.write('-- ');
    }
    if (name === 'blockquote') sink.depth = Math.max(0, sink.depth + (closing ? -1 : 1));
    if (name === 'pre') sink.pre = Math.max(0, sink.pre + (closing ? -1 : 1));
    if (BLOCK.has(name)) sink.newline();
    else if (name === 'td' || name === 'th') sink.write(' ');
  }
  return { text: before.toString(), quoted: after.toString(), marker };
}
