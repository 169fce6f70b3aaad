/**
 * The archive reader against a mocked S3 client: the exact commands it sends (one paginated listing
 * per tenant, HeadObject, RestoreObject), how it reads the Restore header, and that events stream
 * out of a gzip NDJSON body without waiting for the whole object.
 */
import { PassThrough, Readable } from 'node:stream';
import { constants, createGzip, gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  RestoreObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ArchiveInputError,
  ArchiveReader,
  type RestoreTier,
  restoreEstimate,
} from '#shared/adapters/archive-reader.ts';

const BUCKET = 'archive-test';
const TENANT = 'tnt_01jd0000000000000000000000';
const PREFIX = `tenant=${TENANT}/`;
const keyOn = (date: string, hash: string) => `${PREFIX}date=${date}/events-${hash}.ndjson.gz`;

const s3 = mockClient(S3Client);
const reader = new ArchiveReader(new S3Client({ region: 'us-east-1' }), BUCKET);

afterEach(() => s3.reset());

const body = (stream: Readable) => sdkStreamMixin(stream) as never;
const gzipBody = (text: string) => body(Readable.from([gzipSync(text)]));
const collect = async <T>(iterable: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
};

describe('archive listing', () => {
  it('lists the tenant prefix once from the first day, follows pages and keeps the range’s event objects', async () => {
    const pages: ListObjectsV2CommandOutput[] = [
      {
        IsTruncated: true,
        NextContinuationToken: 'page-2',
        Contents: [
          { Key: keyOn('2025-01-01', 'a'), Size: 10, LastModified: new Date('2025-01-02T01:00:00Z') },
          { Key: `${PREFIX}date=2025-01-02/notes.txt`, Size: 1, StorageClass: 'STANDARD' },
          { Key: keyOn('2025-01-02', 'b'), Size: 20, StorageClass: 'STANDARD_IA' },
        ],
        $metadata: {},
      },
      {
        IsTruncated: true,
        NextContinuationToken: 'page-3',
        Contents: [
          { Key: keyOn('2025-01-03', 'c'), Size: 30, StorageClass: 'GLACIER' },
          { Key: keyOn('2025-01-04', 'd'), Size: 40, StorageClass: 'DEEP_ARCHIVE' },
        ],
        $metadata: {},
      },
      { Contents: [{ Key: keyOn('2025-01-05', 'e'), Size: 50 }], $metadata: {} },
    ];
    // The paginator reuses one input object for every page: keep a copy of what each request asked.
    const requests: unknown[] = [];
    s3.on(ListObjectsV2Command).callsFake((input) => {
      requests.push({ ...input });
      return pages[requests.length - 1];
    });

    const objects = await reader.listObjects(TENANT, '2025-01-01', '2025-01-03');

    expect(objects).toEqual([
      {
        key: keyOn('2025-01-01', 'a'),
        date: '2025-01-01',
        size: 10,
        storageClass: 'STANDARD',
        lastModified: new Date('2025-01-02T01:00:00Z'),
      },
      {
        key: keyOn('2025-01-02', 'b'),
        date: '2025-01-02',
        size: 20,
        storageClass: 'STANDARD_IA',
        lastModified: undefined,
      },
      {
        key: keyOn('2025-01-03', 'c'),
        date: '2025-01-03',
        size: 30,
        storageClass: 'GLACIER',
        lastModified: undefined,
      },
    ]);
    // The second page already reaches past the range: the third is never asked for.
    expect(requests).toEqual([
      { Bucket: BUCKET, Prefix: PREFIX, StartAfter: `${PREFIX}date=2025-01-01/` },
      {
        Bucket: BUCKET,
        Prefix: PREFIX,
        StartAfter: `${PREFIX}date=2025-01-01/`,
        ContinuationToken: 'page-2',
      },
    ]);
  });

  it('reads every page when the range reaches past the last object', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        IsTruncated: true,
        NextContinuationToken: 'next',
        Contents: [{ Key: keyOn('2019-06-30', 'a') }],
      })
      .resolvesOnce({ Contents: [{ Key: keyOn('2024-12-31', 'b') }] });

    const objects = await reader.listObjects(TENANT, '2018-01-01', '2025-12-31');

    expect(objects.map((o) => o.date)).toEqual(['2019-06-30', '2024-12-31']);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });

  it.each([
    ['an upper-case tenant id', 'tnt_01JD0000000000000000000000', '2025-01-01', '2025-01-02'],
    ['a tenant id with a path', `${TENANT}/../tnt_01jd0000000000000000000001`, '2025-01-01', '2025-01-02'],
    ['a tenant id without prefix', '01jd0000000000000000000000', '2025-01-01', '2025-01-02'],
    ['a day that does not exist', TENANT, '2025-02-29', '2025-03-01'],
    ['a date without leading zeros', TENANT, '2025-1-01', '2025-01-02'],
    ['a date with a time', TENANT, '2025-01-01T00:00:00Z', '2025-01-02'],
    ['a range that ends before it starts', TENANT, '2025-01-02', '2025-01-01'],
  ])('rejects %s before sending anything', async (_, tenant, from, to) => {
    await expect(reader.listObjects(tenant, from, to)).rejects.toBeInstanceOf(ArchiveInputError);
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('object status', () => {
  const key = keyOn('2024-01-01', 'a');

  it.each([
    ['STANDARD (no storage class header)', {}, { state: 'readable', storageClass: 'STANDARD' }],
    ['STANDARD_IA', { StorageClass: 'STANDARD_IA' }, { state: 'readable', storageClass: 'STANDARD_IA' }],
    [
      'GLACIER without a restore',
      { StorageClass: 'GLACIER' },
      { state: 'archived', storageClass: 'GLACIER' },
    ],
    [
      'DEEP_ARCHIVE with a restore under way',
      { StorageClass: 'DEEP_ARCHIVE', Restore: 'ongoing-request="true"' },
      { state: 'restoring', storageClass: 'DEEP_ARCHIVE' },
    ],
    [
      'GLACIER with a restored copy',
      {
        StorageClass: 'GLACIER',
        Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
      },
      { state: 'readable', storageClass: 'GLACIER', restoredUntil: new Date('2012-12-21T00:00:00Z') },
    ],
    [
      'GLACIER with a Restore header it cannot read (not readable yet)',
      { StorageClass: 'GLACIER', Restore: 'ongoing-request=maybe' },
      { state: 'restoring', storageClass: 'GLACIER' },
    ],
  ] as const)('reads %s', async (_, head, expected) => {
    s3.on(HeadObjectCommand).resolves(head);

    await expect(reader.status(key)).resolves.toEqual(expected);
    expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: key },
    ]);
  });
});

