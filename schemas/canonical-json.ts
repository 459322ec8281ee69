/**
 * Finding a payload's JSON text inside a message's text without writing it again: where the text is
 * already exactly what `JSON.stringify` writes for the value it parses to, that text is the payload's
 * stored text and the input of its digest (payloadDigest), so the normalizer need not serialize it.
 *
 * The check is conservative: it says "canonical" only for text with no whitespace between tokens, no
 * escape JSON.stringify would not write (`\/`, any `\u`), no raw lone surrogate, numbers as
 * JSON.stringify writes them, no key that starts with a digit (JSON.stringify writes integer keys
 * first) and no key twice in one object (two keys alike by a 32-bit hash count as twice). Anything it
 * cannot vouch for is left to JSON.stringify.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;

/** Slots of the key table: open addressing, one generation per check, so it is never cleared. */
const SLOTS = 1 << 16;
const MAX_KEYS = SLOTS >> 1;
const slotHash = new Int32Array(SLOTS);
const slotObject = new Int32Array(SLOTS);
const slotGeneration = new Int32Array(SLOTS);
let generation = 0;

/** Escapes JSON.stringify writes as two characters: \" \\ \b \f \n \r \t. */
const shortEscape = new Uint8Array(128);
for (const c of '"\\bfnrt') shortEscape[c.charCodeAt(0)] = 1;

/** Digits of an integer JSON.stringify writes as it is read back: below 2^53 in magnitude. */
const SAFE_DIGITS = 15;

/**
 * Where the value at `from` ends in `text` (the index after it), when its text is exactly what
 * JSON.stringify writes for it; -1 when it may not be. `text` must be valid JSON from `from` on (it
 * parsed): the scan does not validate, it only compares with what JSON.stringify writes.
 */
export function canonicalValueEnd(text: string, from: number): number {
  generation = generation === 0x7fffffff ? 1 : generation + 1;
  if (generation === 1) slotGeneration.fill(0);
  let keys = 0;
  let objects = 0;
  // The open containers: the object id for an object, -1 for an array.
  const stack: number[] = [];
  let i = from;
  const n = text.length;
  for (;;) {
    if (i >= n) return -1;
    let c = text.charCodeAt(i);
    // A value.
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT) {
      if (text.charCodeAt(i + 1) === CLOSE_OBJECT) i += 2;
      else {
        stack.push(++objects);
        i = keyEnd(text, i + 1, objects);
        keys++;
        if (i < 0 || keys > MAX_KEYS) return -1;
        continue;
      }
    } else if (c === OPEN_ARRAY) {
      if (text.charCodeAt(i + 1) === CLOSE_ARRAY) i += 2;
      else {
        stack.push(-1);
        i++;
        continue;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = numberEnd(text, i);
      if (i < 0) return -1;
    } else if (c === 0x74 /* t */) i += 4;
    else if (c === 0x66 /* f */) i += 5;
    else if (c === 0x6e /* n */) i += 4;
    else return -1;
    // After a value: the next member or element, or the end of containers.
    for (;;) {
      if (stack.length === 0) return i;
      c = text.charCodeAt(i);
      const top = stack[stack.length - 1]!;
      if (c === COMMA) {
        if (top < 0) i++;
        else {
          i = keyEnd(text, i + 1, top);
          keys++;
          if (i < 0 || keys > MAX_KEYS) return -1;
        }
        break;
      }
      if (c === (top < 0 ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        stack.pop();
        i++;
        continue;
      }
      return -1;
    }
  }
}

/** The index after a key's string and its colon, the key recorded for `object`; -1 when not canonical or seen before. */
function keyEnd(text: string, i: number, object: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  const end = stringEnd(text, i);
  if (end < 0 || text.charCodeAt(end) !== COLON) return -1;
  // FNV-1a of the key's characters, mixed with the object's id; an all-digit key may be an integer key.
  let h = 0x811c9dc5;
  let digits = true;
  for (let k = i + 1; k < end - 1; k++) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE) digits = false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  if (digits) return -1;
  let slot = (h ^ Math.imul(object, 0x9e3779b1)) & (SLOTS - 1);
  while (slotGeneration[slot] === generation) {
    if (slotHash[slot] === h && slotObject[slot] === object) return -1;
    slot = (slot + 1) & (SLOTS - 1);
  }
  slotGeneration[slot] = generation;
  slotHash[slot] = h;
  slotObject[slot] = object;
  return end + 1;
}

