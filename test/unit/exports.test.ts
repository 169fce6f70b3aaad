/**
 * Export use cases (shared/usecases/exports.ts, export-job.ts) against in-memory ports: small
 * exports written within the request, large ones queued and streamed by the job into a multipart
 * upload across invocations, the audit event written once, notification emails within the
 * tenant's domains and hourly allowance, and email failures recorded rather than thrown. The
 * handlers' AWS commands are asserted in test/handlers/exports.test.ts and export-worker.test.ts.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { emailQuotaWindow, NOTIFY_EMAILS_PER_HOUR, SYNC_EXPORT_MAX_ROWS } from '#shared/domain/export.ts';
import { FORMATTERS } from '#shared/domain/export-format.ts';
import { serviceEventId } from '#shared/domain/ids.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import { TooManyRequestsError, ValidationError } from '#shared/errors.ts';
import type { KeyPrincipal } from '#shared/usecases/events.ts';
import { type ExportJobDeps, runExportJob } from '#shared/usecases/export-job.ts';
import { createExport, downloadExport, getExport, groupThousands } from '#shared/usecases/exports.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';
import {
  MemoryEmailQuotaStore,
  MemoryExportStore,
  MemoryJobQueue,
  MemoryMailer,
  MemoryObjectStore,
} from './fakes/exports.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const BASE_URL = 'https://audit.example.com';
const SHARDS = 2;

const tenantRecord: TenantRecord = {
  id: TENANT,
  name: 'Acme',
  plan: 'pro',
  custom_retention_days: null,
  shards: SHARDS,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  email_domains: ['example.com'],
};

const principal = (retentionDays = 90): KeyPrincipal => ({
  kind: 'key',
  tenantId: TENANT,
  keyId: 'key_01jd0000000000000000000000',
  keyName: 'ci',
  scopes: ['exports:write', 'events:read'],
  retentionDays,
  shards: SHARDS,
});

const setup = async () => {
  const control = new MemoryControlStore();
  await control.createTenant(tenantRecord);
  const store = new MemoryEventStore();
  const objects = new MemoryObjectStore(0); // like s3rver: the tests' parts are far below S3's 5 MiB
  const deps = {
    store,
    kinds: store.registry,
    redact: createRedactor(),
    now: () => NOW,
    exports: new MemoryExportStore(),
    objects,
    queue: new MemoryJobQueue(),
    mailer: new MemoryMailer(),
    emailFrom: 'Trailkeeper <no-reply@trailkeeper.invalid>',
    sealLagMs: 60_000,
    control,
    emailQuota: new MemoryEmailQuotaStore(),
  };
  /** `count` events, one a minute back from NOW (or `ageMs` apart). */
  const seed = async (count: number, ageMs = 60_000, actorName?: string) => {
    const built: { event: StoredEvent; contentHash: string }[] = [];
    for (let i = 0; i < count; i++) {
      const result = buildStoredEvent(
        {
          id: `e${String(i).padStart(6, '0')}`,
          action: 'document.viewed',
          actor: { id: `user_${i % 7}`, ...(actorName === undefined ? {} : { name: actorName }) },
          occurred_at: new Date(NOW - (i + 1) * ageMs).toISOString(),
        },
        { tenantId: TENANT, retentionDays: null },
        NOW,
        deps.redact,
      );
      if (!result.ok) throw new Error('fixture');
      built.push({ event: result.event, contentHash: result.submission.contentHash });
    }
    await store.append(built, SHARDS);
  };
  const auditEvent = (exportId: string) => store.get(TENANT, serviceEventId(`audit-export-${exportId}`), NOW);
  return { deps, store, objects, seed, auditEvent };
};

