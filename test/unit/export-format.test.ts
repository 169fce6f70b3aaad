import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '#shared/domain/event.ts';
import {
  CSV_COLUMNS,
  csvColumnsOf,
  csvFormatter,
  csvHeaderProblem,
  csvRecord,
  csvRow,
  eventFromCsvRecord,
  FORMATTERS,
  formatterFor,
  neutraliseCell,
} from '#shared/domain/export-format.ts';

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

  it("writes CSV with SPEC's columns then the verification columns, one row per event, whatever the chunking", () => {
    const csv = write('csv', events, 2);
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const rows = parse(csv.slice(1)) as string[][];
    expect(rows[0]).toEqual([
      'timestamp',
      'actor_id',
      'actor_type',
      'actor_name',
      'actor_email',
      'action',
      'target_type',
      'target_id',
      'team_id',
      'ip',
      'user_agent',
      'status',
      'impersonated',
      'metadata_json',
      'id',
      'received_at',
      'hash',
      'event_json',
    ]);
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
      'e0',
      '2026-11-21T12:00:00.000Z',
      'h',
      JSON.stringify(events[0]),
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

  it('neutralises a formula-like event id in the id column but keeps event_json and hash exact', () => {
    const hostile = event(8, { id: '=cmd|calc', hash: 'a'.repeat(64), metadata: { note: '=1+1' } });
    const rows = parse(write('csv', [hostile], 1).slice(1), { columns: true }) as Record<string, string>[];
    expect(rows[0]?.id).toBe(`'=cmd|calc`);
    expect(rows[0]?.hash).toBe('a'.repeat(64));
    expect(rows[0]?.event_json).toBe(JSON.stringify(hostile));
    expect(JSON.parse(rows[0]?.event_json ?? '')).toEqual(hostile);
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

describe('writing rows a piece at a time', () => {
  const events = [
    event(0),
    event(1, { actor: { id: '=HYPERLINK("http://evil")', name: 'Smith, "Al"\r\nJr', type: 'user' } }),
    event(2, { context: { user_agent: ' padded ' }, metadata: { note: 'Zoë — 日本 😀', quote: '"' } }),
    event(3, { metadata: undefined, status: 404, target: { type: '@x', id: '' } }),
  ];
  const pieces = (format: keyof typeof FORMATTERS, rowsBefore: number): string[] => {
    const out: string[] = [];
    FORMATTERS[format].writeRows(events, rowsBefore, (text) => {
      out.push(text);
    });
    return out;
  };

  it.each(['csv', 'json', 'ndjson'] as const)(
    'writes exactly the text of rows() in %s, first page or not',
    (format) => {
      for (const rowsBefore of [0, 7]) {
        expect(pieces(format, rowsBefore).join('')).toBe(FORMATTERS[format].rows(events, rowsBefore));
      }
    },
  );

  it('writes no piece larger than one row, so no page-sized string is built', () => {
    const longest = Math.max(...pieces('csv', 0).map((p) => p.length));
    expect(longest).toBeLessThan(FORMATTERS.csv.rows(events, 0).length / 2);
  });

  it('writes CSV rows byte for byte as csv-stringify writes the whole page at once', () => {
    const page = stringify(
      events.map((e) => csvRow(e)),
      { record_delimiter: 'windows', quoted_match: /^\s|\s$/ },
    );
    expect(pieces('csv', 0).join('')).toBe(page);
    expect(page).toContain('"Smith, ""Al""\r\nJr"');
    expect(page).toContain('" padded "');
  });
});

describe('CSV records', () => {
  const OPTIONS = { record_delimiter: 'windows', quoted_match: /^\s|\s$/ } as const;
  const PIECES = [
    'a',
    'Zoë',
    '日本',
    '😀',
    ',',
    '"',
    '""',
    '\r',
    '\n',
    '\r\n',
    ' ',
    '\t',
    "'",
    '=',
    '\u00a0',
    '{"k":"v"}',
  ];

  it('quotes and escapes every cell exactly as csv-stringify does with the options exports were written with', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    const cells: string[] = ['', ...PIECES];
    for (let i = 0; i < 2_000; i++) {
      const length = next() % 5;
      cells.push(Array.from({ length }, () => PIECES[next() % PIECES.length]).join(''));
    }
    const records = Array.from({ length: 400 }, (_, i) => cells.slice(i * 5, i * 5 + 7));
    for (const record of records) expect(csvRecord(record)).toBe(stringify([record], OPTIONS));
    expect(records.map(csvRecord).join('')).toBe(stringify(records, OPTIONS));
  });

  it("keeps csv-stringify's rule that only CRLF, or a CR at the end, forces quotes, not a lone LF or CR", () => {
    expect(csvRecord(['a\nb', 'c\rd', 'e\r\nf', 'g\r', ''])).toBe('a\nb,c\rd,"e\r\nf","g\r",\r\n');
  });
});

describe('reading a CSV export back', () => {
  const records = (events: StoredEvent[]): string[][] =>
    parse(write('csv', events, 2), { bom: true }) as string[][];

  it('returns the event of each record, exactly as exported, hostile cells included', () => {
    const events = [
      event(0),
      event(1, { id: '@x', actor: { id: '=HYPERLINK("http://evil")', name: 'Smith, "Al"\nJr' } }),
      event(2, { context: { user_agent: ' padded ' }, metadata: undefined, status: 404 }),
    ];
    const [header, ...rows] = records(events);
    expect(csvHeaderProblem(header ?? [])).toBeNull();
    expect(rows.map((row) => eventFromCsvRecord(row))).toEqual(events.map((e) => ({ ok: true, event: e })));
  });

  it('names the cells that differ from event_json, so an edit outside event_json is caught', () => {
    const [, row] = records([event(0)]);
    const edited = [...(row ?? [])];
    edited[1] = 'mallory';
    edited[16] = 'b'.repeat(64);
    const reading = eventFromCsvRecord(edited);
    expect(reading).toEqual({
      ok: false,
      event: event(0),
      problem: 'column(s) actor_id, hash differ from its event_json (edited in the file?)',
    });
  });

  it('rejects a record with a cell missing, or whose event_json is not an event', () => {
    const [, row] = records([event(0)]);
    expect(eventFromCsvRecord((row ?? []).slice(1))).toEqual({
      ok: false,
      problem: `has ${CSV_COLUMNS.length - 1} cells, expected ${CSV_COLUMNS.length}`,
    });
    const notJson = [...(row ?? [])];
    notJson[CSV_COLUMNS.length - 1] = '{"id":';
    expect(eventFromCsvRecord(notJson)).toEqual({ ok: false, problem: 'its event_json cell is not JSON' });
    const notEvent = [...(row ?? [])];
    notEvent[CSV_COLUMNS.length - 1] = '{"id":"e0"}';
    expect(eventFromCsvRecord(notEvent)).toMatchObject({
      ok: false,
      problem: 'its event_json is not an event',
    });
  });

  it('explains why a header from before verifiable CSV exports, or a foreign one, cannot be verified', () => {
    expect(csvHeaderProblem(CSV_COLUMNS.slice(0, 14))).toMatch(/exported before .* event_json/);
    expect(csvHeaderProblem(['id', 'hash'])).toMatch(/not a Trailkeeper export/);
  });
});

describe('CSV exports with chosen columns', () => {
  const chosen = [
    'action',
    'actor_role',
    'area',
    'method',
    'duration_ms',
    'request_json',
    'timestamp',
  ] as const;
  const writeChosen = (events: StoredEvent[]): string[][] => {
    const f = csvFormatter(chosen);
    let out = f.begin();
    for (let i = 0; i < events.length; i += 2) out += f.rows(events.slice(i, i + 2), i);
    return parse(out + f.end(events.length), { bom: true }) as string[][];
  };

  it('writes the chosen columns in the order given, then the four verification columns', () => {
    const e = event(0, {
      actor: { id: 'u0', role: 'admin' },
      area: 'billing',
      method: 'update',
      duration_ms: 42,
      request: { plan: 'pro' },
    });
    const [header, row] = writeChosen([e]);
    expect(header).toEqual([...chosen, 'id', 'received_at', 'hash', 'event_json']);
    expect(row).toEqual([
      'member.role_changed',
      'admin',
      'billing',
      'update',
      '42',
      '{"plan":"pro"}',
      e.occurred_at,
      'e0',
      e.received_at,
      'h',
      JSON.stringify(e),
    ]);
  });

  it('leaves the cells of absent fields empty', () => {
    const [, row] = writeChosen([event(0)]);
    expect(row?.slice(1, 6)).toEqual(['', '', '', '', '']);
  });

  it('neutralises formulas in the new columns too', () => {
    const e = event(0, { actor: { id: 'u0', role: '=cmd' }, area: '+1', method: '@SUM(A1)' });
    const [, row] = writeChosen([e]);
    expect(row?.slice(1, 4)).toEqual(["'=cmd", "'+1", "'@SUM(A1)"]);
  });

  it('reads its records back and verifies them against event_json, header included', () => {
    const events = [event(0, { area: 'billing', actor: { id: 'u0', role: 'owner' } }), event(1)];
    const [header, ...rows] = writeChosen(events);
    expect(csvHeaderProblem(header ?? [])).toBeNull();
    const columns = csvColumnsOf(header ?? []);
    expect(columns).toEqual(chosen);
    expect(rows.map((row) => eventFromCsvRecord(row, columns ?? []))).toEqual(
      events.map((e) => ({ ok: true, event: e })),
    );
    const edited = [...(rows[0] ?? [])];
    edited[2] = 'support';
    expect(eventFromCsvRecord(edited, columns ?? [])).toMatchObject({ ok: false, problem: /area differ/ });
  });

  it('takes no header with unknown or repeated columns, or without the verification columns last', () => {
    expect(csvColumnsOf(['action', 'id', 'received_at', 'hash', 'event_json'])).toEqual(['action']);
    expect(csvColumnsOf(['colour', 'id', 'received_at', 'hash', 'event_json'])).toBeNull();
    expect(csvColumnsOf(['action', 'action', 'id', 'received_at', 'hash', 'event_json'])).toBeNull();
    expect(csvColumnsOf(['id', 'received_at', 'hash', 'event_json', 'action'])).toBeNull();
  });

  it('uses the default columns for a CSV export without chosen ones, and whole events for JSON', () => {
    expect(formatterFor('csv', null).begin()).toBe(FORMATTERS.csv.begin());
    expect(formatterFor('csv', ['action']).begin()).toBe('\uFEFFaction,id,received_at,hash,event_json\r\n');
    expect(formatterFor('json', null)).toBe(FORMATTERS.json);
  });
});
