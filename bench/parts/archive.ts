/**
 * Part 7 — the archive: what an archived event weighs, what compaction costs, what cold storage
 * costs. SPEC: "Every event is also written to an archive in S3 (compressed, partitioned by tenant
 * and day, Object Lock, lifecycle to Glacier / Deep Archive)".
 *
 * 1. Bytes per event: the REAL `archiveStreamBatch` over a synthetic stream (bench/archive-driver.ts:
 *    one big and two small tenants, ~1 KB events built by `buildStoredEvent` → `toItem` as ingest
 *    stores them, delivered as Lambda delivers DynamoDB stream records, batches of
 *    MANIFEST.archiver.stream.batchSize, ≈ 1 % redelivered), in this process, one core, into a writer
 *    that keeps the staged objects in memory: gzip and raw JSON bytes per event, staged objects per
 *    1,000 events, archiver events/s (first batches only: 10 quick, 50 full). Those objects then go
 *    to an s3rver this part starts, and child processes (one per core) stage the rest of the
 *    stream with the real S3BlobWriter. A last table re-runs a few batches with the events'
 *    text padding removed or made random: how much the bytes depend on the synthetic text.
 * 2. Compaction: the REAL `compactArchive` (real ArchiveStore, lib-storage upload) over everything
 *    staged, in a fresh Node process with the compactor's own Node flags, closing today's
 *    partitions (closeAfterHours −24). Its RSS high-water mark (VmHWM) is the figure; the dedup
 *    Set of event ids is measured on its own. Verified: one object per tenant-day, lines = distinct
 *    events, no duplicate, nothing left staged.
 * 3. A cost model from the measured bytes (list prices in this file, no network): storage per
 *    million events per year in each class, and the per-object overhead of cold storage for
 *    per-batch objects against compacted tenant-day objects, over the archive's retention.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBRecord } from 'aws-lambda';
import { ensureBuckets, localS3ClientConfig, startLocalS3 } from '#infra/local/s3.ts';
import { decodeStreamRecord } from '#shared/adapters/event-stream.ts';
import { S3BlobWriter } from '#shared/adapters/object-store.ts';
import { type FunctionDefinition, MANIFEST } from '#shared/config/manifest.ts';
import { ARCHIVE, ARCHIVE_BUCKET, ARCHIVE_STAGING_BUCKET } from '#shared/config/storage.ts';
import { parsePartition } from '#shared/domain/archive.ts';
import { archiveStreamBatch } from '#shared/usecases/archive-stream.ts';
import type { BlobWriter } from '#shared/usecases/ports/archive.ts';
import {
  BATCH,
  BIG_PER_SMALL,
  batchRecords,
  type CompactConfig,
  type CompactResult,
  type Delivery,
  deliveriesOf,
  duplicatesOf,
  type Padding,
  REDELIVER_EVERY,
  type RssSample,
  type StageConfig,
  type StageResult,
  type StreamPlan,
  streamSize,
  tenantIds,
} from '../archive-driver.ts';
import { runDriver } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import type { BenchPart, Headline, PartResult } from '../lib/part.ts';
import { round } from '../lib/stats.ts';
import { fmt, type Table } from '../lib/table.ts';

const DRIVER = fileURLToPath(new URL('../archive-driver.ts', import.meta.url));
const STAGING = ARCHIVE_STAGING_BUCKET.localName;
const ARCHIVE_BUCKET_NAME = ARCHIVE_BUCKET.localName;
const SEED = 23;
/**
 * The big tenant's events: quick ~50,000 (brief), full 500,000. Staging 1,000,000 (1.04 M events
 * with the small tenants) took 244 s on the 2-core machine under load — every record is built as
 * ingest builds it, ~200 µs each — so the full run stages half of that; the 1 M reading is in
 * bench/README.md (set FULL_BIG_EVENTS = 1_000_000 to repeat it).
 */
const QUICK_BIG_EVENTS = 50_000;
const FULL_BIG_EVENTS = 500_000;
const DAY_MS = 86_400_000;
const MIB = 2 ** 20;
const KIB = 1024;
const SAMPLE_MS = 250;
/** Batches whose archiver time is left out of the events/s (JIT warm-up). */
const WARMUP_DELIVERIES = 3;
/** A child that has not finished in this time is stopped (a bound, not an expectation). */
const CHILD_TIMEOUT_MS = 15 * 60_000;

/**
 * us-east-1 list prices, assumed as of 2026-11-22 — check current pricing
 * (https://aws.amazon.com/s3/pricing/). GB = 2^30 bytes, as S3 bills it.
 */
const PRICES = {
  standardGbMonth: 0.023,
  glacierGbMonth: 0.0036,
  deepArchiveGbMonth: 0.00099,
  /** Per object in Glacier Flexible Retrieval / Deep Archive: index and metadata. */
  coldOverheadBytes: 32 * KIB, // billed at the cold class's rate
  standardOverheadBytes: 8 * KIB, // billed at the Standard rate
  transitionGlacierPer1000: 0.03,
  transitionDeepArchivePer1000: 0.05,
  putPer1000: 0.005,
} as const;
const GB = 2 ** 30;
/** lib-storage's Upload: one PutObject up to its 5 MiB part size, multipart above. */
const UPLOAD_PART_BYTES = 5 * MIB;

// ---------------------------------------------------------------------------------------------
// 1. Staging in this process.

