/**
 * Child process of the export part (bench/parts/export.ts), so the RSS it measures is the export
 * job's own. Runs the REAL `runExportJob` with the real `S3ObjectStore` (multipart upload to the
 * s3rver the parent started) over a synthetic event source, and samples its own memory while it
 * runs. Everything else the job touches is in memory: the export record (version-conditioned like
 * DynamoExportStore), the tenant, a queue and a mailer that only count.
 *
 * The source behaves like `DynamoEventStore.query` for a time-window export: events newest first,
 * strictly below `before`, `limit` at a time, `more` until the window's N events are out. Event n
 * is built on the fly by `buildStoredEvent` (the ingest path: redaction, canonical hash) from one of
 * a small pool of realistic ~1 KB inputs, with its own occurred_at and a deterministic ULID, so each
 * page is a fresh set of objects as the real adapter's JSON.parse would make, and nothing
 * accumulates.
 *
 * Input: one JSON argument (DriverConfig). Output on stdout, one JSON object per line:
 * `{"rows": n}` about once a second, then `{"result": …}` (or `{"error": "…"}` and exit code 1).
 */
import { getHeapStatistics } from 'node:v8';
import { S3Client } from '@aws-sdk/client-s3';
import { ulid } from 'ulid';
import { localS3ClientConfig } from '#infra/local/s3.ts';
import { S3ObjectStore } from '#shared/adapters/object-store.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import type { EventInput, StoredEvent } from '#shared/domain/event.ts';
import { type ExportRecord, newExportRecord, SYNC_EXPORT_MAX_ROWS } from '#shared/domain/export.ts';
import type { ExportFormat } from '#shared/domain/export-format.ts';
import { newExportId, newTenantId } from '#shared/domain/ids.ts';
import { eventSortKey } from '#shared/domain/keys.ts';
import type { QueryPlan } from '#shared/domain/query.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import {
  DEFAULT_TIME_RESERVE_MS,
  type ExportJobDeps,
  type JobOutcome,
  runExportJob,
} from '#shared/usecases/export-job.ts';
import type { AppendResult, EventStore, ProbeResult, QueryPage } from '#shared/usecases/ports/events.ts';
import type { ExportJob, ExportStore, ObjectStore, UploadedPart } from '#shared/usecases/ports/exports.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from './lib/events.ts';
import { gcTally, HWM_SOURCE, maxRssMib, mib, peakRssMib } from './lib/memory.ts';
import { seededRng } from './lib/random.ts';

export interface DriverConfig {
  endpoint: string;
  bucket: string;
  format: ExportFormat;
  events: number;
  partBytes: number;
  sampleMs: number;
  seed: number;
}

export interface RssSample {
  t_ms: number;
  rows: number;
  rss_mib: number;
  heap_used_mib: number;
  external_mib: number;
  array_buffers_mib: number;
}

export interface DriverResult {
  node: string;
  exec_argv: string[];
  /** V8's old-space limit in this process (set by the worker's --max-old-space-size). */
  heap_size_limit_mib: number;
  outcome: JobOutcome;
  invocations: number;
  rows: number;
  bytes: number;
  object_key: string;
  parts: number;
  part_bytes_max: number;
  first: { id: string; occurred_at: string };
  last: { id: string; occurred_at: string };
  /** Wall time of the job (all invocations), and where it went. */
  job_ms: number;
  source_ms: number;
  upload_ms: number;
  complete_ms: number;
  queries: number;
  record_saves: number;
  record_conflicts: number;
  queue_sends: number;
  mails: number;
  audit_events: number;
  gc: { count: number; major: number; ms: number };
  /** RSS after imports and wiring, before the job. */
  rss_start_mib: number;
  /**
   * The process's RSS high-water mark at three moments: `VmHWM` of /proc/self/status on Linux
   * (this address space's own peak), else process.resourceUsage().maxRSS.
   */
  hwm_source: 'VmHWM' | 'maxRSS';
  peak_rss_start_mib: number;
  peak_rss_at_10pct_mib: number;
  peak_rss_end_mib: number;
  /**
   * process.resourceUsage().maxRSS at the end, for comparison only: on Linux it also counts the
   * forked copy of the parent before exec, so it reads the bench's own RSS when that is larger.
   */
  max_rss_end_mib: number;
  /** Highest sampled RSS before and after 10 % of the events had been read. */
  sampled_peak_at_10pct_mib: number;
  sampled_peak_mib: number;
  heap_used_peak_mib: number;
  external_peak_mib: number;
  array_buffers_peak_mib: number;
  samples: RssSample[];
}

