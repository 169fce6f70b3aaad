/**
 * Part 6 — export memory. SPEC: "Export memory stays flat: 1 million events export with peak RSS
 * ≤ 128 MiB". Runs the real export job (`runExportJob`, real `S3ObjectStore`, multipart upload with
 * the default 8 MiB parts) in a fresh Node process per format (bench/export-driver.ts), against an
 * s3rver this part starts in a temporary directory, over a synthetic source of realistic ~1 KB
 * events. The child samples its RSS every 250 ms and reports its RSS high-water mark (VmHWM)
 * at start, after 10 % of the events and at the end; this part then streams the object back and
 * checks its size against the bytes the job recorded and its line count against N.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { HANDLER_NODE_OPTIONS } from '#infra/constructs/bundling.ts';
import { ensureBuckets, localS3ClientConfig, startLocalS3 } from '#infra/local/s3.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import type { ExportFormat } from '#shared/domain/export-format.ts';
import { DEFAULT_PART_BYTES } from '#shared/usecases/export-job.ts';
import type { DriverConfig, DriverResult, RssSample } from '../export-driver.ts';
import { runDriver } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import type { BenchPart, Headline, PartResult } from '../lib/part.ts';
import { round } from '../lib/stats.ts';

const DRIVER = fileURLToPath(new URL('../export-driver.ts', import.meta.url));
const BUCKET = 'trailkeeper-bench-exports';
const MAX_PEAK_RSS_MIB = 128;
const SAMPLE_MS = 250;
/** Full mode runs csv after ndjson only if it is expected to end within this budget (both formats: the target is for every format). */
const FULL_BUDGET_MS = 300_000;
/** A child that has not finished in this time is stopped (a bound, not an expectation). */
const CHILD_TIMEOUT_MS = 15 * 60_000;
const MIB = 2 ** 20;

interface Verification {
  head_bytes: number;
  streamed_bytes: number;
  newlines: number;
  expected_newlines: number;
  first_matches: boolean;
  last_matches: boolean;
  ok: boolean;
  ms: number;
}

interface FormatRun {
  format: ExportFormat;
  events: number;
  result: DriverResult;
  verification: Verification;
  wallMs: number;
}

/** Runs the driver in a fresh node with the worker's own Node flags as deployed (MANIFEST.exportWorker.nodeFlags). */
const exportChild = (config: DriverConfig, onRows: (rows: number) => void): Promise<DriverResult> =>
  runDriver<DriverResult>({
    driver: DRIVER,
    config,
    nodeFlags: MANIFEST.exportWorker.nodeFlags ?? [],
    bundled: true,
    label: 'export child',
    timeoutMs: CHILD_TIMEOUT_MS,
    onProgress: onRows,
  });

/** First field of a CSV line whose first cell is an unquoted timestamp, or a NDJSON line's event. */
const lineEvent = (format: ExportFormat, line: string): { id?: string; occurred_at?: string } => {
  if (format === 'ndjson') {
    const event = JSON.parse(line) as { id?: string; occurred_at?: string };
    return { id: event.id, occurred_at: event.occurred_at };
  }
  return { occurred_at: line.split(',')[0] };
};

/**
 * Streams the object back (never whole in memory): HEAD size, streamed size, newline count, and
 * the first and last rows against the events the source says it served first and last.
 */