/** Keeps the staged objects of one delivery in memory. */
class MemoryWriter implements BlobWriter {
  objects: { key: string; body: Buffer }[] = [];

  async put(key: string, body: Buffer): Promise<void> {
    this.objects.push({ key, body });
  }
}

interface StagedStats {
  records: number;
  objects: number;
  gzipBytes: number;
  rawBytes: number;
  lines: number;
  /** Per tenant index (0 = big): objects, events and gzip bytes of its staged objects. */
  byTenant: { objects: number; events: number; gzipBytes: number }[];
}

const emptyStats = (): StagedStats => ({
  records: 0,
  objects: 0,
  gzipBytes: 0,
  rawBytes: 0,
  lines: 0,
  byTenant: [0, 1, 2].map(() => ({ objects: 0, events: 0, gzipBytes: 0 })),
});

const addObjects = (
  stats: StagedStats,
  objects: readonly { key: string; body: Buffer }[],
  tenants: readonly string[],
): void => {
  for (const { key, body } of objects) {
    const raw = gunzipSync(body);
    let lines = 0;
    for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) lines += 1;
    stats.objects += 1;
    stats.gzipBytes += body.length;
    stats.rawBytes += raw.length;
    stats.lines += lines;
    const tenant = stats.byTenant[tenants.indexOf(parsePartition(key)?.tenantId ?? '')];
    if (tenant !== undefined) {
      tenant.objects += 1;
      tenant.events += lines;
      tenant.gzipBytes += body.length;
    }
  }
};

interface InProcessRun {
  stats: StagedStats;
  timedRecords: number;
  timedMs: number;
  quarantined: number;
  failedBatches: number;
  buildMs: number;
}

/**
 * Runs the deliveries through archiveStreamBatch in this process (only that call is timed), then
 * hands each delivery's objects to `after` (analysis, upload) outside the clock.
 */
const stageInProcess = async (
  plan: StreamPlan,
  deliveries: readonly Delivery[],
  padding: Padding,
  after: (objects: { key: string; body: Buffer }[]) => Promise<void>,
  onRecords: (records: number) => void,
): Promise<InProcessRun> => {
  const tenants = tenantIds(plan);
  const run: InProcessRun = {
    stats: emptyStats(),
    timedRecords: 0,
    timedMs: 0,
    quarantined: 0,
    failedBatches: 0,
    buildMs: 0,
  };
  let built: { batch: number; records: DynamoDBRecord[] } | undefined;
  for (const [i, delivery] of deliveries.entries()) {
    if (built?.batch !== delivery.batch) {
      const buildStart = performance.now();
      built = { batch: delivery.batch, records: batchRecords(plan, delivery.batch, padding) };
      run.buildMs += performance.now() - buildStart;
    }
    const first = delivery.batch * BATCH;
    const records = built.records.slice(delivery.from - first, delivery.to - first);
    const writer = new MemoryWriter();
    const startedAt = performance.now();
    // Decoding the stream records is the archiver handler's first step: timed with the batch.
    const result = await archiveStreamBatch(
      { staging: writer, quarantine: writer },
      records.map(decodeStreamRecord),
    );
    const ms = performance.now() - startedAt;
    if (i >= WARMUP_DELIVERIES) {
      run.timedMs += ms;
      run.timedRecords += records.length;
    }
    run.quarantined += result.counts.quarantined;
    if (result.batchItemFailures.length > 0) run.failedBatches += 1;
    run.stats.records += records.length;
    addObjects(run.stats, writer.objects, tenants);
    await after(writer.objects);
    onRecords(run.stats.records);
  }
  return run;
};

// ---------------------------------------------------------------------------------------------
// 2. Child processes.

/** Runs the driver in a fresh node with only `nodeFlags`; `onProgress` gets its counter. */
const archiveChild = <T>(
  config: StageConfig | CompactConfig,
  nodeFlags: readonly string[],
  onProgress: (n: number) => void,
): Promise<T> =>
  runDriver<T>({
    driver: DRIVER,
    config,
    nodeFlags,
    label: `archive child (${config.mode})`,
    timeoutMs: CHILD_TIMEOUT_MS,
    onProgress,
  });

/** [from, to) ranges splitting `from..to` into `parts` contiguous pieces. */
const splitRange = (from: number, to: number, parts: number): [number, number][] => {
  const size = Math.ceil((to - from) / parts);
  const out: [number, number][] = [];
  for (let start = from; start < to; start += size) out.push([start, Math.min(to, start + size)]);
  return out;
};

// ---------------------------------------------------------------------------------------------
// 3. Cost model.

const monthsOf = (days: number): number => (Math.max(0, days) * 12) / 365;

/** Requests to write one object of `bytes` with lib-storage (PutObject, or create + parts + complete). */
const putRequests = (bytes: number): number =>
  bytes <= UPLOAD_PART_BYTES ? 1 : Math.ceil(bytes / UPLOAD_PART_BYTES) + 2;

interface ObjectCost {
  /** Over ARCHIVE.retentionDays, USD per object. */
  standardOnly: number;
  lifecycle: number;
  /** Deep Archive: the per-object overhead's share of the object's monthly bill. */
  deepOverheadShare: number;
  requests: { put: number; transitions: number };
}

