/**
 * The local stand-in for Lambda's DynamoDB Streams event source mapping: reads a table's stream
 * from DynamoDB Local (which serves the Streams API on its own endpoint) and invokes the
 * consumer with the DynamoDBStreamEvent Lambda would send.
 *
 * Reading: the stream ARN comes from DescribeTable and the shards from DescribeStream, both
 * re-read every few seconds (new shards; a table recreated after an in-memory restart). Each
 * shard has its own loop, a parent is read to its end before its children start, records go in
 * order, one invocation per shard at a time (parallelization factor 1). A shard's position is the
 * last sequence number done; reading (re)starts AFTER_SEQUENCE_NUMBER it, else at TRIM_HORIZON.
 * Positions go to `positionsFile` after every batch (temp file + rename), so a restarted poller
 * neither re-delivers a completed record nor skips one.
 *
 * Delivery, like the mapping with ReportBatchItemFailures, BisectBatchOnFunctionError and an
 * on-failure destination: up to `batchSize` records, gathered for up to `maxBatchingWindowMs`.
 * Records before the first one reported in `batchItemFailures` are done and the batch is retried
 * from it after `retryDelayMs`; a throw or an invalid failure list retries the whole batch. After
 * 1 + `maxRetries` failed attempts starting at the same record the batch is halved, down to one
 * record, which is then dead-lettered: its position (never its data) goes to `deadLetters()` and
 * `<positionsFile>.dead-letters.jsonl`, logged at ERROR, and reading moves past it.
 *
 * Records are what Lambda delivers, not what the SDK returns: B and BS as base64 strings (the
 * SDK decodes them to Uint8Array, and `unmarshall` passes either through untouched, so a handler
 * would see bytes here and base64 strings in AWS), ApproximateCreationDateTime in epoch seconds,
 * userIdentity in Lambda's lower-case shape. DynamoDB Local reports a TTL deletion with event name
 * `UNKNOWN_TO_SDK_VERSION` (its Java SDK's name for an unknown enum value) and no userIdentity,
 * where AWS sends `REMOVE` by the DynamoDB service principal; consumers tell expiry from
 * tampering by exactly that, so an unknown event name becomes the AWS TTL shape. A DeleteItem is
 * a plain REMOVE, without userIdentity, in both.
 *
 * Faults: any error reading the stream (DynamoDB Local restarted, an expired or trimmed iterator)
 * is logged at WARN and retried with backoff from the saved position; nothing is lost. Logs
 * carry shard ids, sequence numbers and counts, never record contents (customers' events), and
 * of a handler error only its name.
 *
 * Test hooks: `idle()` (every shard read to its end by a read that started after the call, nothing
 * in flight: records written before the call are done), `stats()`, `deadLetters()`, `failNext(n)`
 * (crashes before the handler). Record conversion and the reading of a batch response are pure
 * functions, exported for tests.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as SdkAttributeValue,
  type _Record as SdkRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localDynamoDbClientConfig } from './dynamodb.ts';
import type { LogFn } from './fake-sqs.ts';

const DEFAULT_REGION = 'us-east-1';
/** GetRecords returns at most this many records. */
const MAX_RECORDS_PER_READ = 1000;
const DESCRIBE_INTERVAL_MS = 5_000;
const MAX_BACKOFF_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Pure parts

/** The userIdentity of a TTL deletion's stream record in AWS. */
export const TTL_USER_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' } as const;
const EVENT_NAMES: ReadonlySet<string> = new Set(['INSERT', 'MODIFY', 'REMOVE']);

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** An attribute value as Lambda's JSON event carries it: binary in base64. */
export const toLambdaAttributeValue = (value: SdkAttributeValue): AttributeValue => {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  return value as AttributeValue; // S, N, BOOL, NULL, SS, NS: the same in both
};

const toLambdaImage = (image: Record<string, SdkAttributeValue>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttributeValue(value)]));

const withoutUndefined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** The record Lambda would deliver for a record GetRecords returned from the stream `streamArn`. */
export const toLambdaRecord = (record: SdkRecord, streamArn: string, region: string): DynamoDBRecord => {
  const change = record.dynamodb ?? {};
  const known = EVENT_NAMES.has(record.eventName ?? '');
  const identity = record.userIdentity;
  return withoutUndefined<DynamoDBRecord>({
    eventID: record.eventID,
    eventName: known ? record.eventName : 'REMOVE',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: withoutUndefined({
      ApproximateCreationDateTime:
        change.ApproximateCreationDateTime && Math.floor(change.ApproximateCreationDateTime.getTime() / 1000),
      Keys: change.Keys && toLambdaImage(change.Keys),
      NewImage: change.NewImage && toLambdaImage(change.NewImage),
      OldImage: change.OldImage && toLambdaImage(change.OldImage),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    }),
    eventSourceARN: streamArn,
    userIdentity: !known
      ? { ...TTL_USER_IDENTITY }
      : identity && withoutUndefined({ type: identity.Type, principalId: identity.PrincipalId }),
  });
};