describe('a small export', () => {
  it('is written within the request, audited, and downloadable', async () => {
    const { deps, objects, seed, auditEvent } = await setup();
    await seed(3);
    const outcome = await createExport(deps, principal(), { format: 'ndjson' }, BASE_URL, 'req-1');

    expect(outcome.status).toBe(201);
    expect(outcome.export).toMatchObject({ status: 'completed', rows: 3, progress: 1 });
    const file = objects.text(`tenant=${TENANT}/exports/${outcome.export.id}.ndjson`) ?? '';
    expect(
      file
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['e000000', 'e000001', 'e000002']);
    expect(await auditEvent(outcome.export.id)).toMatchObject({
      action: 'audit_log.exported',
      metadata: { export_id: outcome.export.id, rows: 3 },
    });
    expect(await getExport(deps, principal(), outcome.export.id)).toEqual(outcome.export);
    expect(await downloadExport(deps, principal(), outcome.export.id, 'req-1')).toContain(
      `filename=audit-log-${outcome.export.id}.ndjson`,
    );
  });

  it("reads nothing older than the key's retention", async () => {
    const { deps, objects, seed } = await setup();
    await seed(10, 86_400_000); // one a day, 1 to 10 days old
    const outcome = await createExport(deps, principal(7), { format: 'ndjson' }, BASE_URL, 'req-1');
    // 1 to 7 days old: the seventh is exactly at the retention floor, which is kept.
    expect(outcome.export.rows).toBe(7);
    const file = objects.text(`tenant=${TENANT}/exports/${outcome.export.id}.ndjson`) ?? '';
    expect(file.trim().split('\n')).toHaveLength(7);
  });

  it('emails the link to an address of an allowed domain', async () => {
    const { deps, seed } = await setup();
    await seed(1);
    const outcome = await createExport(
      deps,
      principal(),
      { format: 'csv', notify_email: 'ada@example.com' },
      BASE_URL,
      'req-1',
    );
    expect(deps.mailer.sent).toHaveLength(1);
    expect(deps.mailer.sent[0]).toMatchObject({
      to: 'ada@example.com',
      subject: expect.stringContaining('ready'),
    });
    expect(deps.mailer.sent[0]?.text).toContain(`${BASE_URL}/v1/exports/${outcome.export.id}/download`);
  });

  it('records a failed email on the export and still completes', async () => {
    const { deps, seed } = await setup();
    await seed(1);
    deps.mailer.failure = Object.assign(new Error('no'), { name: 'MessageRejected' });
    const outcome = await createExport(
      deps,
      principal(),
      { format: 'json', notify_email: 'ada@example.com' },
      BASE_URL,
      'req-1',
    );
    expect(outcome.status).toBe(201);
    expect(outcome.export).toMatchObject({
      status: 'completed',
      email_error: 'the notification email could not be sent (MessageRejected)',
    });
    expect((await getExport(deps, principal(), outcome.export.id)).email_error).toBe(
      outcome.export.email_error,
    );
  });
});