const DAY_MS = 86_400_000;
const TEMPLATES = 1_000;
const WINDOW_DAYS = 7;

const iso = (ms: number): string => new Date(ms).toISOString();

/** N events spread over [from, to), newest first, built on demand; see the module comment. */
class SyntheticEventStore implements EventStore {
  served = 0;
  queries = 0;
  ms = 0;
  readonly appended: StoredEvent[] = [];
  private readonly inputs: EventInput[];
  private readonly stepMs: number;

  constructor(
    private readonly count: number,
    private readonly tenantId: string,
    private readonly window: { fromMs: number; toMs: number },
    private readonly nowMs: number,
    private readonly seed: number,
    /** Called once when the events read cross `mark`. */
    private readonly mark: { at: number; reached: () => void },
  ) {
    const next = eventGenerator({
      seed,
      population: HOT_DAY_POPULATION,
      occurredAt: () => window.toMs - 1,
    });
    this.inputs = Array.from({ length: TEMPLATES }, (_, n) => next(n));
    this.stepMs = Math.floor((window.toMs - window.fromMs) / (count + 1));
    if (this.stepMs < 1) throw new Error(`${count} events do not fit in the window at 1 ms apart`);
  }

  private timeOf(n: number): number {
    return this.window.toMs - (n + 1) * this.stepMs;
  }

  private idOf(n: number): string {
    return ulid(this.timeOf(n), seededRng(this.seed * 1_000_003 + n)).toLowerCase();
  }

  sortKeyOf(n: number): string {
    return eventSortKey(iso(this.timeOf(n)), this.idOf(n));
  }

  eventAt(n: number): StoredEvent {
    const input = this.inputs[n % TEMPLATES] as EventInput;
    return storedEvent(
      { ...input, id: this.idOf(n), occurred_at: iso(this.timeOf(n)) },
      this.tenantId,
      this.nowMs,
    );
  }

  /** The first n whose sort key is strictly below `before` (sort keys fall as n grows). */
  private firstBelow(before: string): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortKeyOf(mid) < before) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  async query(plan: QueryPlan, limit: number, before: string | undefined): Promise<QueryPage> {
    const startedAt = performance.now();
    if (Date.parse(plan.from) > this.window.fromMs || Date.parse(plan.to) < this.window.toMs - 1)
      throw new Error(`the plan's window ${plan.from}..${plan.to} is not the source's`);
    this.queries += 1;
    const start = before === undefined ? 0 : this.firstBelow(before);
    const end = Math.min(this.count, start + limit);
    const events: StoredEvent[] = [];
    for (let n = start; n < end; n++) events.push(this.eventAt(n));
    const was = this.served;
    this.served += events.length;
    if (was < this.mark.at && this.served >= this.mark.at) this.mark.reached();
    this.ms += performance.now() - startedAt;
    return { events, more: end < this.count, readUnits: 0 };
  }

  async get(): Promise<StoredEvent | null> {
    return null;
  }

  /** The export plans a time-only query: the planner never probes it. */
  async probe(): Promise<ProbeResult> {
    throw new Error('the synthetic source is never probed');
  }

  async append(events: readonly StoredEvent[]): Promise<AppendResult[]> {
    this.appended.push(...events);
    return events.map((event) => ({ event, created: true }));
  }
}

/** Export records as DynamoExportStore keeps them: serialised, every save conditioned on the version. */
class MemoryExportStore implements ExportStore {
  saves = 0;
  conflicts = 0;
  private readonly records = new Map<string, string>();

  async create(record: ExportRecord): Promise<void> {
    if (this.records.has(record.id)) throw new Error('export record exists');
    this.records.set(record.id, JSON.stringify(record));
  }

