import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import { CSV_COLUMNS, FORMATTERS, neutraliseCell } from '#shared/domain/export-format.ts';

const event = (i: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `e${i}`,
  tenant_id: 'tnt_a',
  action: 'member.role_changed',
  occurred_at: `2026-11-21T12:00:0${i}.000Z`,
  received_at: '2026-11-21T12:00:00.000Z',
  actor: { id: `u${i}`, type: 'user', name: 'Ada', email: 'ada@x.io' },
  target: { type: 'member', id: 't1' },
  context: { ip: '203.0.113.7', user_agent: 'UA' },
  status: 'success',
  impersonated: false,
  metadata: { from: 'member', to: 'admin' },
  expires_at: null,
  hash: 'h',
  ...extra,
});

/** Writes `events` in chunks of `chunk`, as the export job does across pages and invocations. */
const write = (format: keyof typeof FORMATTERS, events: StoredEvent[], chunk: number): string => {
  const f = FORMATTERS[format];
  let out = f.begin();
  for (let i = 0; i < events.length; i += chunk) out += f.rows(events.slice(i, i + chunk), i);
  return out + f.end(events.length);
};

describe('export formats', () => {
  const events = [0, 1, 2, 3, 4].map((i) => event(i));

  it('writes CSV with the exact header of SPEC, one row per event, whatever the chunking', () => {
    const csv = write('csv', events, 2);
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const rows = parse(csv.slice(1)) as string[][];
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.slice(1).map((r) => r[1])).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    expect(rows[1]).toEqual([
      '2026-11-21T12:00:00.000Z',
      'u0',
      'user',
      'Ada',
      'ada@x.io',
      'member.role_changed',
      'member',
      't1',
      '',
      '203.0.113.7',
      'UA',
      'success',
      'false',
      '{"from":"member","to":"admin"}',
    ]);
    expect(write('csv', events, 1)).toBe(write('csv', events, 5));
  });

  it('quotes commas, quotes and newlines inside cells (RFC 4180) and neutralises formulas', () => {
    const hostile = event(9, {
      actor: { id: '=HYPERLINK("http://evil")', name: 'Smith, "Al"\nJr', type: 'user' },
      metadata: { note: '+1,2' },
      target: { type: '@SUM(A1)', id: '-2' },
    });
    const rows = parse(write('csv', [hostile], 1).slice(1)) as string[][];
    expect(rows[1]?.[1]).toBe(`'=HYPERLINK("http://evil")`);
    expect(rows[1]?.[3]).toBe('Smith, "Al"\nJr');
    expect(rows[1]?.[6]).toBe(`'@SUM(A1)`);
    expect(rows[1]?.[7]).toBe(`'-2`);
    expect(rows[1]?.[13]).toBe('{"note":"+1,2"}');
  });

  it.each(['=1', '+1', '-1', '@x', '\tx', '\rx', '\nx'])('neutralises %j', (cell) => {
    expect(neutraliseCell(cell)).toBe(`'${cell}`);
  });

  it('writes JSON as one array and NDJSON as one event per line, whatever the chunking', () => {
    expect(JSON.parse(write('json', events, 2))).toEqual(events);
    expect(JSON.parse(write('json', [], 2))).toEqual([]);
    const lines = write('ndjson', events, 3).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(events);
  });
});
