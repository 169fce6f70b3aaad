/**
 * `npm run bench [-- --quick] [-- --only ingest,reads] [-- --help]`: starts the local stack in memory, runs
 * every part (bench/parts) side by side on this machine, prints a report to stdout (progress
 * goes to stderr) and writes bench/results/latest.json. The bench reports; it does not assert.
 * It exits non-zero only when something crashed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { type BenchContext, createContext, type Mode } from './lib/context.ts';
import { type BenchDynamo, createBenchDynamo } from './lib/dynamo.ts';
import type { Headline, PartResult } from './lib/part.ts';
import { Progress } from './lib/progress.ts';
import { fmt, renderTable, type Table } from './lib/table.ts';
import { PARTS } from './parts/index.ts';

const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * Runs one part in a fresh `npm run bench -- --only <part>` child and returns its result. For a
 * part that starts a local stack of its own: the handler modules (and their SDK clients, made
 * once per module as in a Lambda container) of this process already belong to the first stack.
 */
const runIsolated = async (name: string, mode: Mode): Promise<PartResult> => {
  const dir = await mkdtemp(join(tmpdir(), 'tk-bench-'));
  const out = join(dir, 'part.json');
  try {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--only', name, '--part-json', out];
    if (mode === 'quick') args.push('--quick');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`the ${name} part's child exited ${code}`);
    return (JSON.parse(await readFile(out, 'utf8')) as Record<string, PartResult>)[name] as PartResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/** First line of `java -version` (it prints to stderr), or null without Java. */
const javaVersion = (): string | null => {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 10_000 });
  return result.error ? null : (`${result.stderr}${result.stdout}`.split('\n')[0]?.trim() ?? null);
};

const machineInfo = () => {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpu_model: cores[0]?.model ?? 'unknown',
    memory_mib: Math.round(totalmem() / 2 ** 20),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    java: javaVersion(),
  };
};

/** 1-minute load average, one decimal. */
const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

const headlineTable = (
  headlines: Headline[],
  mode: Mode,
  seconds: number,
  load: { start: number; end: number },
): Table => ({
  title: `Trailkeeper bench (${mode}, ${Math.round(seconds)} s) — ratios and counts, comparable across machines`,
  columns: ['figure', 'value', 'target', 'status', 'what it is'],
  rows: headlines.map((h) => [
    h.key,
    h.value === null ? '–' : fmt(h.value, h.value >= 100 ? 0 : 2),
    h.target ?? '',
    h.met === undefined ? '' : h.met ? 'ok' : 'MISSED',
    h.note,
  ]),
  notes: [
    `load average (1 min) at start ${load.start}, at end ${load.end} on ${cpus().length} cores` +
      (Math.max(load.start, load.end) > cpus().length * 0.5
        ? ': other processes were busy, so the timing ratios (ingest, init) are noisier than usual.'
        : '.'),
  ],
});

const usage = (): string => `Usage: npm run bench [-- --quick] [-- --only <part>[,<part>…]]

Measures the non-functional targets on this machine (see bench/README.md): starts the local stack
in memory, runs the parts, prints a report on stdout (progress on stderr) and writes
bench/results/latest.json (not with --only). Exits non-zero only when the bench crashed.

  --quick          the same figures from smaller samples (the CI smoke run)
  --only <parts>   these parts only, comma-separated: ${PARTS.map((p) => p.name).join(', ')}
  -h, --help       print this text
`;

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      // Internal: a child running one isolated part writes its result here (see runIsolated).
      'part-json': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(usage());
    return;
  }
  const mode: Mode = values.quick ? 'quick' : 'full';
  const only = values.only?.split(',').map((s) => s.trim());
  const parts = only === undefined ? PARTS : PARTS.filter((p) => only.includes(p.name));
  if (parts.length === 0)
    throw new Error(`no part named ${values.only}; parts: ${PARTS.map((p) => p.name).join(', ')}`);

  // Parts using the stack first; the others after it has stopped (no JVM in the background).
  const ordered = [...parts.filter((p) => p.needsStack), ...parts.filter((p) => !p.needsStack)];
  const startedAt = performance.now();
  const loadAtStart = load1();
  const progress = new Progress(ordered.length);
  const results: Record<string, PartResult> = {};
  let stack: LocalStack | undefined;
  let dynamo: BenchDynamo | undefined;
  const stopStack = async () => {
    dynamo?.destroy();
    dynamo = undefined;
    await stack?.stop();
    stack = undefined;
  };
  try {
    let ctx: BenchContext | undefined;
    for (const [i, part] of ordered.entries()) {
      if (part.needsStack && ctx === undefined) {
        progress.note(
          `bench: ${mode} mode, ${ordered.length} part(s); starting the local stack (in memory)…`,
        );
        // No stream poller: in AWS the archiver is its own Lambda, not a rival of the ingest path.
        stack = await startLocalStack({ port: 0, logLevel: 'ERROR', streams: false });
        dynamo = createBenchDynamo(stack.dynamoEndpoint);
        ctx = createContext({ mode, stack, dynamo, progress });
      }
      if (!part.needsStack && stack !== undefined) await stopStack();
      progress.startPart(i + 1, part.title);
      const partStart = performance.now();
      results[part.name] =
        part.isolated === true && parts.length > 1
          ? await runIsolated(part.name, mode)
          : await part.run(ctx ?? createContext({ mode, progress }));
      progress.note(`  done: ${part.title} (${Math.round((performance.now() - partStart) / 1000)} s)`);
    }
  } finally {
    progress.done();
    await stopStack();
  }

  const seconds = (performance.now() - startedAt) / 1000;
  const load = { start: loadAtStart, end: load1() };
  const headlines = Object.values(results).flatMap((r) => r.headlines);
  const report = [
    renderTable(headlineTable(headlines, mode, seconds, load)),
    ...Object.values(results).flatMap((r) => r.tables.map(renderTable)),
  ].join('\n\n');
  process.stdout.write(`${report}\n`);

  const json = {
    schema: 1,
    timestamp: new Date().toISOString(),
    mode,
    duration_s: Math.round(seconds),
    machine: { ...machineInfo(), load_average_1m: load },
    ...Object.fromEntries(headlines.map((h) => [h.key, h.value])),
    ...Object.assign({}, ...Object.values(results).map((r) => r.figures ?? {})),
    targets: Object.fromEntries(
      headlines
        .filter((h) => h.target !== undefined)
        .map((h) => [h.key, { target: h.target, met: h.met ?? null }]),
    ),
    parts: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.details])),
  };
  if (values['part-json'] !== undefined) {
    await writeFile(values['part-json'], JSON.stringify(results));
    return;
  }
  if (only !== undefined) {
    // A partial run must not replace the committed full result.
    process.stderr.write('--only: bench/results/latest.json left unchanged\n');
    return;
  }
  await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(json, null, 2)}\n`);
  process.stderr.write(`wrote ${RESULTS} (${Math.round(seconds)} s)\n`);
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
