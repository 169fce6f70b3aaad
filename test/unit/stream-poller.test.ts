/**
 * The local DynamoDB Streams event source mapping (infra/local/stream-poller.ts): the record
 * Lambda would deliver, how a batch response moves the checkpoint, and the polling loop driven
 * against an in-memory stream behind aws-sdk-client-mock (no DynamoDB Local here).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DescribeStreamCommandInput,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandInput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointAfterFailures,
  type StreamPoller,
  type StreamPollerOptions,
  startStreamPoller,
  TTL_USER_IDENTITY,
  toLambdaRecord,
} from '#infra/local/stream-poller.ts';

const STREAM_ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/2026-11-21T10:00:00.000';
const SECRET = 'customer secret payload';
const seq = (n: number): string => String(n).padStart(21, '0');

const sdkRecord = (n: number, pk: string, eventName = 'INSERT'): _Record => ({
  eventID: `event-${n}`,
  eventName: eventName as _Record['eventName'],
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'ddblocal',
  dynamodb: {
    ApproximateCreationDateTime: new Date('2026-11-21T10:00:00.000Z'),
    Keys: { pk: { S: pk } },
    ...(eventName === 'INSERT' ? {} : { OldImage: { pk: { S: pk }, payload: { S: SECRET } } }),
    ...(eventName === 'INSERT' || eventName === 'MODIFY'
      ? { NewImage: { pk: { S: pk }, payload: { S: SECRET } } }
      : {}),
    SequenceNumber: seq(n),
    SizeBytes: 42,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
});

describe('stream record conversion', () => {
  it('delivers an insert in the shape Lambda sends', () => {
    const record = toLambdaRecord(sdkRecord(1, 'tnt_a#e1'), STREAM_ARN, 'eu-west-1');

    expect(record).toStrictEqual({
      eventID: 'event-1',
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-11-21T10:00:00.000Z') / 1000,
        Keys: { pk: { S: 'tnt_a#e1' } },
        NewImage: { pk: { S: 'tnt_a#e1' }, payload: { S: SECRET } },
        SequenceNumber: seq(1),
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: STREAM_ARN,
    });
  });

  it('keeps both images of a modification', () => {
    const record = toLambdaRecord(sdkRecord(2, 'k', 'MODIFY'), STREAM_ARN, 'us-east-1');

    expect(record.eventName).toBe('MODIFY');
    expect(record.dynamodb?.OldImage).toEqual({ pk: { S: 'k' }, payload: { S: SECRET } });
    expect(record.dynamodb?.NewImage).toEqual({ pk: { S: 'k' }, payload: { S: SECRET } });
    expect(record).not.toHaveProperty('userIdentity');
  });

  it('keeps a DeleteItem a REMOVE without userIdentity', () => {
    const record = toLambdaRecord(sdkRecord(3, 'k', 'REMOVE'), STREAM_ARN, 'us-east-1');

    expect(record.eventName).toBe('REMOVE');
    expect(record).not.toHaveProperty('userIdentity');
    expect(record.dynamodb).not.toHaveProperty('NewImage');
  });

  it("turns DynamoDB Local's TTL deletion into AWS's REMOVE by the DynamoDB service", () => {
    for (const eventName of ['UNKNOWN_TO_SDK_VERSION', 'EXPIRE']) {
      const record = toLambdaRecord(sdkRecord(4, 'k', eventName), STREAM_ARN, 'us-east-1');

      expect(record.eventName).toBe('REMOVE');
      expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
      expect(record.dynamodb?.OldImage).toEqual({ pk: { S: 'k' }, payload: { S: SECRET } });
    }
    expect(TTL_USER_IDENTITY).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });

  it('passes a userIdentity the service reported in Lambda’s lower-case shape', () => {
    const record = toLambdaRecord(
      {
        ...sdkRecord(5, 'k', 'REMOVE'),
        userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
      },
      STREAM_ARN,
      'us-east-1',
    );

    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });

  it('delivers binary attributes as base64, which unmarshall leaves as strings, as in AWS', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const image = {
      pk: { S: 'k' },
      blob: { B: bytes },
      blobs: { BS: [new Uint8Array([255]), bytes] },
      nested: { M: { inner: { B: bytes } } },
      list: { L: [{ B: bytes }, { N: '7' }] },
    };
    const record = toLambdaRecord(
      { ...sdkRecord(6, 'k'), dynamodb: { ...sdkRecord(6, 'k').dynamodb, NewImage: image } },
      STREAM_ARN,
      'us-east-1',
    );

    expect(record.dynamodb?.NewImage).toEqual({
      pk: { S: 'k' },
      blob: { B: 'AQID' },
      blobs: { BS: ['/w==', 'AQID'] },
      nested: { M: { inner: { B: 'AQID' } } },
      list: { L: [{ B: 'AQID' }, { N: '7' }] },
    });
    // unmarshall passes B through as it finds it: a handler sees base64 strings, never bytes.
    const item = unmarshall(record.dynamodb?.NewImage as Parameters<typeof unmarshall>[0]);
    expect(item.blob).toBe('AQID');
    expect(item.blobs).toEqual(new Set(['/w==', 'AQID']));
    expect(item.list).toEqual(['AQID', 7]);
    expect(unmarshall(image).blob).toBeInstanceOf(Uint8Array);
  });
});

describe('batch response checkpoint', () => {
  const batch = [1, 2, 3, 4].map((n) => toLambdaRecord(sdkRecord(n, `k${n}`), STREAM_ARN, 'us-east-1'));

  it('counts every record done when the handler reports no failure', () => {
    for (const response of [undefined, null, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(checkpointAfterFailures(batch, response)).toEqual({ done: 4 });
    }
  });

  it('checkpoints just before the earliest reported record', () => {
    for (const failures of [
      [seq(4), seq(2)],
      [seq(2), seq(4)],
    ]) {
      const outcome = checkpointAfterFailures(batch, {
        batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })),
      });

      expect(outcome.done).toBe(1);
      expect(outcome.reason).toContain(seq(2));
    }
  });

  it('fails the whole batch on a failure list it cannot read', () => {
    for (const response of [
      { batchItemFailures: [{ itemIdentifier: seq(9) }] },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{}] },
      { batchItemFailures: [null] },
      { batchItemFailures: [{ itemIdentifier: seq(3) }, { itemIdentifier: 3 }] },
      { batchItemFailures: seq(2) },
    ]) {
      const outcome = checkpointAfterFailures(batch, response);
      expect(outcome.done).toBe(0);
      expect(outcome.reason).toEqual(expect.any(String));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The polling loop against an in-memory stream

interface FakeShard {
  readonly id: string;
  readonly parentId?: string;
  readonly records: _Record[];
  closed: boolean;
}

/** The Streams API over in-memory shards; iterators are `<shard id>|<index of the next record>`. */
class FakeStream {
  readonly shards: FakeShard[] = [];
  private next = 1;

