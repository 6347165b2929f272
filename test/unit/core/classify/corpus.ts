/**
 * Read-only access to the shared test corpus (/work/shared/corpus, next to the repo) and the
 * selection of message files (vs expected-output files) described in its SOURCES.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const CORPUS = path.resolve(import.meta.dirname, '../../../../../shared/corpus');

export interface ManifestRow {
  path: string;
  kind: string;
}

export function manifest(): ManifestRow[] {
  return readFileSync(path.join(CORPUS, 'manifest.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [p = '', , , kind = ''] = l.split('\t');
      return { path: p, kind };
    });
}

/**
 * Message files under parsing/ (SOURCES.md): mime4j `.msg` only (its `.xml`/`.out`/`_decoded_*`
 * files are expected outputs), flanker `dkim/email.NN` only, zbateson `emails/*.txt` only (not
 * `emails/files/`, `headers/` fragments or the README), django-mailbox minus its two expected
 * outputs; every other parsing/ file is a message.
 */
export function isParsingMessage(p: string): boolean {
  if (!p.startsWith('parsing/')) return false;
  if (/README/i.test(path.basename(p))) return false;
  if (p.startsWith('parsing/james-mime4j/')) return p.endsWith('.msg');
  if (p.startsWith('parsing/flanker/dkim/')) return /\/email\.\d+$/.test(p);
  if (p.startsWith('parsing/zbateson-mail-mime-parser/'))
    return /^parsing\/zbateson-mail-mime-parser\/emails\/[^/]+\.txt$/.test(p);
  if (p.startsWith('parsing/django-mailbox/')) return !/_result\.eml$|_stripped_html\.eml$/.test(p);
  return true;
}

export function readCorpus(rel: string): Buffer {
  return readFileSync(path.join(CORPUS, rel));
}
