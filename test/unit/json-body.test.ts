import { describe, expect, it } from 'vitest';
import { classifyContentType, inexactNumberPaths, keepsExactly } from '#shared/http/json-body.ts';

describe('request content type', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'APPLICATION/JSON',
    'application/json; charset="utf-8"',
    'application/json ; charset=utf-8 ',
    'application/json; profile=x',
  ])('accepts %j', (header) => {
    expect(classifyContentType(header)).toBe('json');
  });

  it.each([
    undefined,
    '',
    'text/plain',
    'text/json',
    'application/jsonp',
    'application/json-patch+json',
    'application/problem+json',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=utf-8; charset=latin1',
    'application/json; charset',
    'application/json garbage',
    'json',
  ])('refuses %j as unsupported', (header) => {
    expect(classifyContentType(header)).toBe('unsupported');
  });

  it('tells a repeated header (joined with commas) from an unsupported one', () => {
    expect(classifyContentType('application/json,application/json')).toBe('several');
    expect(classifyContentType('application/json, text/plain')).toBe('several');
    expect(classifyContentType('application/json,')).toBe('unsupported');
  });
});

describe('numbers a double keeps exactly', () => {
  it.each([
    '0',
    '-0',
    '42',
    '-9007199254740991',
    '9007199254740991',
    '1.5',
    '1.50',
    '1e2',
    '1E+21',
    '0.1',
    '0.30000000000000004',
    '5e-324',
    '1.7976931348623157e308',
    '123.456e-2',
  ])('keeps %s', (text) => {
    expect(keepsExactly(text)).toBe(true);
  });

  it.each([
    '9007199254740992',
    '-9007199254740993',
    '12345678901234567890123',
    '1e400',
    '-1e400',
    '1e-400',
    '0.1000000000000000055511151231257827',
    '1.00000000000000001',
    '9007199254740993.0',
  ])('refuses %s', (text) => {
    expect(keepsExactly(text)).toBe(false);
  });
});

describe('paths of inexact numbers', () => {
  it('names each by its path in the body', () => {
    const text = JSON.stringify({
      events: [{ metadata: { ok: 1 } }, { metadata: { x: 'BIG1', list: [1, 'BIG2'] } }],
      'odd "key"': 'BIG3',
    }).replace(/"BIG(\d)"/g, (_m, n) => `1234567890123456789${n}`);
    expect(inexactNumberPaths(text)).toEqual([
      'events[1].metadata.x',
      'events[1].metadata.list[1]',
      'odd "key"',
    ]);
  });

  it('ignores digits inside strings and keys, escaped quotes included', () => {
    const text = JSON.stringify({
      '12345678901234567890': 'a "quoted" 1e400 and 99999999999999999999 \\',
      s: '\\"1e999',
      n: 1,
    });
    expect(inexactNumberPaths(text)).toEqual([]);
  });

  it('reads keys with escapes and follows objects inside arrays', () => {
    const text = '{"a\\u0062":[{"c":[1e999]},{"d":2}],"e":{"f":[[1, 2e-999]]}}';
    expect(inexactNumberPaths(text)).toEqual(['ab[0].c[0]', 'e.f[0][1]']);
  });

  it('names a bare number body "body"', () => {
    expect(inexactNumberPaths('12345678901234567890')).toEqual(['body']);
  });

  it('skips the scan when no number could be inexact', () => {
    expect(inexactNumberPaths(JSON.stringify({ a: 123456789012345, b: [0.5, -3] }))).toEqual([]);
  });
});
