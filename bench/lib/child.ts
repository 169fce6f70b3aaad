/**
 * Bench drivers in fresh Node processes (export and archive parts): the child runs a driver
 * script under tsx — or, `bundled`, as the bundle esbuild makes of it with the very options every
 * function is deployed with (infra/constructs/bundling.ts), run by plain node with the functions'
 * Node options, so memory is measured on what Lambda runs rather than on tsx's loader — with only
 * the Node flags given (nothing of this process's NODE_OPTIONS, so a function's deployed heap
 * flags are what is measured), reports on stdout as JSON lines — `{progress}` counters, one
 * `{result}`, or `{error}` — and is killed after a time bound.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptions, HANDLER_NODE_OPTIONS } from '#infra/constructs/bundling.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DriverRun {
  /** Absolute path of the driver script; it gets `config` as JSON in argv[2]. */
  readonly driver: string;
  readonly config: unknown;
  readonly nodeFlags: readonly string[];
  /** Names the child in errors, e.g. `export child`. */
  readonly label: string;
  readonly timeoutMs: number;
  readonly onProgress: (n: number) => void;
  /** Run the deployed-style bundle of the driver (see the header) instead of the sources under tsx. */
  readonly bundled?: boolean;
}

/** Bundles a driver like a function (minified ESM with its source map) and returns the .mjs path. */
const bundleDriver = async (driver: string): Promise<string> => {
  const outfile = join(await mkdtemp(join(tmpdir(), 'trailkeeper-driver-')), 'driver.mjs');
  await build({ ...esbuildOptions(), entryPoints: [driver], outfile, logLevel: 'error' });
  return outfile;
};

/** The node arguments that start a driver: under tsx, or its bundle with the functions' Node options. */
const driverArgs = async (run: DriverRun): Promise<string[]> =>
  run.bundled === true
    ? [...run.nodeFlags, ...HANDLER_NODE_OPTIONS, await bundleDriver(run.driver)]
    : [...run.nodeFlags, '--import', 'tsx', run.driver];

export const runDriver = async <T>(run: DriverRun): Promise<T> => {
  const args = await driverArgs(run);
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, [...args, JSON.stringify(run.config)], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let result: T | undefined;
    let failure: string | undefined;
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      failure = `the ${run.label} did not finish within ${run.timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, run.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const message = JSON.parse(line) as { progress?: number; result?: T; error?: string };
        if (message.progress !== undefined) run.onProgress(message.progress);
        if (message.result !== undefined) result = message.result;
        if (message.error !== undefined) failure = message.error;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result !== undefined) resolve(result);
      else
        reject(
          new Error(
            `${run.label} exited ${code ?? signal}: ${failure ?? 'no result'}${stderr ? `\n${stderr}` : ''}`,
          ),
        );
    });
  });
};
