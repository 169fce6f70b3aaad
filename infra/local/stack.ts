/**
 * The whole service on one machine: DynamoDB Local, s3rver, the tables of tables.ts, the
 * environment the handlers read, and the local HTTP gateway in front of the handlers. The export
 * and delivery queues (fake-sqs.ts, one per queue, delivering to its consumer) and SES (fake-ses.ts, writing to the
 * outbox folder) are local endpoints the unchanged AWS SDK clients reach through the environment.
 * Every function comes from the manifest (shared/config/manifest.ts), by kind: the gateway runs
 * the `http` functions behind the `authorizer`, each queue delivers to its `queue` function, the
 * events table's stream feeds each `stream` function through its own stream poller
 * (stream-poller.ts, shard positions kept across restarts), and `schedule` functions run on timers
 * (scheduler.ts).
 * Used by `npm start` (persistent, under a data dir) and by the integration tests (in memory).
 * One stack per process: handler modules are imported once and keep the clients they built.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import {
  OIDC_SETTINGS,
  type OidcConfig,
  oidcConfigOf,
  oidcEnvironment,
  oidcSettingsFromEnv,
} from '#shared/adapters/oidc.ts';
import { ensureSecretBoxKeyFile } from '#shared/adapters/secret-box.ts';
import { ensureSigningKeyFile } from '#shared/adapters/signer.ts';
import { AWS_SDK_ENV, awsEndpointEnv, ENV, POWERTOOLS_ENV } from '#shared/config/env.ts';
import {
  type FunctionDefinition,
  type FunctionNameOf,
  functionsOfKind,
  type LocalFunctionName,
  localName,
  type QueueName,
  type ScheduledFunctionName,
  theConsumerOf,
} from '#shared/config/manifest.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/observability.ts';
import { BUCKETS, QUEUES } from '#shared/config/storage.ts';
import { EVENTS_TABLE, TABLES } from '#shared/config/tables.ts';
import { buildConsole } from '../../console/build.ts';
import { type DynamoDbRestartOptions, localDynamoDbClientConfig, startDynamoDbLocal } from './dynamodb.ts';
import { startFakeSes } from './fake-ses.ts';
import { type FakeSqs, lambdaConsumer, type QueueHooks, startFakeSqs } from './fake-sqs.ts';
import { isolateFunctionPools } from './function-pools.ts';
import { type AccessLogEntry, startGateway } from './gateway.ts';
import { lambdaInvoker } from './lambda.ts';
import { ensureBuckets, S3RVER_CREDENTIALS, startLocalS3 } from './s3.ts';
import { type Scheduler, startScheduler } from './scheduler.ts';
import { type StreamPoller, startStreamPoller } from './stream-poller.ts';
import { ensureTables } from './tables.ts';

/** A `schedule` function by its local name (`archive-compactor`). */
export type ScheduledName = LocalFunctionName<ScheduledFunctionName>;
/** A `stream` function by its local name. */
export type StreamConsumerName = LocalFunctionName<FunctionNameOf<'stream'>>;

type ScheduledDefinition = Extract<FunctionDefinition, { kind: 'schedule' }>;
type StreamDefinition = Extract<FunctionDefinition, { kind: 'stream' }>;

