/**
 * Classifies changes seen on the events table's stream. Events are append-only, so the only
 * legitimate changes are inserts and TTL expiries (a REMOVE made by the DynamoDB service
 * itself); anything else — an overwrite, an update, a delete by any principal — is tampering.
 */
import type { DynamoDBRecord } from 'aws-lambda';

export type ChangeKind = 'insert' | 'expiry' | 'tampering';

const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

export const classifyChange = (record: DynamoDBRecord): ChangeKind => {
  if (record.eventName === 'INSERT') return 'insert';
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