describe('notify_email', () => {
  it("is refused outside the tenant's allowed domains, counting and writing nothing", async () => {
    const { deps, objects, seed } = await setup();
    await seed(1);
    await expect(
      createExport(deps, principal(), { format: 'csv', notify_email: 'eve@elsewhere.org' }, BASE_URL, 'r'),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(deps.emailQuota.counted(TENANT, emailQuotaWindow(NOW).key)).toBe(0);
    expect(objects.objects.size).toBe(0);
  });

  it('is refused with 429 once the hourly allowance is used', async () => {
    const { deps, seed } = await setup();
    await seed(1);
    const request = () =>
      createExport(deps, principal(), { format: 'csv', notify_email: 'ada@example.com' }, BASE_URL, 'r');
    for (let i = 0; i < NOTIFY_EMAILS_PER_HOUR; i++) await request();
    await expect(request()).rejects.toBeInstanceOf(TooManyRequestsError);
    expect(deps.mailer.sent).toHaveLength(NOTIFY_EMAILS_PER_HOUR);
  });
});

describe('a large export', () => {
  it('is queued, then streamed by the job across invocations into one complete file', async () => {
    const { deps, objects, seed, auditEvent } = await setup();
    const total = SYNC_EXPORT_MAX_ROWS + 1;
    await seed(total, 1000);
    const outcome = await createExport(
      deps,
      principal(),
      { format: 'ndjson', notify_email: 'ada@example.com' },
      BASE_URL,
      'req-1',
    );
    expect(outcome).toMatchObject({ status: 202, export: { status: 'queued' } });
    expect(objects.objects.size).toBe(0);
    const job = { tenantId: TENANT, exportId: outcome.export.id };
    expect(deps.queue.sent).toEqual([job]);

    // Every invocation is short of time after its first part: it checkpoints and re-enqueues.
    const jobDeps: ExportJobDeps = { ...deps, partBytes: 256 * 1024, reserveMs: 60_000 };
    const outcomes: string[] = [];
    for (let delivery = 0; delivery < 50 && outcomes.at(-1) !== 'completed'; delivery++) {
      outcomes.push(await runExportJob(jobDeps, job, () => 1_000));
    }
    expect(outcomes.length).toBeGreaterThan(2);
    expect(outcomes.slice(0, -1).every((o) => o === 'continued')).toBe(true);
    expect(deps.queue.sent).toHaveLength(outcomes.length);

    const file = objects.text(`tenant=${TENANT}/exports/${outcome.export.id}.ndjson`) ?? '';
    const ids = file
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toHaveLength(total);
    expect(ids[0]).toBe('e000000');
    expect(ids.at(-1)).toBe(`e${String(total - 1).padStart(6, '0')}`);
    expect(new Set(ids).size).toBe(total);
    expect(objects.openUploads()).toBe(0);
    expect(await getExport(deps, principal(), outcome.export.id)).toMatchObject({
      status: 'completed',
      rows: total,
    });
    expect(await auditEvent(outcome.export.id)).toMatchObject({ metadata: { rows: total } });
    expect(deps.mailer.sent.map((m) => m.subject)).toEqual([expect.stringContaining('ready')]);

    // A duplicate delivery of the finished job changes nothing.
    expect(await runExportJob(jobDeps, job, () => 600_000)).toBe('skipped');
    expect(deps.mailer.sent).toHaveLength(1);
  });

  it('writes, part by part and across invocations, the very bytes the formatter writes at once', async () => {
    const { deps, objects, seed } = await setup();
    const total = SYNC_EXPORT_MAX_ROWS + 1;
    await seed(total, 1000, 'Zoë, "日本" 😀');
    const outcome = await createExport(deps, principal(), { format: 'csv' }, BASE_URL, 'req-1');
    const job = { tenantId: TENANT, exportId: outcome.export.id };
    const jobDeps: ExportJobDeps = { ...deps, partBytes: 100_000, reserveMs: 60_000 };
    const outcomes: string[] = [];
    for (let delivery = 0; delivery < 100 && outcomes.at(-1) !== 'completed'; delivery++) {
      outcomes.push(await runExportJob(jobDeps, job, () => 1_000));
    }
    expect(outcomes.at(-1)).toBe('completed');
    expect(outcomes.length).toBeGreaterThan(10);

    const file = objects.text(`tenant=${TENANT}/exports/${outcome.export.id}.csv`) ?? '';
    const records = parse(file, { bom: true }) as string[][];
    const events = records.slice(1).map((record) => JSON.parse(record.at(-1) ?? '') as StoredEvent);
    expect(events).toHaveLength(total);
    expect(events[0]?.actor.name).toBe('Zoë, "日本" 😀');
    const csv = FORMATTERS.csv;
    expect(file).toBe(csv.begin() + csv.rows(events, 0) + csv.end(total));
    expect((await getExport(deps, principal(), outcome.export.id)).bytes).toBe(Buffer.byteLength(file));
  });

  it('fails, and says so by email, when its tenant is gone', async () => {
    const { deps, seed } = await setup();
    await seed(SYNC_EXPORT_MAX_ROWS + 1, 1000);
    const outcome = await createExport(
      deps,
      principal(),
      { format: 'csv', notify_email: 'ada@example.com' },
      BASE_URL,
      'req-1',
    );
    const job = { tenantId: TENANT, exportId: outcome.export.id };
    const gone = { ...deps, control: { getTenant: async () => null }, partBytes: 1024, reserveMs: 0 };
    expect(await runExportJob(gone, job, () => 600_000)).toBe('failed');
    expect(await getExport(deps, principal(), outcome.export.id)).toMatchObject({
      status: 'failed',
      error: 'the tenant no longer exists',
    });
    expect(deps.mailer.sent.map((m) => m.subject)).toEqual(['Your audit log export failed']);
  });
});

describe('the ready email', () => {
  it("groups the event count as toLocaleString('en-US') does, without Intl", () => {
    const counts = [0, 7, 999, 1_000, 10_001, 123_456, 1_000_000, 10_000_001, 123_456_789_012];
    expect(counts.map(groupThousands)).toEqual(counts.map((n) => n.toLocaleString('en-US')));
  });
});
