/**
 * The asynchronous export job: streams pages of events through the formatter into a multipart
 * upload, a part at a time, recording a checkpoint (position, upload id, parts, counts) after
 * every part. When the invocation's time runs low it re-enqueues the job and stops; the next
 * invocation resumes from the checkpoint. Every record write is conditioned on the record's
 * version, so a duplicate delivery can never interleave with a running job, and re-uploading a
 * part after a crash rewrites that part rather than adding one: retries never produce a
 * duplicate or corrupt file. Memory holds one part and one page, whatever the export's size.
 *
 * Every invocation re-reads the tenant and clamps the window to its CURRENT retention, so a
 * retention shortened between invocations hides older events from the rest of the export too,
 * and re-applies the team scope recorded on the export (a team admin's export returns only their
 * teams' events, whatever path each invocation's plan reads).
 * Once the file is complete nothing can fail the job any more: a failing email is recorded on the
 * export (`email_error`), never thrown, so SQS does not redeliver a finished export.
 */
import { type ExportCheckpoint, type ExportRecord, exportCutoff, requesterOf } from '../domain/export.ts';
import { formatterFor } from '../domain/export-format.ts';
import { eventSortKey } from '../domain/keys.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import { type AccessActor, recordAccess } from './events.ts';
import { PartBuffer, partCapacity } from './export-part.ts';
import { type ExportDeps, failedEmail, lagMsOf, notifyRequester, readyEmail } from './exports.ts';
import { planEvents } from './plan-events.ts';
import type { ControlStore } from './ports/control.ts';
import type { ExportJob } from './ports/exports.ts';
import { clampToRetention } from './read-window.ts';

/** S3's smallest part (except the last) is 5 MiB; 8 MiB keeps 10,000 parts ≥ 80 GB. */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** Time kept in reserve before the Lambda limit: one page and one part upload fit well within it. */
export const DEFAULT_TIME_RESERVE_MS = 60_000;
const PAGE_SIZE = 1000;

export interface ExportJobDeps extends ExportDeps {
  control: Pick<ControlStore, 'getTenant'>;
  partBytes: number;
  reserveMs: number;
}

export type JobOutcome = 'completed' | 'continued' | 'failed' | 'skipped';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Marks the export failed (if nobody else finished it meanwhile) and tells the requester; a
 * failing email is recorded on the export, not thrown.
 */
export const failExport = async (deps: ExportJobDeps, job: ExportJob, reason: string): Promise<void> => {
  const record = await deps.exports.get(job.tenantId, job.exportId);
  if (record === null || record.status === 'completed' || record.status === 'failed') return;
  if (record.checkpoint)
    await deps.objects.abortUpload(record.object_key, record.checkpoint.uploadId).catch(() => {});
  const failed = await deps.exports.save({
    ...record,
    status: 'failed',
    error: reason,
    checkpoint: null,
    completed_at: iso(deps.now()),
  });
  if (failed !== null) await notifyRequester(deps, failed, failedEmail(failed));
};