const verifyObject = async (
  s3: S3Client,
  format: ExportFormat,
  result: DriverResult,
  events: number,
): Promise<Verification> => {
  const startedAt = performance.now();
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.object_key }));
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.object_key }));
  const keep = 64 * 1024;
  let first = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  let bytes = 0;
  let newlines = 0;
  for await (const chunk of out.Body as Readable) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) newlines += 1;
    if (first.length < keep) first = Buffer.concat([first, buf.subarray(0, keep - first.length)]);
    tail = Buffer.concat([tail, buf]);
    if (tail.length > keep) tail = tail.subarray(tail.length - keep);
  }
  const headLines = first.toString('utf8').split('\n');
  const tailLines = tail.toString('utf8').split('\n');
  // NDJSON: event lines only. CSV: a header line (after the BOM), CRLF line ends.
  const firstLine = (format === 'csv' ? headLines[1] : headLines[0])?.replace(/\r$/, '') ?? '';
  const lastLine = tailLines.at(-2)?.replace(/\r$/, '') ?? '';
  const matches = (line: string, expected: DriverResult['first']): boolean => {
    try {
      const got = lineEvent(format, line);
      return got.occurred_at === expected.occurred_at && (got.id === undefined || got.id === expected.id);
    } catch {
      return false;
    }
  };
  const expectedNewlines = format === 'csv' ? events + 1 : events;
  const verification = {
    head_bytes: head.ContentLength ?? -1,
    streamed_bytes: bytes,
    newlines,
    expected_newlines: expectedNewlines,
    first_matches: matches(firstLine, result.first),
    last_matches: matches(lastLine, result.last),
    ms: 0,
  };
  return {
    ...verification,
    ok:
      result.rows === events &&
      verification.head_bytes === result.bytes &&
      bytes === result.bytes &&
      newlines === expectedNewlines &&
      verification.first_matches &&
      verification.last_matches,
    ms: Math.round(performance.now() - startedAt),
  };
};

const perSecond = (events: number, ms: number): number => Math.round(events / (ms / 1000));

/** RSS at 0 %, 10 %, …, 100 % of the events read (the sample closest after each mark). */
const timeline = (samples: readonly RssSample[], events: number): (number | null)[] =>
  Array.from({ length: 11 }, (_, i) => {
    const at = (events * i) / 10;
    const sample = i === 10 ? samples.at(-1) : samples.find((s) => s.rows >= at);
    return sample?.rss_mib ?? null;
  });

const fmtMib = (value: number): string => value.toFixed(1);

