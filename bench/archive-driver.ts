/**
 * The archive part's synthetic stream (imported by bench/parts/archive.ts) and its child process
 * (run as `node --import tsx bench/archive-driver.ts '<json>'`), so that staging can use every
 * core and the compactor's RSS is measured in a process of its own.
 *
 * The stream: one big tenant and two small ones (50 : 1 : 1, interleaved), all received today
 * (UTC), delivered in batches of MANIFEST.archiver.stream.batchSize as DynamoDB Streams records the way
 * Lambda hands them over (INSERT, NewImage in AttributeValue JSON, the binary `doc` in base64).
 * Each item is built exactly as ingest builds it (`buildStoredEvent` → `toItem`), from the
 * realistic ~1 KB events of lib/events.ts. Batch b is generated from its own seed, so any process
 * can build any batch; every REDELIVER_EVERY-th batch is followed by a redelivery of its second
 * half, staged under another key — what a stream retry from a sequence in the middle of a batch
 * leaves behind, and what the compactor must deduplicate.
 *
 * Modes of the child:
 * - `stage`: runs the REAL `archiveStreamBatch` with the real `S3BlobWriter` over a range of
 *   batches, into the s3rver the part started;
 * - `compact`: runs the REAL `compactArchive` (real ArchiveStore: streamed GETs, lib-storage
 *   upload) over everything staged, sampling its own RSS; then reads every final object back and
 *   counts lines and distinct ids, measuring the heap a Set of those ids takes (the compactor's
 *   dedup set, built the same way).
 *
 * Output on stdout, one JSON object per line: `{"progress": n}` about once a second, then
 * `{"result": …}` (or `{"error": "…"}` and exit code 1).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { localS3ClientConfig } from '#infra/local/s3.ts';
import { ArchiveStore } from '#shared/adapters/archive-store.ts';
import { toItem } from '#shared/adapters/event-store.ts';
import { decodeStreamRecord } from '#shared/adapters/event-stream.ts';
import { S3BlobWriter } from '#shared/adapters/object-store.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import type { EventInput } from '#shared/domain/event.ts';
import { type CompactionResult, compactArchive } from '#shared/usecases/archive-compaction.ts';
import { type ArchiveCounts, archiveStreamBatch } from '#shared/usecases/archive-stream.ts';
import type { BlobWriter } from '#shared/usecases/ports/archive.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from './lib/events.ts';
import { gcTally, HWM_SOURCE, mib, peakRssMib } from './lib/memory.ts';
import { seededRng } from './lib/random.ts';

/** Records per delivered batch: the archiver's event source mapping in AWS. */
export const BATCH = MANIFEST.archiver.stream.batchSize;
/** Big tenant's events per event of each small tenant. */
export const BIG_PER_SMALL = 50;
export const SMALL_TENANTS = 2;
const CYCLE = BIG_PER_SMALL + SMALL_TENANTS;
/** Every this many batches, the second half of the batch is delivered again (≈ 1 % duplicates). */
export const REDELIVER_EVERY = 50;
/** Stream sequence numbers are ~21-digit decimals in AWS. */
const SEQUENCE_BASE = 10n ** 20n;
const RETENTION_DAYS = 90;

/** How the text padding of the events (lib/events.ts pads `metadata.reason` to ~1 KB) is written. */
export type Padding = 'as-generated' | 'none' | 'random';

export interface StreamPlan {
  seed: number;
  /** Events of the big tenant; each small tenant has bigEvents / BIG_PER_SMALL. */
  bigEvents: number;
  /** The end of the day's stream: every event is received in [dayStartMs, nowMs]. */
  nowMs: number;
  dayStartMs: number;
}

export interface Delivery {
  batch: number;
  /** Record indices [from, to). */
  from: number;
  to: number;
  redelivery: boolean;
}

export const streamSize = (plan: StreamPlan): { records: number; batches: number; perTenant: number[] } => {
  if (plan.bigEvents % BIG_PER_SMALL !== 0)
    throw new Error(`bigEvents must be a multiple of ${BIG_PER_SMALL}`);
  const small = plan.bigEvents / BIG_PER_SMALL;
  const records = plan.bigEvents + SMALL_TENANTS * small;
  return {
    records,
    batches: Math.ceil(records / BATCH),
    perTenant: [plan.bigEvents, ...Array.from({ length: SMALL_TENANTS }, () => small)],
  };
};

/** Deterministic tenant ids: index 0 is the big tenant. */
export const tenantIds = (plan: StreamPlan): string[] =>
  Array.from(
    { length: 1 + SMALL_TENANTS },
    (_, i) => `tnt_${ulid(plan.dayStartMs, seededRng(plan.seed * 7_919 + i)).toLowerCase()}`,
  );

