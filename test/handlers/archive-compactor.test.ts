import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { scheduledEvent, TENANT } from './api-event.ts';

const s3 = mockClient(S3Client);
let handler: typeof import('#functions/archive-compactor.ts').handler;

const NOW = Date.parse('2026-03-05T12:00:00.000Z');
const CLOSED = `tenant=${TENANT}/date=2026-03-01/`;
const OPEN = `tenant=${TENANT}/date=2026-03-05/`;

/** Bucket contents: key → NDJSON lines (stored gzip). */
let buckets: Record<string, Map<string, string[]>>;

const event = (id: string) => JSON.stringify({ id, tenant_id: TENANT, action: 'auth.login' });
const body = async (value: unknown): Promise<Buffer> => {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  const chunks: Buffer[] = [];
  for await (const chunk of value as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
};

const context = { getRemainingTimeInMillis: () => 900_000 } as Context;

beforeAll(async () => {
  vi.stubEnv('ARCHIVE_BUCKET', 'archive-test');
  vi.stubEnv('ARCHIVE_STAGING_BUCKET', 'staging-test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  ({ handler } = await import('#functions/archive-compactor.ts'));
});

beforeEach(() => {
  s3.reset();
  buckets = {
    'staging-test': new Map([
      [`${CLOSED}0001-a.ndjson.gz`, [event('e1'), event('e2')]],
      // A stream redelivery staged e2 again.
      [`${CLOSED}0002-b.ndjson.gz`, [event('e2'), event('e3')]],
      [`${OPEN}0003-c.ndjson.gz`, [event('e9')]],
    ]),
    'archive-test': new Map(),
  };
  s3.on(ListObjectsV2Command).callsFake((input) => {
    const keys = [...(buckets[input.Bucket]?.keys() ?? [])]
      .filter((k) => k.startsWith(input.Prefix ?? ''))
      .sort();
    return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const lines = buckets[input.Bucket]?.get(input.Key);
    if (lines === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    return { Body: sdkStreamMixin(Readable.from([gzipSync(`${lines.join('\n')}\n`)])) };
  });
  s3.on(PutObjectCommand).callsFake(async (input) => {
    const text = gunzipSync(await body(input.Body)).toString('utf8');
    buckets[input.Bucket]?.set(input.Key, text.trim().split('\n'));
    return {};
  });
  s3.on(DeleteObjectsCommand).callsFake((input) => {
    for (const { Key } of input.Delete.Objects) buckets[input.Bucket]?.delete(Key);
    return {};
  });
});

describe('archive compactor', () => {
  it('compacts a closed day into one object with every event once, then deletes what it staged', async () => {
    const result = await handler(scheduledEvent(), context);
    expect(result.partitions).toEqual([
      {
        partition: { tenantId: TENANT, day: '2026-03-01' },
        staged: 2,
        written: 3,
        duplicates: 1,
        key: expect.stringMatching(new RegExp(`^${CLOSED}events-[0-9a-f]{16}\\.ndjson\\.gz$`)),
      },
    ]);
    expect(result.pending).toBe(1);
    const archived = [...(buckets['archive-test']?.entries() ?? [])];
    expect(archived).toHaveLength(1);
    expect(archived[0]?.[1].map((l) => JSON.parse(l).id)).toEqual(['e1', 'e2', 'e3']);
    // Only the open day's batch is left in staging.
    expect([...(buckets['staging-test']?.keys() ?? [])]).toEqual([`${OPEN}0003-c.ndjson.gz`]);

    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'archive-test', ContentType: 'application/gzip' });
    expect(s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Bucket: 'staging-test',
        Delete: {
          Objects: [{ Key: `${CLOSED}0001-a.ndjson.gz` }, { Key: `${CLOSED}0002-b.ndjson.gz` }],
          Quiet: true,
        },
      },
    ]);
  });

  it('writes nothing twice after a run that died between writing and deleting', async () => {
    // The previous run wrote e1..e3 but its deletes never happened.
    buckets['archive-test']?.set(`${CLOSED}events-0000000000000000.ndjson.gz`, [
      event('e1'),
      event('e2'),
      event('e3'),
    ]);
    const result = await handler(scheduledEvent(), context);
    expect(result.partitions[0]).toMatchObject({ written: 0, duplicates: 4, key: null });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(buckets['staging-test']?.has(`${CLOSED}0001-a.ndjson.gz`)).toBe(false);
  });

  it('adds only the new events when a late batch arrives for a compacted day', async () => {
    buckets['archive-test']?.set(`${CLOSED}events-0000000000000000.ndjson.gz`, [event('e1'), event('e2')]);
    const result = await handler(scheduledEvent(), context);
    expect(result.partitions[0]).toMatchObject({ written: 1, duplicates: 3 });
    const added = [...(buckets['archive-test']?.entries() ?? [])].find(
      ([k]) => !k.endsWith('events-0000000000000000.ndjson.gz'),
    );
    expect(added?.[1].map((l) => JSON.parse(l).id)).toEqual(['e3']);
  });

  it('keeps the staged batches when the archive write fails', async () => {
    s3.on(PutObjectCommand).rejects(new Error('S3 unavailable'));
    await expect(handler(scheduledEvent(), context)).rejects.toThrow();
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(buckets['staging-test']?.size).toBe(3);
  });
});