export const exportPart: BenchPart = {
  name: 'export',
  title: 'Export memory (peak RSS of the export job)',
  needsStack: false,
  async run(ctx: BenchContext): Promise<PartResult> {
    const events = ctx.quick ? 100_000 : 1_000_000;
    const formats: ExportFormat[] = ['ndjson', 'csv'];
    const partStartedAt = performance.now();
    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-bench-export-'));
    const runs: FormatRun[] = [];
    const skipped: { format: ExportFormat; reason: string }[] = [];
    let s3rverPid = -1;
    try {
      ctx.progress.step('starting s3rver');
      const s3rver = await startLocalS3({ directory: join(dir, 's3') });
      s3rverPid = s3rver.pid;
      const s3 = new S3Client(localS3ClientConfig(s3rver.endpoint));
      try {
        await ensureBuckets(s3rver.endpoint, [BUCKET]);
        for (const [i, format] of formats.entries()) {
          const spent = performance.now() - partStartedAt;
          const previous = runs.at(-1);
          if (!ctx.quick && previous !== undefined && spent + previous.wallMs * 1.2 > FULL_BUDGET_MS) {
            skipped.push({
              format,
              reason: `the ${previous.format} run took ${Math.round(previous.wallMs / 1000)} s; ${format} would end past the part's ${FULL_BUDGET_MS / 1000} s budget`,
            });
            continue;
          }
          const startedAt = performance.now();
          ctx.progress.step(
            `exporting ${events.toLocaleString('en-US')} events as ${format} in a child node`,
          );
          const result = await exportChild(
            {
              endpoint: s3rver.endpoint,
              bucket: BUCKET,
              format,
              events,
              partBytes: DEFAULT_PART_BYTES,
              sampleMs: SAMPLE_MS,
              seed: 17 + i,
            },
            (rows) => ctx.progress.tick(rows, events, 'events'),
          );
          ctx.progress.step(`streaming the ${format} file back to verify it`);
          const verification = await verifyObject(s3, format, result, events);
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: result.object_key }));
          runs.push({ format, events, result, verification, wallMs: performance.now() - startedAt });
          if (!verification.ok)
            ctx.progress.note(
              `  warning: the ${format} export failed verification: ${JSON.stringify(verification)}`,
            );
        }
      } finally {
        s3.destroy();
        await s3rver.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const peakOf = (r: FormatRun) => r.result.peak_rss_end_mib;
    const growthOf = (r: FormatRun) => round(r.result.peak_rss_end_mib - r.result.peak_rss_at_10pct_mib, 1);
    const rateOf = (r: FormatRun) => perSecond(r.events, r.result.job_ms);
    const worst = runs.reduce<FormatRun | undefined>(
      (w, r) => (w === undefined || peakOf(r) > peakOf(w) ? r : w),
      undefined,
    );
    const steepest = runs.reduce<FormatRun | undefined>(
      (w, r) => (w === undefined || growthOf(r) > growthOf(w) ? r : w),
      undefined,
    );
    const ndjson = runs.find((r) => r.format === 'ndjson');
    const verified = runs.every((r) => r.verification.ok);
    const scale = `${events.toLocaleString('en-US')} events`;

    const headlines: Headline[] = [
      {
        key: 'export_peak_rss_mib',
        value: worst === undefined ? null : peakOf(worst),
        target: `≤ ${MAX_PEAK_RSS_MIB} MiB`,
        ...(worst === undefined ? {} : { met: peakOf(worst) <= MAX_PEAK_RSS_MIB && verified }),
        note: `peak RSS (high-water mark) of the export job's process, ${scale}${worst ? `, worst format ${worst.format}` : ''}${verified ? '' : ' — FILE NOT VERIFIED'}`,
      },
      {
        key: 'export_rss_growth_mib',
        value: steepest === undefined ? null : growthOf(steepest),
        note: `flatness: peak RSS at the end − peak RSS after the first 10 % of the events (worst format${steepest ? ` ${steepest.format}` : ''}; flat ≈ 0)`,
      },
      {
        key: 'export_events_per_s',
        value: ndjson === undefined ? null : rateOf(ndjson),
        note: `export job events/s here, ndjson, synthetic source + local s3rver (context)`,
      },
    ];

    const figures: Record<string, number | null> = { export_events: events };
    for (const r of runs) {
      figures[`export_peak_rss_mib_${r.format}`] = peakOf(r);
      figures[`export_rss_growth_mib_${r.format}`] = growthOf(r);
      figures[`export_events_per_s_${r.format}`] = rateOf(r);
    }

    const marks = runs.map((r) => timeline(r.result.samples, r.events));
    return {
      headlines,
      figures,
      details: {
        events,
        part_bytes: DEFAULT_PART_BYTES,
        sample_ms: SAMPLE_MS,
        s3rver_pid: s3rverPid,
        skipped,
        duration_s: Math.round((performance.now() - partStartedAt) / 1000),
        runs: runs.map((r) => {
          const { samples, ...rest } = r.result;
          return {
            format: r.format,
            events: r.events,
            wall_s: round(r.wallMs / 1000, 1),
            events_per_s: rateOf(r),
            mib_per_s: round(r.result.bytes / MIB / (r.result.job_ms / 1000), 1),
            rss_growth_mib: growthOf(r),
            ...rest,
            verification: r.verification,
            samples_count: samples.length,
            rss_by_progress_mib: timeline(samples, r.events),
          };
        }),
      },
      tables: [
        {
          title: `Export memory: runExportJob of ${scale} (time window, no filter) in a fresh node per format, real S3ObjectStore → s3rver, ${DEFAULT_PART_BYTES / MIB} MiB parts`,
          columns: [
            'format',
            'peak RSS MiB',
            'after 10 %',
            'growth',
            'RSS at start',
            'sampled peak',
            'heap / buffers peak',
            'file MiB',
            'parts',
            'verified',
          ],
          rows: runs.map((r) => [
            r.format,
            fmtMib(peakOf(r)),
            fmtMib(r.result.peak_rss_at_10pct_mib),
            `${growthOf(r) >= 0 ? '+' : ''}${fmtMib(growthOf(r))}`,
            fmtMib(r.result.rss_start_mib),
            fmtMib(r.result.sampled_peak_mib),
            `${fmtMib(r.result.heap_used_peak_mib)} / ${fmtMib(r.result.array_buffers_peak_mib)}`,
            fmtMib(r.result.bytes / MIB),
            String(r.result.parts),
            r.verification.ok
              ? `yes: ${r.verification.newlines.toLocaleString('en-US')} lines, size = recorded bytes`
              : 'NO',
          ]),
          notes: [
            `target: peak RSS ≤ ${MAX_PEAK_RSS_MIB} MiB. Peak = the child's RSS high-water mark (${runs[0]?.result.hwm_source ?? 'VmHWM'}, includes start-up; not getrusage's maxRSS, which on Linux also counts the forked copy of the bench before exec); "after 10 %" = the high-water mark once 10 % of the events were read; growth = peak − after 10 % (flat ≈ 0). Sampled every ${SAMPLE_MS} ms as well.`,
            `child: ${runs[0]?.result.node ?? process.version}, the driver bundled as the worker is deployed (infra/constructs/bundling.ts: minified ESM, source map) run by plain node with ${HANDLER_NODE_OPTIONS.join(' ')} and the worker's Node flags ${(MANIFEST.exportWorker.nodeFlags ?? []).join(' ')} (V8 heap limit here ${runs[0]?.result.heap_size_limit_mib ?? '?'} MiB; the worker has ${MANIFEST.exportWorker.memoryMiB} MiB in AWS). RSS at start = after imports and wiring, before the job.`,
            'verified: object size (HEAD and streamed) = the bytes the job recorded, newlines = N (csv: N + 1 with the header), first and last rows = the newest and oldest events of the window.',
            ...(ctx.quick
              ? [
                  `quick: 10 % is ${Math.ceil(events / 10).toLocaleString('en-US')} events (about one part), before the job's steady state, so the growth column is not a flatness reading here; the full run's is.`,
                ]
              : []),
            ...skipped.map((s) => `${s.format} not run: ${s.reason}.`),
          ],
        },
        {
          title: 'Export time: where it went (ms of the job; events/s and MiB/s are this machine’s)',
          columns: [
            'format',
            'job s',
            'events/s',
            'MiB/s',
            'synthetic source',
            'S3 UploadPart',
            'S3 Complete',
            'format + buffer + rest',
            'GC (major)',
            'invocations',
          ],
          rows: runs.map((r) => {
            const x = r.result;
            const rest = x.job_ms - x.source_ms - x.upload_ms - x.complete_ms;
            const share = (ms: number) =>
              `${(ms / 1000).toFixed(1)} s (${Math.round((ms / x.job_ms) * 100)} %)`;
            return [
              r.format,
              (x.job_ms / 1000).toFixed(1),
              rateOf(r).toLocaleString('en-US'),
              (x.bytes / MIB / (x.job_ms / 1000)).toFixed(1),
              share(x.source_ms),
              share(x.upload_ms),
              share(x.complete_ms),
              share(rest),
              `${(x.gc.ms / 1000).toFixed(1)} s (${x.gc.major})`,
              String(x.invocations),
            ];
          }),
          notes: [
            'synthetic source = building each event with buildStoredEvent (redaction, canonical hash) from a pool of 1,000 realistic inputs; the real DynamoEventStore would spend its time on Query round trips, brotli and JSON.parse instead.',
            'S3 time is s3rver on this machine writing to disk; the rest is the job itself: formatting, buffering a part, the version-conditioned record saves, and garbage collection.',
          ],
        },
        {
          title: 'Export RSS (MiB, sampled) by share of the events read',
          columns: ['format', ...Array.from({ length: 11 }, (_, i) => `${i * 10} %`)],
          rows: runs.map((r, i) => [
            r.format,
            ...(marks[i] ?? []).map((v) => (v === null ? '–' : fmtMib(v))),
          ]),
        },
      ],
    };
  },
};