export interface LocalStackOptions {
  /** Persist everything under this directory; undefined = in memory and temporary directories. */
  readonly dataDir?: string;
  /** Gateway port; 0 or undefined = a free port. */
  readonly port?: number;
  /**
   * TRAILKEEPER_PUBLIC_URL, the base of every link the service hands out (e.g. a tunnel's URL).
   * Default: the gateway's own URL, known once it listens.
   */
  readonly publicUrl?: string;
  /** Fixed operator key (tests). Otherwise TRAILKEEPER_OPERATOR_KEY, then `<dataDir>/secrets.json`. */
  readonly operatorKey?: string;
  /** Handlers' POWERTOOLS_LOG_LEVEL and this module's own verbosity (INFO also logs each request). */
  readonly logLevel?: string;
  /** Extra buckets to create in s3rver if missing (every bucket of BUCKETS always is). */
  readonly buckets?: readonly string[];
  /** TRAILKEEPER_EXPORT_PART_BYTES for the export handlers (tests force many parts). Default: the environment's. */
  readonly exportPartBytes?: number;
  /** TRAILKEEPER_EXPORT_TIME_RESERVE_MS (tests force checkpoints). Default: the environment's. */
  readonly exportTimeReserveMs?: number;
  /** Delay before a failed export job is delivered again (default 1000 ms; SQS: the visibility timeout). */
  readonly queueRetryDelayMs?: number;
  /**
   * How often each scheduled function runs locally, by local name; 0 = only on runScheduled.
   * Default: the manifest's `localEveryMs`, else its AWS rate.
   */
  readonly scheduleEveryMs?: Partial<Record<ScheduledName, number>>;
  /** TRAILKEEPER_ARCHIVE_CLOSE_AFTER_HOURS for the compactor (tests: -24 compacts today). */
  readonly archiveCloseAfterHours?: number;
  /** The stream pollers' batching window (default 200 ms; AWS: each `stream` function's settings). */
  readonly streamBatchingWindowMs?: number;
  /** The sealer's watermark lag (tests: short; default INTEGRITY's, as in AWS). */
  readonly sealWatermarkLagMs?: number;
  /**
   * Run the stream pollers feeding the `stream` functions (default true). The bench turns them off:
   * in AWS the archiver is its own Lambda, while here it would compete for the cores the measured
   * path uses.
   */
  readonly streams?: boolean;
  /**
   * The operator's identity provider, whose tokens the authorizer accepts as people (tests: an IdP
   * on 127.0.0.1, http allowed to loopback only). Default: the TRAILKEEPER_OIDC_* variables of the
   * environment (`npm start`); null: none, whatever the environment says.
   */
  readonly oidc?: OidcConfig | null;
  /**
   * Sets TRAILKEEPER_ALLOW_HTTP_LOOPBACK=1 for the handlers: stream and alert destinations may be
   * plain http to 127.0.0.1 (test receivers, demos). Default: the environment's. Never in AWS.
   */
  readonly allowHttpLoopback?: boolean;
  /**
   * TRAILKEEPER_DELIVERY_BACKOFF_MS: the stream deliverer's retry backoff base (tests: short).
   * Only honoured with allowHttpLoopback. Default: the environment's, else the SPEC's 1 s.
   */
  readonly deliveryBackoffMs?: number;
}

/** The hooks of one stream consumer's poller (tests). */
export interface ArchiveHooks {
  /** The running stream poller (a new one after restartPoller). */
  poller(): StreamPoller;
  /** Stops the poller and starts a new one from the saved shard positions. */
  restartPoller(): Promise<void>;
}

export interface LocalStack {
  readonly url: string;
  readonly operatorKey: string;
  readonly dynamoEndpoint: string;
  /** Whether DynamoDB Local listens on 127.0.0.1 only (false without a JDK: see dynamodb.ts). */
  readonly dynamoLoopbackOnly: boolean;
  readonly s3Endpoint: string;
  /** Where the local SES writes each email as `<timestamp>-<messageId>.eml`. */
  readonly outboxDir: string;
  /** The export queue (delivering to the export worker): its URL and test hooks. */
  readonly queue: QueueHooks;
  /** Every queue (one fake SQS each, delivering to its consumer), by the manifest's queue name. */
  readonly queues: Readonly<Record<QueueName, QueueHooks>>;
  /** The variables set in process.env for the handlers. */
  readonly env: Readonly<Record<string, string>>;
  /** The identity provider the authorizer accepts tokens of (null: viewer sessions only). */
  readonly oidc: OidcConfig | null;
  /**
   * Kills DynamoDB Local (SIGKILL unless told otherwise) and starts it again on the same port and
   * data directory; the handlers' clients keep their endpoint and reconnect. Resolves once it
   * answers again. Without a data dir the stack is in memory, and a restart loses every table.
   */
  restartDynamoDb(options?: DynamoDbRestartOptions): Promise<void>;
  /** The pollers of every `stream` function, by local name. */
  readonly streams: Readonly<Record<StreamConsumerName, ArchiveHooks>>;
  /** The poller of the `stream` function that stages events for the archive (the archiver). */
  readonly archive: ArchiveHooks;
  /** Invokes a scheduled function now (after a run in progress) and returns its result. */
  runScheduled(name: ScheduledName): Promise<unknown>;
  stop(): Promise<void>;
}

interface Secrets {
  operatorKey: string;
  cursorKey: string;
}

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];

const createLog = (logLevel: string) => {
  const threshold = Math.max(0, LEVELS.indexOf(logLevel.toUpperCase()));
  return (level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string): void => {
    if (LEVELS.indexOf(level) >= threshold) process.stderr.write(`[local] ${level} ${message}\n`);
  };
};