/** Set per text: whether it is ASCII only, and where its next backslash is at or after the scan (its length when none). */
let asciiText = false;
let nextBackslash = 0;

/** The index after the string that opens at `i`; -1 when JSON.stringify would write it otherwise. */
function stringEnd(text: string, i: number): number {
  const n = text.length;
  if (asciiText) {
    // No surrogates: only the escapes matter, and the text between them is found natively.
    let k = i + 1;
    for (;;) {
      const quote = text.indexOf('"', k);
      if (quote < 0) return -1;
      if (nextBackslash < k) {
        nextBackslash = text.indexOf('\\', k);
        if (nextBackslash < 0) nextBackslash = n;
      }
      if (nextBackslash > quote) return quote + 1;
      const e = text.charCodeAt(nextBackslash + 1);
      if (e >= 128 || shortEscape[e] !== 1) return -1;
      k = nextBackslash + 2;
    }
  }
  for (let k = i + 1; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c === QUOTE) return k + 1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(++k);
      if (e >= 128 || shortEscape[e] !== 1) return -1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A surrogate pair stays as it is; JSON.stringify escapes a lone one.
      if (c >= 0xdc00) return -1;
      const low = text.charCodeAt(k + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return -1;
      k++;
    }
  }
  return -1;
}

/** The index after the number that starts at `i`; -1 when JSON.stringify would write it otherwise. */
function numberEnd(text: string, i: number): number {
  const n = text.length;
  let k = i;
  if (text.charCodeAt(k) === MINUS) k++;
  const digitsFrom = k;
  while (k < n) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE) break;
    k++;
  }
  const digits = k - digitsFrom;
  const c = k < n ? text.charCodeAt(k) : 0;
  const plainInteger = c !== 0x2e /* . */ && c !== 0x65 /* e */ && c !== 0x45; /* E */
  if (plainInteger && digits <= SAFE_DIGITS) {
    // An integer reads back as itself unless it has a leading zero or is minus zero.
    if (text.charCodeAt(digitsFrom) === ZERO && (digits > 1 || digitsFrom > i)) return -1;
    return k;
  }
  while (k < n) {
    const d = text.charCodeAt(k);
    if (!((d >= ZERO && d <= NINE) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS)) break;
    k++;
  }
  const token = text.slice(i, k);
  return String(Number(token)) === token ? k : -1;
}

/**
 * The text of the top-level member `name` of the JSON object `text`, when it is its last member and
 * written exactly as JSON.stringify writes its value; undefined otherwise. `text` must be valid JSON
 * (it parsed). The envelope before the member must be compact (no whitespace between tokens). `ascii`:
 * the text holds ASCII characters only (its UTF-8 is as long as it is), so its strings are searched natively.
 */
export function canonicalLastMember(text: string, name: string, ascii = false): { start: number; end: number } | undefined {
  asciiText = ascii;
  nextBackslash = 0;
  if (text.charCodeAt(0) !== OPEN_OBJECT || text.charCodeAt(text.length - 1) !== CLOSE_OBJECT) return undefined;
  const key = `"${name}":`;
  let i = 1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyStop = stringEnd(text, i);
    if (keyStop < 0 || text.charCodeAt(keyStop) !== COLON) return undefined;
    const start = keyStop + 1;
    const end = canonicalValueEnd(text, start);
    if (end < 0) return undefined;
    if (end === text.length - 1) return text.startsWith(key, i) ? { start, end } : undefined;
    if (text.charCodeAt(end) !== COMMA) return undefined;
    i = end + 1;
  }
}
