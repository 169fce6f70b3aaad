/**
 * Part 5 — cold-start proxy. Bundles the entry of every function of the manifest
 * (shared/config/manifest.ts) with esbuild and the very options CDK bundles every function with
 * (infra/constructs/bundling.ts, read here, not copied), then times importing each bundle in a
 * fresh Node process against starting an empty one.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions, HANDLER_NODE_OPTIONS } from '#infra/constructs/bundling.ts';
import { AWS_SDK_ENV, ENV, POWERTOOLS_ENV } from '#shared/config/env.ts';
import { FUNCTION_NAMES, localName, MANIFEST } from '#shared/config/manifest.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/observability.ts';
import {
  ARCHIVE_BUCKET,
  ARCHIVE_STAGING_BUCKET,
  EXPORT_QUEUE,
  EXPORTS_BUCKET,
} from '#shared/config/storage.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import type { BenchContext } from '../lib/context.ts';
import { atMost, type BenchPart, type PartResult } from '../lib/part.ts';
import { median, round } from '../lib/stats.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** SPEC: "Handler bundles ≤ 500 KiB each; cold-start init ≤ 3× an empty Node start". */
const MAX_BUNDLE_KIB = 500;
const MAX_INIT_RATIO = 3;

/** Wall time of one fresh `node` process running `script`, in ms. */
const timeNode = (script: string, env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - startedAt;
      if (code === 0) resolve(ms);
      else reject(new Error(`node exited ${code}: ${stderr.slice(0, 500)}`));
    });
  });

interface Bundle {
  name: string;
  entry: string;
  file: string;
  bytes: number;
  mapBytes: number;
  /** Minified bytes per package (or `(project)` for this repository's own code), largest first. */
  packages: [string, number][];
  importMs: number[];
}