export const newOperatorKey = (): string => `tk_op_${randomBytes(32).toString('base64url')}`;
export const newCursorKey = (): string => randomBytes(32).toString('base64');

/** Writes a file only its owner can read, and tightens an existing one. */
export const writePrivateFile = async (path: string, content: string): Promise<void> => {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600); // `mode` only applies when the file is created
};

/** Loads `<dataDir>/secrets.json`, creating it (0600) on first start. */
const loadOrCreateSecrets = async (dataDir: string): Promise<Secrets> => {
  const path = join(dataDir, 'secrets.json');
  const stored: Partial<Secrets> = await readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as Partial<Secrets>,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return {};
      throw error;
    },
  );
  const secrets = {
    operatorKey: typeof stored.operatorKey === 'string' ? stored.operatorKey : newOperatorKey(),
    cursorKey: typeof stored.cursorKey === 'string' ? stored.cursorKey : newCursorKey(),
  };
  const complete = stored.operatorKey === secrets.operatorKey && stored.cursorKey === secrets.cursorKey;
  if (!complete) await writePrivateFile(path, `${JSON.stringify(secrets, null, 2)}\n`);
  else if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return secrets;
};

const resolveSecrets = async (options: LocalStackOptions, dataDir: string | undefined): Promise<Secrets> => {
  const stored = dataDir === undefined ? undefined : await loadOrCreateSecrets(dataDir);
  return {
    operatorKey:
      options.operatorKey || process.env[ENV.operatorKey] || stored?.operatorKey || newOperatorKey(),
    cursorKey: process.env[ENV.cursorKey] || stored?.cursorKey || newCursorKey(),
  };
};

/**
 * Concurrent invocations of each queue's consumer locally (Lambda scales out in AWS). Deliveries
 * need several: each stream's turn is one invocation, and a slow receiver must not hold up the others.
 */
const LOCAL_QUEUE_CONCURRENCY: Record<QueueName, number> = { exports: 2, deliveries: 8 };

let running = false;