describe('restore request', () => {
  const key = keyOn('2023-01-01', 'a');

  it('asks for a copy for the given days with the given tier', async () => {
    s3.on(RestoreObjectCommand).resolves({});

    await expect(reader.requestRestore(key, { tier: 'Bulk', days: 3 })).resolves.toBe('requested');
    expect(s3.commandCalls(RestoreObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: key, RestoreRequest: { Days: 3, GlacierJobParameters: { Tier: 'Bulk' } } },
    ]);
  });

  it('treats RestoreAlreadyInProgress as a restore under way', async () => {
    s3.on(RestoreObjectCommand).rejects(
      new S3ServiceException({
        name: 'RestoreAlreadyInProgress',
        $fault: 'client',
        $metadata: { httpStatusCode: 409 },
        message: 'Object restore is already in progress',
      }),
    );

    await expect(reader.requestRestore(key, { tier: 'Standard', days: 7 })).resolves.toBe(
      'already-in-progress',
    );
  });

  it('passes any other error on', async () => {
    s3.on(RestoreObjectCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }),
    );

    await expect(reader.requestRestore(key, { tier: 'Standard', days: 7 })).rejects.toThrow(
      expect.objectContaining({ name: 'AccessDenied' }),
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects %s days without sending anything', async (days) => {
    await expect(reader.requestRestore(key, { tier: 'Standard', days })).rejects.toBeInstanceOf(
      ArchiveInputError,
    );
    expect(s3.calls()).toHaveLength(0);
  });

  it('rejects an unknown tier without sending anything', async () => {
    await expect(
      reader.requestRestore(key, { tier: 'Instant' as RestoreTier, days: 1 }),
    ).rejects.toBeInstanceOf(ArchiveInputError);
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('event streaming', () => {
  const key = keyOn('2025-03-01', 'a');
  const events = [
    { id: 'e1', tenant_id: TENANT, action: 'auth.login', occurred_at: '2025-03-01T10:00:00.000Z' },
    { id: 'e2', tenant_id: TENANT, action: 'auth.logout', metadata: { nested: [1, 'ü'] } },
  ];

  it('gunzips the object and yields one parsed event per line, skipping blank lines', async () => {
    const ndjson = `${JSON.stringify(events[0])}\r\n\n${JSON.stringify(events[1])}\n`;
    s3.on(GetObjectCommand).resolves({ Body: gzipBody(ndjson) });

    await expect(collect(reader.events(key))).resolves.toEqual(events);
    expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: key },
    ]);
  });

  it('reads objects made of several gzip members', async () => {
    const members = Buffer.concat(events.map((e) => gzipSync(`${JSON.stringify(e)}\n`)));
    s3.on(GetObjectCommand).resolves({ Body: body(Readable.from([members])) });

    await expect(collect(reader.events(key))).resolves.toEqual(events);
  });

  it('yields the first event before the rest of the object has arrived', async () => {
    const source = new PassThrough();
    const gzip = createGzip();
    gzip.pipe(source);
    s3.on(GetObjectCommand).resolves({ Body: body(source) });
    gzip.write(`${JSON.stringify(events[0])}\n`);
    gzip.flush(constants.Z_SYNC_FLUSH);

    const iterator = reader.events(key);
    // A reader that buffered the whole object would wait here forever: the object is not finished.
    await expect(iterator.next()).resolves.toEqual({ done: false, value: events[0] });

    gzip.end(`${JSON.stringify(events[1])}\n`);
    await expect(collect({ [Symbol.asyncIterator]: () => iterator })).resolves.toEqual([events[1]]);
  }, 10_000); // a bound for the buffering failure above, not a timing assertion

  it('releases the body when the caller stops early', async () => {
    // Two events arrive and the object is not finished: only the reader can end this body.
    const source = new PassThrough();
    source.write(gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join('')));
    s3.on(GetObjectCommand).resolves({ Body: body(source) });

    for await (const event of reader.events(key)) {
      expect(event).toEqual(events[0]);
      break;
    }

    expect(source.destroyed).toBe(true);
  });

  it('names the object and line of a line that is not JSON, without its content', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: gzipBody(`${JSON.stringify(events[0])}\n{"password":"hunter2"\n`),
    });

    const failure = collect(reader.events(key));

    await expect(failure).rejects.toThrow(`${key} line 2 is not valid JSON`);
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });

  it('rejects a line that is JSON but not an event object', async () => {
    s3.on(GetObjectCommand).resolves({ Body: gzipBody('[1,2]\n') });

    await expect(collect(reader.events(key))).rejects.toThrow(`${key} line 1 is not a JSON object`);
  });

  it('fails on a truncated gzip object instead of ending quietly', async () => {
    const whole = gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    s3.on(GetObjectCommand).resolves({ Body: body(Readable.from([whole.subarray(0, whole.length - 6)])) });

    await expect(collect(reader.events(key))).rejects.toThrow(
      expect.objectContaining({ code: 'Z_BUF_ERROR' }),
    );
  });
});

describe('restore estimate', () => {
  it.each([
    ['GLACIER', 'Expedited', 1, 5, '1–5 minutes'],
    ['GLACIER', 'Standard', 180, 300, '3–5 hours'],
    ['GLACIER', 'Bulk', 300, 720, '5–12 hours'],
    ['DEEP_ARCHIVE', 'Standard', 0, 720, 'within 12 hours'],
    ['DEEP_ARCHIVE', 'Bulk', 0, 2880, 'within 48 hours'],
  ] as const)(
    '%s with %s takes %i to %i minutes',
    (storageClass, tier, minMinutes, maxMinutes, description) => {
      expect(restoreEstimate(storageClass, tier)).toEqual({ minMinutes, maxMinutes, description });
    },
  );

  it('refuses Expedited from Deep Archive, naming the tiers that exist', () => {
    expect(() => restoreEstimate('DEEP_ARCHIVE', 'Expedited')).toThrow(
      new ArchiveInputError('DEEP_ARCHIVE has no Expedited retrieval tier; use Standard or Bulk'),
    );
  });

  it('refuses a storage class that needs no restore', () => {
    expect(() => restoreEstimate('STANDARD', 'Standard')).toThrow(ArchiveInputError);
  });
});