const sequenceOf = (record: DynamoDBRecord | undefined): string => record?.dynamodb?.SequenceNumber ?? '';

/** How an invocation result is read with ReportBatchItemFailures. */
export interface BatchOutcome {
  /** How many leading records of the batch are done: all of them when it succeeded. */
  readonly done: number;
  /** Why the rest are retried; absent when the batch succeeded. */
  readonly reason?: string;
}

/**
 * Reads an invocation result as Lambda does: no result, or no or an empty `batchItemFailures`,
 * is success; the records before the earliest reported one are done (the checkpoint); a failure
 * list that is not a list, or names an empty or unknown sequence number, fails the whole batch.
 */
export const checkpointAfterFailures = (
  batch: readonly DynamoDBRecord[],
  response: unknown,
): BatchOutcome => {
  if (response === undefined || response === null || typeof response !== 'object')
    return { done: batch.length };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { done: batch.length };
  if (!Array.isArray(failures)) return { done: 0, reason: 'batchItemFailures is not a list' };
  let done = batch.length;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? batch.findIndex((r) => sequenceOf(r) === id) : -1;
    if (index === -1) return { done: 0, reason: 'batchItemFailures names a record not in the batch' };
    done = Math.min(done, index);
  }
  return done === batch.length
    ? { done }
    : { done, reason: `sequence number ${sequenceOf(batch[done])} reported in batchItemFailures` };
};

// ---------------------------------------------------------------------------------------------
// The poller

export type StreamConsumer = (
  event: DynamoDBStreamEvent,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers nothing is typed Promise<void>
) => Promise<DynamoDBBatchResponse | undefined | void>;

export interface StreamPollerOptions {
  /** DynamoDB Local's endpoint; it serves the Streams API too. */
  readonly endpoint: string;
  /** Client region and the records' awsRegion (default us-east-1). */
  readonly region?: string;
  readonly tableName: string;
  /** Where shard positions survive a restart (JSON); undefined = in memory only. */
  readonly positionsFile?: string;
  readonly invoke: StreamConsumer;
  /** Records per invocation at most (default 100). */
  readonly batchSize?: number;
  /** How long to gather records for a batch that is not full (default 0: invoke at once). */
  readonly maxBatchingWindowMs?: number;
  /** Halve a batch that keeps failing until the failing record is alone (default true). */
  readonly bisectBatchOnError?: boolean;
  /** Pause between reads of a shard that had nothing new (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** Pause before retrying a failed batch (default 500 ms). */
  readonly retryDelayMs?: number;
  /** Retries after the first failed attempt, before bisecting or dead-lettering (default 10). */
  readonly maxRetries?: number;
  readonly log?: LogFn;
}

/** Where a record that kept failing was (AWS's on-failure destination gets the same: no data). */
export interface StreamDeadLetter {
  readonly streamArn: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly batchSize: number;
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly reason: string;
  readonly time: string;
}

export interface StreamPollerStats {
  /** Invocations, failed ones and simulated crashes included. */
  readonly invocations: number;
  /** Records processed successfully. */
  readonly records: number;
  /** Invocations that failed in whole or in part. */
  readonly failures: number;
  /** Failed invocations followed by a retry (of the batch or of a half of it). */
  readonly retries: number;
  readonly deadLettered: number;
  /** Shards of the stream known now, finished ones included. */
  readonly shards: number;
}

export interface StreamPoller {
  /** Resolves once every shard was read to its end after this call and nothing is in flight, or on stop. */
  idle(timeoutMs?: number): Promise<void>;
  stats(): StreamPollerStats;
  deadLetters(): readonly StreamDeadLetter[];
  /** The next `count` invocations fail before reaching the handler, as if the function crashed. */
  failNext(count: number): void;
  /** Lets an invocation in flight finish (and its position be saved), then stops reading. */
  stop(): Promise<void>;
}

interface ShardPosition {
  /** The last sequence number done. */
  sequenceNumber?: string;
  /** Closed and read to its end. */
  finished?: boolean;
}

