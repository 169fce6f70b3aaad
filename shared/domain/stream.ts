/**
 * Classifies changes seen on the events table's stream. Events are append-only, so the only
 * legitimate changes are inserts, TTL expiries (a REMOVE made by the DynamoDB service itself)
 * and retention re-timings (a MODIFY that changed nothing but the TTL attribute, which the event
 * hash does not cover and which only the retention worker's role may write); anything else — an
 * overwrite, an update of any other attribute, a delete by any principal — is tampering.
 */
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { EVENTS_TABLE } from '../config/tables.ts';

export type ChangeKind = 'insert' | 'expiry' | 'retiming' | 'tampering';

const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/**
 * An image without the TTL attribute, as comparable text. Event items hold only scalar
 * attributes (S, N, B), so sorting the top-level names makes the text canonical.
 */
const withoutTtl = (image: Record<string, AttributeValue> | undefined): string =>
  JSON.stringify(
    Object.keys(image ?? {})
      .filter((name) => name !== EVENTS_TABLE.ttlAttribute)
      .sort()
      .map((name) => [name, image?.[name]]),
  );

export const classifyChange = (record: DynamoDBRecord): ChangeKind => {
  if (record.eventName === 'INSERT') return 'insert';
  if (record.eventName === 'MODIFY') {
    const { OldImage, NewImage } = record.dynamodb ?? {};
    return OldImage !== undefined && NewImage !== undefined && withoutTtl(OldImage) === withoutTtl(NewImage)
      ? 'retiming'
      : 'tampering';
  }
  const identity = record.userIdentity as { type?: string; principalId?: string } | undefined;
  if (
    record.eventName === 'REMOVE' &&
    identity?.type === 'Service' &&
    identity.principalId === TTL_PRINCIPAL
  ) {
    return 'expiry';
  }
  return 'tampering';
};
