/**
 * What a request body must be before anything reads it, as pure checks over the header and the
 * raw text: the media type (`application/json`, charset utf-8 at most) and numbers that JSON
 * can carry but a double cannot keep (a 23-digit id, `1e400`, a decimal with more precision than
 * 17 significant digits). Such a number would be stored, hashed and shown rounded; the API
 * refuses it by its path in the body instead ("send it as a string").
 */

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[^"\\\\]|\\\\.)*"';
const PARAMETER = new RegExp(`(${TOKEN})=(${TOKEN}|${QUOTED})`, 'g');
/** RFC 9110 §8.3.1: type "/" subtype *( OWS ";" OWS [ parameter ] ). */
const MEDIA_TYPE = new RegExp(
  `^[ \\t]*(${TOKEN})/(${TOKEN})((?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*)[ \\t]*$`,
);

export type ContentTypeVerdict = 'json' | 'unsupported' | 'several';

const unquote = (value: string): string =>
  value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;

/**
 * `json` for `application/json` with no charset or charset utf-8 (names are case-insensitive);
 * `several` for a list of media types (a repeated header, joined with commas by the gateway);
 * `unsupported` for anything else, a missing or empty header included.
 */
export const classifyContentType = (header: string | undefined): ContentTypeVerdict => {
  if (header === undefined) return 'unsupported';
  const match = MEDIA_TYPE.exec(header);
  if (match === null) {
    const parts = header.split(',');
    return parts.length > 1 && parts.every((part) => MEDIA_TYPE.test(part)) ? 'several' : 'unsupported';
  }
  const [, type = '', subtype = '', parameters = ''] = match;
  if (`${type}/${subtype}`.toLowerCase() !== 'application/json') return 'unsupported';
  for (const [, name = '', value = ''] of parameters.matchAll(PARAMETER)) {
    if (name.toLowerCase() === 'charset' && unquote(value).toLowerCase() !== 'utf-8') return 'unsupported';
  }
  return 'json';
};

/** Worth scanning for: a run of 16+ digits, or an exponent. Without either every number is exact. */
const MAY_HOLD_INEXACT = /\d{16}|\d[eE]/;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A JSON number's text as `<sign><digits>e<exponent>` with no leading or trailing zeros ('0' for zero). */
const normalise = (text: string): string => {
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = DECIMAL.exec(text) ?? [];
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  const shift = digits.length - significant.length - fraction.length;
  return `${sign}${significant}e${Number(exponent) + shift}`;
};

/**
 * True when the number the text denotes is exactly what JSON.parse keeps and JSON.stringify
 * writes back: integers within ±(2^53−1), other numbers whose decimal value is the one of the
 * shortest round-trip form of the double they parse to (`1.50` and `1e2` are fine; `0.1` with
 * twenty more digits is not).
 */
export const keepsExactly = (text: string): boolean => {
  const value = Number(text);
  if (!Number.isFinite(value)) return false;
  if (INTEGER.test(text)) return Number.isSafeInteger(value);
  return normalise(text) === normalise(String(value));
};

type Frame =
  | { kind: 'array'; index: number }
  | { kind: 'object'; keyStart: number; keyEnd: number; expectKey: boolean };

const pathOf = (text: string, stack: readonly Frame[]): string => {
  let path = '';
  for (const frame of stack) {
    if (frame.kind === 'array') path += `[${frame.index}]`;
    else path += `${path === '' ? '' : '.'}${JSON.parse(text.slice(frame.keyStart, frame.keyEnd)) as string}`;
  }
  return path === '' ? 'body' : path;
};

const isNumberChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;

/**
 * Paths (`metadata.amount`, `events[2].metadata.x`) of the numbers in `text` that a double does
 * not keep exactly. `text` must already have parsed as JSON: the scan trusts its structure.
 * Linear, no recursion; bodies without a long digit run or an exponent are not scanned at all.
 */
export const inexactNumberPaths = (text: string): string[] => {
  const found: string[] = [];
  if (!MAY_HOLD_INEXACT.test(text)) return found;
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = stack.at(-1);
    if (c === 0x22) {
      let end = i + 1;
      for (;;) {
        end = text.indexOf('"', end);
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes += 1;
        if (backslashes % 2 === 0) break;
        end += 1;
      }
      if (top?.kind === 'object' && top.expectKey) {
        top.keyStart = i;
        top.keyEnd = end + 1;
        top.expectKey = false;
      }
      i = end + 1;
    } else if (c === 0x7b) {
      stack.push({ kind: 'object', keyStart: 0, keyEnd: 0, expectKey: true });
      i += 1;
    } else if (c === 0x5b) {
      stack.push({ kind: 'array', index: 0 });
      i += 1;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i += 1;
    } else if (c === 0x2c) {
      if (top?.kind === 'array') top.index += 1;
      else if (top?.kind === 'object') top.expectKey = true;
      i += 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end += 1;
      if (!keepsExactly(text.slice(i, end))) found.push(pathOf(text, stack));
      i = end;
    } else {
      i += 1; // whitespace, ':' and the letters of true, false, null
    }
  }
  return found;
};