interface ShardState {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly streamArn: string;
  readonly position: ShardPosition;
  /** Tick at which the last read that found nothing (with nothing pending) started. */
  readToEndAt: number;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const readPositions = async (file: string | undefined): Promise<Map<string, ShardPosition>> => {
  if (file === undefined) return new Map();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const shards = (JSON.parse(text) as { shards?: unknown } | null)?.shards;
  if (typeof shards !== 'object' || shards === null) throw new Error(`${file} holds no stream positions`);
  return new Map(
    Object.entries(shards as Record<string, ShardPosition>).map(([id, p]) => [
      id,
      withoutUndefined({ sequenceNumber: p.sequenceNumber, finished: p.finished }),
    ]),
  );
};

const writeAtomically = async (file: string, text: string): Promise<void> => {
  const temporary = `${file}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
};

export const startStreamPoller = async (options: StreamPollerOptions): Promise<StreamPoller> => {
  const region = options.region ?? DEFAULT_REGION;
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const windowMs = options.maxBatchingWindowMs ?? 0;
  const bisectOnError = options.bisectBatchOnError ?? true;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRetries = options.maxRetries ?? 10;
  const log: LogFn = options.log ?? (() => {});
  const { positionsFile, tableName } = options;
  const backoff = (failures: number): number => Math.min(MAX_BACKOFF_MS, pollIntervalMs * 2 ** failures);

  if (positionsFile !== undefined) await mkdir(dirname(positionsFile), { recursive: true });
  const positions = await readPositions(positionsFile);
  const clientConfig = { ...localDynamoDbClientConfig(options.endpoint), region };
  const dynamodb = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  // Cancels requests in flight on stop; invocations and position writes are never cancelled.
  const abort = new AbortController();
  const sdk = { abortSignal: abort.signal };

  let shards = new Map<string, ShardState>();
  const workers = new Map<string, Promise<void>>();
  const dead: StreamDeadLetter[] = [];
  const counts = { invocations: 0, records: 0, failures: 0, retries: 0, deadLettered: 0 };
  let crashesToSimulate = 0;
  let inFlight = 0;
  let streamArn: string | undefined;
  let stopped = false;
  /** Orders reads, refreshes and idle() calls: idle needs everything read after it was called. */
  let tick = 0;
  let refreshedAt = 0;

  /** Every pending pause, woken on stop so that no timer outlives the poller. */
  const sleepers = new Set<() => void>();
  const pause = (ms: number, onWake?: (wake: () => void) => void): Promise<void> =>
    stopped
      ? Promise.resolve()
      : new Promise((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            sleepers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, ms);
          sleepers.add(wake);
          onWake?.(wake);
        });

  const waiters = new Set<{ since: number; resolve: () => void; timer?: NodeJS.Timeout }>();
  const notifyIdle = (): void => {
    for (const waiter of waiters) {
      const since = waiter.since;
      const idle =
        inFlight === 0 &&
        refreshedAt > since &&
        [...shards.values()].every((shard) => shard.position.finished || shard.readToEndAt > since);
      if (!idle && !stopped) continue;
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  };

  let saving: Promise<void> = Promise.resolve();
  const savePositions = (): Promise<void> => {
    if (positionsFile === undefined) return Promise.resolve();
    saving = saving
      .catch(() => {})
      .then(() =>
        writeAtomically(
          positionsFile,
          `${JSON.stringify({ shards: Object.fromEntries(positions) }, null, 2)}\n`,
        ),
      );
    return saving;
  };

  const deadLetter = async (
    shard: ShardState,
    records: readonly DynamoDBRecord[],
    attempts: number,
    reason: string,
  ): Promise<void> => {
    const entry: StreamDeadLetter = {
      streamArn: shard.streamArn,
      shardId: shard.id,
      startSequenceNumber: sequenceOf(records[0]),
      endSequenceNumber: sequenceOf(records.at(-1)),
      batchSize: records.length,
      attempts,
      reason,
      time: new Date().toISOString(),
    };
    // Written before the position moves past the records: a crash in between repeats the entry, never loses it.
    if (positionsFile !== undefined)
      await appendFile(`${positionsFile}.dead-letters.jsonl`, `${JSON.stringify(entry)}\n`);
    dead.push(entry);
    counts.deadLettered += records.length;
    log(
      'ERROR',
      `${shard.id}: ${records.length} record(s) from sequence number ${entry.startSequenceNumber} dead-lettered after ${attempts} attempts (${reason})`,
    );
  };

  const invoke = async (batch: readonly DynamoDBRecord[]): Promise<BatchOutcome> => {
    counts.invocations += 1;
    inFlight += 1;
    try {
      if (crashesToSimulate > 0) {
        crashesToSimulate -= 1;
        return { done: 0, reason: 'simulated crash (failNext)' };
      }
      // A fresh copy per attempt, as Lambda sends: a handler that mutates its event can't alter a retry.
      return checkpointAfterFailures(batch, await options.invoke({ Records: structuredClone([...batch]) }));
    } catch (error) {
      return { done: 0, reason: `the invocation failed (${errorName(error)})` };
    } finally {
      inFlight -= 1;
    }
  };

  const shardIterator = async (shard: ShardState): Promise<string | undefined> => {
    const after = shard.position.sequenceNumber;
    const at = { StreamArn: shard.streamArn, ShardId: shard.id };
    if (after !== undefined) {
      try {
        const command = { ...at, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: after };
        return (await streams.send(new GetShardIteratorCommand(command), sdk)).ShardIterator;
      } catch (error) {
        if (errorName(error) !== 'TrimmedDataAccessException') throw error;
        log(
          'ERROR',
          `${shard.id}: records after ${after} were trimmed before they were read; reading on from the trim horizon`,
        );
      }
    }
    return (
      await streams.send(new GetShardIteratorCommand({ ...at, ShardIteratorType: 'TRIM_HORIZON' }), sdk)
    ).ShardIterator;
  };

  const readShard = async (shard: ShardState): Promise<void> => {
    let iterator: string | undefined;
    /** Records read and not yet done, in order; a batch is always its head. */
    let buffer: DynamoDBRecord[] = [];
    let bufferedSince = 0;
    let readAll = false;
    /** The record retries start at, and how many attempts starting there failed. */
    let stuck: { sequenceNumber: string; failures: number } | undefined;
    /** While bisecting: the batch size limit, and how many records it applies to. */
    let bisect: { limit: number; remaining: number } | undefined;
    let readFailures = 0;

    const complete = (count: number): void => {
      const last = buffer[count - 1];
      if (last === undefined) return;
      shard.position.sequenceNumber = sequenceOf(last);
      buffer = buffer.slice(count);
      if (bisect === undefined) return;
      bisect.remaining -= count;
      if (bisect.remaining <= 0) bisect = undefined;
    };

    while (!stopped && shards.get(shard.id) === shard) {
      try {
        const limit = bisect?.limit ?? batchSize;
        if (buffer.length < limit && !readAll) {
          const started = ++tick;
          iterator ??= await shardIterator(shard);
          const page =
            iterator === undefined
              ? undefined
              : await streams.send(
                  new GetRecordsCommand({
                    ShardIterator: iterator,
                    Limit: Math.min(MAX_RECORDS_PER_READ, limit - buffer.length),
                  }),
                  sdk,
                );
          const records = (page?.Records ?? []).map((record) =>
            toLambdaRecord(record, shard.streamArn, region),
          );
          iterator = page?.NextShardIterator;
          readAll = iterator === undefined;
          if (buffer.length === 0) bufferedSince = Date.now();
          buffer.push(...records);
          if (records.length === 0 && buffer.length === 0) shard.readToEndAt = started;
          readFailures = 0;
        }

        if (
          buffer.length > 0 &&
          (buffer.length >= limit || readAll || Date.now() - bufferedSince >= windowMs)
        ) {
          const batch = buffer.slice(0, limit);
          const outcome = await invoke(batch);
          complete(outcome.done);
          counts.records += outcome.done;
          if (outcome.reason === undefined) {
            stuck = undefined;
            log(
              'DEBUG',
              `${shard.id}: ${batch.length} record(s) done up to ${shard.position.sequenceNumber}`,
            );
            await savePositions();
            continue;
          }
          counts.failures += 1;
          const failed = batch.slice(outcome.done);
          const first = sequenceOf(failed[0]);
          const failures = stuck?.sequenceNumber === first ? stuck.failures + 1 : 1;
          stuck = { sequenceNumber: first, failures };
          if (failures > maxRetries && (failed.length === 1 || !bisectOnError)) {
            await deadLetter(shard, failed, failures, outcome.reason);
            complete(failed.length);
            stuck = undefined;
            await savePositions();
            continue;
          }
          if (failures > maxRetries) {
            bisect = { limit: Math.ceil(failed.length / 2), remaining: failed.length };
            stuck = undefined;
          }
          log(
            'WARN',
            `${shard.id}: ${failed.length} record(s) from ${first} failed on attempt ${failures} (${outcome.reason}); retrying ${bisect ? `in batches of ${bisect.limit} ` : ''}in ${retryDelayMs} ms`,
          );
          counts.retries += 1;
          if (outcome.done > 0) await savePositions();
          await pause(retryDelayMs);
          continue;
        }

        if (readAll && buffer.length === 0) {
          shard.position.finished = true;
          await savePositions();
          log('INFO', `${shard.id}: closed shard read to its end`);
          requestRefresh(); // its children can start
          return;
        }
        notifyIdle();
        await pause(pollIntervalMs);
      } catch (error) {
        if (stopped) return;
        // Whatever failed, read again from the last position done: the records are still in the stream.
        iterator = undefined;
        buffer = [];
        readAll = false;
        const delay = backoff(readFailures++);
        // DynamoDB Local answers a brand-new shard's first read from TRIM_HORIZON this way: expected.
        const quirk =
          errorName(error) === 'TrimmedDataAccessException' && shard.position.sequenceNumber === undefined;
        log(
          quirk ? 'DEBUG' : 'WARN',
          `${shard.id}: ${describeError(error)}; reading again after ${shard.position.sequenceNumber ?? 'the trim horizon'} in ${delay} ms`,
        );
        await pause(delay);
      }
    }
  };

  const startReadyShards = (): void => {
    for (const shard of shards.values()) {
      const parent = shard.parentId === undefined ? undefined : shards.get(shard.parentId);
      const ready = !shard.position.finished && (parent === undefined || parent.position.finished === true);
      if (stopped || !ready || workers.has(shard.id)) continue;
      const worker = readShard(shard)
        .catch((error: unknown) => log('ERROR', `${shard.id}: reader stopped: ${describeError(error)}`))
        .finally(() => {
          workers.delete(shard.id);
          notifyIdle();
        });
      workers.set(shard.id, worker);
    }
  };

  const describeShards = async (): Promise<void> => {
    if (stopped) return;
    const started = ++tick;
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }), sdk);
    const arn = table.Table?.LatestStreamArn;
    if (arn === undefined) throw new Error(`table ${tableName} has no stream`);
    const listed: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }),
        sdk,
      );
      listed.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);

    const next = new Map<string, ShardState>();
    for (const { ShardId: id, ParentShardId: parentId } of listed) {
      if (id === undefined) continue;
      const known = shards.get(id);
      next.set(
        id,
        known?.streamArn === arn
          ? known
          : { id, parentId, streamArn: arn, position: positions.get(id) ?? {}, readToEndAt: 0 },
      );
    }
    // Shards no longer listed were trimmed (or belong to a stream that is gone): forget them.
    positions.clear();
    for (const [id, shard] of next) positions.set(id, shard.position);
    shards = next;
    refreshedAt = started;
    if (arn !== streamArn) log('INFO', `reading stream ${arn} of ${tableName} (${next.size} shards)`);
    streamArn = arn;
    startReadyShards();
    notifyIdle();
  };

  try {
    await describeShards();
  } catch (error) {
    dynamodb.destroy();
    streams.destroy();
    throw error;
  }

  // Describes again every few seconds, at once when asked to (one describe at a time).
  let refreshRequested = false;
  let wakeSupervisor = (): void => {};
  const requestRefresh = (): void => {
    refreshRequested = true;
    wakeSupervisor();
  };
  const supervisor = (async () => {
    let failures = 0;
    while (!stopped) {
      if (!refreshRequested) {
        await pause(failures === 0 ? DESCRIBE_INTERVAL_MS : backoff(failures), (wake) => {
          wakeSupervisor = wake;
        });
      }
      refreshRequested = false;
      try {
        await describeShards();
        failures = 0;
      } catch (error) {
        if (stopped) break;
        failures += 1;
        log('WARN', `describing the stream of ${tableName} failed (${describeError(error)}); retrying`);
      }
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    idle: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const waiter: { since: number; resolve: () => void; timer?: NodeJS.Timeout } = {
          since: ++tick,
          resolve,
        };
        if (timeoutMs !== undefined) {
          waiter.timer = setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`the stream of ${tableName} was not read to its end within ${timeoutMs} ms`));
          }, timeoutMs);
        }
        waiters.add(waiter);
        requestRefresh(); // shards that appeared since the last describe count too
        notifyIdle();
      }),
    stats: () => ({ ...counts, shards: shards.size }),
    deadLetters: () => [...dead],
    failNext: (count) => {
      crashesToSimulate += count;
    },
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        abort.abort();
        for (const wake of [...sleepers]) wake();
        notifyIdle();
        await supervisor;
        await Promise.all(workers.values());
        await saving.catch((error: unknown) =>
          log('ERROR', `saving stream positions failed: ${describeError(error)}`),
        );
        dynamodb.destroy();
        streams.destroy();
      })();
      return stopping;
    },
  };
};
