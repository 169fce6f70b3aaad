/**
 * Child processes of the local runtime (DynamoDB Local's JVM, s3rver) and the promise that
 * none of them outlives us. Every supervised child is terminated when this process exits for any
 * reason Node can see ('exit' also fires after an uncaught exception or unhandled rejection)
 * and on SIGINT/SIGTERM/SIGHUP that nobody else handles. For the one death Node cannot see
 * (SIGKILL), a tiny detached "reaper" process holds a pipe from us: when the pipe closes, it
 * terminates the pids we gave it (SIGTERM, then SIGKILL after a grace period).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const supervised = new Set<ChildProcess>();
let reaper: Writable | undefined;
let hooksInstalled = false;

/** Runs in its own process: reads `+pid`/`-pid` lines; on EOF (parent gone) ends what is left. */
const REAPER_SOURCE = `
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
const pids = new Set(); let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk; const lines = buffer.split('\\n'); buffer = lines.pop();
  for (const line of lines) { const pid = Number(line.slice(1)); if (line[0] === '+') pids.add(pid); else pids.delete(pid); }
});
const signalAll = (signal) => { for (const pid of pids) { try { process.kill(pid, signal); } catch {} } };
process.stdin.on('end', () => {
  if (pids.size === 0) process.exit(0);
  signalAll('SIGTERM');
  setTimeout(() => { signalAll('SIGKILL'); process.exit(0); }, 2000);
});
`;

const tellReaper = (line: string): void => {
  if (reaper === undefined) {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    child.unref();
    // The pipe must not keep our event loop alive; it only has to close when we die.
    (child.stdin as unknown as { unref(): void }).unref();
    child.stdin.on('error', () => {}); // reaper gone: nothing more we can do
    reaper = child.stdin;
  }
  reaper.write(`${line}\n`);
};

/** Synchronous, so it can run in an 'exit' listener; the reaper escalates to SIGKILL if needed. */
const terminateAll = (): void => {
  for (const child of supervised) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
};

const installHooks = (): void => {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', terminateAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Someone else handles it (e.g. a graceful shutdown): they stop or exit, and 'exit' covers us.
      if (process.listenerCount(signal) > 1) return;
      // Nobody does: clean up, then die of the signal as the default behaviour would.
      process.off(signal, onSignal);
      terminateAll();
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
};

/** Registers a child so that it dies with us, whatever the cause. */
export const supervise = (child: ChildProcess): void => {
  if (child.pid === undefined) return; // spawn failed; its 'error' event says why
  installHooks();
  supervised.add(child);
  tellReaper(`+${child.pid}`);
  const pid = child.pid;
  child.once('exit', () => {
    supervised.delete(child);
    tellReaper(`-${pid}`);
  });
};

/** SIGTERM, then SIGKILL if the child is still alive after `graceMs`. Resolves once it exited. */
export const stopChild = async (child: ChildProcess, graceMs = 3000): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
};

/** A TCP port that was free a moment ago (bind port 0, read it, release it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/**
 * Polls `probe` until it resolves, failing early if `child` exits and after `timeoutMs`.
 * `describe` supplies the failure message (e.g. with the child's recent output).
 */
export const waitUntilReady = async (
  child: ChildProcess,
  probe: () => Promise<unknown>,
  options: { timeoutMs: number; what: string; describe: () => string },
): Promise<void> => {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.what} exited during start-up (code ${child.exitCode ?? child.signalCode})${options.describe()}`,
      );
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(
    `${options.what} did not answer within ${options.timeoutMs} ms${reason}${options.describe()}`,
  );
};

/** Keeps the last `maxChars` characters a child wrote, for start-up error messages. */
export const captureTail = (child: ChildProcess, maxChars = 2000): (() => string) => {
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-maxChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => (tail.trim() === '' ? '' : `\n--- last output ---\n${tail.trim()}`);
};