const tenantIndexOf = (n: number): number => {
  const slot = n % CYCLE;
  return slot < SMALL_TENANTS ? 1 + slot : 0;
};

/** The deliveries of batches [fromBatch, toBatch), in stream order. */
export const deliveriesOf = (plan: StreamPlan, fromBatch: number, toBatch: number): Delivery[] => {
  const { records } = streamSize(plan);
  const out: Delivery[] = [];
  for (let batch = fromBatch; batch < toBatch; batch++) {
    const from = batch * BATCH;
    const to = Math.min(records, from + BATCH);
    out.push({ batch, from, to, redelivery: false });
    if (batch % REDELIVER_EVERY === REDELIVER_EVERY - 1)
      out.push({ batch, from: from + Math.floor((to - from) / 2), to, redelivery: true });
  }
  return out;
};

/** Duplicate deliveries of the whole stream (records delivered twice). */
export const duplicatesOf = (plan: StreamPlan): number =>
  deliveriesOf(plan, 0, streamSize(plan).batches)
    .filter((d) => d.redelivery)
    .reduce((sum, d) => sum + d.to - d.from, 0);

/** A stream record as Lambda delivers it: AttributeValue JSON, binary values in base64. */
const streamRecord = (
  item: Record<string, unknown>,
  sequence: string,
  receivedMs: number,
): DynamoDBRecord => {
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, { B?: Uint8Array }>;
  const doc = Buffer.from(image.doc?.B ?? []).toString('base64');
  return {
    eventID: `bench-${sequence}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/trailkeeper-events/stream/bench',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(receivedMs / 1000),
      Keys: { pk: { S: String(item.pk) } },
      NewImage: { ...image, doc: { B: doc } },
      SequenceNumber: sequence,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  } as unknown as DynamoDBRecord;
};

/** Replaces the generator's (very compressible, repeated) padding with random text of the same length. */
const randomPadding = (input: EventInput, rng: () => number): EventInput => {
  const reason = (input.metadata as { reason?: string } | undefined)?.reason ?? '';
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .';
  let text = '';
  for (let i = 0; i < reason.length; i++) text += alphabet[Math.floor(rng() * alphabet.length)];
  return { ...input, metadata: { ...input.metadata, reason: text } };
};

/** The records of batch `batch` (all of them; a delivery takes a slice). */
export const batchRecords = (
  plan: StreamPlan,
  batch: number,
  padding: Padding = 'as-generated',
): DynamoDBRecord[] => {
  const { records } = streamSize(plan);
  const tenants = tenantIds(plan);
  const first = batch * BATCH;
  const count = Math.min(records, first + BATCH) - first;
  const span = Math.max(0, plan.nowMs - plan.dayStartMs);
  const receivedOf = (n: number) => plan.dayStartMs + Math.floor((span * n) / records);
  const next = eventGenerator({
    seed: plan.seed * 1_000_003 + batch,
    population: HOT_DAY_POPULATION,
    occurredAt: (i, rng) => receivedOf(first + i) - Math.floor(rng() * 5_000),
    idOf: (i) => ulid(receivedOf(first + i), seededRng(plan.seed * 2_000_003 + first + i)).toLowerCase(),
    ...(padding === 'none' ? { targetBytes: 1 } : {}),
  });
  const paddingRng = seededRng(plan.seed * 3_000_017 + batch);
  const out: DynamoDBRecord[] = [];
  for (let i = 0; i < count; i++) {
    const n = first + i;
    const generated = next(i);
    const input = padding === 'random' ? randomPadding(generated, paddingRng) : generated;
    const tenantId = tenants[tenantIndexOf(n)] as string;
    const event = storedEvent(input, tenantId, receivedOf(n), RETENTION_DAYS);
    out.push(streamRecord(toItem(event, 1), String(SEQUENCE_BASE + BigInt(n)), receivedOf(n)));
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// The child process.

export interface StageConfig {
  mode: 'stage';
  endpoint: string;
  stagingBucket: string;
  archiveBucket: string;
  plan: StreamPlan;
  fromBatch: number;
  toBatch: number;
}

export interface StageResult {
  deliveries: number;
  records: number;
  objects: number;
  bytes: number;
  quarantined: number;
  failed_batches: number;
  build_ms: number;
  archive_ms: number;
  wall_ms: number;
}

export interface CompactConfig {
  mode: 'compact';
  endpoint: string;
  stagingBucket: string;
  archiveBucket: string;
  closeAfterHours: number;
  /** Staged lines expected (records delivered, duplicates included): for the 10 % mark. */
  expectedLines: number;
  sampleMs: number;
}

export interface RssSample {
  t_ms: number;
  lines: number;
  rss_mib: number;
  heap_used_mib: number;
}

export interface FinalObject {
  tenant_id: string;
  day: string;
  key: string;
  bytes: number;
  lines: number;
  distinct: number;
  /** Objects under the partition's prefix in the archive bucket (expected: 1). */
  objects_in_partition: number;
  /** Heap held by a Set of the object's ids, parsed as the compactor parses them (bytes per id). */
  set_bytes_per_id: number | null;
}

export interface CompactResult {
  node: string;
  exec_argv: string[];
  heap_size_limit_mib: number;
  compaction: CompactionResult;
  staged_lines_read: number;
  compaction_ms: number;
  gc: { count: number; major: number; ms: number };
  hwm_source: 'VmHWM' | 'maxRSS';
  rss_start_mib: number;
  peak_rss_start_mib: number;
  peak_rss_at_10pct_mib: number;
  /** The compaction's high-water mark (before the read-back verification below). */
  peak_rss_end_mib: number;
  sampled_peak_mib: number;
  heap_used_peak_mib: number;
  samples: RssSample[];
  staged_objects_before: number;
  staged_objects_left: number;
  final_objects: FinalObject[];
  verify_ms: number;
}

const emit = (line: unknown): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

/** Counts what the real writer stores. */
class CountingWriter implements BlobWriter {
  objects = 0;
  bytes = 0;

  constructor(private readonly inner: BlobWriter) {}

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.inner.put(key, body, contentType);
    this.objects += 1;
    this.bytes += body.length;
  }
}

const stage = async (config: StageConfig): Promise<StageResult> => {
  const startedAt = performance.now();
  const s3 = new S3Client(localS3ClientConfig(config.endpoint));
  const staging = new CountingWriter(new S3BlobWriter(s3, config.stagingBucket));
  const quarantine = new CountingWriter(new S3BlobWriter(s3, config.archiveBucket));
  let records = 0;
  let quarantined = 0;
  let failedBatches = 0;
  let buildMs = 0;
  let archiveMs = 0;
  let built: { batch: number; records: DynamoDBRecord[] } | undefined;
  const deliveries = deliveriesOf(config.plan, config.fromBatch, config.toBatch);
  let lastEmit = performance.now();
  for (const delivery of deliveries) {
    if (built?.batch !== delivery.batch) {
      const buildStart = performance.now();
      built = { batch: delivery.batch, records: batchRecords(config.plan, delivery.batch) };
      buildMs += performance.now() - buildStart;
    }
    const first = delivery.batch * BATCH;
    const slice = built.records.slice(delivery.from - first, delivery.to - first);
    const archiveStart = performance.now();
    // Decoding the stream records is the archiver handler's first step: timed with the batch.
    const result = await archiveStreamBatch({ staging, quarantine }, slice.map(decodeStreamRecord));
    archiveMs += performance.now() - archiveStart;
    const counts: ArchiveCounts = result.counts;
    records += slice.length;
    quarantined += counts.quarantined;
    if (result.batchItemFailures.length > 0) failedBatches += 1;
    if (performance.now() - lastEmit > 1_000) {
      emit({ progress: records });
      lastEmit = performance.now();
    }
  }
  s3.destroy();
  return {
    deliveries: deliveries.length,
    records,
    objects: staging.objects,
    bytes: staging.bytes,
    quarantined,
    failed_batches: failedBatches,
    build_ms: Math.round(buildMs),
    archive_ms: Math.round(archiveMs),
    wall_ms: Math.round(performance.now() - startedAt),
  };
};

/** The real ArchiveStore, counting the staged lines it hands out (the compaction's progress). */
class CountingArchiveStore extends ArchiveStore {
  stagedLines = 0;

  constructor(
    s3: S3Client,
    private readonly stagingBucket: string,
  ) {
    super(s3);
  }

  /** Called once, when the staged lines read reach `mark.at`. */
  mark: { at: number; reached: () => void } | undefined;

  override async *lines(bucket: string, key: string): AsyncGenerator<string> {
    for await (const line of super.lines(bucket, key)) {
      if (bucket === this.stagingBucket) {
        this.stagedLines += 1;
        if (this.stagedLines === this.mark?.at) this.mark.reached();
      }
      yield line;
    }
  }
}

const countKeys = async (store: ArchiveStore, bucket: string, prefix = ''): Promise<number> => {
  let count = 0;
  for await (const _key of store.list(bucket, prefix)) count += 1;
  return count;
};

const idOf = (line: string): string => (JSON.parse(line) as { id: string }).id;

const compact = async (config: CompactConfig): Promise<CompactResult> => {
  const s3 = new S3Client(localS3ClientConfig(config.endpoint));
  const store = new CountingArchiveStore(s3, config.stagingBucket);
  const stagedBefore = await countKeys(store, config.stagingBucket);

  const samples: RssSample[] = [];
  const peak = { rss: 0, heapUsed: 0 };
  let startedAt = performance.now();
  let peakAt10 = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    samples.push({
      t_ms: Math.round(performance.now() - startedAt),
      lines: store.stagedLines,
      rss_mib: mib(m.rss),
      heap_used_mib: mib(m.heapUsed),
    });
  };
  store.mark = {
    at: Math.ceil(config.expectedLines / 10),
    reached: () => {
      sample();
      peakAt10 = peakRssMib();
    },
  };
  const gc = gcTally();

  const rssStart = mib(process.memoryUsage().rss);
  const peakStart = peakRssMib();
  startedAt = performance.now();
  sample();
  let ticks = 0;
  const timer = setInterval(() => {
    sample();
    if (++ticks % 4 === 0) emit({ progress: store.stagedLines });
  }, config.sampleMs);
  const compaction = await compactArchive({
    store,
    stagingBucket: config.stagingBucket,
    archiveBucket: config.archiveBucket,
    now: () => Date.now(),
    closeAfterHours: config.closeAfterHours,
  });
  const compactionMs = performance.now() - startedAt;
  clearInterval(timer);
  sample();
  gc.stop();
  const peakEnd = peakRssMib();
  if (peakAt10 === 0) peakAt10 = peakEnd;

  // Read-back: every final object, its size, lines and distinct ids, and the heap a Set of the ids
  // holds: heap with the Set − heap once it is dropped, each read after forced collections (run
  // with --expose-gc). Heap before − after reads too low: the collections also free unrelated
  // things (flushed bytecode, SDK buffers), and one collection right after a loop of awaits does
  // not settle the accounting (measured: a 50,000-id Set then reads as 2–24 bytes per id).
  const verifyStart = performance.now();
  const collect = (globalThis as { gc?: () => void }).gc;
  const settledHeap = async (): Promise<number> => {
    for (let i = 0; collect !== undefined && i < 3; i++) {
      collect();
      await new Promise((done) => setTimeout(done, 10));
    }
    return process.memoryUsage().heapUsed;
  };
  const finals: FinalObject[] = [];
  for (const p of compaction.partitions) {
    if (p.key === null) continue;
    const head = await s3.send(new HeadObjectCommand({ Bucket: config.archiveBucket, Key: p.key }));
    let ids: Set<string> | undefined = new Set<string>();
    let lines = 0;
    for await (const line of store.lines(config.archiveBucket, p.key)) {
      ids.add(idOf(line));
      lines += 1;
    }
    const distinct = ids.size;
    const withSet = await settledHeap();
    ids = undefined;
    const held = withSet - (await settledHeap());
    finals.push({
      tenant_id: p.partition.tenantId,
      day: p.partition.day,
      key: p.key,
      bytes: head.ContentLength ?? -1,
      lines,
      distinct,
      objects_in_partition: await countKeys(
        store,
        config.archiveBucket,
        `tenant=${p.partition.tenantId}/date=${p.partition.day}/`,
      ),
      set_bytes_per_id:
        collect === undefined || distinct === 0 ? null : Math.round((held / distinct) * 10) / 10,
    });
  }
  const stagedLeft = await countKeys(store, config.stagingBucket);
  s3.destroy();
  return {
    node: process.version,
    exec_argv: process.execArgv,
    heap_size_limit_mib: mib(getHeapStatistics().heap_size_limit),
    compaction,
    staged_lines_read: store.stagedLines,
    compaction_ms: Math.round(compactionMs),
    gc: gc.summary(),
    hwm_source: HWM_SOURCE,
    rss_start_mib: rssStart,
    peak_rss_start_mib: peakStart,
    peak_rss_at_10pct_mib: peakAt10,
    peak_rss_end_mib: peakEnd,
    sampled_peak_mib: mib(peak.rss),
    heap_used_peak_mib: mib(peak.heapUsed),
    samples,
    staged_objects_before: stagedBefore,
    staged_objects_left: stagedLeft,
    final_objects: finals,
    verify_ms: Math.round(performance.now() - verifyStart),
  };
};

const invokedDirectly =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (invokedDirectly) {
  const config = JSON.parse(process.argv[2] ?? '{}') as StageConfig | CompactConfig;
  (config.mode === 'stage' ? stage(config) : compact(config)).then(
    (result) => {
      emit({ result });
      process.exit(0);
    },
    (error: unknown) => {
      emit({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
}
