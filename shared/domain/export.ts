/**
 * Exports: the request schema (the filters of `GET /v1/events` plus a format and an optional
 * email), the limits on notification emails, the record kept in the control table while a job
 * runs, its cut-off (what the offline verifier may require it to hold), and how the API shows it.
 */
import * as z from 'zod';
import { FUTURE_SKEW_MS } from './event.ts';
import { CHOOSABLE_COLUMNS, type CsvColumn, EXPORT_FORMATS, type ExportFormat } from './export-format.ts';
import type { Role } from './people.ts';
import type { EventFilters, TimeWindow } from './query.ts';
import { eventFiltersSchema } from './query.ts';

/** Up to this many matching rows an export is produced within the request. */
export const SYNC_EXPORT_MAX_ROWS = 10_000;
/** Export files (and their records' download links) live this long. */
export const EXPORT_RETENTION_DAYS = 7;

/**
 * A CSV export's own columns, in the order given (the verification columns always follow). Each
 * column once. Whether the format allows them is the use case's check (exportColumnsProblem): a
 * refinement here would make the schema impossible to extend.
 */
export const csvColumnsSchema = z
  .array(
    z.enum(CHOOSABLE_COLUMNS, {
      error: `must be one of ${CHOOSABLE_COLUMNS.join(', ')}`,
    }),
  )
  .min(1, 'must name at least one column')
  .max(CHOOSABLE_COLUMNS.length)
  .superRefine((columns, ctx) => {
    columns.forEach((column, i) => {
      if (columns.indexOf(column) !== i)
        ctx.addIssue({ code: 'custom', path: [i], message: `names ${column} a second time` });
    });
  });

export const createExportSchema = eventFiltersSchema.extend({
  format: z.enum(EXPORT_FORMATS, { error: 'must be csv, json or ndjson' }),
  notify_email: z.email('must be an email address').max(320).optional(),
  columns: csvColumnsSchema.optional(),
});

/** Why `columns` cannot go with this format (JSON and NDJSON hold whole events), or null. */
export const exportColumnsProblem = (format: ExportFormat, columns: readonly CsvColumn[] | undefined) =>
  columns !== undefined && format !== 'csv'
    ? 'only a CSV export names its columns: JSON and NDJSON exports always hold whole events'
    : null;

/** Exports with `notify_email` a tenant may request per clock hour (each one mails someone). */
export const NOTIFY_EMAILS_PER_HOUR = 20;

/** The clock hour a notification email counts against, and when its allowance renews. */
export const emailQuotaWindow = (nowMs: number): { key: string; resetsAtMs: number } => {
  const hourStartMs = Math.floor(nowMs / 3_600_000) * 3_600_000;
  return { key: new Date(hourStartMs).toISOString().slice(0, 13), resetsAtMs: hourStartMs + 3_600_000 };
};

/**
 * Whether `email` may receive notifications under the tenant's allowed domains (lower case; none
 * listed = any). The domain must be listed exactly: `example.com` does not admit `eu.example.com`.
 */
export const emailDomainAllowed = (email: string, allowedDomains: readonly string[] | undefined): boolean => {
  if (allowedDomains === undefined || allowedDomains.length === 0) return true;
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  return allowedDomains.includes(domain);
};

/**
 * An export's cut-off (`as_of`): every event that matches its filters, lies in its window and was
 * received at or before the cut-off is in the file; events received later may or may not be. The
 * verifier requires completeness only of digest intervals that end by it, so a seal after the
 * export never makes an untouched file look incomplete.
 * - `readStartMs − lagMs`: an event's received_at is stamped before it is written, and the
 *   sealer's own argument holds — no write stamped earlier than its watermark lag can still land.
 * - the window's end: an event received before `to` may carry an occurred_at after it (up to the
 *   future skew) and be legitimately left out. With `to` defaulted to the request time, the lag
 *   (16 minutes in AWS) already exceeds that skew; with an explicit `to`, the skew is taken off.
 */
export const exportCutoff = (fields: {
  readStartMs: number;
  window: TimeWindow;
  toGiven: boolean;
  lagMs: number;
}): string => {
  const visible = fields.readStartMs - fields.lagMs;
  const inWindow = Date.parse(fields.window.to) - (fields.toGiven ? FUTURE_SKEW_MS : fields.lagMs);
  return new Date(Math.min(visible, inWindow)).toISOString();
};

export type ExportStatus = 'queued' | 'running' | 'completed' | 'failed';

/** Where a running export stands: everything needed to continue it in another invocation. */
export interface ExportCheckpoint {
  /** Sort key of the last event written; the next page starts strictly below it. */
  position: string | null;
  uploadId: string;
  parts: { partNumber: number; etag: string }[];
  rows: number;
  bytes: number;
}

/**
 * Who asked for an export: a key, or a person (their id in the SaaS application — any of their
 * sessions may read the export back — with the role and session they asked with, for the trail).
 */
export type ExportRequester =
  | { kind: 'key'; id: string; name?: string }
  | {
      kind: 'person';
      id: string;
      email?: string;
      name?: string;
      role: Role;
      session_id: string;
      via?: 'session' | 'oidc';
    };