/** Groups a metafile's per-input output bytes by npm package (`@scope/name` or `name`). */
const bytesByPackage = (metafile: Metafile, outfile: string): [string, number][] => {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(outfile))?.[1];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const name = match?.[1] ?? '(project)';
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)}`;

export const bundlesPart: BenchPart = {
  name: 'bundles',
  title: 'Cold-start proxy (bundle size, import time)',
  needsStack: false,
  async run(ctx: BenchContext): Promise<PartResult> {
    const runs = ctx.quick ? 3 : 7;
    const options = esbuildOptions();
    const entries = FUNCTION_NAMES.map((name): [string, string] => [localName(name), MANIFEST[name].entry]);
    const dir = await mkdtemp(join(tmpdir(), 'trailkeeper-bench-bundles-'));
    try {
      const bundles: Bundle[] = [];
      for (const [i, [name, entry]] of entries.entries()) {
        ctx.progress.step(`bundling ${name}`);
        ctx.progress.tick(i + 1, entries.length, 'bundles');
        const file = join(dir, name, 'index.mjs');
        const result = await build({
          ...options,
          entryPoints: [join(REPO_ROOT, entry)],
          absWorkingDir: REPO_ROOT,
          outfile: file,
          logLevel: 'silent',
          metafile: true,
        });
        bundles.push({
          name,
          entry,
          file,
          bytes: (await stat(file)).size,
          mapBytes: (await stat(`${file}.map`)).size,
          packages: bytesByPackage(result.metafile, `${name}/index.mjs`),
          importMs: [],
        });
      }

      // What Lambda sets, with dummy values: nothing may touch the network while importing.
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        [EVENTS_TABLE.envVar]: 'bench-events',
        [CONTROL_TABLE.envVar]: 'bench-control',
        [ENV.operatorKeySecretArn]: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-operator',
        [ENV.cursorKeySecretArn]: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-cursor',
        [EXPORTS_BUCKET.envVar]: 'bench-exports',
        [ARCHIVE_BUCKET.envVar]: 'bench-archive',
        [ARCHIVE_STAGING_BUCKET.envVar]: 'bench-archive-staging',
        [ENV.signingKeyId]: 'arn:aws:kms:us-east-1:000000000000:key/bench',
        [EXPORT_QUEUE.envVar]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-export-jobs',
        [ENV.outboxTable]: 'bench-outbox',
        [ENV.deliveryQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-deliveries',
        [ENV.destinationKeyId]: 'arn:aws:kms:us-east-1:000000000000:key/bench-destinations',
        [ENV.emailFrom]: 'Trailkeeper <no-reply@bench.example>',
        [AWS_SDK_ENV.region]: 'us-east-1',
        [AWS_SDK_ENV.accessKeyId]: 'bench',
        [AWS_SDK_ENV.secretAccessKey]: 'bench',
        [POWERTOOLS_ENV.serviceName]: SERVICE_NAME,
        [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
        [POWERTOOLS_ENV.logLevel]: 'ERROR',
        NODE_OPTIONS: HANDLER_NODE_OPTIONS.join(' '),
      };
      const emptyMs: number[] = [];
      const total = runs * (bundles.length + 1);
      let done = 0;
      ctx.progress.step('timing imports in fresh node processes');
      // Interleaved, so drift in machine load hits the baseline and the bundles alike.
      await timeNode('', env); // the first spawn pays for cold file caches
      for (let run = 0; run < runs; run++) {
        emptyMs.push(await timeNode('', env));
        ctx.progress.tick(++done, total, 'processes');
        for (const bundle of bundles) {
          bundle.importMs.push(
            await timeNode(`await import(${JSON.stringify(pathToFileURL(bundle.file).href)});`, env),
          );
          ctx.progress.tick(++done, total, 'processes');
        }
      }
      const empty = median(emptyMs);
      const rows = bundles.map((b) => {
        const ms = median(b.importMs);
        return { ...b, medianMs: ms, initMs: ms - empty, ratio: ms / empty };
      });
      const maxKib = Math.max(...rows.map((r) => r.bytes / 1024));
      const maxRatio = Math.max(...rows.map((r) => r.ratio));
      const maxInitMs = Math.max(...rows.map((r) => r.initMs));
      return {
        headlines: [
          atMost(
            'max_bundle_kb',
            round(maxKib, 1),
            MAX_BUNDLE_KIB,
            'largest minified handler bundle, KiB',
            ' KiB',
          ),
          atMost(
            'max_init_ratio',
            round(maxRatio, 2),
            MAX_INIT_RATIO,
            `slowest bundle import ÷ empty node start (+${Math.round(maxInitMs)} ms here)`,
            '×',
          ),
        ],
        figures: { max_init_ms_here: Math.round(maxInitMs), empty_node_ms_here: Math.round(empty) },
        details: {
          runs,
          empty_node_ms: round(empty, 1),
          external: options.external,
          bundles: rows.map((r) => ({
            name: r.name,
            entry: r.entry,
            kib: round(r.bytes / 1024, 1),
            map_kib: round(r.mapBytes / 1024, 1),
            import_ms_median: round(r.medianMs, 1),
            init_ms: round(r.initMs, 1),
            init_ratio: round(r.ratio, 3),
            top_packages_kib: Object.fromEntries(
              r.packages.slice(0, 8).map(([p, b]) => [p, round(b / 1024, 1)]),
            ),
          })),
        },
        tables: [
          {
            title: `Bundles (esbuild, the options of infra/constructs/bundling.ts) and import time in a fresh node (median of ${runs})`,
            columns: ['function', 'entry', 'bundle KiB', 'map KiB', 'import ms', '+init ms', 'ratio'],
            rows: [
              ...rows.map((r) => [
                r.name,
                r.entry,
                (r.bytes / 1024).toFixed(1),
                (r.mapBytes / 1024).toFixed(1),
                r.medianMs.toFixed(0),
                r.initMs.toFixed(0),
                `${r.ratio.toFixed(2)}×`,
              ]),
              ['(empty node)', "node -e ''", '', '', empty.toFixed(0), '0', '1.00×'],
            ],
            notes: [
              `target: each bundle ≤ ${MAX_BUNDLE_KIB} KiB, init ≤ ${MAX_INIT_RATIO}× an empty node start; ms are this machine's (the ratio travels, the ms do not). NODE_OPTIONS=--enable-source-maps as deployed.`,
              `left external, as in CDK: ${(options.external ?? []).join(', ') || 'nothing'}`,
            ],
          },
          {
            title: 'What the bundles are made of (minified KiB per package, from the esbuild metafile)',
            columns: ['function', 'largest packages'],
            rows: rows.map((r) => [
              r.name,
              r.packages
                .slice(0, 6)
                .map(([p, b]) => `${p} ${kib(b)}`)
                .join(', '),
            ]),
          },
        ],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
