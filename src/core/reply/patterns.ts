/**
 * Line patterns for quoted-reply detection, grouped by what real mail clients write.
 *
 * Guarantees: every pattern is applied to a single line (or a short join of at most a few lines)
 * that the caller has capped in length, and uses only bounded quantifiers (`.{0,N}`) or character
 * classes followed by literals, so matching is linear in the line length: no catastrophic
 * backtracking on hostile input.
 */

/** A rule that recognises a reply attribution ("On … wrote:") or a forward/original marker. */
export interface NamedPattern {
  /** Short stable name reported as `StrippedReply.method`. */
  name: string;
  re: RegExp;
}

// A date-ish token (digits with separators) or a time, used to tell an attribution from prose.
const DATE_OR_TIME = /\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b|\d{4}年/;

/** Attributions written by the replying client above the quoted message, one line (after joining). */
export const ATTRIBUTION_PATTERNS: readonly NamedPattern[] = [
  // English (Gmail, Apple Mail, Thunderbird, Outlook for Mac, K-9, Zoho's "---- On … wrote ----").
  { name: 'on-wrote', re: /^(?:On|At)\s.{1,300}?\b(?:wrote|writes|said)\s*:?[\s-]*$/i },
  { name: 'in-message-writes', re: /^In message\s.{1,300}?\bwrites\s*:?\s*$/i },
  {
    name: 'someone-email-wrote',
    re: /^.{0,200}?[\w.+-]+@[\w-]+(?:\.[\w-]+)+.{0,60}?\b(?:wrote|writes)\s*:?\s*$/i,
  },
  { name: 'someone-via-wrote', re: /^.{1,120}\svia\s.{1,120}\s(?:wrote|schrieb)\s*:?\s*$/i },
  { name: 'wrote-on-date', re: /^.{1,200}?\b(?:wrote|schrieb)\s+(?:on|am)\s.{1,200}?:\s*$/i },
  { name: 'posted-by', re: /^Posted by\s.{1,100}\son\s\d{2}\/\d{2}\/\d{4}\s*$/i },
  // French
  { name: 'le-a-ecrit', re: /^Le\s.{1,300}?\ba\s+(?:écrit|ecrit)\s*:?\s*$/i },
  // German
  { name: 'am-schrieb', re: /^Am\s.{1,300}?\b(?:schrieb|geschrieben|schrieben Sie)\b.{0,200}?:?\s*$/i },
  { name: 'someone-email-schrieb', re: /^.{0,200}?@[\w-]+(?:\.[\w-]+)+>?\s*schrieb\s*:?\s*$/i },
  // Spanish
  { name: 'el-escribio', re: /^El\s.{1,300}?\bescribió\s*:?\s*$/i },
  // Italian
  { name: 'il-ha-scritto', re: /^(?:Il|In data)\s.{1,300}?\bha\s+scritto\s*:?\s*$/i },
  // Dutch
  { name: 'op-schreef', re: /^Op\s.{1,300}?\b(?:schreef|het\s+volgende\s+geschreven)\b.{0,200}?:?\s*$/i },
  // Portuguese
  { name: 'em-escreveu', re: /^Em\s.{1,300}?\bescreveu\s*:?\s*$/i },
  // Polish, Slovak
  { name: 'napisal', re: /^.{1,300}?\snapisał(?:\(a\)|a)?\s*:?\s*$/i },
  // Russian, Ukrainian (JS \b is ASCII-only, hence the explicit whitespace)
  {
    name: 'napisal-ru',
    re: /^.{1,300}?\s(?:написал|написала|написав|написала\(а\)|пишет|пише)(?:\(а\))?\s*:\s*$/i,
  },
  // Danish, Norwegian, Swedish ("skrev"), Finnish ("kirjoitti"), Hungarian ("írta")
  { name: 'skrev', re: /^.{1,300}?\sskrev\s.{0,200}?:\s*$/i },
  { name: 'kirjoitti', re: /^.{1,300}?\skirjoitti\s*:?\s*$/i },
  { name: 'irta', re: /^.{1,300}?\sírta\s*:?\s*$/i },
  // Chinese (simplified/traditional), Japanese
  { name: 'zh-wrote', re: /^(?:在|於).{1,300}?(?:写道|寫道)\s*[:：]?\s*$/ },
  { name: 'ja-wrote', re: /^.{1,300}?(?:のメッセージ|書きました|wrote)\s*[:：]\s*$/ },
  // Gmail/Outlook without a localized verb: "<date/time> … <someone@example.com>:"
  { name: 'date-email', re: /^.{0,200}?<?[^\s<>@]{1,100}@[^\s<>@]{1,100}>\s*:\s*$/ },
  // Gmail fallback locale: "2016-03-03 17:21 GMT+01:00 Some One" / "2013/7/20 sam via X <x@y>"
  { name: 'iso-date-gmt', re: /^(?:19|20)\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d?:\d\d\s.{1,200}$/ },
  {
    name: 'date-email-bare',
    re: /^(?:19|20)\d\d[/-]\d\d?[/-]\d\d?\s.{1,200}?<[^\s<>@]{1,100}@[^\s<>@]{1,100}>\s*$/,
  },
];