  async get(_tenantId: string, exportId: string): Promise<ExportRecord | null> {
    const stored = this.records.get(exportId);
    return stored === undefined ? null : (JSON.parse(stored) as ExportRecord);
  }

  async save(record: ExportRecord): Promise<ExportRecord | null> {
    const stored = this.records.get(record.id);
    if (stored === undefined || (JSON.parse(stored) as ExportRecord).version !== record.version) {
      this.conflicts += 1;
      return null;
    }
    const next = { ...record, version: record.version + 1 };
    this.records.set(record.id, JSON.stringify(next));
    this.saves += 1;
    return next;
  }
}

/** The real S3ObjectStore, timed and counted. */
class MeasuredObjectStore implements ObjectStore {
  parts = 0;
  partBytesMax = 0;
  uploadMs = 0;
  completeMs = 0;

  constructor(private readonly inner: ObjectStore) {}

  put(key: string, body: string, contentType: string): Promise<void> {
    return this.inner.put(key, body, contentType);
  }

  startUpload(key: string, contentType: string): Promise<string> {
    return this.inner.startUpload(key, contentType);
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadedPart> {
    const startedAt = performance.now();
    const part = await this.inner.uploadPart(key, uploadId, partNumber, body);
    this.uploadMs += performance.now() - startedAt;
    this.parts += 1;
    this.partBytesMax = Math.max(this.partBytesMax, body.length);
    return part;
  }

  async completeUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<void> {
    const startedAt = performance.now();
    await this.inner.completeUpload(key, uploadId, parts);
    this.completeMs += performance.now() - startedAt;
  }

  abortUpload(key: string, uploadId: string): Promise<void> {
    return this.inner.abortUpload(key, uploadId);
  }

  presignDownload(key: string, filename: string, seconds: number): Promise<string> {
    return this.inner.presignDownload(key, filename, seconds);
  }
}

const emit = (line: unknown): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const main = async (config: DriverConfig): Promise<DriverResult> => {
  if (config.events <= SYNC_EXPORT_MAX_ROWS)
    throw new Error(`an export of ${config.events} events is written within the request, not by the job`);
  const nowMs = Date.now();
  const tenant: TenantRecord = {
    id: newTenantId(),
    name: 'Bench export tenant',
    plan: 'pro',
    custom_retention_days: null,
    shards: 1,
    created_at: iso(nowMs - DAY_MS * 30),
    updated_at: iso(nowMs - DAY_MS * 30),
  };
  const window = { fromMs: nowMs - WINDOW_DAYS * DAY_MS, toMs: nowMs };

  const samples: RssSample[] = [];
  let peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let peakAt10 = 0;
  let peakAt10Hwm = 0;
  let store: SyntheticEventStore | undefined;
  const jobStartedAt = { ms: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak = {
      rss: Math.max(peak.rss, m.rss),
      heapUsed: Math.max(peak.heapUsed, m.heapUsed),
      external: Math.max(peak.external, m.external),
      arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers),
    };
    samples.push({
      t_ms: Math.round(performance.now() - jobStartedAt.ms),
      rows: store?.served ?? 0,
      rss_mib: mib(m.rss),
      heap_used_mib: mib(m.heapUsed),
      external_mib: mib(m.external),
      array_buffers_mib: mib(m.arrayBuffers),
    });
  };

  store = new SyntheticEventStore(config.events, tenant.id, window, nowMs, config.seed, {
    at: Math.ceil(config.events / 10),
    reached: () => {
      sample();
      peakAt10 = peak.rss;
      peakAt10Hwm = peakRssMib();
    },
  });
  const exports = new MemoryExportStore();
  const s3 = new S3Client(localS3ClientConfig(config.endpoint));
  const objects = new MeasuredObjectStore(new S3ObjectStore(s3, config.bucket));
  let queueSends = 0;
  let mails = 0;
  const deps: ExportJobDeps = {
    store,
    // No filters: the planner reads the time index without asking the registry.
    kinds: {
      kinds: async () => ({ kinds: [], readUnits: 0 }),
      actorsWithEmail: async () => ({ ids: [], more: false }),
    },
    redact: createRedactor(),
    now: () => Date.now(),
    exports,
    objects,
    queue: {
      send: async () => {
        queueSends += 1;
      },
    },
    mailer: {
      send: async () => {
        mails += 1;
        return 'bench';
      },
    },
    emailFrom: 'Trailkeeper <no-reply@bench.example>',
    control: { getTenant: async (id) => (id === tenant.id ? tenant : null) },
    partBytes: config.partBytes,
    reserveMs: DEFAULT_TIME_RESERVE_MS,
  };