  addShard(id: string, parentId?: string): FakeShard {
    const shard: FakeShard = { id, ...(parentId ? { parentId } : {}), records: [], closed: false };
    this.shards.push(shard);
    return shard;
  }

  /** Appends records with the next sequence numbers; returns their keys. */
  put(shard: FakeShard, ...keys: string[]): void {
    for (const key of keys) shard.records.push(sdkRecord(this.next++, key));
  }

  /** One shard per page, to exercise pagination. */
  describe(input: DescribeStreamCommandInput) {
    const start = input.ExclusiveStartShardId
      ? this.shards.findIndex((s) => s.id === input.ExclusiveStartShardId) + 1
      : 0;
    const shard = this.shards[start];
    return {
      StreamDescription: {
        StreamArn: STREAM_ARN,
        Shards: shard ? [{ ShardId: shard.id, ParentShardId: shard.parentId }] : [],
        LastEvaluatedShardId: start + 1 < this.shards.length ? shard?.id : undefined,
      },
    };
  }

  iterator(input: GetShardIteratorCommandInput) {
    const shard = this.shards.find((s) => s.id === input.ShardId);
    if (!shard) throw new Error(`no shard ${input.ShardId}`);
    const index =
      input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER'
        ? shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === input.SequenceNumber) + 1
        : 0;
    return { ShardIterator: `${shard.id}|${index}` };
  }

  getRecords(input: GetRecordsCommandInput) {
    const [id, at] = (input.ShardIterator ?? '').split('|');
    const shard = this.shards.find((s) => s.id === id);
    if (!shard) throw new Error(`no shard ${id}`);
    const records = shard.records.slice(Number(at), Number(at) + (input.Limit ?? 1000));
    const next = Number(at) + records.length;
    return {
      Records: records,
      NextShardIterator: shard.closed && next >= shard.records.length ? undefined : `${id}|${next}`,
    };
  }
}

const dynamodb = mockClient(DynamoDBClient);
const streams = mockClient(DynamoDBStreamsClient);

