/**
 * The local S3 (s3rver, with the conditional writes of s3-server.ts) as a supervised child
 * process, listening on 127.0.0.1 only. It runs in its own Node with `--openssl-legacy-provider`:
 * without it a truncated ListObjectsV2 answers 500 under OpenSSL 3, and that flag is
 * process-wide, so it cannot run inside our process.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { captureTail, stopChild, supervise, waitUntilReady } from './processes.ts';

export interface LocalS3 {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  /** Where objects are stored (created if missing). */
  readonly directory: string;
  /** 0 or undefined = s3rver picks a free port and tells us. */
  readonly port?: number;
  readonly startTimeoutMs?: number;
}

/** s3rver accepts only its built-in key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Client settings for s3rver. The checksum settings are not optional: with the SDK's default
 * (WHEN_SUPPORTED), streamed PutObject bodies are stored with their chunk framing.
 */
export const localS3ClientConfig = (endpoint: string): S3ClientConfig => ({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: S3RVER_CREDENTIALS,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

const LISTENING = /S3rver listening on [^:\s]+:(\d+)/;

export const startLocalS3 = async (options: LocalS3Options): Promise<LocalS3> => {
  const directory = resolve(options.directory);
  await mkdir(directory, { recursive: true });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const server = fileURLToPath(new URL('./s3-server.ts', import.meta.url));
  const args = ['--openssl-legacy-provider', '--import', tsx, server, '--directory', directory];
  args.push('--address', '127.0.0.1', '--port', String(options.port ?? 0));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const tail = captureTail(child);
  supervise(child);

  // The start-up line carries the port it bound.
  const port = new Promise<number>((resolvePort, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = LISTENING.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`s3rver exited during start-up (${code ?? signal})${tail()}`)),
    );
  });
  const stop = (): Promise<void> => stopChild(child);
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  try {
    const bound = await Promise.race([
      port,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`s3rver did not start within ${timeoutMs} ms${tail()}`)),
          timeoutMs,
        ).unref(),
      ),
    ]);
    const endpoint = `http://127.0.0.1:${bound}`;
    const client = new S3Client({ ...localS3ClientConfig(endpoint), maxAttempts: 1 });
    try {
      await waitUntilReady(child, () => client.send(new ListBucketsCommand({})), {
        timeoutMs,
        what: `s3rver (port ${bound})`,
        describe: tail,
      });
    } finally {
      client.destroy();
    }
    return { endpoint, port: bound, pid: child.pid ?? -1, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};

/** Creates each bucket that does not exist yet. */
export const ensureBuckets = async (endpoint: string, names: readonly string[]): Promise<void> => {
  const client = new S3Client(localS3ClientConfig(endpoint));
  try {
    for (const name of names) {
      const exists = await client.send(new HeadBucketCommand({ Bucket: name })).then(
        () => true,
        () => false,
      );
      if (!exists) await client.send(new CreateBucketCommand({ Bucket: name }));
    }
  } finally {
    client.destroy();
  }
};
