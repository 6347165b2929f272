/**
 * Auto-reply detection from the top header block only (hot path, no body parse).
 *
 * Kinds, strongest first: `vacation` (RFC 3834 auto-replied, vendor auto-reply headers, out-of-office
 * subjects), `auto-generated` (RFC 3834 auto-generated / auto-notified, Precedence bulk/junk), `list`
 * (List-Id, List-Unsubscribe, Precedence: list). Every marker found is kept as a reason.
 *
 * Policy for bounces (decided here, see index.ts): a delivery report keeps only its *explicit*
 * markers (Auto-Submitted, X-Autoreply, X-Autorespond, X-MS-Exchange-Inbox-Rules-Loop); the weak
 * ones (Precedence, list headers, subjects, X-Auto-Response-Suppress) are dropped, because every
 * MTA sets them on DSNs and a route on `autoReply` should not silently swallow bounces.
 */
import type { AutoReplyVerdict } from './types.js';
import { subjectOf, type HeaderField } from './headers.js';

type Kind = AutoReplyVerdict['kind'];

interface Marker {
  reason: string;
  kind: Exclude<Kind, 'none'>;
  /** Explicit markers survive on bounces; weak ones do not. */
  explicit: boolean;
}

/** Out-of-office / automatic-reply subject prefixes and phrases, several languages. */
const AUTO_SUBJECT = new RegExp(
  [
    '^\\s*auto(?:matic)?[ -]?(?:reply|response|respons|answer)\\b',
    '^\\s*auto:',
    '^\\s*autoreply\\b',
    '\\bout of (?:the )?office\\b',
    '^\\s*OOO\\b',
    '^\\s*away(?: from| until| till)\\b',
    '\\bon vacation\\b',
    '\\bvacation (?:reply|notice|message|auto)',
    '\\babwesenheitsnotiz\\b',
    '\\bautomatische (?:antwort|rückantwort|ruckantwort)\\b',
    '\\bau(?:ss|ß)er (?:haus|büro|dienst)\\b',
    '\\babwesend\\b',
    'réponse automatique',
    'reponse automatique',
    '\\babsence du bureau\\b',
    '\\bautosvar\\b',
    '\\bautomatisk svar\\b',
    '\\bfrånvaro\\b',
    '\\bpoissa toimistolta\\b',
    '\\bautomaattinen vastaus\\b',
    '\\brisposta automatica\\b',
    '\\bfuori (?:sede|ufficio)\\b',
    'respuesta automática',
    'respuesta automatica',
    '\\bfuera de (?:la )?oficina\\b',
    'resposta automática',
    'resposta automatica',
    'fora do escritório',
    '\\bautomatisch antwoord\\b',
    '\\bafwezig(?:heid)?\\b',
    'odpowiedź automatyczna',
    '\\bpoza biurem\\b',
    'автоответ',
    'автоматический ответ',
    '自動応答',
    '自動返信',
    '自动回复',
    '不在',
  ].join('|'),
  'iu',
);

const CANDIDATES = new Set([
  'auto-submitted',
  'x-autoreply',
  'x-autorespond',
  'x-autoresponder',
  'x-autoreply-from',
  'x-mail-autoreply',
  'x-ms-exchange-inbox-rules-loop',
  'x-ms-exchange-generated-message-source',
  'x-auto-response-suppress',
  'precedence',
  'x-precedence',
  'list-id',
  'list-unsubscribe',
]);

const SUPPRESS_VALUES = /\b(?:all|oof|autoreply)\b/i;

function collect(fields: readonly HeaderField[]): Marker[] {
  const out: Marker[] = [];
  for (const f of fields) {
    if (!CANDIDATES.has(f.name)) continue;
    const v = f.value.slice(0, 200).toLowerCase();
    switch (f.name) {
      case 'auto-submitted': {
        const token = v.split(/[;\s(]/)[0] ?? '';
        if (token !== '' && token !== 'no') {
          const kind = token === 'auto-replied' ? 'vacation' : 'auto-generated';
          out.push({ reason: `Auto-Submitted: ${token}`, kind, explicit: true });
        }
        break;
      }
      case 'x-autoreply':
      case 'x-autorespond':
      case 'x-autoresponder':
      case 'x-autoreply-from':
      case 'x-mail-autoreply':
        if (v !== 'no' && v !== 'false' && v !== '0')
          out.push({ reason: `${f.name}: ${v.slice(0, 40)}`, kind: 'vacation', explicit: true });
        break;
      case 'x-ms-exchange-inbox-rules-loop':
        out.push({ reason: 'X-MS-Exchange-Inbox-Rules-Loop', kind: 'vacation', explicit: true });
        break;
      case 'x-ms-exchange-generated-message-source':
        out.push({
          reason: `X-MS-Exchange-Generated-Message-Source: ${v.slice(0, 40)}`,
          kind: 'auto-generated',
          explicit: true,
        });
        break;
      case 'x-auto-response-suppress':
        if (SUPPRESS_VALUES.test(v))
          out.push({
            reason: `X-Auto-Response-Suppress: ${v.slice(0, 40)}`,
            kind: 'auto-generated',
            explicit: false,
          });
        break;
      case 'precedence':
      case 'x-precedence': {
        const p = v.trim();
        if (p === 'auto_reply')
          out.push({ reason: `${f.name}: auto_reply`, kind: 'vacation', explicit: true });
        else if (p === 'bulk' || p === 'junk')
          out.push({ reason: `${f.name}: ${p}`, kind: 'auto-generated', explicit: false });
        else if (p === 'list') out.push({ reason: `${f.name}: list`, kind: 'list', explicit: false });
        break;
      }
      case 'list-id':
      case 'list-unsubscribe':
        out.push({
          reason: f.name === 'list-id' ? 'List-Id' : 'List-Unsubscribe',
          kind: 'list',
          explicit: false,
        });
        break;
      default:
        break;
    }
  }
  const decoded = subjectOf(fields);
  if (decoded) {
    if (AUTO_SUBJECT.test(decoded))
      out.push({ reason: `subject: ${decoded.slice(0, 60)}`, kind: 'vacation', explicit: false });
  }
  return out;
}

const RANK: Record<Kind, number> = { vacation: 3, 'auto-generated': 2, list: 1, none: 0 };

/**
 * Auto-reply verdict from top-level header fields. With `bounce` set, only explicit markers count
 * (see module comment).
 */
export function detectAutoReply(fields: readonly HeaderField[], bounce = false): AutoReplyVerdict {
  let markers = collect(fields);
  if (bounce) markers = markers.filter((m) => m.explicit);
  let kind: Kind = 'none';
  for (const m of markers) if (RANK[m.kind] > RANK[kind]) kind = m.kind;
  return { autoReply: markers.length > 0, reasons: markers.map((m) => m.reason), kind };
}