export interface ExportRecord {
  id: string;
  tenant_id: string;
  status: ExportStatus;
  format: ExportFormat;
  filters: EventFilters;
  /** A CSV export's chosen columns (the job writes the same); null or absent: the default ones. */
  columns?: CsvColumn[] | null;
  /**
   * The resolved time window, fixed when the export is requested; its start is raised to the
   * tenant's retention at every read (a retention shortened meanwhile hides older events at once).
   */
  window: TimeWindow;
  notify_email: string | null;
  /** Id of the key or person that asked for it (see `requester`). */
  requested_by: string;
  /** Who asked for it; absent on records made before people could export (a key: `requested_by`). */
  requester?: ExportRequester;
  /**
   * The teams the export reads (a team admin's scope, narrowed by their `team_id` filter), re-applied
   * by every invocation of the job and checked against the reader's teams at download; null or
   * absent: the whole workspace.
   */
  team_scope?: string[] | null;
  /** Base URL of the API the request came through, for the emailed link. */
  base_url: string;
  object_key: string;
  rows: number;
  bytes: number;
  error: string | null;
  /** Why the notification email could not be sent (short, no secrets); the export stands. */
  email_error?: string | null;
  /** The export's cut-off (see exportCutoff); null until it starts reading. */
  as_of?: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** When the file is deleted from the bucket. */
  expires_at: string;
  checkpoint: ExportCheckpoint | null;
  /** Incremented by every state change; writes are conditioned on it so two workers never interleave. */
  version: number;
}

/** A new export as it is first recorded: queued, nothing written yet. */
export const newExportRecord = (
  fields: {
    id: string;
    tenantId: string;
    format: ExportFormat;
    filters: EventFilters;
    /** A CSV export's chosen columns; absent or null: the default ones. */
    columns?: CsvColumn[] | null;
    window: TimeWindow;
    notifyEmail: string | null;
    /** Teams the export reads (a team admin's); null or absent: the whole workspace. */
    teamScope?: string[] | null;
    baseUrl: string;
    nowMs: number;
    /** Who asked: a requester, or (tools, examples) only a key id. */
  } & ({ requester: ExportRequester } | { requestedBy: string }),
): ExportRecord => ({
  id: fields.id,
  tenant_id: fields.tenantId,
  status: 'queued',
  format: fields.format,
  filters: fields.filters,
  ...(fields.columns == null ? {} : { columns: fields.columns }),
  window: fields.window,
  notify_email: fields.notifyEmail,
  requested_by: 'requester' in fields ? fields.requester.id : fields.requestedBy,
  requester: 'requester' in fields ? fields.requester : { kind: 'key', id: fields.requestedBy },
  team_scope: fields.teamScope ?? null,
  base_url: fields.baseUrl,
  object_key: exportObjectKey(fields.tenantId, fields.id, fields.format),
  rows: 0,
  bytes: 0,
  error: null,
  email_error: null,
  as_of: null,
  created_at: new Date(fields.nowMs).toISOString(),
  started_at: null,
  completed_at: null,
  expires_at: new Date(fields.nowMs + EXPORT_RETENTION_DAYS * 86_400_000).toISOString(),
  checkpoint: null,
  version: 0,
});

/** The requester of a record, also for records made before `requester` was kept (keys only then). */
export const requesterOf = (record: ExportRecord): ExportRequester =>
  record.requester ?? { kind: 'key', id: record.requested_by };

/**
 * May a reader see this export? Keys: every export of their tenant. A person: exports they made
 * themselves (any session), while the export's teams lie within what they may see now; and exports
 * made by a key only when their role sees the whole workspace (`readerScope` null). Never another
 * person's export.
 */
export const exportVisibleTo = (
  record: ExportRecord,
  reader: { kind: 'key' } | { kind: 'person'; personId: string; scope: readonly string[] | null },
): boolean => {
  if (reader.kind === 'key') return true;
  const requester = requesterOf(record);
  if (requester.kind === 'key') return reader.scope === null;
  if (requester.id !== reader.personId) return false;
  if (reader.scope === null) return true;
  // A whole-workspace export is never within a team scope.
  const recorded = record.team_scope ?? null;
  if (recorded === null) return false;
  const now = reader.scope;
  return recorded.every((team) => now.includes(team));
};

export const exportObjectKey = (tenantId: string, exportId: string, format: ExportFormat): string =>
  `tenant=${tenantId}/exports/${exportId}.${format}`;

export const downloadPath = (exportId: string): string => `/v1/exports/${exportId}/download`;

/**
 * Share of the time window already written (events go newest first, so the window is covered
 * from `to` back to `from`).
 */
export const exportProgress = (record: ExportRecord): number => {
  if (record.status === 'completed') return 1;
  const position = record.checkpoint?.position;
  if (!position) return 0;
  const from = Date.parse(record.window.from);
  const to = Date.parse(record.window.to);
  const at = Date.parse(position.slice(0, 24));
  if (!(to > from) || Number.isNaN(at)) return 0;
  return Math.min(1, Math.max(0, (to - at) / (to - from)));
};

export const presentExport = (record: ExportRecord) => ({
  id: record.id,
  status: record.status,
  format: record.format,
  filters: { ...record.filters, from: record.window.from, to: record.window.to },
  ...(record.columns == null ? {} : { columns: record.columns }),
  rows: record.rows,
  bytes: record.bytes,
  progress: Math.round(exportProgress(record) * 1000) / 1000,
  error: record.error,
  notify_email: record.notify_email,
  email_error: record.email_error ?? null,
  as_of: record.as_of ?? null,
  created_at: record.created_at,
  started_at: record.started_at,
  completed_at: record.completed_at,
  expires_at: record.expires_at,
  download_url: record.status === 'completed' ? `${record.base_url}${downloadPath(record.id)}` : null,
});
