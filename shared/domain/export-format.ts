/**
 * Export file formats. Each formatter turns pages of events into text chunks that concatenate
 * into one valid file, knowing only how many rows came before — so an export can stop after any
 * chunk and resume in another process. Pure.
 *
 * CSV: SPEC's columns in order (or the export's chosen `columns`), RFC 4180 quoting as
 * csv-stringify writes it (csvRecord), CRLF line ends, a UTF-8 BOM so spreadsheets read accents right, and cells that a spreadsheet would run as a formula
 * neutralised (OWASP: prefixed with a single quote). SPEC's columns are a lossy view of an event,
 * so four more follow them — id, received_at, hash and the full event JSON — which make a CSV
 * export verifiable offline (`npm run verify`): the verifier recomputes the hash from event_json
 * and checks every other cell against it. JSON: one array. NDJSON: one event per line.
 */
import type { StoredEvent } from './event.ts';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What SPEC lists, for people and spreadsheets: the columns of a CSV that names none. */
const SPREADSHEET_COLUMNS = [
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
] as const;

/** Columns an export may name (`columns`, as the console's column chooser does), in any order. */
export const CHOOSABLE_COLUMNS = [
  ...SPREADSHEET_COLUMNS,
  'actor_role',
  'area',
  'method',
  'duration_ms',
  'request_json',
] as const;
export type CsvColumn = (typeof CHOOSABLE_COLUMNS)[number];

export const DEFAULT_CSV_COLUMNS: readonly CsvColumn[] = SPREADSHEET_COLUMNS;

/** What the verifier needs: the event's identity, its hash, and last its JSON as the API returns it. */
const VERIFICATION_COLUMNS = ['id', 'received_at', 'hash', 'event_json'] as const;

export const CSV_COLUMNS = [...SPREADSHEET_COLUMNS, ...VERIFICATION_COLUMNS] as const;

/** The header of a CSV with these chosen columns: them, then the four verification columns. */
export const csvHeader = (columns: readonly CsvColumn[] = DEFAULT_CSV_COLUMNS): string[] => [
  ...columns,
  ...VERIFICATION_COLUMNS,
];

export interface ExportFormatter {
  readonly contentType: string;
  readonly extension: string;
  /** What the file starts with. */
  begin(): string;
  /** The chunk for `events`, given how many rows the file already holds. */
  rows(events: readonly StoredEvent[], rowsBefore: number): string;
  /**
   * The same text as `rows`, handed to `write` in row-sized pieces: the export job encodes them
   * straight into its part buffer, so no page-sized string (a large object V8 frees only in a
   * full collection) is ever built.
   */
  writeRows(events: readonly StoredEvent[], rowsBefore: number, write: (text: string) => void): void;
  /** What the file ends with, given how many rows it holds. */
  end(rows: number): string;
}

/** A formatter from its row writer: `rows` is what `writeRows` writes, joined. */
const formatter = (spec: Omit<ExportFormatter, 'rows'>): ExportFormatter => ({
  ...spec,
  rows: (events, rowsBefore) => {
    const pieces: string[] = [];
    spec.writeRows(events, rowsBefore, (text) => {
      pieces.push(text);
    });
    return pieces.join('');
  },
});

const FORMULA_START = /^[=+\-@\t\r\n]/;

/** A cell a spreadsheet would evaluate (`=HYPERLINK(…)`, `+1`, `@SUM`) is prefixed with `'`. */
export const neutraliseCell = (value: string): string => (FORMULA_START.test(value) ? `'${value}` : value);

const jsonCell = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value));

/** Each choosable column's cell, before neutralising. */
const CELL: Readonly<Record<CsvColumn, (event: StoredEvent) => string>> = {
  timestamp: (e) => e.occurred_at,
  actor_id: (e) => e.actor.id,
  actor_type: (e) => e.actor.type ?? '',
  actor_name: (e) => e.actor.name ?? '',
  actor_email: (e) => e.actor.email ?? '',
  action: (e) => e.action,
  target_type: (e) => e.target?.type ?? '',
  target_id: (e) => e.target?.id ?? '',
  team_id: (e) => e.team_id ?? '',
  ip: (e) => e.context?.ip ?? '',
  user_agent: (e) => e.context?.user_agent ?? '',
  status: (e) => (e.status === undefined ? '' : String(e.status)),
  impersonated: (e) => String(e.impersonated),
  metadata_json: (e) => jsonCell(e.metadata),
  actor_role: (e) => e.actor.role ?? '',
  area: (e) => e.area ?? '',
  method: (e) => e.method ?? '',
  duration_ms: (e) => (e.duration_ms === undefined ? '' : String(e.duration_ms)),
  request_json: (e) => jsonCell(e.request),
};

export const csvRow = (event: StoredEvent, columns: readonly CsvColumn[] = DEFAULT_CSV_COLUMNS): string[] => [
  ...[
    ...columns.map((column) => CELL[column](event)),
    // A tenant chooses its event ids, so an id can look like a formula.
    event.id,
    event.received_at,
  ].map(neutraliseCell),
  // Never neutralised: the verifier reads these two back byte for byte and recomputes the hash from
  // event_json, so a prefix would break them. Neither can start a formula anyway: a hash is hex,
  // and the JSON of an object starts with '{'.
  event.hash,
  JSON.stringify(event),
];

export type CsvRecordReading = { ok: true; event: unknown } | { ok: false; event?: unknown; problem: string };