/** One object's bill over the archive's retention: kept in Standard, or through the lifecycle. */
const objectCost = (bytes: number): ObjectCost => {
  const gb = bytes / GB;
  const coldGb = PRICES.coldOverheadBytes / GB;
  const stdOverheadGb = PRICES.standardOverheadBytes / GB;
  const put = (putRequests(bytes) * PRICES.putPer1000) / 1000;
  const standardMonths = monthsOf(ARCHIVE.glacierAfterDays);
  const glacierMonths = monthsOf(ARCHIVE.deepArchiveAfterDays - ARCHIVE.glacierAfterDays);
  const deepMonths = monthsOf(ARCHIVE.retentionDays - ARCHIVE.deepArchiveAfterDays);
  const transitions = (PRICES.transitionGlacierPer1000 + PRICES.transitionDeepArchivePer1000) / 1000;
  const deepOverhead = coldGb * PRICES.deepArchiveGbMonth + stdOverheadGb * PRICES.standardGbMonth;
  return {
    standardOnly: put + gb * PRICES.standardGbMonth * monthsOf(ARCHIVE.retentionDays),
    lifecycle:
      put +
      gb * PRICES.standardGbMonth * standardMonths +
      ((gb + coldGb) * PRICES.glacierGbMonth + stdOverheadGb * PRICES.standardGbMonth) * glacierMonths +
      ((gb + coldGb) * PRICES.deepArchiveGbMonth + stdOverheadGb * PRICES.standardGbMonth) * deepMonths +
      transitions,
    deepOverheadShare: deepOverhead / (gb * PRICES.deepArchiveGbMonth + deepOverhead),
    requests: { put, transitions },
  };
};

/** Object size at which the lifecycle costs what Standard costs over the retention (both linear in size). */
const breakEvenBytes = (): number | null => {
  const diff = (bytes: number) => objectCost(bytes).lifecycle - objectCost(bytes).standardOnly;
  const atZero = diff(0);
  const slope = diff(GB) - atZero;
  return slope < 0 ? Math.round((-atZero / slope) * GB) : null;
};

interface Scenario {
  label: string;
  eventsPerObject: number;
  bytes: number;
  measured: boolean;
}

const perMillion = (perObject: number, eventsPerObject: number): number =>
  (perObject * 1_000_000) / eventsPerObject;

const yearPerMillion = (bytesPerEvent: number, gbMonth: number): number =>
  ((bytesPerEvent * 1_000_000) / GB) * gbMonth * 12;

const usd = (value: number): string =>
  value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);

const perEvent = (bytes: number, events: number): number => (events === 0 ? NaN : bytes / events);

// ---------------------------------------------------------------------------------------------

interface Verification {
  ok: boolean;
  checks: { what: string; expected: number; got: number; ok: boolean }[];
}

const verify = (
  plan: StreamPlan,
  delivered: number,
  duplicates: number,
  result: CompactResult,
): Verification => {
  const { perTenant } = streamSize(plan);
  const tenants = tenantIds(plan);
  const checks: Verification['checks'] = [];
  const check = (what: string, expected: number, got: number) =>
    checks.push({ what, expected, got, ok: expected === got });
  const days = new Set(result.compaction.partitions.map((p) => p.partition.day));
  check('tenant-day partitions compacted', tenants.length * days.size, result.compaction.partitions.length);
  check('partitions left pending', 0, result.compaction.pending);
  check('staged lines read', delivered, result.staged_lines_read);
  check(
    'duplicates skipped',
    duplicates,
    result.compaction.partitions.reduce((s, p) => s + p.duplicates, 0),
  );
  for (const [i, tenantId] of tenants.entries()) {
    const finals = result.final_objects.filter((f) => f.tenant_id === tenantId);
    const name = i === 0 ? 'big tenant' : `small tenant ${i}`;
    check(`${name}: final objects (one per day)`, days.size, finals.length);
    check(
      `${name}: objects in its partitions`,
      days.size,
      finals.reduce((s, f) => s + f.objects_in_partition, 0),
    );
    check(
      `${name}: lines = its events`,
      perTenant[i] ?? 0,
      finals.reduce((s, f) => s + f.lines, 0),
    );
    check(
      `${name}: distinct ids = lines`,
      perTenant[i] ?? 0,
      finals.reduce((s, f) => s + f.distinct, 0),
    );
  }
  check('staged objects left', 0, result.staged_objects_left);
  return { ok: checks.every((c) => c.ok), checks };
};

/** RSS at 0 %, 10 %, …, 100 % of the staged lines read (the sample closest after each mark). */
const timeline = (samples: readonly RssSample[], lines: number): (number | null)[] =>
  Array.from({ length: 11 }, (_, i) => {
    const at = (lines * i) / 10;
    const sample = i === 10 ? samples.at(-1) : samples.find((s) => s.lines >= at);
    return sample?.rss_mib ?? null;
  });

const fmtMib = (value: number): string => value.toFixed(1);

