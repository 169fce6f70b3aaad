/**
 * The events table's stream records as the archiver's adapter reads them
 * (shared/adapters/event-stream.ts): the change the classification rules see, the keys a finding
 * names, and inserted events decoded and checked against their hash and item key.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { toItem } from '#shared/adapters/event-store.ts';
import { decodeStreamRecord } from '#shared/adapters/event-stream.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { classifyChange } from '#shared/domain/stream.ts';

const TENANT = 'tnt_01jd0000000000000000000000';

const image = (ttl?: string, extra: Record<string, unknown> = {}) => ({
  pk: { S: `${TENANT}#e1` },
  hash: { S: 'h' },
  doc: { B: 'AAAA' },
  ...(ttl === undefined ? {} : { expires_at: { N: ttl } }),
  ...extra,
});
const record = (eventName: string, extra: Partial<DynamoDBRecord> = {}): DynamoDBRecord =>
  ({
    eventName,
    dynamodb: { Keys: { pk: { S: `${TENANT}#e1` } }, SequenceNumber: '1' },
    ...extra,
  }) as DynamoDBRecord;
const ttlIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
const classify = (r: DynamoDBRecord) => classifyChange(decodeStreamRecord(r));

const stored = (id: string): StoredEvent => {
  const built = buildStoredEvent(
    { id, action: 'auth.login', actor: { id: 'u1' } },
    { tenantId: TENANT, retentionDays: 90 },
    Date.parse('2026-03-01T12:00:00.000Z'),
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return built.event;
};

/** An INSERT as Lambda delivers it: AttributeValue JSON with binary values in base64. */
const insert = (item: Record<string, unknown>): DynamoDBRecord => {
  const newImage = marshall(item, { removeUndefinedValues: true }) as Record<string, { B?: Uint8Array }>;
  const doc = Buffer.from(newImage.doc?.B ?? []).toString('base64');
  return record('INSERT', {
    eventID: 'rec-7',
    dynamodb: {
      Keys: { pk: { S: String(item.pk) } },
      NewImage: { ...newImage, doc: { B: doc } },
      SequenceNumber: '7',
      ApproximateCreationDateTime: 1_772_366_400,
    },
  } as never);
};

describe('stream records as the archiver reads them', () => {
  it('accepts inserts and TTL expiries', () => {
    expect(classify(record('INSERT'))).toBe('insert');
    expect(classify(record('REMOVE', { userIdentity: ttlIdentity }))).toBe('expiry');
  });

  it('accepts a modification of the TTL attribute alone as a re-timing', () => {
    const retimed = record('MODIFY', { dynamodb: { OldImage: image('1'), NewImage: image('2') } as never });
    expect(classify(retimed)).toBe('retiming');
    const removed = record('MODIFY', { dynamodb: { OldImage: image('1'), NewImage: image() } as never });
    expect(classify(removed)).toBe('retiming');
  });

  it('flags every other change as tampering', () => {
    expect(classify(record('REMOVE'))).toBe('tampering');
    expect(classify(record('REMOVE', { userIdentity: { type: 'Service', principalId: 'x' } }))).toBe(
      'tampering',
    );
    const edited = record('MODIFY', {
      dynamodb: { OldImage: image('1'), NewImage: image('1', { hash: { S: 'other' } }) } as never,
    });
    expect(classify(edited)).toBe('tampering');
    const added = record('MODIFY', {
      dynamodb: { OldImage: image('1'), NewImage: image('2', { note: { S: 'x' } }) } as never,
    });
    expect(classify(added)).toBe('tampering');
    expect(classify(record('MODIFY'))).toBe('tampering');
  });

  it('names the key, principal and position of a change, and keeps the record whole', () => {
    const removal = record('REMOVE', { userIdentity: { type: 'Service', principalId: 'someone' } });
    expect(decodeStreamRecord(removal)).toMatchObject({
      eventName: 'REMOVE',
      key: `${TENANT}#e1`,
      principal: 'someone',
      sequence: '1',
      byTtl: false,
      inserted: undefined,
      raw: removal,
    });
    expect(decodeStreamRecord({} as DynamoDBRecord)).toMatchObject({
      eventName: 'undefined',
      sequence: '0',
      createdAtMs: 0,
      changedAttributes: null,
    });
  });

  it('decodes an inserted event, checked against its hash and item key', () => {
    const event = stored('e1');
    const decoded = decodeStreamRecord(insert(toItem(event, 1)));
    expect(decoded.inserted).toEqual({ ok: true, event });
    expect(decoded).toMatchObject({ recordId: 'rec-7', sequence: '7', createdAtMs: 1_772_366_400_000 });

    const forged = decodeStreamRecord(insert({ ...toItem(event, 1), hash: 'f'.repeat(64) }));
    expect(forged.inserted).toEqual({ ok: false, reason: 'hash mismatch' });
    const moved = decodeStreamRecord(insert({ ...toItem(event, 1), pk: `${TENANT}#other` }));
    expect(moved.inserted).toEqual({ ok: false, reason: 'item key does not match the event' });
    expect(decodeStreamRecord(record('INSERT')).inserted).toEqual({ ok: false, reason: 'no new image' });
  });
});