export const startLocalStack = async (options: LocalStackOptions = {}): Promise<LocalStack> => {
  if (running) throw new Error('a local stack is already running in this process');
  running = true;
  const startedAt = performance.now();
  const logLevel = (options.logLevel ?? 'INFO').toUpperCase();
  const log = createLog(logLevel);
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
    running = false;
  };

  try {
    // Each function gets its own outbound connection pools, as its own containers would have.
    isolateFunctionPools();
    // Only its owner may read it: it holds the operator key, API key hashes and every event.
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const secrets = await resolveSecrets(options, dataDir);
    // Checked before anything starts, as synth checks it: a bad setting stops `npm start` here
    // (an option is checked through the variables it becomes, the same way).
    const oidc =
      options.oidc === undefined
        ? oidcConfigOf(oidcSettingsFromEnv(process.env), 'env', { allowLoopbackHttp: true })
        : options.oidc === null
          ? null
          : oidcConfigOf(oidcSettingsFromEnv(oidcEnvironment(options.oidc)), 'env', {
              allowLoopbackHttp: true,
            });
    const s3Dir =
      dataDir === undefined ? await mkdtemp(join(tmpdir(), 'trailkeeper-s3-')) : join(dataDir, 's3');
    if (dataDir === undefined) cleanups.push(() => rm(s3Dir, { recursive: true, force: true }));

    // Start both children together; whichever started is stopped if the other fails.
    const [dynamo, s3] = await Promise.allSettled([
      startDynamoDbLocal(dataDir === undefined ? {} : { dataDir: join(dataDir, 'dynamodb') }),
      startLocalS3({ directory: s3Dir }),
    ]);
    if (dynamo.status === 'fulfilled') cleanups.push(dynamo.value.stop);
    if (s3.status === 'fulfilled') cleanups.push(s3.value.stop);
    if (dynamo.status === 'rejected') throw dynamo.reason;
    if (s3.status === 'rejected') throw s3.reason;
    log(
      'INFO',
      `DynamoDB Local pid ${dynamo.value.pid} on ${dynamo.value.endpoint}; s3rver pid ${s3.value.pid} on ${s3.value.endpoint}`,
    );
    if (!dynamo.value.loopbackOnly) {
      log(
        'WARN',
        `DynamoDB Local listens on every network interface, not only 127.0.0.1 (${dynamo.value.loopbackProblem}): ` +
          'anyone who can reach this machine can read and change its tables. Install a JDK (e.g. openjdk-17-jdk-headless) to keep it local.',
      );
    }

    const client = new DynamoDBClient(localDynamoDbClientConfig(dynamo.value.endpoint));
    try {
      const created = await ensureTables(client);
      log('INFO', `tables ready (created: ${created.length === 0 ? 'none' : created.join(', ')})`);
    } finally {
      client.destroy();
    }
    await ensureBuckets(s3.value.endpoint, [
      ...BUCKETS.map((bucket) => bucket.localName),
      ...(options.buckets ?? []),
    ]);

    const outboxDir =
      dataDir === undefined ? await mkdtemp(join(tmpdir(), 'trailkeeper-outbox-')) : join(dataDir, 'outbox');
    if (dataDir === undefined) cleanups.push(() => rm(outboxDir, { recursive: true, force: true }));
    const ses = await startFakeSes({ outboxDir, log });
    cleanups.push(ses.stop);
    // One fake SQS per queue, each delivering to the queue's consumer in the manifest. The worker
    // modules are imported on the first delivery, after process.env below is set.
    const queues = {} as Record<QueueName, FakeSqs>;
    for (const [queueName, queue] of Object.entries(QUEUES) as Array<
      [QueueName, (typeof QUEUES)[QueueName]]
    >) {
      const [consumerName, consumer] = theConsumerOf(queueName);
      const fake = await startFakeSqs({
        consumer: lambdaConsumer(localName(consumerName), consumer),
        queueName: queue.localName,
        maxReceiveCount: queue.maxReceiveCount,
        concurrency: LOCAL_QUEUE_CONCURRENCY[queueName],
        ...(options.queueRetryDelayMs === undefined ? {} : { retryDelayMs: options.queueRetryDelayMs }),
        log,
      });
      cleanups.push(() => fake.stop());
      queues[queueName] = fake;
      log('INFO', `${queueName} queue on ${fake.url}`);
    }
    const sqs = queues.exports;
    log('INFO', `emails go to ${outboxDir}`);
    const closeAfterHours = options.archiveCloseAfterHours ?? process.env[ENV.archiveCloseAfterHours];
    const sealLagMs = options.sealWatermarkLagMs ?? process.env[ENV.sealWatermarkLagMs];
    // The digest signing key: KMS in AWS; a P-256 key file here, created once (0600).
    const keyDir = dataDir === undefined ? await mkdtemp(join(tmpdir(), 'trailkeeper-keys-')) : dataDir;
    if (dataDir === undefined) cleanups.push(() => rm(keyDir, { recursive: true, force: true }));
    const signingKeyFile = await ensureSigningKeyFile(join(keyDir, 'signing-key.pem'));
    // The viewer-session token key: its own KMS key in AWS; its own P-256 key file here.
    const sessionKeyFile = await ensureSigningKeyFile(join(keyDir, 'session-key.pem'));
    // Destination secrets (stream tokens, webhook secrets): KMS in AWS; an AES key file here.
    const destinationKeyFile = await ensureSecretBoxKeyFile(join(keyDir, 'destination-key.bin'));
    const allowHttpLoopback = options.allowHttpLoopback ?? process.env[ENV.allowHttpLoopback] === '1';
    const deliveryBackoffMs = options.deliveryBackoffMs ?? process.env[ENV.deliveryBackoffMs];
    // The console, built from source on every start (esbuild: well under a second), served by
    // the gateway as CloudFront serves it from S3; the page shell learns the hashed names.
    const consoleDir = join(keyDir, 'console');
    const consoleAssets = await buildConsole({ outDir: consoleDir });
    const exportPartBytes = options.exportPartBytes ?? process.env[ENV.exportPartBytes];
    const exportTimeReserveMs = options.exportTimeReserveMs ?? process.env[ENV.exportTimeReserveMs];

    const env: Record<string, string> = {
      ...Object.fromEntries(TABLES.map((table) => [table.envVar, table.localName])),
      ...Object.fromEntries(BUCKETS.map((bucket) => [bucket.envVar, bucket.localName])),
      ...Object.fromEntries(
        (Object.keys(QUEUES) as QueueName[]).map((name) => [QUEUES[name].envVar, queues[name].url]),
      ),
      [ENV.destinationKeyFile]: destinationKeyFile,
      ...(allowHttpLoopback ? { [ENV.allowHttpLoopback]: '1' } : {}),
      ...(deliveryBackoffMs === undefined ? {} : { [ENV.deliveryBackoffMs]: String(deliveryBackoffMs) }),
      [ENV.consoleAssets]: JSON.stringify({ script: consoleAssets.script, style: consoleAssets.style }),
      // A bare address: buildMime (shared/domain/email.ts) refuses `<` and `>`, so no display name.
      [ENV.emailFrom]: process.env[ENV.emailFrom] || 'Trailkeeper <no-reply@trailkeeper.local>',
      ...(exportPartBytes === undefined ? {} : { [ENV.exportPartBytes]: String(exportPartBytes) }),
      ...(exportTimeReserveMs === undefined
        ? {}
        : { [ENV.exportTimeReserveMs]: String(exportTimeReserveMs) }),
      ...(closeAfterHours === undefined ? {} : { [ENV.archiveCloseAfterHours]: String(closeAfterHours) }),
      ...(sealLagMs === undefined ? {} : { [ENV.sealWatermarkLagMs]: String(sealLagMs) }),
      [ENV.signingKeyFile]: signingKeyFile,
      [ENV.sessionKeyFile]: sessionKeyFile,
      [ENV.operatorKey]: secrets.operatorKey,
      [ENV.cursorKey]: secrets.cursorKey,
      ...(oidc === null ? {} : oidcEnvironment(oidc)),
      [AWS_SDK_ENV.region]: 'us-east-1',
      // s3rver only accepts its own key pair; DynamoDB Local (sharedDb) accepts anything.
      [AWS_SDK_ENV.accessKeyId]: S3RVER_CREDENTIALS.accessKeyId,
      [AWS_SDK_ENV.secretAccessKey]: S3RVER_CREDENTIALS.secretAccessKey,
      // By the SDK's service ids.
      [awsEndpointEnv('DynamoDB')]: dynamo.value.endpoint,
      [awsEndpointEnv('DynamoDB Streams')]: dynamo.value.endpoint,
      [awsEndpointEnv('S3')]: s3.value.endpoint,
      [awsEndpointEnv('SQS')]: sqs.endpoint,
      [awsEndpointEnv('SESv2')]: ses.endpoint,
      // See s3.ts: without these, s3rver stores streamed bodies with their chunk framing.
      [AWS_SDK_ENV.requestChecksumCalculation]: 'WHEN_REQUIRED',
      [AWS_SDK_ENV.responseChecksumValidation]: 'WHEN_REQUIRED',
      [ENV.s3ForcePathStyle]: 'true',
      [POWERTOOLS_ENV.serviceName]: SERVICE_NAME,
      [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
      [POWERTOOLS_ENV.logLevel]: logLevel,
      // No CloudWatch to read EMF locally: it would only flood stdout. Set it to 'false' to see it.
      [POWERTOOLS_ENV.metricsDisabled]: process.env[POWERTOOLS_ENV.metricsDisabled] ?? 'true',
    };
    const oidcNames = Object.values(OIDC_SETTINGS).map((setting) => setting.env);
    const previousEnv = Object.fromEntries(
      [
        ...Object.keys(env),
        ...oidcNames,
        ENV.publicUrl,
        ENV.allowHttpLoopback,
        AWS_SDK_ENV.sessionToken,
        AWS_SDK_ENV.profile,
      ].map((name) => [name, process.env[name]]),
    );
    // A developer's real session must not leak into requests to the fakes.
    delete process.env[AWS_SDK_ENV.sessionToken];
    delete process.env[AWS_SDK_ENV.profile];
    // The identity provider is the one resolved above, or none: no stray half of another's settings.
    for (const name of oidcNames) delete process.env[name];
    if (!allowHttpLoopback) delete process.env[ENV.allowHttpLoopback];
    Object.assign(process.env, env);
    cleanups.push(async () => {
      for (const [name, value] of Object.entries(previousEnv)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    // Each `stream` function reads the events table's stream, as its event source mapping does
    // in AWS, from its own shard positions.
    const streamDir =
      dataDir === undefined ? await mkdtemp(join(tmpdir(), 'trailkeeper-stream-')) : join(dataDir, 'stream');
    if (dataDir === undefined) cleanups.push(() => rm(streamDir, { recursive: true, force: true }));
    await mkdir(streamDir, { recursive: true, mode: 0o700 });
    const streams = await Promise.all(
      functionsOfKind('stream').map(async ([name, definition]) => {
        const consumer = localName(name);
        const invoke = lambdaInvoker<DynamoDBStreamEvent, DynamoDBBatchResponse>(consumer, definition);
        const start = () =>
          startStreamPoller({
            endpoint: dynamo.value.endpoint,
            tableName: EVENTS_TABLE.localName,
            positionsFile: join(streamDir, `${consumer}.positions.json`),
            invoke,
            batchSize: definition.stream.batchSize,
            maxBatchingWindowMs: options.streamBatchingWindowMs ?? 200,
            bisectBatchOnError: definition.stream.bisectBatchOnError,
            log,
          });
        let poller = options.streams === false ? undefined : await start();
        cleanups.push(async () => poller?.stop());
        const hooks: ArchiveHooks = {
          poller: () => {
            if (poller === undefined) throw new Error('this stack runs without the stream pollers');
            return poller;
          },
          restartPoller: async () => {
            await poller?.stop();
            poller = await start();
            log('INFO', `${consumer}: stream poller restarted from its saved positions`);
          },
        };
        return { consumer, definition: definition as StreamDefinition, hooks };
      }),
    );
    const archiveStager = streams.find((stream) => stream.definition.archive === 'stage');
    if (archiveStager === undefined)
      throw new Error('the manifest has no stream function staging the archive');

    const scheduler: Scheduler = startScheduler(
      functionsOfKind('schedule').map(([name, fn]: [ScheduledFunctionName, ScheduledDefinition]) => ({
        name: localName(name),
        fn,
        everyMs:
          options.scheduleEveryMs?.[localName(name)] ??
          fn.schedule.localEveryMs ??
          fn.schedule.rateMinutes * 60_000,
      })),
      log,
    );
    cleanups.push(() => scheduler.stop());

    const gateway = await startGateway({
      port: options.port ?? 0,
      consoleAssetsDir: join(consoleDir, 'assets'),
      onRequest: (entry: AccessLogEntry) => {
        const route = entry.routeKey === '-' ? `${entry.method} (no route)` : entry.routeKey;
        const authorizer = entry.authorizerMs === undefined ? '' : `, authorizer ${entry.authorizerMs} ms`;
        log(
          'INFO',
          `${route} -> ${entry.status} in ${entry.durationMs} ms (id ${entry.requestId}${authorizer})`,
        );
      },
      onError: (error, { requestId, fn }) =>
        log(
          'ERROR',
          `${fn} failed (id=${requestId}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        ),
    });
    cleanups.push(gateway.close);
    // Every link the service hands out is built from this, never from Host or X-Forwarded-Host;
    // handlers read it per request, so it can be set now that the port is known.
    env[ENV.publicUrl] = options.publicUrl ?? gateway.url;
    process.env[ENV.publicUrl] = env[ENV.publicUrl];
    log('INFO', `gateway on ${gateway.url}, ready in ${Math.round(performance.now() - startedAt)} ms`);

    return {
      url: gateway.url,
      operatorKey: secrets.operatorKey,
      dynamoEndpoint: dynamo.value.endpoint,
      get dynamoLoopbackOnly() {
        return dynamo.value.loopbackOnly;
      },
      s3Endpoint: s3.value.endpoint,
      outboxDir,
      queue: { url: sqs.url, idle: sqs.idle, stats: sqs.stats, deadLetters: sqs.deadLetters },
      queues: Object.fromEntries(
        Object.entries(queues).map(([name, fake]) => [
          name,
          { url: fake.url, idle: fake.idle, stats: fake.stats, deadLetters: fake.deadLetters },
        ]),
      ) as Record<QueueName, QueueHooks>,
      env,
      oidc,
      restartDynamoDb: async (restartOptions) => {
        const before = dynamo.value.pid;
        await dynamo.value.restart(restartOptions);
        log(
          'INFO',
          `DynamoDB Local restarted on ${dynamo.value.endpoint} (pid ${before} -> ${dynamo.value.pid})`,
        );
      },
      streams: Object.fromEntries(streams.map((stream) => [stream.consumer, stream.hooks])) as Record<
        StreamConsumerName,
        ArchiveHooks
      >,
      archive: archiveStager.hooks,
      runScheduled: (name) => scheduler.runNow(name),
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
};