export const runExportJob = async (
  deps: ExportJobDeps,
  job: ExportJob,
  remainingMs: () => number,
): Promise<JobOutcome> => {
  let record: ExportRecord | null = await deps.exports.get(job.tenantId, job.exportId);
  if (record === null || record.status === 'completed' || record.status === 'failed') return 'skipped';
  const tenant = await deps.control.getTenant(job.tenantId);
  if (tenant === null) {
    await failExport(deps, job, 'the tenant no longer exists');
    return 'failed';
  }
  const formatter = formatterFor(record.format, record.columns);
  const retentionDays = effectiveRetentionDays(tenant.plan, tenant.custom_retention_days);
  // The tenant's retention as it is NOW: it may have been shortened since the last invocation.
  const readable = clampToRetention(record.window, retentionDays, deps.now());
  const window = readable ?? record.window;

  if (record.checkpoint === null) {
    const uploadId = await deps.objects.startUpload(record.object_key, formatter.contentType);
    const startedMs = deps.now();
    const started: ExportRecord | null = await deps.exports.save({
      ...record,
      window,
      status: 'running',
      started_at: iso(startedMs),
      as_of: exportCutoff({
        readStartMs: startedMs,
        window,
        toGiven: record.filters.to !== undefined,
        lagMs: lagMsOf(deps),
      }),
      checkpoint: { position: null, uploadId, parts: [], rows: 0, bytes: 0 },
    });
    if (started === null) {
      await deps.objects.abortUpload(record.object_key, uploadId).catch(() => {});
      return 'skipped';
    }
    record = started;
  }

  let checkpoint = record.checkpoint as ExportCheckpoint;
  // Planned afresh by each invocation (the registry may have learnt kinds since): every plan reads
  // the same events in the same order, so the checkpoint's position holds whichever path it takes.
  const plan =
    readable === null
      ? null
      : (
          await planEvents(deps, {
            tenantId: tenant.id,
            shards: tenant.shards,
            filters: record.filters,
            window: readable,
            scope: record.team_scope ?? null,
            limit: PAGE_SIZE,
            ...(checkpoint.position === null ? {} : { before: checkpoint.position }),
          })
        ).plan;
  const part = new PartBuffer(partCapacity(deps.partBytes));
  const write = (text: string): void => part.write(text);
  if (checkpoint.rows === 0 && checkpoint.parts.length === 0) write(formatter.begin());
  let rows = checkpoint.rows;
  let position = checkpoint.position;

  for (;;) {
    // Nothing left to read: the window is past the retention, or the position already below it.
    const exhausted = plan === null || (position !== null && position < plan.from);
    const page = exhausted
      ? { events: [], more: false }
      : await deps.store.query(plan, PAGE_SIZE, position ?? undefined, deps.now());
    formatter.writeRows(page.events, rows, write);
    rows += page.events.length;
    const last = page.events.at(-1);
    if (last !== undefined) position = eventSortKey(last.occurred_at, last.id);
    const done = !page.more || page.events.length === 0;
    if (done) write(formatter.end(rows));
    if (part.length < deps.partBytes && !done) continue;

    const body = part.view();
    const parts = [...checkpoint.parts];
    if (body.length > 0 || parts.length === 0) {
      parts.push(
        await deps.objects.uploadPart(record.object_key, checkpoint.uploadId, parts.length + 1, body),
      );
    }
    part.clear(); // the upload is done with the bytes: the next part reuses the buffer
    checkpoint = {
      position,
      uploadId: checkpoint.uploadId,
      parts,
      rows,
      bytes: checkpoint.bytes + body.length,
    };
    const saved: ExportRecord | null = await deps.exports.save({
      ...record,
      window,
      rows,
      bytes: checkpoint.bytes,
      checkpoint,
    });
    if (saved === null) return 'skipped'; // another delivery of this job owns it now
    record = saved;
    if (done) break;
    if (remainingMs() < deps.reserveMs) {
      await deps.queue.send(job);
      return 'continued';
    }
  }

  await deps.objects.completeUpload(record.object_key, checkpoint.uploadId, checkpoint.parts);
  // Audited before the record says completed, under an id derived from the export: a retry after
  // a crash here writes it once, and a completed export always has its audit event.
  const requester = requesterOf(record);
  const actor: AccessActor =
    requester.kind === 'key'
      ? { kind: 'key', keyId: requester.id, ...(requester.name ? { keyName: requester.name } : {}) }
      : {
          kind: 'person',
          person: {
            id: requester.id,
            ...(requester.email === undefined ? {} : { email: requester.email }),
            ...(requester.name === undefined ? {} : { name: requester.name }),
          },
          role: requester.role,
          sessionId: requester.session_id,
          via: requester.via ?? 'session',
        };
  await recordAccess(
    deps,
    { tenantId: tenant.id, retentionDays, shards: tenant.shards, actor },
    'audit_log.exported',
    {
      export_id: record.id,
      format: record.format,
      filters: record.filters,
      ...(record.columns == null ? {} : { columns: record.columns }),
      rows,
    },
    `export-${record.id}`,
    `audit-export-${record.id}`,
  );
  const completed = await deps.exports.save({
    ...record,
    status: 'completed',
    completed_at: iso(deps.now()),
    checkpoint: null,
  });
  if (completed === null) return 'skipped';
  await notifyRequester(deps, completed, readyEmail(completed));
  return 'completed';
};