/**
 * Patterns that stand on their own; every other attribution only counts when the line also carries a
 * date or time, which is what keeps "On Monday I said" in prose from cutting a reply.
 */
const NO_DATE_NEEDED = new Set([
  'someone-email-wrote',
  'someone-email-schrieb',
  'someone-via-wrote',
  'posted-by',
  'iso-date-gmt',
  'date-email-bare',
]);

/** Forward and "original message" separators (Outlook, Gmail, Apple Mail, Thunderbird, webmails). */
export const FORWARD_PATTERNS: readonly NamedPattern[] = [
  {
    name: 'original-message',
    re: /^[\s*_]*-{2,}\s*(?:Original Message|Originalnachricht|Ursprüngliche Nachricht|Mensaje original|Message d'origine|Messaggio originale|Oorspronkelijk bericht|Originalmeddelande|Oprindelig (?:besked|meddelelse)|Opprinnelig melding|Alkuperäinen viesti|Původní zpráva|Wiadomość oryginalna|Mensagem original|Исходное сообщение|Reply Message|原始邮件|原始郵件)\s*-{2,}[\s*_]*$/i,
  },
  {
    name: 'forwarded-message',
    re: /^[\s*_]*-{2,}\s*(?:Forwarded message|Forwarded Message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Messaggio inoltrato|Doorgestuurd bericht|Vidarebefordrat meddelande|Videresendt meddelelse|Пересылаемое сообщение|转发的邮件)\s*-{2,}[\s*_]*$/i,
  },
  {
    name: 'begin-forwarded',
    re: /^\s*(?:Begin forwarded message|Début du message (?:réexpédié|transféré)|Anfang der weitergeleiteten Nachricht|Inicio del mensaje reenviado)\s*:/i,
  },
];

/** Field names that open or fill an inline header block ("From: … Sent: … To: … Subject: …"). */
const HEADER_FROM =
  'From|De|Von|Da|Van|Från|Fra|Od|От|Lähettäjä|Feladó|Expéditeur|发件人|寄件者|差出人|Afsender|Avsändare';
const HEADER_OTHER =
  'Sent|Date|To|Cc|Bcc|Subject|Reply-To|Envoyé|À|A|Objet|Destinataire|Répondre à|Cc|Gesendet|An|Betreff|Datum|Kopie|Inviato|Data|Oggetto|Risposta|Enviado|Enviada em|Para|Asunto|Assunto|Fecha|Verzonden|Aan|Onderwerp|Skickat|Till|Ämne|Sendt|Til|Emne|Dato|Wysłano|Do|Temat|Отправлено|Кому|Тема|Дата|Lähetetty|Vastaanottaja|Aihe|Päivämäärä|Elküldve|Címzett|Tárgy|发送时间|收件人|主题|日期|寄件日期|收件者|主旨|送信日時|宛先|件名';

export const HEADER_FROM_RE = new RegExp(`^[\\s*>]*(?:${HEADER_FROM})[\\s*]*[:：]\\s*\\S`, 'i');
export const HEADER_ANY_RE = new RegExp(
  `^[\\s*>]*(?:${HEADER_FROM}|${HEADER_OTHER})[\\s*]*[:：]\\s*\\S`,
  'i',
);

/** Mobile and webmail sign-offs appended by clients ("Sent from my iPhone"), localized. */
export const MOBILE_SIGNATURE_RE = new RegExp(
  '^[\\s(<*_]*(?:' +
    [
      'Sent (?:from|via|with|by|using) .{1,80}',
      'Get Outlook for .{1,60}',
      '\\w+ from mobile',
      'From my \\w.{0,30}',
      'Envoyé (?:de|depuis|à partir de) .{1,60}',
      'Von meinem .{1,60} gesendet',
      'Diese Nachricht wurde von .{1,80} gesendet\\.?',
      'Inviato da .{1,60}',
      'Sendt fra min .{1,60}',
      'Skickat från min .{1,60}',
      'Från min .{1,60}',
      'Enviado (?:do|desde|de) (?:meu|mi|o|el) .{1,60}',
      'Verzonden (?:met|vanaf) .{1,60}',
      'Verstuurd vanaf mijn .{1,60}',
      'Lähetetty .{1,40}',
      'Отправлено (?:с|из) .{1,60}',
      'Wysłane z .{1,60}',
      '從我的 .{1,20} 傳送',
      '发自我的.{1,20}',
      '.{1,20}から送信',
    ].join('|') +
    ')$',
  'i',
);

/**
 * Separator lines: "-- " (RFC 3676 signature), Outlook's "_____", dashes, stars, equals, tildes, and
 * the lone "ᐧ" that Gmail tracking extensions append after the reply.
 */
export const DELIMITER_RE = /^\s*(?:--|__|ᐧ|[-_=~*#+—]{3,})\s*$/;

/** A `>` quoted line, or a supercite-style "Name>" quote prefix (Gnus, trn). */
export const QUOTE_RE = /^\s*(?:>|[A-Za-z]{1,12}>(?:\s|$))/;

/** Opening/closing markdown code fence: lines inside a fence are never treated as separators. */
export const FENCE_RE = /^\s*(?:```|~~~)/;

/** Test a (capped, joined) line against the attribution and forward patterns. */
/** A keyword at least one forward pattern needs. */
const FORWARD_HINT = /--|forwarded|d[ée]but|anfang|inicio/i;
/** A keyword at least one attribution pattern needs (keep in sync with ATTRIBUTION_PATTERNS). */
const ATTRIBUTION_HINT =
  /wrote|writes|said|schrieb|geschrieben|[ée]crit|escribi|scritto|schreef|geschreven|escreveu|napisa|напис|пише|skrev|kirjoitti|írta|写道|寫道|のメッセージ|書きました|posted by|>\s*:\s*$|^(?:19|20)\d\d[-/]/i;

export function matchAttribution(line: string): string | null {
  const s = line.replace(/^[\s>*\-–]+/, '').trimEnd();
  if (s.length === 0) return null;
  if (FORWARD_HINT.test(line)) for (const p of FORWARD_PATTERNS) if (p.re.test(line)) return p.name;
  // Hot path: every line of every message comes here; skip the pattern list unless a keyword
  // that every attribution pattern needs is present.
  if (!ATTRIBUTION_HINT.test(s)) return null;
  for (const p of ATTRIBUTION_PATTERNS) {
    if (!p.re.test(s)) continue;
    if (!NO_DATE_NEEDED.has(p.name) && !DATE_OR_TIME.test(s)) continue;
    return p.name;
  }
  return null;
}

/** True when a line looks like a client sign-off such as "Sent from my iPhone". */
export function isMobileSignature(line: string): boolean {
  // Markdown links ("[Outlook for Android](https://…)") are read as their label.
  const s = line.replace(/\[([^\]]{1,200})\]\([^)]{0,500}\)/g, '$1').trim();
  if (s.length === 0 || s.length > 120) return false;
  if (!MOBILE_SIGNATURE_RE.test(s)) return false;
  // "Sent from my desk, is much easier …" is prose; "Sent from my cell, please excuse typos." is not.
  const comma = /^[\s(<]*Sent from my [^,]{1,40},\s*(.*)$/i.exec(s);
  if (comma?.[1] && !/excuse|typo|brevity|pardon|sorry/i.test(comma[1])) return false;
  return true;
}

const STRONG_MOBILE_RE =
  /^[\s(<*_]*(?:Sent from my|Sent from (?:Mail|Outlook|Yahoo Mail|Mailbox|Windows Mail|AOL Mobile Mail)\b|Get Outlook for|Envoyé de(?:puis)? mon|Von meinem|Enviado (?:do|desde) (?:meu|mi)|Inviato da(?:l mio)?|Sendt fra min|Skickat från min|Verzonden (?:met|vanaf)|Verstuurd vanaf mijn|Отправлено с|Wysłane z|從我的|发自我的|iPhoneから)/i;

/**
 * A device sign-off that ends the reply even when text follows it: mobile clients that omit the
 * attribution paste the original message right below "Sent from my …". Short, comma-free lines only.
 */
export function isStrongMobileSignature(line: string): boolean {
  const s = line.trim();
  return s.length <= 60 && !s.includes(',') && STRONG_MOBILE_RE.test(s) && isMobileSignature(s);
}
