/**
 * The delivery state of stream records in the control table (`TENANT#<tenant>` /
 * `STREAM#<stream id>`): the deliverer's lease and what it records after each attempt, written
 * as UpdateItems of those fields only, so they never overwrite the streams API's configuration
 * (shared/adapters/stream-store.ts owns the records themselves). Also the sweeper's listing of
 * every stream through the sparse `streams` index.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import { STREAM_ENTITY, STREAM_LISTING_ATTRIBUTE, streamKey } from '../domain/control-keys.ts';
import type { StreamStatus } from '../domain/stream-input.ts';
import type { DeliveryStateFields, StreamListing, StreamStateStore } from '../usecases/ports/deliveries.ts';
import type { StreamRef } from '../usecases/ports/streams.ts';

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** The only fields this store writes (the delivery state, the lag and the lease). */
const STATE_FIELDS = [
  'attempts',
  'last_delivered_at',
  'last_error',
  'last_error_at',
  'failing_since',
  'next_attempt_at',
  'disabled_at',
  'disabled_reason',
  'lag_seconds',
] as const satisfies readonly (keyof DeliveryStateFields)[];

export class DynamoStreamStateStore implements StreamStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquireLease(ref: StreamRef, nowMs: number, untilMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: streamKey(ref.tenant_id, ref.stream_id),
          UpdateExpression: 'SET lease_until = :until',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until <= :now)',
          ExpressionAttributeValues: { ':until': untilMs, ':now': nowMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async releaseLease(ref: StreamRef, heldUntilMs: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: streamKey(ref.tenant_id, ref.stream_id),
          UpdateExpression: 'REMOVE lease_until',
          ConditionExpression: 'lease_until = :held',
          ExpressionAttributeValues: { ':held': heldUntilMs },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async record(ref: StreamRef, state: Partial<DeliveryStateFields>): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    STATE_FIELDS.forEach((field, i) => {
      if (!(field in state)) return;
      names[`#f${i}`] = field;
      values[`:f${i}`] = state[field] ?? null;
      sets.push(`#f${i} = :f${i}`);
    });
    const write = async (status: StreamStatus | undefined): Promise<void> => {
      const statusSet = status === undefined ? [] : ['#status = :status'];
      if (sets.length + statusSet.length === 0) return;
      const condition =
        status === undefined || status === 'disabled'
          ? 'attribute_exists(pk)'
          : 'attribute_exists(pk) AND #status IN (:active, :failing)';
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: streamKey(ref.tenant_id, ref.stream_id),
          UpdateExpression: `SET ${[...sets, ...statusSet].join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { ...names, ...(status === undefined ? {} : { '#status': 'status' }) },
          ExpressionAttributeValues: {
            ...values,
            ...(status === undefined ? {} : { ':status': status }),
            ...(status === undefined || status === 'disabled'
              ? {}
              : { ':active': 'active', ':failing': 'failing' }),
          },
        }),
      );
    };
    try {
      await write(state.status);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Paused (or deleted) meanwhile: the API's status stands; keep the outcome if the stream exists.
      if (state.status === undefined || state.status === 'disabled') return;
      try {
        await write(undefined);
      } catch (again) {
        if (!isConditionFailure(again)) throw again;
      }
    }
  }

  async *listAll(): AsyncIterable<StreamListing> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: CONTROL_TABLE.indexes.streams.name,
          KeyConditionExpression: '#entity = :entity',
          ExpressionAttributeNames: { '#entity': STREAM_LISTING_ATTRIBUTE },
          ExpressionAttributeValues: { ':entity': STREAM_ENTITY },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of out.Items ?? []) {
        if (typeof item.tenant_id !== 'string' || typeof item.id !== 'string') continue;
        yield {
          tenant_id: item.tenant_id,
          stream_id: item.id,
          status: item.status as StreamStatus,
          ...(typeof item.lease_until === 'number' ? { lease_until: item.lease_until } : {}),
          ...(typeof item.next_attempt_at === 'string' ? { next_attempt_at: item.next_attempt_at } : {}),
        };
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
  }
}
