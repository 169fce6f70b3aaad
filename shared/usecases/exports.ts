/**
 * Export use cases. Up to SYNC_EXPORT_MAX_ROWS matching events the file is written within the
 * request (201, completed); beyond, the export is queued (202) and the worker (export-job.ts)
 * streams it. Every export can be read back and downloaded through a fresh presigned URL. Reads
 * never reach past the tenant's current retention (read-window.ts). A `notify_email` must be in
 * the tenant's allowed domains and within its hourly allowance; once the file is written, a
 * failing email is recorded on the export (`email_error`) and never undoes it.
 *
 * People export too (with the `export` permission): a team admin's export reads only their teams
 * (the scope is recorded on the export and re-applied by the job), a person's `notify_email` is
 * their own address, and a person reads back only their own exports (or, for roles that see the
 * whole workspace, exports made by keys); anything else is a 404.
 */
import { INTEGRITY } from '../config/integrity.ts';
import { DOWNLOAD_URL_TTL_SECONDS } from '../config/storage.ts';
import { consoleExportPath } from '../domain/console-shell.ts';
import type { StoredEvent } from '../domain/event.ts';
import {
  createExportSchema,
  downloadPath,
  type ExportRecord,
  type ExportRequester,
  emailDomainAllowed,
  emailQuotaWindow,
  exportColumnsProblem,
  exportCutoff,
  exportVisibleTo,
  NOTIFY_EMAILS_PER_HOUR,
  newExportRecord,
  presentExport,
  SYNC_EXPORT_MAX_ROWS,
} from '../domain/export.ts';
import { FORMATTERS, formatterFor } from '../domain/export-format.ts';
import { newExportId } from '../domain/ids.ts';
import { eventSortKey } from '../domain/keys.ts';
import { resolveWindow, scopedTeams } from '../domain/query.ts';
import { HttpError, NotFoundError, TooManyRequestsError, ValidationError } from '../errors.ts';
import { checkReaderFilters, type EventDeps, type Reader, readerScope, recordAccess } from './events.ts';
import { parseInput } from './parse-input.ts';
import { planEvents } from './plan-events.ts';
import type { ControlStore } from './ports/control.ts';
import type { EmailQuotaStore, ExportStore, JobQueue, Mailer, ObjectStore } from './ports/exports.ts';
import type { KindRegistry } from './ports/kinds.ts';
import { clampToRetention } from './read-window.ts';

/** What the export job and the export API share. */
export interface ExportDeps extends EventDeps {
  exports: ExportStore;
  objects: ObjectStore;
  queue: JobQueue;
  mailer: Mailer;
  emailFrom: string;
  /** The sealer's watermark lag, which sets each export's cut-off (default: INTEGRITY's). */
  sealLagMs?: number;
  /** The tenant's kind registry, which the planner reads. */
  kinds: Pick<KindRegistry, 'kinds' | 'actorsWithEmail'>;
}

/** What creating an export needs on top: the tenant's allowed email domains and email allowance. */
export interface CreateExportDeps extends ExportDeps {
  control: Pick<ControlStore, 'getTenant'>;
  emailQuota: EmailQuotaStore;
}