/** A handler that records each invocation's keys, and answers what `respond` says. */
const recordingHandler = (
  respond: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse | undefined = () => undefined,
) => {
  const calls: string[][] = [];
  const succeeded: string[] = [];
  const invoke = async (event: DynamoDBStreamEvent) => {
    calls.push(event.Records.map(keyOf));
    const response = respond(event, calls.length);
    const failed = checkpointAfterFailures(event.Records, response).done;
    succeeded.push(...event.Records.slice(0, failed).map(keyOf));
    return response;
  };
  return { calls, succeeded, invoke };
};

const keyOf = (record: DynamoDBRecord): string => record.dynamodb?.Keys?.pk?.S ?? '?';
const throwsIfContains =
  (key: string) =>
  (event: DynamoDBStreamEvent): undefined => {
    if (event.Records.some((r) => keyOf(r) === key)) throw new Error(`failed on ${SECRET}`);
    return undefined;
  };

describe('stream poller', () => {
  let stream: FakeStream;
  let pollers: StreamPoller[];
  let logs: Array<{ level: string; message: string }>;
  let dir: string;

  beforeEach(async () => {
    stream = new FakeStream();
    pollers = [];
    logs = [];
    dir = await mkdtemp(join(tmpdir(), 'stream-poller-'));
    dynamodb
      .on(DescribeTableCommand)
      .resolves({ Table: { TableName: 'events', LatestStreamArn: STREAM_ARN } });
    streams.on(DescribeStreamCommand).callsFake((input) => stream.describe(input));
    streams.on(GetShardIteratorCommand).callsFake((input) => stream.iterator(input));
    streams.on(GetRecordsCommand).callsFake((input) => stream.getRecords(input));
  });

  afterEach(async () => {
    await Promise.all(pollers.map((poller) => poller.stop()));
    dynamodb.reset();
    streams.reset();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (options: Partial<StreamPollerOptions> & Pick<StreamPollerOptions, 'invoke'>) => {
    const poller = await startStreamPoller({
      endpoint: 'http://127.0.0.1:9',
      tableName: 'events',
      pollIntervalMs: 1,
      retryDelayMs: 1,
      maxRetries: 1,
      log: (level, message) => logs.push({ level, message }),
      ...options,
    });
    pollers.push(poller);
    return poller;
  };
  const positionsOf = async (file: string) =>
    (JSON.parse(await readFile(file, 'utf8')) as { shards: Record<string, { sequenceNumber?: string }> })
      .shards;
  const iteratorRequests = () =>
    streams.commandCalls(GetShardIteratorCommand).map((call) => call.args[0].input);

  it('delivers a shard in order in batches of batchSize, and idle waits for records written after it', async () => {
    const shard = stream.addShard('shard-1');
    stream.put(shard, 'a1', 'a2', 'a3', 'a4', 'a5');
    const handler = recordingHandler();
    const poller = await start({ invoke: handler.invoke, batchSize: 2 });

    await poller.idle(10_000);
    expect(handler.calls).toEqual([['a1', 'a2'], ['a3', 'a4'], ['a5']]);

    stream.put(shard, 'a6');
    await poller.idle(10_000);
    expect(handler.calls.at(-1)).toEqual(['a6']);
    expect(poller.stats()).toEqual({
      invocations: 4,
      records: 6,
      failures: 0,
      retries: 0,
      deadLettered: 0,
      shards: 1,
    });
  });

  it('sends each invocation what Lambda would: the converted records with the stream ARN', async () => {
    stream.put(stream.addShard('shard-1'), 'a1');
    const events: DynamoDBStreamEvent[] = [];
    const poller = await start({ invoke: async (event) => void events.push(event), region: 'eu-central-1' });

    await poller.idle(10_000);

    expect(events).toEqual([{ Records: [toLambdaRecord(sdkRecord(1, 'a1'), STREAM_ARN, 'eu-central-1')] }]);
  });

  it('persists positions and resumes after a restart without re-delivering or skipping', async () => {
    const shard = stream.addShard('shard-1');
    stream.put(shard, 'a1', 'a2', 'a3');
    const positionsFile = join(dir, 'positions.json');
    const first = recordingHandler();
    const poller = await start({ invoke: first.invoke, positionsFile });
    await poller.idle(10_000);
    await poller.stop();
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(3));

    stream.put(shard, 'a4', 'a5');
    streams.resetHistory();
    const second = recordingHandler();
    const restarted = await start({ invoke: second.invoke, positionsFile });
    await restarted.idle(10_000);

    expect(first.calls.flat()).toEqual(['a1', 'a2', 'a3']);
    expect(second.calls.flat()).toEqual(['a4', 'a5']);
    expect(iteratorRequests()[0]).toMatchObject({
      ShardId: 'shard-1',
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      SequenceNumber: seq(3),
    });
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(5));
  });

  it('retries a partially failed batch from the earliest reported record only', async () => {
    stream.put(stream.addShard('shard-1'), 'a1', 'a2', 'a3', 'a4', 'a5');
    const handler = recordingHandler((_, call) =>
      call === 1
        ? { batchItemFailures: [{ itemIdentifier: seq(5) }, { itemIdentifier: seq(3) }] }
        : { batchItemFailures: [] },
    );
    const positionsFile = join(dir, 'positions.json');
    const poller = await start({ invoke: handler.invoke, positionsFile });

    await poller.idle(10_000);

    expect(handler.calls).toEqual([
      ['a1', 'a2', 'a3', 'a4', 'a5'],
      ['a3', 'a4', 'a5'],
    ]);
    expect(handler.succeeded).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(poller.stats()).toMatchObject({ invocations: 2, records: 5, failures: 1, retries: 1 });
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(5));
  });

  it('retries the whole batch when the handler throws, logging no record content', async () => {
    stream.put(stream.addShard('shard-1'), 'a1', 'a2', 'a3');
    const handler = recordingHandler((event, call) =>
      call === 1 ? throwsIfContains('a1')(event) : undefined,
    );
    const poller = await start({ invoke: handler.invoke });

    await poller.idle(10_000);

    expect(handler.calls).toEqual([
      ['a1', 'a2', 'a3'],
      ['a1', 'a2', 'a3'],
    ]);
    expect(poller.stats()).toMatchObject({ invocations: 2, records: 3, failures: 1, retries: 1 });
    expect(logs.some((l) => l.level === 'WARN' && l.message.includes(seq(1)))).toBe(true);
    expect(logs.map((l) => l.message).join('\n')).not.toContain(SECRET);
  });

  it('retries invocations that crash before reaching the handler (failNext)', async () => {
    const shard = stream.addShard('shard-1');
    const handler = recordingHandler();
    const poller = await start({ invoke: handler.invoke, maxRetries: 5 });
    poller.failNext(2);

    stream.put(shard, 'a1', 'a2');
    await poller.idle(10_000);

    expect(handler.calls).toEqual([['a1', 'a2']]);
    expect(poller.stats()).toMatchObject({
      invocations: 3,
      records: 2,
      failures: 2,
      retries: 2,
      deadLettered: 0,
    });
  });

  it('bisects a batch with a poison record, dead-letters that record alone and delivers the rest', async () => {
    const keys = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'];
    stream.put(stream.addShard('shard-1'), ...keys);
    const handler = recordingHandler(throwsIfContains('a5'));
    const positionsFile = join(dir, 'positions.json');
    const poller = await start({ invoke: handler.invoke, positionsFile, batchSize: 8, maxRetries: 1 });

    await poller.idle(10_000);

    expect(handler.succeeded).toEqual(keys.filter((key) => key !== 'a5'));
    expect(handler.calls.filter((call) => call.includes('a5')).at(-1)).toEqual(['a5']);
    expect(poller.deadLetters()).toEqual([
      expect.objectContaining({
        streamArn: STREAM_ARN,
        shardId: 'shard-1',
        startSequenceNumber: seq(5),
        endSequenceNumber: seq(5),
        batchSize: 1,
        attempts: 2,
        reason: 'the invocation failed (Error)',
      }),
    ]);
    expect(poller.stats()).toMatchObject({ records: 7, deadLettered: 1 });
    const lines = (await readFile(`${positionsFile}.dead-letters.jsonl`, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(poller.deadLetters());
    expect(lines.join('')).not.toContain(SECRET);
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(8));
    expect(logs.some((l) => l.level === 'ERROR' && l.message.includes(seq(5)))).toBe(true);
    expect(logs.map((l) => l.message).join('\n')).not.toContain(SECRET);
  });

  it('dead-letters the whole failing batch when bisecting is off', async () => {
    stream.put(stream.addShard('shard-1'), 'a1', 'a2', 'a3');
    const handler = recordingHandler(throwsIfContains('a2'));
    const poller = await start({ invoke: handler.invoke, bisectBatchOnError: false, maxRetries: 2 });

    await poller.idle(10_000);

    expect(handler.calls).toEqual([
      ['a1', 'a2', 'a3'],
      ['a1', 'a2', 'a3'],
      ['a1', 'a2', 'a3'],
    ]);
    expect(poller.deadLetters()).toEqual([
      expect.objectContaining({
        startSequenceNumber: seq(1),
        endSequenceNumber: seq(3),
        batchSize: 3,
        attempts: 3,
      }),
    ]);
    expect(poller.stats()).toMatchObject({ records: 0, deadLettered: 3 });
  });

  it('reads a closed parent shard to its end before its child, whatever the listing order', async () => {
    const positionsFile = join(dir, 'positions.json');
    const parent = { id: 'shard-1', records: [] as _Record[], closed: true };
    const child = stream.addShard('shard-2', 'shard-1');
    stream.shards.push(parent);
    stream.put(parent, 'p1', 'p2', 'p3');
    stream.put(child, 'c1', 'c2');
    const handler = recordingHandler();
    const poller = await start({ invoke: handler.invoke, positionsFile, batchSize: 2 });

    await poller.idle(10_000);

    expect(handler.calls.flat()).toEqual(['p1', 'p2', 'p3', 'c1', 'c2']);
    expect(await positionsOf(positionsFile)).toEqual({
      'shard-1': { sequenceNumber: seq(3), finished: true },
      'shard-2': { sequenceNumber: seq(5) },
    });
    expect(poller.stats().shards).toBe(2);
  });

  it('re-acquires an expired iterator from the saved position', async () => {
    stream.put(stream.addShard('shard-1'), 'a1', 'a2', 'a3', 'a4');
    let reads = 0;
    streams.on(GetRecordsCommand).callsFake((input) => {
      reads += 1;
      if (reads === 2) throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} });
      return stream.getRecords(input);
    });
    const handler = recordingHandler();
    const poller = await start({ invoke: handler.invoke, batchSize: 2 });

    await poller.idle(10_000);

    expect(handler.calls).toEqual([
      ['a1', 'a2'],
      ['a3', 'a4'],
    ]);
    expect(iteratorRequests()).toContainEqual(
      expect.objectContaining({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(2) }),
    );
    expect(logs.some((l) => l.level === 'WARN' && l.message.includes('ExpiredIteratorException'))).toBe(true);
  });

  it('reads on from the trim horizon when the saved position was trimmed', async () => {
    stream.put(stream.addShard('shard-1'), 'a1', 'a2');
    const positionsFile = join(dir, 'positions.json');
    await writeFile(positionsFile, JSON.stringify({ shards: { 'shard-1': { sequenceNumber: seq(0) } } }));
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' })
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
    const handler = recordingHandler();
    const poller = await start({ invoke: handler.invoke, positionsFile });

    await poller.idle(10_000);

    expect(handler.calls.flat()).toEqual(['a1', 'a2']);
    expect(logs.some((l) => l.level === 'ERROR' && l.message.includes('trimmed'))).toBe(true);
  });

  it('survives DynamoDB Local going away: retries with a warning and loses nothing', async () => {
    const shard = stream.addShard('shard-1');
    stream.put(shard, 'a1');
    const handler = recordingHandler();
    const positionsFile = join(dir, 'positions.json');
    const poller = await start({ invoke: handler.invoke, positionsFile });
    await poller.idle(10_000);

    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    let failing = 3;
    const failThenServe =
      <I, O>(serve: (input: I) => O) =>
      (input: I): O => {
        if (failing > 0) {
          failing -= 1;
          throw refused;
        }
        return serve(input);
      };
    streams.on(GetRecordsCommand).callsFake(failThenServe((input) => stream.getRecords(input)));
    streams.on(GetShardIteratorCommand).callsFake(failThenServe((input) => stream.iterator(input)));
    dynamodb
      .on(DescribeTableCommand)
      .callsFake(failThenServe(() => ({ Table: { TableName: 'events', LatestStreamArn: STREAM_ARN } })));
    stream.put(shard, 'a2', 'a3');
    await poller.idle(10_000);

    expect(handler.calls.flat()).toEqual(['a1', 'a2', 'a3']);
    expect(failing).toBe(0);
    expect(logs.some((l) => l.level === 'WARN' && l.message.includes('ECONNREFUSED'))).toBe(true);
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(3));
  });

  it('lets an invocation in flight finish and saves its position before stopping', async () => {
    const shard = stream.addShard('shard-1');
    stream.put(shard, 'a1');
    const positionsFile = join(dir, 'positions.json');
    let release = (): void => {};
    let started = (): void => {};
    const invoked = new Promise<void>((resolve) => {
      started = resolve;
    });
    const handler = recordingHandler();
    const poller = await start({
      positionsFile,
      invoke: async (event) => {
        started();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return handler.invoke(event);
      },
    });
    await invoked;

    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;

    stream.put(shard, 'a2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(handler.calls).toEqual([['a1']]);
    expect((await positionsOf(positionsFile))['shard-1']?.sequenceNumber).toBe(seq(1));
  });
});
