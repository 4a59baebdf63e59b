/**
 * Variable masking: the step before template mining that replaces the parts of a log message that
 * obviously vary (numbers, ids, IPs, paths, URLs, hex, UUIDs, durations, timestamps, e-mail
 * addresses, `key=value` values) with the wildcard `<*>`.
 *
 * Works token by token with a character scan instead of regular expressions over the whole line:
 * no backtracking, one pass, and the common case (a plain word) costs one loop over its characters.
 */

/** The wildcard that stands for a variable part of a message. */
export const WILDCARD = '<*>';

/** Longer tokens are variables (blobs, base64, serialised data): no log keyword is this long. */
const MAX_TOKEN_LENGTH = 120;
/** Characters of a message looked at; the rest is one trailing `<*>`. */
const MAX_MESSAGE_CHARS = 16_384;
/** Pure hex words at least this long are ids even without a digit (`deadbeefcafe`). */
const MIN_BARE_HEX_LENGTH = 8;

const C_0 = 48;
const C_9 = 57;
const C_A = 65;
const C_F = 70;
const C_Z = 90;
const C_LA = 97;
const C_LF = 102;
const C_LZ = 122;

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}
function isAlpha(c: number): boolean {
  return (c >= C_LA && c <= C_LZ) || (c >= C_A && c <= C_Z);
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= C_LA && c <= C_LF) || (c >= C_A && c <= C_F);
}
function isWordChar(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/** Opening punctuation kept outside the classified core of a token. */
function isOpener(c: number): boolean {
  // ( [ { < " ' `
  return c === 40 || c === 91 || c === 123 || c === 60 || c === 34 || c === 39 || c === 96;
}
/** Closing punctuation kept outside the classified core of a token. */
function isCloser(c: number): boolean {
  // ) ] } > " ' ` , ; . : ! ?
  return (
    c === 41 ||
    c === 93 ||
    c === 125 ||
    c === 62 ||
    c === 34 ||
    c === 39 ||
    c === 96 ||
    c === 44 ||
    c === 59 ||
    c === 46 ||
    c === 58 ||
    c === 33 ||
    c === 63
  );
}
/** Separators that may sit between two variable runs and fold into one wildcard (`10.0.0.1:80`). */
function isJoiner(c: number): boolean {
  // . : - _ / , @ + #
  return (
    c === 46 || c === 58 || c === 45 || c === 95 || c === 47 || c === 44 || c === 64 || c === 43 || c === 35
  );
}

const WEEKDAYS_AND_MONTHS = new Set([
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
  'sat',
  'sun',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'january',
  'february',
  'march',
  'april',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]);

/** A URL: `scheme://…`. */
function isUrl(core: string): boolean {
  const i = core.indexOf('://');
  if (i <= 0) return false;
  for (let k = 0; k < i; k++) {
    const c = core.charCodeAt(k);
    if (!isWordChar(c) && c !== 43 && c !== 45 && c !== 46) return false;
  }
  return true;
}

/** A file path: absolute (`/a/b`, `~/a`, `C:\a`, `\\host\a`), relative (`./a`, `../a`) or with 2+ slashes. */
function isPath(core: string): boolean {
  const n = core.length;
  if (n < 2) return false;
  const c0 = core.charCodeAt(0);
  const c1 = core.charCodeAt(1);
  if (c0 === 47 /* / */) return isWordChar(c1) || c1 === 46 || c1 === 95 || c1 === 45 || c1 === 126;
  if (c0 === 126 /* ~ */ && c1 === 47) return true;
  if (c0 === 92 /* \ */ && c1 === 92) return true;
  if (n >= 3 && isAlpha(c0) && c1 === 58 /* : */ && core.charCodeAt(2) === 92) return true;
  if (c0 === 46 && (c1 === 47 || (c1 === 46 && n >= 3 && core.charCodeAt(2) === 47))) return true;
  let slashes = 0;
  for (let k = 0; k < n; k++) {
    const c = core.charCodeAt(k);
    if (c === 47 || c === 92) {
      slashes++;
      if (slashes >= 2) return true;
    }
  }
  return false;
}

/** An e-mail-like `local@host.domain`. */
function isEmail(core: string): boolean {
  const at = core.indexOf('@');
  if (at <= 0 || at === core.length - 1) return false;
  const dot = core.indexOf('.', at + 2);
  return dot > at + 1 && dot < core.length - 1 && core.indexOf('@', at + 1) === -1;
}

/** An IPv6 address (optionally `[addr]:port` or with a zone): hex groups and at least two colons. */
function isIpv6(core: string): boolean {
  let colons = 0;
  let hex = 0;
  for (let k = 0; k < core.length; k++) {
    const c = core.charCodeAt(k);
    if (c === 58) colons++;
    else if (isHex(c)) hex++;
    else if (c !== 46 && c !== 91 && c !== 93 && c !== 37) return false;
  }
  return colons >= 2 && hex > 0;
}

/**
 * Masks a core (a token without surrounding punctuation) that contains a digit: every alphanumeric
 * run holding a digit becomes `<*>` (a sign before a number goes with it), and wildcards joined by
 * short separators fold into one (`10.0.0.1:8080` → `<*>`, `blk_-42` → `blk_<*>`, `HTTP/1.1` →
 * `HTTP/<*>`, `3012ms` → `<*>`).
 */
function maskDigitRuns(core: string): string {
  const n = core.length;
  let out = '';
  let k = 0;
  /** out ends with a wildcard, possibly followed by joiners held in `pending`. */
  let lastWild = false;
  let pending = '';
  while (k < n) {
    const c = core.charCodeAt(k);
    if (isWordChar(c)) {
      let j = k;
      let digit = false;
      while (j < n) {
        const d = core.charCodeAt(j);
        if (!isWordChar(d)) break;
        if (isDigit(d)) digit = true;
        j++;
      }
      if (digit) {
        if (lastWild && pending.length <= 2) {
          pending = '';
        } else {
          // a sign directly before the number belongs to it
          if (pending.length > 0) out += pending;
          pending = '';
          const last = out.charCodeAt(out.length - 1);
          if ((last === 45 || last === 43) && !isWordChar(out.charCodeAt(out.length - 2))) {
            out = out.slice(0, -1);
          }
          out += WILDCARD;
        }
        lastWild = true;
      } else {
        out += pending + core.slice(k, j);
        pending = '';
        lastWild = false;
      }
      k = j;
    } else {
      if (lastWild && isJoiner(c)) pending += core[k];
      else {
        out += pending + core[k];
        pending = '';
        lastWild = false;
      }
      k++;
    }
  }
  return out + pending;
}

/**
 * Masks the value of `key=value` (after optional opening brackets): everything after `=` but
 * trailing `,` or `;` becomes `<*>`. `null` when the token is not `key=value`.
 */
function maskKeyValue(token: string, start: number, eq: number): string | null {
  for (let k = start; k < eq; k++) {
    const c = token.charCodeAt(k);
    if (!isWordChar(c) && c !== 95 && c !== 45 && c !== 46) return null;
  }
  let end = token.length;
  while (end > eq + 1 && (token.charCodeAt(end - 1) === 44 || token.charCodeAt(end - 1) === 59)) end--;
  if (end === eq + 1) return token;
  return `${token.slice(0, eq + 1)}${WILDCARD}${token.slice(end)}`;
}

/**
 * Masks one whitespace-free token. Surrounding brackets, quotes and trailing punctuation stay, the
 * core is classified.
 * @example maskToken('(10.0.0.1:5432),') // '(<*>),'
 */
export function maskToken(token: string): string {
  const n = token.length;
  if (n > MAX_TOKEN_LENGTH) return WILDCARD;
  let hasDigit = false;
  let special = false;
  let allHex = true;
  for (let k = 0; k < n; k++) {
    const c = token.charCodeAt(k);
    if (isDigit(c)) hasDigit = true;
    else if (c === 47 || c === 92 || c === 64 || c === 61 || c === 58) special = true;
    if (allHex && !isHex(c)) allHex = false;
  }
  if (!hasDigit && !special) {
    return allHex && n >= MIN_BARE_HEX_LENGTH ? WILDCARD : token;
  }
  // `[2001:db8::1]:8080`: the brackets belong to the address
  if (hasDigit && token.charCodeAt(0) === 91 && isIpv6(token)) return WILDCARD;
  let start = 0;
  while (start < n && isOpener(token.charCodeAt(start))) start++;
  const eq = token.indexOf('=', start);
  if (eq > start) {
    const kv = maskKeyValue(token, start, eq);
    if (kv !== null) return kv;
  }
  let end = n;
  while (end > start && isCloser(token.charCodeAt(end - 1))) end--;
  if (start === end) return token;
  const core = start === 0 && end === n ? token : token.slice(start, end);
  const masked = maskCore(core, hasDigit);
  if (masked === core) return token;
  return start === 0 && end === n ? masked : token.slice(0, start) + masked + token.slice(end);
}

function maskCore(core: string, hasDigit: boolean): string {
  if (isUrl(core) || isEmail(core)) return WILDCARD;
  if (isPath(core)) return WILDCARD;
  if (hasDigit && isIpv6(core)) return WILDCARD;
  return hasDigit ? maskDigitRuns(core) : core;
}

/** Whitespace other than the plain space: rare, so a native test first keeps the common case on `split(' ')`. */
const OTHER_WHITESPACE = /[\t\n\v\f\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;
const ANY_WHITESPACE = /[\s\ufeff]+/;

/** Splits a message on whitespace (no empty tokens); beyond `maxTokens`, the rest is one `<*>`. */
export function tokenize(message: string, maxTokens = Number.POSITIVE_INFINITY): string[] {
  const parts = OTHER_WHITESPACE.test(message) ? message.split(ANY_WHITESPACE) : message.split(' ');
  const tokens: string[] = [];
  for (const p of parts) {
    if (p === '') continue;
    if (tokens.length >= maxTokens) {
      tokens.push(WILDCARD);
      break;
    }
    tokens.push(p);
  }
  return tokens;
}

/** True when the token holds a wildcard, i.e. varies. */
export function hasWildcard(token: string): boolean {
  return token.includes(WILDCARD);
}

/**
 * Tokenises and masks a message. Weekday and month names next to a masked token (parts of a
 * timestamp) are masked too.
 * @example maskMessage('DB connection timeout after 3012ms') // ['DB', 'connection', 'timeout', 'after', '<*>']
 */
export function maskMessage(message: string, maxTokens = 256): string[] {
  // a huge line is cut before splitting: its first tokens are what identifies it anyway
  const cut = message.length > MAX_MESSAGE_CHARS;
  const raw = tokenize(cut ? message.slice(0, MAX_MESSAGE_CHARS) : message, maxTokens);
  if (cut && raw[raw.length - 1] !== WILDCARD) raw.push(WILDCARD);
  const tokens: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i] as string;
    const q = quotedValueStart(t);
    if (q > 0) {
      // key="several words": the quoted value is one variable, however many tokens it spans
      let j = i + 1;
      while (j < raw.length && j - i <= MAX_QUOTED_TOKENS && !(raw[j] as string).includes('"')) j++;
      if (j < raw.length && j - i <= MAX_QUOTED_TOKENS) {
        const last = raw[j] as string;
        tokens.push(`${t.slice(0, q)}${WILDCARD}${last.slice(last.lastIndexOf('"'))}`);
        i = j;
        continue;
      }
    }
    tokens.push(maskToken(t));
  }
  // right to left, so that `Sun Dec <*>` masks both names
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i] as string;
    const c0 = t.charCodeAt(0);
    if (t.length < 3 || t.length > 10 || c0 < C_A || c0 > C_Z) continue;
    if (!WEEKDAYS_AND_MONTHS.has(stripPunctuation(t).toLowerCase())) continue;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if ((prev !== undefined && hasWildcard(prev)) || (next !== undefined && hasWildcard(next))) {
      tokens[i] = WILDCARD;
    }
  }
  return tokens;
}

/** Tokens a quoted `key="…"` value may span. */
const MAX_QUOTED_TOKENS = 16;

/** For `key="value` with no closing quote, the index just after `="`; otherwise -1. */
function quotedValueStart(t: string): number {
  const eq = t.indexOf('="');
  if (eq <= 0 || t.indexOf('"', eq + 2) !== -1) return -1;
  for (let k = 0; k < eq; k++) {
    const c = t.charCodeAt(k);
    if (!isWordChar(c) && c !== 95 && c !== 45 && c !== 46) return -1;
  }
  return eq + 2;
}

function stripPunctuation(t: string): string {
  let end = t.length;
  while (end > 0 && isCloser(t.charCodeAt(end - 1))) end--;
  return end === t.length ? t : t.slice(0, end);
}