export const archivePart: BenchPart = {
  name: 'archive',
  title: 'Archive (bytes per event, compaction, cold-storage cost)',
  needsStack: false,
  async run(ctx: BenchContext): Promise<PartResult> {
    const partStartedAt = performance.now();
    const nowMs = Date.now();
    const plan: StreamPlan = {
      seed: SEED,
      bigEvents: ctx.quick ? QUICK_BIG_EVENTS : FULL_BIG_EVENTS,
      nowMs,
      dayStartMs: Math.floor(nowMs / DAY_MS) * DAY_MS,
    };
    const size = streamSize(plan);
    const tenants = tenantIds(plan);
    const duplicates = duplicatesOf(plan);
    const delivered = size.records + duplicates;
    // The first batches in this process (bytes, archiver events/s); the rest in child nodes.
    const inProcessBatches = Math.min(size.batches, ctx.quick ? 10 : 50);
    const workers = Math.max(1, Math.min(4, cpus().length));
    const compactorFlags = (MANIFEST.archiveCompactor as FunctionDefinition).nodeFlags ?? [];

    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-bench-archive-'));
    let inProcess: InProcessRun | undefined;
    const padding: Record<Padding, InProcessRun | undefined> = {
      'as-generated': undefined,
      none: undefined,
      random: undefined,
    };
    const paddingBatches = ctx.quick ? 3 : 5;
    let staged: StageResult[] = [];
    let stagingMs = 0;
    let compacted: CompactResult | undefined;
    let s3rverPid = -1;
    try {
      ctx.progress.step('starting s3rver');
      const s3rver = await startLocalS3({ directory: join(dir, 's3') });
      s3rverPid = s3rver.pid;
      const s3 = new S3Client(localS3ClientConfig(s3rver.endpoint));
      try {
        await ensureBuckets(s3rver.endpoint, [STAGING, ARCHIVE_BUCKET_NAME]);
        const upload = new S3BlobWriter(s3, STAGING);
        const inProcessRecords = deliveriesOf(plan, 0, inProcessBatches).reduce(
          (s, d) => s + d.to - d.from,
          0,
        );
        ctx.progress.step(
          `archiving ${inProcessRecords.toLocaleString('en-US')} stream records in this process`,
        );
        const stagingStart = performance.now();
        inProcess = await stageInProcess(
          plan,
          deliveriesOf(plan, 0, inProcessBatches),
          'as-generated',
          async (objects) => {
            for (const { key, body } of objects) await upload.put(key, body, 'application/gzip');
          },
          (records) => ctx.progress.tick(records, inProcessRecords, 'records'),
        );
        if (inProcessBatches < size.batches) {
          const ranges = splitRange(inProcessBatches, size.batches, workers);
          const remaining = delivered - inProcessRecords;
          ctx.progress.step(
            `staging ${remaining.toLocaleString('en-US')} more records in ${ranges.length} child node(s)`,
          );
          const progress = ranges.map(() => 0);
          staged = await Promise.all(
            ranges.map(([fromBatch, toBatch], i) =>
              archiveChild<StageResult>(
                {
                  mode: 'stage',
                  endpoint: s3rver.endpoint,
                  stagingBucket: STAGING,
                  archiveBucket: ARCHIVE_BUCKET_NAME,
                  plan,
                  fromBatch,
                  toBatch,
                },
                [],
                (n) => {
                  progress[i] = n;
                  ctx.progress.tick(
                    progress.reduce((a, b) => a + b, 0),
                    remaining,
                    'records',
                  );
                },
              ),
            ),
          );
        }
        stagingMs = performance.now() - stagingStart;

        ctx.progress.step(
          `compacting ${delivered.toLocaleString('en-US')} staged records in a child node (compactArchive)`,
        );
        compacted = await archiveChild<CompactResult>(
          {
            mode: 'compact',
            endpoint: s3rver.endpoint,
            stagingBucket: STAGING,
            archiveBucket: ARCHIVE_BUCKET_NAME,
            closeAfterHours: -24,
            expectedLines: delivered,
            sampleMs: SAMPLE_MS,
          },
          [...compactorFlags, '--expose-gc'],
          (lines) => ctx.progress.tick(lines, delivered, 'lines'),
        );
      } finally {
        s3.destroy();
        await s3rver.stop();
      }

      // Sensitivity of the bytes to the padding's text (in memory, not staged).
      for (const variant of ['as-generated', 'none', 'random'] as const) {
        ctx.progress.step(`archiving ${paddingBatches} batches with padding "${variant}" (in memory)`);
        padding[variant] = await stageInProcess(
          plan,
          deliveriesOf(plan, 0, paddingBatches).filter((d) => !d.redelivery),
          variant,
          async () => {},
          () => {},
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // ----- figures
    const sample = inProcess.stats;
    const gzipPerEvent = perEvent(sample.gzipBytes, sample.records);
    const rawPerEvent = perEvent(sample.rawBytes, sample.records);
    const objectsPer1000 = (sample.objects / sample.records) * 1000;
    const streamRate = inProcess.timedMs > 0 ? inProcess.timedRecords / (inProcess.timedMs / 1000) : NaN;
    const stagedTotal = {
      records: sample.records + staged.reduce((s, r) => s + r.records, 0),
      objects: sample.objects + staged.reduce((s, r) => s + r.objects, 0),
      bytes: sample.gzipBytes + staged.reduce((s, r) => s + r.bytes, 0),
      quarantined: inProcess.quarantined + staged.reduce((s, r) => s + r.quarantined, 0),
      failedBatches: inProcess.failedBatches + staged.reduce((s, r) => s + r.failed_batches, 0),
    };
    const verification = compacted === undefined ? undefined : verify(plan, delivered, duplicates, compacted);
    const verified =
      verification?.ok === true && stagedTotal.quarantined === 0 && stagedTotal.failedBatches === 0;
    const finals = compacted?.final_objects ?? [];
    const finalBytes = finals.reduce((s, f) => s + f.bytes, 0);
    const finalLines = finals.reduce((s, f) => s + f.lines, 0);
    const compactedPerEvent = finalLines > 0 ? finalBytes / finalLines : null;
    const written = compacted?.compaction.partitions.reduce((s, p) => s + p.written, 0) ?? 0;
    const compactionRate =
      compacted === undefined ? null : Math.round(written / (compacted.compaction_ms / 1000));
    const linesRate =
      compacted === undefined
        ? null
        : Math.round(compacted.staged_lines_read / (compacted.compaction_ms / 1000));
    const peak = compacted?.peak_rss_end_mib ?? null;
    const bigFinal = finals.find((f) => f.tenant_id === tenants[0]);
    const setBytesPerId = bigFinal?.set_bytes_per_id ?? null;
    const rssPerEvent =
      compacted === undefined || written === 0
        ? null
        : round(((compacted.peak_rss_end_mib - compacted.peak_rss_start_mib) * MIB) / written, 1);

    // ----- cost model
    const costBytesPerEvent = compactedPerEvent ?? gzipPerEvent;
    const big = sample.byTenant[0] ?? { objects: 0, events: 0, gzipBytes: 0 };
    const small = sample.byTenant[1] ?? { objects: 0, events: 0, gzipBytes: 0 };
    const scenarios: Scenario[] = [
      {
        label: 'per batch, big tenant (no compaction)',
        eventsPerObject: big.events / big.objects,
        bytes: big.gzipBytes / big.objects,
        measured: true,
      },
      {
        label: 'per batch, small tenant (no compaction)',
        eventsPerObject: small.events / small.objects,
        bytes: small.gzipBytes / small.objects,
        measured: true,
      },
      ...[1_000, 10_000, 100_000, 1_000_000].map((events) => ({
        label: `tenant-day, ${events.toLocaleString('en-US')} events/day (compacted)`,
        eventsPerObject: events,
        bytes: events * costBytesPerEvent,
        measured: false,
      })),
    ];
    const costed = scenarios.map((s) => {
      const cost = objectCost(s.bytes);
      const transitioned = s.bytes >= ARCHIVE.minTransitionBytes;
      return {
        ...s,
        transitioned,
        cost,
        perMillion: {
          standardOnly: perMillion(cost.standardOnly, s.eventsPerObject),
          lifecycle: perMillion(cost.lifecycle, s.eventsPerObject),
          configured: perMillion(transitioned ? cost.lifecycle : cost.standardOnly, s.eventsPerObject),
          requests: perMillion(
            cost.requests.put + (transitioned ? cost.requests.transitions : 0),
            s.eventsPerObject,
          ),
        },
      };
    });
    const perYear = {
      standard: yearPerMillion(costBytesPerEvent, PRICES.standardGbMonth),
      glacier: yearPerMillion(costBytesPerEvent, PRICES.glacierGbMonth),
      deep: yearPerMillion(costBytesPerEvent, PRICES.deepArchiveGbMonth),
    };
    const breakEven = breakEvenBytes();
    /** Events a tenant-day needs before its compacted object is big enough to leave Standard. */
    const minTransitionEvents = Math.ceil(ARCHIVE.minTransitionBytes / costBytesPerEvent);
    const retentionYears = round(ARCHIVE.retentionDays / 365.25, 1);
    const millionPerDay = costed.at(-1);
    const stagingPutsPerMillion = (objectsPer1000 * 1000 * PRICES.putPer1000) / 1000;

    const scale = `${size.records.toLocaleString('en-US')} events (big tenant ${plan.bigEvents.toLocaleString('en-US')})`;
    const headlines: Headline[] = [
      {
        key: 'archive_bytes_per_event',
        value: round(gzipPerEvent, 1),
        note: `staged gzip NDJSON bytes per event (archiveStreamBatch, batches of ${BATCH}); raw JSON ${fmt(round(rawPerEvent, 0))} B, ${fmt(round(rawPerEvent / gzipPerEvent, 1), 1)}× — see the padding caveat`,
      },
      {
        key: 'archive_compaction_events_per_s',
        value: compactionRate,
        note: `compactArchive events written/s here, ${scale}, s3rver (context)${verified ? '' : ' — NOT VERIFIED'}`,
      },
      {
        key: 'archive_compaction_peak_rss_mib',
        value: peak,
        target: `< ${MANIFEST.archiveCompactor.memoryMiB} MiB`,
        ...(peak === null ? {} : { met: peak < MANIFEST.archiveCompactor.memoryMiB && verified }),
        note: `peak RSS (VmHWM) of the compactor's process, ${scale}; target = the function's memory, not a SPEC figure${verified ? '' : ' — NOT VERIFIED'}`,
      },
      {
        key: 'archive_cost_per_million_events_year_deep_archive_usd',
        value: round(perYear.deep, 6),
        note: `$${usd(perYear.deep)} per million events per year in Deep Archive (compacted bytes, without per-object overhead; list prices in the part)`,
      },
    ];

    const figures: Record<string, number | null> = {
      archive_raw_bytes_per_event: round(rawPerEvent, 1),
      archive_compression_ratio: round(rawPerEvent / gzipPerEvent, 2),
      archive_staged_objects_per_1000_events: round(objectsPer1000, 2),
      archive_stream_events_per_s: Math.round(streamRate),
      archive_compacted_bytes_per_event: compactedPerEvent === null ? null : round(compactedPerEvent, 1),
      archive_compaction_events: written,
      archive_compaction_lines_per_s: linesRate,
      archive_compaction_rss_growth_mib:
        compacted === undefined
          ? null
          : round(compacted.peak_rss_end_mib - compacted.peak_rss_at_10pct_mib, 1),
      archive_compaction_rss_bytes_per_event: rssPerEvent,
      archive_dedup_set_bytes_per_id: setBytesPerId,
      archive_cost_per_million_events_year_standard_usd: round(perYear.standard, 6),
      archive_cost_per_million_events_year_glacier_usd: round(perYear.glacier, 6),
      archive_cost_per_million_events_retention_usd:
        millionPerDay === undefined ? null : round(millionPerDay.perMillion.configured, 6),
      archive_lifecycle_break_even_kib: breakEven === null ? null : round(breakEven / KIB, 1),
      archive_min_transition_events_per_day: minTransitionEvents,
    };

    const marks = compacted === undefined ? [] : timeline(compacted.samples, compacted.staged_lines_read);
    const byTenantRows = sample.byTenant.map((t, i) => [
      i === 0 ? 'big' : `small ${i}`,
      t.objects,
      t.events,
      round(t.events / t.objects, 1),
      round(t.gzipBytes / t.objects / KIB, 1),
      round(t.gzipBytes / t.events, 1),
    ]);
    const paddingRow = (label: string, run: InProcessRun | undefined) =>
      run === undefined
        ? [label, '–', '–', '–']
        : [
            label,
            round(run.stats.rawBytes / run.stats.records, 0),
            round(run.stats.gzipBytes / run.stats.records, 1),
            `${(run.stats.rawBytes / run.stats.gzipBytes).toFixed(1)}×`,
          ];
    const stagedNote = `whole stream staged: ${stagedTotal.records.toLocaleString('en-US')} records (${duplicates.toLocaleString('en-US')} of them redelivered) → ${stagedTotal.objects.toLocaleString('en-US')} objects, ${fmtMib(stagedTotal.bytes / MIB)} MiB (${round(stagedTotal.bytes / stagedTotal.records, 1)} B/record) in ${Math.round(stagingMs / 1000)} s${staged.length > 0 ? ` (${inProcessBatches} batches here, the rest in ${staged.length} child node(s) with the real S3BlobWriter → s3rver)` : ''}; quarantined ${stagedTotal.quarantined}, failed batches ${stagedTotal.failedBatches}.`;
    const failedChecks = verification?.checks.filter((c) => !c.ok) ?? [];
    const setAtMillion = setBytesPerId === null ? null : (setBytesPerId * 1_000_000) / MIB;
    const maxDayEvents =
      compactionRate === null ? null : Math.floor(compactionRate * MANIFEST.archiveCompactor.timeoutSeconds);

    const tables: Table[] = [
      {
        title: `Archive bytes: archiveStreamBatch over ${sample.records.toLocaleString('en-US')} stream records in this process (${inProcessBatches} batches of ${BATCH}; stream of 3 tenants 50:1:1, every ${REDELIVER_EVERY}th batch's second half redelivered)`,
        columns: [
          'gzip B/event',
          'raw JSON B/event',
          'ratio',
          'staged objects / 1,000 events',
          'archiver events/s (1 core)',
          'build µs/event',
          'quarantined',
        ],
        rows: [
          [
            round(gzipPerEvent, 1),
            round(rawPerEvent, 1),
            `${(rawPerEvent / gzipPerEvent).toFixed(1)}×`,
            round(objectsPer1000, 2),
            Math.round(streamRate),
            round((inProcess.buildMs * 1000) / sample.records, 0),
            inProcess.quarantined,
          ],
        ],
        notes: [
          'gzip B/event = staged object bytes ÷ records; raw = the NDJSON inside (one JSON line per event, as the API shows it). events/s = records ÷ time inside archiveStreamBatch (decode: base64, brotli, hash check, JSON; grouping; gzip) with the objects kept in memory: no S3 in the clock; the first batches are left out (warm-up).',
          'build µs/event = building the stream records outside the clock (generator, buildStoredEvent, toItem with brotli, marshall): the ingest path’s work, not the archiver’s.',
          `staged objects / 1,000 events = tenant-days per batch: 3 here. In AWS every tenant that wrote during the batching window (up to ${MANIFEST.archiver.stream.maxBatchingWindowSeconds} s) adds an object to the batch, and a quiet stream delivers batches far smaller than ${BATCH}: more, smaller objects.`,
          stagedNote,
        ],
      },
      {
        title:
          'Staged objects per tenant (in-process sample): what the archive would hold without compaction',
        columns: ['tenant', 'objects', 'events', 'events/object', 'KiB/object', 'B/event'],
        rows: byTenantRows,
        notes: [
          `small tenants write 1/${BIG_PER_SMALL} of the big one's events: their per-batch objects are a few KiB.`,
        ],
      },
      {
        title: `Padding sensitivity: the first ${paddingBatches} batches, metadata.reason as generated / removed / random text (in memory)`,
        columns: ['padding', 'raw B/event', 'gzip B/event', 'ratio'],
        rows: [
          paddingRow('as generated (one repeated sentence)', padding['as-generated']),
          paddingRow('none (reason = "")', padding.none),
          paddingRow('random text, same length', padding.random),
        ],
        notes: [
          'lib/events.ts pads every event to ~1 KB with one repeated sentence, which gzip stores almost for free: read the first row as a lower bound for real traffic and the last as an upper bound (free text that does not compress). The cost model uses the measured (first-row) bytes; scale it by the ratio of the rows for other traffic.',
        ],
      },
    ];
    if (compacted !== undefined) {
      const c = compacted;
      tables.push(
        {
          title: `Compaction: compactArchive over ${delivered.toLocaleString('en-US')} staged records (${scale}, ${duplicates.toLocaleString('en-US')} duplicates) in a fresh node, real ArchiveStore → s3rver`,
          columns: [
            'events written',
            'duplicates skipped',
            'staged objects',
            'final objects',
            'final MiB',
            'B/event',
            'seconds',
            'events/s',
            'peak RSS MiB',
            'after 10 %',
            'RSS at start',
            'Set B/id',
            'verified',
          ],
          rows: [
            [
              written,
              c.compaction.partitions.reduce((s, p) => s + p.duplicates, 0),
              c.staged_objects_before,
              finals.length,
              fmtMib(finalBytes / MIB),
              compactedPerEvent === null ? '–' : round(compactedPerEvent, 1),
              (c.compaction_ms / 1000).toFixed(1),
              compactionRate,
              fmtMib(c.peak_rss_end_mib),
              fmtMib(c.peak_rss_at_10pct_mib),
              fmtMib(c.peak_rss_start_mib),
              setBytesPerId ?? '–',
              verified ? 'yes' : 'NO',
            ],
          ],
          notes: [
            `peak RSS = the child's high-water mark (${c.hwm_source}) when compactArchive returned (start-up included, the read-back below excluded); "after 10 %" = when 10 % of the staged lines had been read. Child: ${c.node}, tsx loader, the compactor's Node flags (${compactorFlags.length === 0 ? 'none declared' : compactorFlags.join(' ')}) + --expose-gc for the Set measurement; V8 heap limit here ${c.heap_size_limit_mib} MiB, the function has ${MANIFEST.archiveCompactor.memoryMiB} MiB in AWS.`,
            `Set B/id = heap held by a Set of the big tenant's ${bigFinal?.distinct.toLocaleString('en-US') ?? '?'} ids parsed from its final object as the compactor parses them (JSON.parse(line).id): heap with the Set − heap once it is dropped, after forced collections: ${setAtMillion === null ? '–' : `${fmtMib(setAtMillion)} MiB per million ids${plan.bigEvents === 1_000_000 ? ' (measured at 1 M)' : ' (extrapolated)'}`}. (peak − start) ÷ events = ${rssPerEvent ?? '–'} B/event, garbage V8 had not collected included; sampled heap-used peak ${fmtMib(c.heap_used_peak_mib)} MiB.`,
            `compactPartition reads a tenant-day in one go with no time check inside it: at this machine's rate a tenant-day of more than ~${maxDayEvents === null ? '?' : `${(maxDayEvents / 1e6).toFixed(0)} million`} events would not finish within the function's ${MANIFEST.archiveCompactor.timeoutSeconds} s (context: Lambda's CPU at ${MANIFEST.archiveCompactor.memoryMiB} MiB is not this machine's).`,
            `verified: one final object per tenant-day (and nothing else in its prefix), lines = distinct ids = the tenant's events, duplicates skipped = records redelivered, staged lines read = records delivered, staging bucket empty afterwards.${failedChecks.length > 0 ? ` FAILED: ${failedChecks.map((f) => `${f.what} expected ${f.expected} got ${f.got}`).join('; ')}` : ''}`,
            ...(ctx.quick
              ? [
                  'quick: a small stream; the RSS is mostly start-up and buffers, not the dedup set — the full run is the memory reading.',
                ]
              : []),
          ],
        },
        {
          title: 'Compaction RSS (MiB, sampled) by share of the staged lines read',
          columns: Array.from({ length: 11 }, (_, i) => `${i * 10} %`),
          rows: [marks.map((v) => (v === null ? '–' : fmtMib(v)))],
        },
      );
    }
    const retention = `${ARCHIVE.retentionDays} days (${retentionYears} years): ${ARCHIVE.glacierAfterDays} days Standard, Glacier FR until day ${ARCHIVE.deepArchiveAfterDays}, then Deep Archive`;
    tables.push(
      {
        title: `Storage cost per million events per year, ${round(costBytesPerEvent, 1)} B/event (${compactedPerEvent === null ? 'staged' : 'compacted'}), data only`,
        columns: ['storage class', 'USD per GB-month', 'USD per million events per year'],
        rows: [
          ['S3 Standard', String(PRICES.standardGbMonth), usd(perYear.standard)],
          ['Glacier Flexible Retrieval', String(PRICES.glacierGbMonth), usd(perYear.glacier)],
          ['Glacier Deep Archive', String(PRICES.deepArchiveGbMonth), usd(perYear.deep)],
        ],
        notes: [
          'us-east-1 list prices assumed as of 2026-11-22 (constants in bench/parts/archive.ts; check current pricing). GB = 2^30 bytes. Per-object overhead and requests: next table.',
        ],
      },
      {
        title: `Per-object overhead: one object's size decides whether cold storage saves anything (over the retention, ${retention})`,
        columns: [
          'object',
          'events/object',
          'KiB/object',
          'objects per M events',
          `≥ ${ARCHIVE.minTransitionBytes / KIB} KiB: lifecycle`,
          'Deep Archive overhead share',
          'requests USD/M events',
          'all Standard USD/M events',
          'lifecycle USD/M events',
          'as configured USD/M events',
        ],
        rows: costed.map((s) => [
          s.label,
          round(s.eventsPerObject, 1),
          round(s.bytes / KIB, 1),
          round(1_000_000 / s.eventsPerObject, 1),
          s.transitioned ? 'yes' : 'no (stays Standard)',
          `${Math.round(s.cost.deepOverheadShare * 100)} %`,
          usd(s.perMillion.requests),
          usd(s.perMillion.standardOnly),
          usd(s.perMillion.lifecycle),
          usd(s.perMillion.configured),
        ]),
        notes: [
          `per-batch rows: the measured staged objects; tenant-day rows: events × ${round(costBytesPerEvent, 1)} B. Every object in Glacier / Deep Archive is billed ${PRICES.coldOverheadBytes / KIB} KiB more at the cold rate and ${PRICES.standardOverheadBytes / KIB} KiB at the Standard rate, plus a transition request each ($${PRICES.transitionGlacierPer1000} and $${PRICES.transitionDeepArchivePer1000} per 1,000); requests = PUTs of the object (lib-storage: multipart above ${UPLOAD_PART_BYTES / MIB} MiB) + its transitions when it has them.`,
          `break-even: over this retention the lifecycle is cheaper than Standard for objects above ${breakEven === null ? '– (never)' : `${round(breakEven / KIB, 1)} KiB`}; ARCHIVE.minTransitionBytes = ${ARCHIVE.minTransitionBytes / KIB} KiB keeps smaller objects in Standard (S3 itself has applied a 128 KB minimum to lifecycle transitions by default since 2024): a tenant-day needs ${minTransitionEvents.toLocaleString('en-US')} events at ${round(costBytesPerEvent, 1)} B/event to reach it — quieter tenants' archives stay in Standard.`,
          `the archiver's staging PUTs cost the same with or without compaction: $${usd(stagingPutsPerMillion)} per million events at ${round(objectsPer1000, 2)} objects per 1,000 events. Not modelled: the compactor's GET/LIST requests, SSE-KMS requests (one per PUT/GET unless S3 Bucket Keys are on), the staging bucket's day or two of Standard storage, retrievals.`,
        ],
      },
    );

    const { samples: _samples, ...compactedDetails } = compacted ?? { samples: [] };
    return {
      headlines,
      figures,
      details: {
        plan: {
          ...plan,
          tenants,
          events: size.records,
          events_per_tenant: size.perTenant,
          batch_size: BATCH,
          batches: size.batches,
          redeliver_every: REDELIVER_EVERY,
          duplicates,
          records_delivered: delivered,
        },
        duration_s: Math.round((performance.now() - partStartedAt) / 1000),
        s3rver_pid: s3rverPid,
        in_process: {
          batches: inProcessBatches,
          records: sample.records,
          objects: sample.objects,
          gzip_bytes: sample.gzipBytes,
          raw_bytes: sample.rawBytes,
          by_tenant: sample.byTenant,
          timed_records: inProcess.timedRecords,
          archive_ms: Math.round(inProcess.timedMs),
          build_ms: Math.round(inProcess.buildMs),
          events_per_s: Math.round(streamRate),
          quarantined: inProcess.quarantined,
          failed_batches: inProcess.failedBatches,
        },
        padding: Object.fromEntries(
          Object.entries(padding).map(([name, run]) => [
            name,
            run === undefined
              ? null
              : {
                  records: run.stats.records,
                  raw_bytes_per_event: round(run.stats.rawBytes / run.stats.records, 1),
                  gzip_bytes_per_event: round(run.stats.gzipBytes / run.stats.records, 1),
                },
          ]),
        ),
        staging: { wall_s: round(stagingMs / 1000, 1), children: staged, total: stagedTotal },
        compaction:
          compacted === undefined
            ? null
            : {
                ...compactedDetails,
                events_per_s: compactionRate,
                lines_per_s: linesRate,
                rss_by_progress_mib: marks,
                samples_count: compacted.samples.length,
              },
        verification: verification ?? null,
        verified,
        cost_model: {
          prices: PRICES,
          prices_assumed: '2026-11-22, us-east-1 list prices; check current pricing',
          gb_bytes: GB,
          bytes_per_event: round(costBytesPerEvent, 2),
          bytes_source: compactedPerEvent === null ? 'staged' : 'compacted',
          per_million_events_per_year_usd: {
            standard: round(perYear.standard, 6),
            glacier_flexible_retrieval: round(perYear.glacier, 6),
            deep_archive: round(perYear.deep, 6),
          },
          lifecycle: {
            retention_days: ARCHIVE.retentionDays,
            glacier_after_days: ARCHIVE.glacierAfterDays,
            deep_archive_after_days: ARCHIVE.deepArchiveAfterDays,
            min_transition_bytes: ARCHIVE.minTransitionBytes,
            break_even_bytes: breakEven,
          },
          staging_puts_per_million_events_usd: round(stagingPutsPerMillion, 6),
          scenarios: costed.map((s) => ({
            object: s.label,
            measured: s.measured,
            events_per_object: round(s.eventsPerObject, 1),
            bytes_per_object: Math.round(s.bytes),
            transitioned: s.transitioned,
            deep_archive_overhead_share: round(s.cost.deepOverheadShare, 4),
            retention_usd_per_million_events: {
              requests: round(s.perMillion.requests, 6),
              standard_only: round(s.perMillion.standardOnly, 6),
              lifecycle: round(s.perMillion.lifecycle, 6),
              as_configured: round(s.perMillion.configured, 6),
            },
          })),
        },
      },
      tables,
    };
  },
};