  // The record createExport writes before queueing the job (time-window export, no filters).
  const exportId = newExportId();
  const record = newExportRecord({
    id: exportId,
    tenantId: tenant.id,
    format: config.format,
    filters: {},
    window: { from: iso(window.fromMs), to: iso(window.toMs) },
    notifyEmail: 'bench@bench.example',
    requestedBy: 'key_bench',
    baseUrl: 'http://127.0.0.1',
    nowMs,
  });
  await exports.create(record);
  const job: ExportJob = { tenantId: tenant.id, exportId };

  const gc = gcTally();

  const rssStart = mib(process.memoryUsage().rss);
  const peakStart = peakRssMib();
  jobStartedAt.ms = performance.now();
  sample();
  let ticks = 0;
  const timer = setInterval(() => {
    sample();
    if (++ticks % 4 === 0) emit({ progress: store?.served ?? 0 });
  }, config.sampleMs);

  // As the worker runs it: one invocation with Lambda's time limit; a continuation (the job
  // re-enqueued itself) runs as the next invocation, as SQS would deliver it.
  let outcome: JobOutcome = 'continued';
  let invocations = 0;
  while (outcome === 'continued' && invocations < 20) {
    invocations += 1;
    const invokedAt = Date.now();
    outcome = await runExportJob(
      deps,
      job,
      () => MANIFEST.exportWorker.timeoutSeconds * 1000 - (Date.now() - invokedAt),
    );
  }
  const jobMs = performance.now() - jobStartedAt.ms;
  clearInterval(timer);
  sample();
  gc.stop();
  s3.destroy();

  const final = await exports.get(tenant.id, exportId);
  if (final === null) throw new Error('the export record vanished');
  if (final.status !== 'completed') throw new Error(`export ${final.status}: ${final.error ?? outcome}`);
  return {
    node: process.version,
    exec_argv: process.execArgv,
    heap_size_limit_mib: mib(getHeapStatistics().heap_size_limit),
    outcome,
    invocations,
    rows: final.rows,
    bytes: final.bytes,
    object_key: final.object_key,
    parts: objects.parts,
    part_bytes_max: objects.partBytesMax,
    first: { id: store.eventAt(0).id, occurred_at: store.eventAt(0).occurred_at },
    last: {
      id: store.eventAt(config.events - 1).id,
      occurred_at: store.eventAt(config.events - 1).occurred_at,
    },
    job_ms: Math.round(jobMs),
    source_ms: Math.round(store.ms),
    upload_ms: Math.round(objects.uploadMs),
    complete_ms: Math.round(objects.completeMs),
    queries: store.queries,
    record_saves: exports.saves,
    record_conflicts: exports.conflicts,
    queue_sends: queueSends,
    mails,
    audit_events: store.appended.length,
    gc: gc.summary(),
    rss_start_mib: rssStart,
    hwm_source: HWM_SOURCE,
    peak_rss_start_mib: peakStart,
    peak_rss_at_10pct_mib: peakAt10Hwm,
    peak_rss_end_mib: peakRssMib(),
    max_rss_end_mib: maxRssMib(),
    sampled_peak_at_10pct_mib: mib(peakAt10),
    sampled_peak_mib: mib(peak.rss),
    heap_used_peak_mib: mib(peak.heapUsed),
    external_peak_mib: mib(peak.external),
    array_buffers_peak_mib: mib(peak.arrayBuffers),
    samples,
  };
};

main(JSON.parse(process.argv[2] ?? '{}') as DriverConfig).then(
  (result) => {
    emit({ result });
    process.exit(0);
  },
  (error: unknown) => {
    emit({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  },
);
