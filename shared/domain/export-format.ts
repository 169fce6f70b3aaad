/**
 * Export file formats. Each formatter turns pages of events into text chunks that concatenate
 * into one valid file, knowing only how many rows came before — so an export can stop after any
 * chunk and resume in another process. Pure.
 *
 * CSV: SPEC's columns in order, RFC 4180 quoting by csv-stringify, CRLF line ends, a UTF-8 BOM so
 * spreadsheets read accents right, and cells that a spreadsheet would run as a formula
 * neutralised (OWASP: prefixed with a single quote). SPEC's columns are a lossy view of an event,
 * so four more follow them — id, received_at, hash and the full event JSON — which make a CSV
 * export verifiable offline (`npm run verify`): the verifier recomputes the hash from event_json
 * and checks every other cell against it. JSON: one array. NDJSON: one event per line.
 */
import { stringify } from 'csv-stringify/sync';
import type { StoredEvent } from './event.ts';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What SPEC lists, for people and spreadsheets. */
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

/** What the verifier needs: the event's identity, its hash, and last its JSON as the API returns it. */
const VERIFICATION_COLUMNS = ['id', 'received_at', 'hash', 'event_json'] as const;

export const CSV_COLUMNS = [...SPREADSHEET_COLUMNS, ...VERIFICATION_COLUMNS] as const;

export interface ExportFormatter {
  readonly contentType: string;
  readonly extension: string;
  /** What the file starts with. */
  begin(): string;
  /** The chunk for `events`, given how many rows the file already holds. */
  rows(events: readonly StoredEvent[], rowsBefore: number): string;
  /** What the file ends with, given how many rows it holds. */
  end(rows: number): string;
}

const FORMULA_START = /^[=+\-@\t\r\n]/;

/** A cell a spreadsheet would evaluate (`=HYPERLINK(…)`, `+1`, `@SUM`) is prefixed with `'`. */
export const neutraliseCell = (value: string): string => (FORMULA_START.test(value) ? `'${value}` : value);

export const csvRow = (event: StoredEvent): string[] => [
  ...[
    event.occurred_at,
    event.actor.id,
    event.actor.type ?? '',
    event.actor.name ?? '',
    event.actor.email ?? '',
    event.action,
    event.target?.type ?? '',
    event.target?.id ?? '',
    event.team_id ?? '',
    event.context?.ip ?? '',
    event.context?.user_agent ?? '',
    event.status === undefined ? '' : String(event.status),
    String(event.impersonated),
    event.metadata === undefined ? '' : JSON.stringify(event.metadata),
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
 * otherwise pass a hash check made on event_json alone.
 */
export const eventFromCsvRecord = (record: readonly string[]): CsvRecordReading => {
  if (record.length !== CSV_COLUMNS.length) {
    return { ok: false, problem: `has ${record.length} cells, expected ${CSV_COLUMNS.length}` };
  }
  let event: unknown;
  try {
    event = JSON.parse(record[record.length - 1] as string);
  } catch {
    return { ok: false, problem: 'its event_json cell is not JSON' };
  }
  let expected: string[];
  try {
    expected = csvRow(event as StoredEvent);
  } catch {
    return { ok: false, event, problem: 'its event_json is not an event' };
  }
  const differing = CSV_COLUMNS.filter((_, i) => expected[i] !== record[i]);
  if (differing.length > 0) {
    return {
      ok: false,
      event,
      problem: `column(s) ${differing.join(', ')} differ from its event_json (edited in the file?)`,
    };
  }
  return { ok: true, event };
};

/** Why a CSV header cannot be verified, or null when it is this format's. */
export const csvHeaderProblem = (header: readonly string[]): string | null => {
  if (header.length === CSV_COLUMNS.length && header.every((name, i) => name === CSV_COLUMNS[i])) return null;
  if (header.length === SPREADSHEET_COLUMNS.length && header.every((name, i) => name === CSV_COLUMNS[i])) {
    return 'this CSV was exported before CSV exports carried id, received_at, hash and event_json: export it again';
  }
  return `the header is not a Trailkeeper export's (expected ${CSV_COLUMNS.join(',')})`;
};

const CSV_OPTIONS = { record_delimiter: 'windows', quoted_match: /^\s|\s$/ } as const;

export const FORMATTERS: Readonly<Record<ExportFormat, ExportFormatter>> = {
  csv: {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    begin: () => `\uFEFF${stringify([[...CSV_COLUMNS]], CSV_OPTIONS)}`,
    rows: (events) => (events.length === 0 ? '' : stringify(events.map(csvRow), CSV_OPTIONS)),
    end: () => '',
  },
  json: {
    contentType: 'application/json',
    extension: 'json',
    begin: () => '[',
    rows: (events, rowsBefore) =>
      events.map((event, i) => `${rowsBefore + i === 0 ? '' : ','}\n${JSON.stringify(event)}`).join(''),
    end: (rows) => (rows === 0 ? ']\n' : '\n]\n'),
  },
  ndjson: {
    contentType: 'application/x-ndjson',
    extension: 'ndjson',
    begin: () => '',
    rows: (events) => events.map((event) => `${JSON.stringify(event)}\n`).join(''),
    end: () => '',
  },
};