/**
 * The event of a CSV data record: its event_json, with every other cell checked against it —
 * people read (and could edit) those cells, and a cell edited without its event_json would
 * otherwise pass a hash check made on event_json alone. `columns`: the file's chosen columns (its
 * header without the verification columns; see csvColumnsOf).
 */
export const eventFromCsvRecord = (
  record: readonly string[],
  columns: readonly CsvColumn[] = DEFAULT_CSV_COLUMNS,
): CsvRecordReading => {
  const header = csvHeader(columns);
  if (record.length !== header.length) {
    return { ok: false, problem: `has ${record.length} cells, expected ${header.length}` };
  }
  let event: unknown;
  try {
    event = JSON.parse(record[record.length - 1] as string);
  } catch {
    return { ok: false, problem: 'its event_json cell is not JSON' };
  }
  let expected: string[];
  try {
    expected = csvRow(event as StoredEvent, columns);
  } catch {
    return { ok: false, event, problem: 'its event_json is not an event' };
  }
  const differing = header.filter((_, i) => expected[i] !== record[i]);
  if (differing.length > 0) {
    return {
      ok: false,
      event,
      problem: `column(s) ${differing.join(', ')} differ from its event_json (edited in the file?)`,
    };
  }
  return { ok: true, event };
};

/**
 * The chosen columns of a CSV header — known columns, each once, then the four verification
 * columns — or null when the header is not a verifiable export's.
 */
export const csvColumnsOf = (header: readonly string[]): CsvColumn[] | null => {
  const chosen = header.slice(0, -VERIFICATION_COLUMNS.length);
  const tail = header.slice(-VERIFICATION_COLUMNS.length);
  if (tail.length !== VERIFICATION_COLUMNS.length || tail.some((name, i) => name !== VERIFICATION_COLUMNS[i]))
    return null;
  if (!chosen.every((name) => (CHOOSABLE_COLUMNS as readonly string[]).includes(name))) return null;
  if (new Set(chosen).size !== chosen.length) return null;
  return chosen as CsvColumn[];
};

/** Why a CSV header cannot be verified, or null when it is this format's (default or chosen columns). */
export const csvHeaderProblem = (header: readonly string[]): string | null => {
  if (csvColumnsOf(header) !== null) return null;
  if (header.length === SPREADSHEET_COLUMNS.length && header.every((name, i) => name === CSV_COLUMNS[i])) {
    return 'this CSV was exported before CSV exports carried id, received_at, hash and event_json: export it again';
  }
  return `the header is not a Trailkeeper export's (expected ${CSV_COLUMNS.join(',')}, or chosen columns followed by ${VERIFICATION_COLUMNS.join(',')})`;
};

const EDGE_WHITESPACE = /^\s|\s$/;

/**
 * One CSV record, as csv-stringify 6.9 writes it with `{ record_delimiter: 'windows', quoted_match:
 * /^\s|\s$/ }` (what exports were first written with; a unit test holds the two together on hostile
 * cells): a cell is quoted when it holds a quote, a comma or CRLF, ends with CR (it would fuse with
 * the record's CRLF), or starts or ends with whitespace; quotes inside are doubled; empty cells stay
 * bare. Written here because csv-stringify builds its options and a pair per cell on every call:
 * for a million rows that garbage made the export worker's young generation promote its pages.
 */
export const csvRecord = (cells: readonly string[]): string => {
  let record = '';
  for (const [i, value] of cells.entries()) {
    if (i > 0) record += ',';
    if (!value) continue;
    const quotes = value.includes('"');
    const quoted =
      quotes ||
      value.includes(',') ||
      value.includes('\r\n') ||
      value.endsWith('\r') ||
      EDGE_WHITESPACE.test(value);
    const escaped = quotes ? value.replaceAll('"', '""') : value;
    record += quoted ? `"${escaped}"` : escaped;
  }
  return `${record}\r\n`;
};

/** A CSV formatter writing these columns (then the verification columns). */
export const csvFormatter = (columns: readonly CsvColumn[] = DEFAULT_CSV_COLUMNS): ExportFormatter =>
  formatter({
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    begin: () => `\uFEFF${csvRecord(csvHeader(columns))}`,
    writeRows: (events, _rowsBefore, write) => {
      for (const event of events) write(csvRecord(csvRow(event, columns)));
    },
    end: () => '',
  });

export const FORMATTERS: Readonly<Record<ExportFormat, ExportFormatter>> = {
  csv: csvFormatter(),
  json: formatter({
    contentType: 'application/json',
    extension: 'json',
    begin: () => '[',
    writeRows: (events, rowsBefore, write) => {
      for (const [i, event] of events.entries()) {
        write(rowsBefore + i === 0 ? '\n' : ',\n');
        write(JSON.stringify(event));
      }
    },
    end: (rows) => (rows === 0 ? ']\n' : '\n]\n'),
  }),
  ndjson: formatter({
    contentType: 'application/x-ndjson',
    extension: 'ndjson',
    begin: () => '',
    writeRows: (events, _rowsBefore, write) => {
      for (const event of events) {
        write(JSON.stringify(event));
        write('\n');
      }
    },
    end: () => '',
  }),
};

/** The formatter of an export: CSV with its chosen columns (absent: the default ones), else by format. */
export const formatterFor = (format: ExportFormat, columns?: readonly CsvColumn[] | null): ExportFormatter =>
  format === 'csv' && columns != null ? csvFormatter(columns) : FORMATTERS[format];
