/**
 * DynamoDB item size, by the rule DynamoDB bills capacity with: the sum over attributes of the
 * attribute name's UTF-8 length plus the value's size.
 *
 *   S            UTF-8 bytes                     B     raw bytes
 *   N            1 + base-100 digit pairs        BOOL  1      NULL  1
 *                (+1 when negative; 0 → 1)
 *   SS / BS / NS sum of the elements
 *   L            3 + Σ (1 + element)             M     3 + Σ (1 + key name + value)
 *
 * Checked against DynamoDB Local 3.3 by finding, for each type, the longest padding that still
 * costs 1 WCU (see bench/README.md). Write units = ceil(size / 1 KiB) per table or index item;
 * read units = ceil(Σ sizes in one request / 4 KiB), halved for eventually consistent reads.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

const utf8 = (value: string): number => Buffer.byteLength(value, 'utf8');

/**
 * Size of a DynamoDB number: numbers are stored as base-100 digit pairs aligned on the decimal
 * point, without leading or trailing zero pairs, plus one byte (two when negative).
 */
export const numberSize = (value: string): number => {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value.trim());
  if (match === null) throw new Error(`not a DynamoDB number: ${value}`);
  const [, sign = '', intDigits = '', fracDigits = '', exponent = '0'] = match;
  // Move the decimal point by the exponent so the pairs line up on the real decimal point.
  const digits = intDigits + fracDigits;
  const point = intDigits.length + Number(exponent);
  const intPart = point <= 0 ? '' : digits.slice(0, point).padEnd(point, '0');
  const fracPart = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  const aligned =
    (intPart.length % 2 === 1 ? '0' : '') + intPart + fracPart + (fracPart.length % 2 === 1 ? '0' : '');
  const pairs = (aligned.match(/../g) ?? []) as string[];
  let first = 0;
  let last = pairs.length - 1;
  while (first <= last && pairs[first] === '00') first++;
  while (last >= first && pairs[last] === '00') last--;
  const significantPairs = last - first + 1;
  if (significantPairs <= 0) return 1; // zero
  return 1 + significantPairs + (sign === '-' ? 1 : 0);
};

export const attributeValueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((total, s) => total + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((total, n) => total + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((total, b) => total + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((total, v) => total + 1 + attributeValueSize(v), 0);
  if (value.M !== undefined)
    return (
      3 + Object.entries(value.M).reduce((total, [k, v]) => total + 1 + utf8(k) + attributeValueSize(v), 0)
    );
  throw new Error('unknown attribute value type');
};

/** Size in bytes of a marshalled item (`Record<name, AttributeValue>`). */
export const itemSize = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((total, [name, value]) => total + utf8(name) + attributeValueSize(value), 0);

/** Size of a plain JS item as the document client would store it (undefined attributes dropped). */
export const documentItemSize = (item: Record<string, unknown>): number =>
  itemSize(marshall(item, { removeUndefinedValues: true }));

/** Write capacity units of one write of an item of `bytes` (standard table class, per item and per index). */
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

/** Lower bound of read units for returning items of these sizes with eventually consistent reads. */
export const minimumReadUnits = (sizes: readonly number[]): number =>
  sizes.reduce((total, bytes) => total + bytes / 4096, 0) / 2;
