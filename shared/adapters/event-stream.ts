/**
 * The events table's DynamoDB stream records, read into what the archiver use case acts on
 * (shared/usecases/ports/archive.ts StreamRecord): which attributes a MODIFY changed, whether the
 * TTL process made a REMOVE, and, for an INSERT, the stored event — unmarshalled, its compressed
 * document checked against its hash and its item key before it is trusted. Never throws: a
 * record that cannot be read says why, and the use case quarantines it.
 */
import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { isTenantId } from '../domain/tenant.ts';
import type { DecodedInsert, StreamRecord } from '../usecases/ports/archive.ts';
import { fromDocument } from './event-store.ts';

/** The principal of the deletes DynamoDB's TTL process makes. */
const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

type Image = Record<string, AttributeValue>;

/** Lambda delivers binary attributes base64-encoded; unmarshall leaves those as strings. */
const binary = (value: unknown): Buffer =>
  typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array);

/** The stored event of an INSERT record, checked against its item key and its hash. */
export const decodeInsert = (record: DynamoDBRecord): DecodedInsert => {
  try {
    const image = record.dynamodb?.NewImage;
    if (image === undefined) return { ok: false, reason: 'no new image' };
    // biome-ignore lint/suspicious/noExplicitAny: aws-lambda's and the SDK's AttributeValue differ only in typing
    const item = unmarshall(image as any);
    const doc = binary(item.doc);
    // `doc` is the canonical JSON that was hashed at ingest: check it before trusting it.
    const canonical = brotliDecompressSync(doc);
    if (createHash('sha256').update(canonical).digest('hex') !== item.hash) {
      return { ok: false, reason: 'hash mismatch' };
    }
    const event = fromDocument(canonical, item);
    if (!isTenantId(event.tenant_id) || item.pk !== `${event.tenant_id}#${event.id}`) {
      return { ok: false, reason: 'item key does not match the event' };
    }
    return { ok: true, event };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.name : 'undecodable' };
  }
};

/**
 * Top-level attributes present in one image only or with another value in each. Event items hold
 * only scalar attributes (S, N, B), so comparing each value's JSON is exact.
 */
const changedAttributes = (before: Image | undefined, after: Image | undefined): string[] | null => {
  if (before === undefined || after === undefined) return null;
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter(
    (name) =>
      !Object.hasOwn(before, name) ||
      !Object.hasOwn(after, name) ||
      JSON.stringify(before[name]) !== JSON.stringify(after[name]),
  );
};

export const decodeStreamRecord = (record: DynamoDBRecord): StreamRecord => {
  const identity = record.userIdentity as { type?: string; principalId?: string } | undefined;
  const eventName = String(record.eventName);
  return {
    eventName,
    changedAttributes: changedAttributes(record.dynamodb?.OldImage, record.dynamodb?.NewImage),
    byTtl: identity?.type === 'Service' && identity.principalId === TTL_PRINCIPAL,
    sequence: record.dynamodb?.SequenceNumber ?? '0',
    recordId: record.eventID,
    key: record.dynamodb?.Keys?.pk?.S,
    principal: identity?.principalId,
    createdAtMs: (record.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000,
    inserted: eventName === 'INSERT' ? decodeInsert(record) : undefined,
    raw: record,
  };
};
