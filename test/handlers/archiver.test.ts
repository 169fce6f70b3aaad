import { gunzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { lambdaContext, TENANT } from './api-event.ts';

const s3 = mockClient(S3Client);
let handler: typeof import('#functions/archiver.ts').handler;

const OTHER = 'tnt_01jd0000000000000000000001';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

const stored = (id: string, tenantId = TENANT, receivedMs = NOW): StoredEvent => {
  const built = buildStoredEvent(
    { id, action: 'auth.login', actor: { id: 'u1' }, metadata: { secretive: 'payload' } },
    { tenantId, retentionDays: 90 },
    receivedMs,
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return built.event;
};

/** A stream record as Lambda delivers it: AttributeValue JSON with binary values in base64. */
const lambdaImage = (item: Record<string, unknown>) => {
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, { B?: Uint8Array }>;
  const doc = image.doc?.B;
  return { ...image, doc: { B: Buffer.from(doc ?? []).toString('base64') } };
};

let sequence = 100;
const insert = (event: StoredEvent, item = toItem(event, 1)): DynamoDBRecord =>
  ({
    eventID: `id-${sequence}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: NOW / 1000,
      Keys: { pk: { S: item.pk } },
      NewImage: lambdaImage(item),
      SequenceNumber: String(sequence++),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  }) as unknown as DynamoDBRecord;

const change = (eventName: string, extra: Record<string, unknown> = {}): DynamoDBRecord =>
  ({
    eventName,
    dynamodb: { Keys: { pk: { S: `${TENANT}#x` } }, SequenceNumber: String(sequence++) },
    ...extra,
  }) as DynamoDBRecord;

const putsTo = (bucket: string) =>
  s3.commandCalls(PutObjectCommand).filter((call) => call.args[0].input.Bucket === bucket);

const linesOf = (body: unknown): Record<string, unknown>[] =>
  gunzipSync(body as Buffer)
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

beforeAll(async () => {
  vi.stubEnv('ARCHIVE_BUCKET', 'archive-test');
  vi.stubEnv('ARCHIVE_STAGING_BUCKET', 'staging-test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  // The integration stack's global setup disables metrics in this process tree; this test reads them.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  ({ handler } = await import('#functions/archiver.ts'));
});

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

afterEach(() => vi.restoreAllMocks());

const silence = () => {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () => [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0])).join('');
};

describe('archiver', () => {
  it('stages each event once, as gzip NDJSON, one object per tenant and day of receipt', async () => {
    silence();
    const a1 = stored('a1');
    const a2 = stored('a2');
    const b1 = stored('b1', OTHER);
    const late = stored('a3', TENANT, NOW + 86_400_000);
    const event: DynamoDBStreamEvent = { Records: [insert(a1), insert(b1), insert(a2), insert(late)] };
    expect(await handler(event, lambdaContext)).toEqual({ batchItemFailures: [] });

    const puts = putsTo('staging-test').map((call) => call.args[0].input);
    expect(puts.map((p) => p.Key?.replace(/\/[^/]+$/, '')).sort()).toEqual([
      `tenant=${TENANT}/date=2026-03-01`,
      `tenant=${TENANT}/date=2026-03-02`,
      `tenant=${OTHER}/date=2026-03-01`,
    ]);
    const day1 = puts.find((p) => p.Key?.startsWith(`tenant=${TENANT}/date=2026-03-01/`));
    expect(day1?.ContentType).toBe('application/gzip');
    // Exactly the events as the API shows them, in stream order.
    expect(linesOf(day1?.Body)).toEqual([JSON.parse(JSON.stringify(a1)), JSON.parse(JSON.stringify(a2))]);
    expect(putsTo('archive-test')).toHaveLength(0);
  });

  it('writes a retried batch to the same key (no second copy)', async () => {
    silence();
    const records = [insert(stored('r1')), insert(stored('r2'))];
    await handler({ Records: records }, lambdaContext);
    await handler({ Records: records }, lambdaContext);
    const keys = putsTo('staging-test').map((call) => call.args[0].input.Key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('quarantines a record it cannot trust instead of failing the batch, and alarms', async () => {
    const output = silence();
    const good = stored('g1');
    const forged = toItem(stored('f1'), 1);
    const tampered = insert(stored('f1'), { ...forged, hash: 'f'.repeat(64) });
    const foreign = insert(stored('x1'), { ...toItem(stored('x1'), 1), pk: `${OTHER}#x1` });
    const result = await handler({ Records: [tampered, insert(good), foreign] }, lambdaContext);
    expect(result).toEqual({ batchItemFailures: [] });

    const staged = putsTo('staging-test');
    expect(staged).toHaveLength(1);
    expect(linesOf(staged[0]?.args[0].input.Body).map((e) => e.id)).toEqual(['g1']);
    const quarantined = putsTo('archive-test').map((call) => call.args[0].input);
    expect(quarantined.map((q) => q.Key)).toEqual([
      expect.stringMatching(/^quarantine\/date=2026-03-01\/\d{40}-[0-9a-f]{16}\.json$/),
      expect.stringMatching(/^quarantine\/date=2026-03-01\//),
    ]);
    expect(JSON.parse(String(quarantined[0]?.Body)).reason).toBe('hash mismatch');
    expect(JSON.parse(String(quarantined[1]?.Body)).reason).toBe('item key does not match the event');
    const emf = output()
      .split('\n')
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    expect(emf.some((m) => m.ArchiveQuarantined === 2 && m.EventsArchived === 1)).toBe(true);
  });

  it('reports the lowest sequence of a failed write, so the stream redelivers from there', async () => {
    silence();
    s3.on(PutObjectCommand, { Bucket: 'staging-test' }).callsFake((input) => {
      if (String(input.Key).includes(OTHER)) throw new Error('S3 unavailable');
      return {};
    });
    const first = insert(stored('ok1'));
    const failing = insert(stored('bad1', OTHER));
    const after = insert(stored('bad2', OTHER));
    const result = await handler({ Records: [first, failing, after, insert(stored('ok2'))] }, lambdaContext);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: failing.dynamodb?.SequenceNumber }] });
  });

  it('counts expiries and re-timings, and raises a security finding for anything else', async () => {
    const output = silence();
    const ttl = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
    const old = { pk: { S: `${TENANT}#x` }, hash: { S: 'h' }, expires_at: { N: '1' } };
    const records = [
      change('REMOVE', { userIdentity: ttl }),
      change('MODIFY', {
        dynamodb: { OldImage: old, NewImage: { ...old, expires_at: { N: '2' } }, SequenceNumber: '1' },
      }),
      change('MODIFY', {
        dynamodb: { OldImage: old, NewImage: { ...old, hash: { S: 'x' } }, SequenceNumber: '2' },
      }),
      change('REMOVE'),
    ];
    expect(await handler({ Records: records }, lambdaContext)).toEqual({ batchItemFailures: [] });
    const lines = output();
    expect(lines.match(/SECURITY FINDING/g)).toHaveLength(2);
    expect(lines).not.toContain('payload');
    const emf = lines
      .split('\n')
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    expect(emf.some((m) => m.EventTampering === 2 && m.EventsExpired === 1 && m.EventsRetimed === 1)).toBe(
      true,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
