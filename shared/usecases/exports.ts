/**
 * Export use cases. Up to SYNC_EXPORT_MAX_ROWS matching events the file is written within the
 * request (201, completed); beyond, the export is queued (202) and the worker (export-job.ts)
 * streams it. Every export can be read back and downloaded through a fresh presigned URL.
 */
import type { ExportStore } from '../adapters/export-store.ts';
import type { JobQueue } from '../adapters/job-queue.ts';
import type { Mailer } from '../adapters/mailer.ts';
import type { ObjectStore } from '../adapters/object-store.ts';
import { DOWNLOAD_URL_TTL_SECONDS } from '../config/storage.ts';
import { toFieldErrors } from '../domain/event.ts';
import {
  createExportSchema,
  downloadPath,
  type ExportRecord,
  newExportRecord,
  presentExport,
  SYNC_EXPORT_MAX_ROWS,
} from '../domain/export.ts';
import { FORMATTERS } from '../domain/export-format.ts';
import { newExportId } from '../domain/ids.ts';
import { eventSortKey } from '../domain/keys.ts';
import { planQuery, resolveWindow } from '../domain/query.ts';
import { HttpError, NotFoundError, ValidationError } from '../errors.ts';
import { type EventDeps, type KeyPrincipal, recordAccess } from './events.ts';

export interface ExportDeps extends EventDeps {
  exports: ExportStore;
  objects: ObjectStore;
  queue: JobQueue;
  mailer: Mailer;
  emailFrom: string;
}

export interface ExportOutcome {
  status: 201 | 202;
  export: ReturnType<typeof presentExport>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const readyEmail = (record: ExportRecord) => ({
  subject: `Your audit log export is ready (${record.rows.toLocaleString('en-US')} events)`,
  text: [
    `Your ${record.format.toUpperCase()} export of the audit log is ready: ${record.rows} events, ${record.bytes} bytes.`,
    '',
    `Download it here (sign in with a key of your workspace): ${record.base_url}${downloadPath(record.id)}`,
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

export const createExport = async (
  deps: ExportDeps,
  principal: KeyPrincipal,
  body: unknown,
  baseUrl: string,
  requestId: string,
): Promise<ExportOutcome> => {
  const parsed = createExportSchema.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError(toFieldErrors(parsed.error));
  const { format, notify_email, ...filters } = parsed.data;
  const nowMs = deps.now();
  const window = resolveWindow(filters, nowMs);
  if ('error' in window) throw new ValidationError([{ field: 'from', message: window.error }]);
  const plan = planQuery(principal.tenantId, principal.shards, filters, window);

  // Read one row past the synchronous limit to learn which path this export takes.
  const events = [];
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

  const id = newExportId();
  const base = newExportRecord({
    id,
    tenantId: principal.tenantId,
    format,
    filters,
    window,
    notifyEmail: notify_email ?? null,
    requestedBy: principal.keyId,
    baseUrl,
    nowMs,
  });

  if (events.length <= SYNC_EXPORT_MAX_ROWS) {
    const formatter = FORMATTERS[format];
    const file = formatter.begin() + formatter.rows(events, 0) + formatter.end(events.length);
    await deps.objects.put(base.object_key, file, formatter.contentType);
    const record: ExportRecord = {
      ...base,
      status: 'completed',
      rows: events.length,
      bytes: Buffer.byteLength(file, 'utf8'),
      started_at: base.created_at,
      completed_at: iso(deps.now()),
    };
    await deps.exports.create(record);
    await recordAccess(
      deps,
      principal,
      'audit_log.exported',
      { export_id: id, format, filters, rows: record.rows },
      requestId,
      `audit-export-${id}`,
    );
    if (record.notify_email)
      await deps.mailer.send({ from: deps.emailFrom, to: record.notify_email, ...readyEmail(record) });
    return { status: 201, export: presentExport(record) };
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

const loadExport = async (deps: Pick<ExportDeps, 'exports'>, principal: KeyPrincipal, exportId: string) => {
  const record = /^exp_[0-9a-z]{26}$/.test(exportId)
    ? await deps.exports.get(principal.tenantId, exportId)
    : null;
  if (record === null) throw new NotFoundError('No export with this id.');
  return record;
};

export const getExport = async (
  deps: Pick<ExportDeps, 'exports'>,
  principal: KeyPrincipal,
  exportId: string,
) => presentExport(await loadExport(deps, principal, exportId));

/** A fresh presigned URL for a completed export (the stable link every email points at). */
export const downloadExport = async (
  deps: Pick<ExportDeps, 'exports' | 'objects' | 'now'>,
  principal: KeyPrincipal,
  exportId: string,
): Promise<string> => {
  const record = await loadExport(deps, principal, exportId);
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
  return deps.objects.presignDownload(record.object_key, filename, DOWNLOAD_URL_TTL_SECONDS);
};
