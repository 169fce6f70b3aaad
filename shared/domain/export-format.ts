/**
 * Export file formats. Each formatter turns pages of events into text chunks that concatenate
 * into one valid file, knowing only how many rows came before — so an export can stop after any
 * chunk and resume in another process. Pure.
 *
 * CSV: SPEC's columns in order, RFC 4180 quoting by csv-stringify, CRLF line ends, a UTF-8 BOM so
 * spreadsheets read accents right, and cells that a spreadsheet would run as a formula
 * neutralised (OWASP: prefixed with a single quote). JSON: one array. NDJSON: one event per line.
 */
import { stringify } from 'csv-stringify/sync';
import type { StoredEvent } from './event.ts';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CSV_COLUMNS = [
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

export const csvRow = (event: StoredEvent): string[] =>
  [
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
  ].map(neutraliseCell);

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