export interface ExportOutcome {
  status: 201 | 202;
  export: ReturnType<typeof presentExport>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const lagMsOf = (deps: Pick<ExportDeps, 'sealLagMs'>): number =>
  deps.sealLagMs ?? INTEGRITY.watermarkLagSeconds * 1000;

/**
 * 1234567 → "1,234,567", as `toLocaleString('en-US')` writes a count, without it: the first Intl
 * call maps ICU's locale data into the process (about 9 MiB of RSS), and the export worker made it
 * at the very end of a job, on top of everything the job held.
 */
export const groupThousands = (count: number): string => String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const readyEmail = (record: ExportRecord) => ({
  subject: `Your audit log export is ready (${groupThousands(record.rows)} events)`,
  text: [
    `Your ${record.format.toUpperCase()} export of the audit log is ready: ${record.rows} events, ${record.bytes} bytes.`,
    '',
    `Open it in your audit log to download it: ${record.base_url}${consoleExportPath(record.tenant_id, record.id)}`,
    '(If the audit log asks you to, open it from your application first, then this link again.)',
    '',
    `With an API key of your workspace: GET ${record.base_url}${downloadPath(record.id)}`,
    '',
    `The file is kept until ${record.expires_at}.`,
    `Export id: ${record.id}`,
  ].join('\n'),
});

export const failedEmail = (record: ExportRecord) => ({
  subject: 'Your audit log export failed',
  text: [
    `Your ${record.format.toUpperCase()} export of the audit log could not be completed: ${record.error ?? 'unknown error'}.`,
    '',
    'Please request it again; if it fails again, contact your operator with this id.',
    `Export id: ${record.id}`,
  ].join('\n'),
});

/** The reason recorded on an export whose email failed: the error's name only (no addresses, no SDK text). */
const emailErrorText = (error: unknown): string => {
  const name =
    error instanceof Error && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(error.name) ? error.name : 'Error';
  return `the notification email could not be sent (${name})`;
};

/**
 * Sends the export's notification and, when that fails, records why on the export. Never throws:
 * the export itself is done, and an email must not undo it (nor make SQS redo it). Returns the
 * record as it now stands.
 */
export const notifyRequester = async (
  deps: Pick<ExportDeps, 'mailer' | 'emailFrom' | 'exports'>,
  record: ExportRecord,
  message: { subject: string; text: string },
): Promise<ExportRecord> => {
  if (record.notify_email === null) return record;
  try {
    await deps.mailer.send({ from: deps.emailFrom, to: record.notify_email, ...message });
    return record;
  } catch (error) {
    const failed = { ...record, email_error: emailErrorText(error) };
    try {
      return (await deps.exports.save(failed)) ?? failed;
    } catch {
      // The reason is still in this answer; the export stands either way.
      return failed;
    }
  }
};

/** 400 unless the tenant's allowed domains admit the address; 429 once its hourly allowance is used. */
const admitNotifyEmail = async (
  deps: CreateExportDeps,
  principal: Reader,
  email: string,
  nowMs: number,
): Promise<void> => {
  // A person may have the link mailed to themselves only: an export is theirs to read, not to send.
  const own = principal.kind === 'person' ? principal.person.email : undefined;
  if (principal.kind === 'person' && (own === undefined || own.toLowerCase() !== email.toLowerCase())) {
    throw new ValidationError([
      {
        field: 'notify_email',
        message:
          own === undefined
            ? 'cannot be set by a viewer session without an email address'
            : 'must be your own email address (the one of your viewer session)',
      },
    ]);
  }
  const tenant = await deps.control.getTenant(principal.tenantId, true);
  const domains = tenant?.email_domains ?? [];
  if (!emailDomainAllowed(email, domains)) {
    throw new ValidationError([
      {
        field: 'notify_email',
        message: `must be an address at one of the workspace's allowed email domains (${domains.join(', ')})`,
      },
    ]);
  }
  const quota = emailQuotaWindow(nowMs);
  const taken = await deps.emailQuota.take(
    principal.tenantId,
    quota.key,
    NOTIFY_EMAILS_PER_HOUR,
    Math.ceil(quota.resetsAtMs / 1000) + 86_400,
  );
  if (!taken) {
    throw new TooManyRequestsError(
      (quota.resetsAtMs - nowMs) / 1000,
      `At most ${NOTIFY_EMAILS_PER_HOUR} exports with notify_email per workspace per hour; retry after the time in Retry-After, or export without notify_email.`,
    );
  }
};

/** The requester recorded on an export made by `reader`. */
const requesterFor = (reader: Reader): ExportRequester =>
  reader.kind === 'key'
    ? { kind: 'key', id: reader.keyId, ...(reader.keyName ? { name: reader.keyName } : {}) }
    : {
        kind: 'person',
        id: reader.person.id,
        ...(reader.person.email === undefined ? {} : { email: reader.person.email }),
        ...(reader.person.name === undefined ? {} : { name: reader.person.name }),
        role: reader.role,
        session_id: reader.sessionId,
        via: reader.via,
      };

export const createExport = async (
  deps: CreateExportDeps,
  principal: Reader,
  body: unknown,
  baseUrl: string,
  requestId: string,
): Promise<ExportOutcome> => {
  const { format, notify_email, columns, ...filters } = parseInput(createExportSchema, body);
  const columnsProblem = exportColumnsProblem(format, columns);
  if (columnsProblem !== null) throw new ValidationError([{ field: 'columns', message: columnsProblem }]);
  const nowMs = deps.now();
  const requested = resolveWindow(filters, nowMs);
  if ('error' in requested) throw new ValidationError([{ field: 'from', message: requested.error }]);
  // The reader's team scope (a team_id outside it is a 403) before anything is counted or read.
  checkReaderFilters(principal, filters);
  const scope = readerScope(principal);
  const teamScope = scope === null ? null : scopedTeams(filters, scope);
  if (notify_email !== undefined) await admitNotifyEmail(deps, principal, notify_email, nowMs);
  // Never older than the tenant's current retention; null: the whole window is past it.
  const readable = clampToRetention(requested, principal.retentionDays, nowMs);
  const window = readable ?? requested;

  // Read one row past the synchronous limit to learn which path this export takes.
  const events: StoredEvent[] = [];
  if (readable !== null) {
    const { plan } = await planEvents(deps, {
      tenantId: principal.tenantId,
      shards: principal.shards,
      filters,
      window: readable,
      scope,
      limit: SYNC_EXPORT_MAX_ROWS + 1,
    });
    let before: string | undefined;
    let more = true;
    while (more && events.length <= SYNC_EXPORT_MAX_ROWS) {
      const page = await deps.store.query(
        plan,
        Math.min(1000, SYNC_EXPORT_MAX_ROWS + 1 - events.length),
        before,
        nowMs,
      );
      events.push(...page.events);
      more = page.more;
      const last = page.events.at(-1);
      if (last === undefined) break;
      before = eventSortKey(last.occurred_at, last.id);
    }
  }

  const id = newExportId();
  const base = newExportRecord({
    id,
    tenantId: principal.tenantId,
    format,
    filters,
    ...(columns === undefined ? {} : { columns }),
    window,
    notifyEmail: notify_email ?? null,
    requester: requesterFor(principal),
    teamScope,
    baseUrl,
    nowMs,
  });

  if (events.length <= SYNC_EXPORT_MAX_ROWS) {
    const formatter = formatterFor(format, columns);
    const file = formatter.begin() + formatter.rows(events, 0) + formatter.end(events.length);
    await deps.objects.put(base.object_key, file, formatter.contentType);
    const record: ExportRecord = {
      ...base,
      status: 'completed',
      rows: events.length,
      bytes: Buffer.byteLength(file, 'utf8'),
      as_of: exportCutoff({
        readStartMs: nowMs,
        window,
        toGiven: filters.to !== undefined,
        lagMs: lagMsOf(deps),
      }),
      started_at: base.created_at,
      completed_at: iso(deps.now()),
    };
    await deps.exports.create(record);
    await recordAccess(
      deps,
      principal,
      'audit_log.exported',
      { export_id: id, format, filters, ...(columns === undefined ? {} : { columns }), rows: record.rows },
      requestId,
      `audit-export-${id}`,
    );
    const notified = await notifyRequester(deps, record, readyEmail(record));
    return { status: 201, export: presentExport(notified) };
  }

  await deps.exports.create(base);
  try {
    await deps.queue.send({ tenantId: principal.tenantId, exportId: id });
  } catch (error) {
    await deps.exports.save({
      ...base,
      status: 'failed',
      error: 'the export could not be queued; request it again',
    });
    throw error;
  }
  return { status: 202, export: presentExport(base) };
};

/** The export, if it exists and `reader` may see it; else 404 (never saying which). */
const loadExport = async (deps: Pick<ExportDeps, 'exports'>, reader: Reader, exportId: string) => {
  const record = /^exp_[0-9a-z]{26}$/.test(exportId)
    ? await deps.exports.get(reader.tenantId, exportId)
    : null;
  const visible =
    record !== null &&
    exportVisibleTo(
      record,
      reader.kind === 'key'
        ? { kind: 'key' }
        : { kind: 'person', personId: reader.person.id, scope: readerScope(reader) },
    );
  if (record === null || !visible) throw new NotFoundError('No export with this id.');
  return record;
};

export const getExport = async (deps: Pick<ExportDeps, 'exports'>, reader: Reader, exportId: string) =>
  presentExport(await loadExport(deps, reader, exportId));

/**
 * A fresh presigned URL for a completed export (the stable link every email points at). Checks
 * again who asks (a team admin's current teams must still cover the export's) and writes
 * `audit_log.export_downloaded`.
 */
export const downloadExport = async (
  deps: Pick<ExportDeps, 'exports' | 'objects' | 'now' | 'store' | 'redact'>,
  reader: Reader,
  exportId: string,
  requestId: string,
): Promise<string> => {
  const record = await loadExport(deps, reader, exportId);
  if (record.status !== 'completed') {
    throw new HttpError(
      409,
      'export-not-ready',
      'Export not ready',
      `The export is ${record.status}; its file is not available.`,
    );
  }
  if (Date.parse(record.expires_at) <= deps.now()) {
    throw new HttpError(
      410,
      'export-expired',
      'Export expired',
      `The file was deleted at ${record.expires_at}; request a new export.`,
    );
  }
  const filename = `audit-log-${record.id}.${FORMATTERS[record.format].extension}`;
  const url = await deps.objects.presignDownload(record.object_key, filename, DOWNLOAD_URL_TTL_SECONDS);
  await recordAccess(
    deps,
    reader,
    'audit_log.export_downloaded',
    { export_id: record.id, format: record.format, rows: record.rows },
    requestId,
  );
  return url;
};
