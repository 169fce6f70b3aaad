/**
 * The stream outbox in DynamoDB (OUTBOX_TABLE): partition `<tenant_id>#<stream_id>`, sort
 * `<received_at>#<event_id>`, so a Query reads a stream's backlog oldest first and the router's
 * retries rewrite the same items. `doc` is the event as the API shows it (JSON); `ttl` drops an
 * item four days after the event was received, past the three-day give-up.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { presentEvent, type StoredEvent } from '../domain/event.ts';
import type { OutboxEntry, OutboxStore } from '../usecases/ports/deliveries.ts';
import type { StreamRef } from '../usecases/ports/streams.ts';

/** Items expire this long after the event was received. */
export const OUTBOX_TTL_SECONDS = 4 * 24 * 3600;
const BATCH_WRITE_MAX = 25;
const MAX_UNPROCESSED_ROUNDS = 8;

export const outboxPartition = (ref: StreamRef): string => `${ref.tenant_id}#${ref.stream_id}`;
export const outboxSortKey = (event: Pick<StoredEvent, 'received_at' | 'id'>): string =>
  `${event.received_at}#${event.id}`;

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

export class DynamoOutboxStore implements OutboxStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** BatchWriteItem in chunks of 25, retrying unprocessed items with a short backoff; throws if some never go. */
  private async write(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
      let pending = requests.slice(i, i + BATCH_WRITE_MAX);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= MAX_UNPROCESSED_ROUNDS)
          throw new Error(`outbox: ${pending.length} writes left unprocessed`);
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
        const out = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = (out.UnprocessedItems?.[this.tableName] ?? []) as WriteRequest[];
      }
    }
  }

  async put(ref: StreamRef, events: readonly StoredEvent[]): Promise<void> {
    const dest = outboxPartition(ref);
    const unique = new Map(events.map((event) => [outboxSortKey(event), event]));
    await this.write(
      [...unique].map(([sk, event]) => ({
        PutRequest: {
          Item: {
            dest,
            sk,
            tenant_id: ref.tenant_id,
            doc: JSON.stringify(presentEvent(event)),
            ttl: Math.floor(Date.parse(event.received_at) / 1000) + OUTBOX_TTL_SECONDS,
          },
        },
      })),
    );
  }

  async oldest(ref: StreamRef, limit: number): Promise<OutboxEntry[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'dest = :dest',
        ExpressionAttributeValues: { ':dest': outboxPartition(ref) },
        ProjectionExpression: 'sk, doc',
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => ({
      key: String(item.sk),
      event: JSON.parse(String(item.doc)) as StoredEvent,
    }));
  }

  async remove(ref: StreamRef, keys: readonly string[]): Promise<void> {
    const dest = outboxPartition(ref);
    await this.write([...new Set(keys)].map((sk) => ({ DeleteRequest: { Key: { dest, sk } } })));
  }

  async hasEntries(ref: StreamRef): Promise<boolean> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'dest = :dest',
        ExpressionAttributeValues: { ':dest': outboxPartition(ref) },
        ProjectionExpression: 'sk',
        Limit: 1,
      }),
    );
    return (out.Items ?? []).length > 0;
  }

  async purge(ref: StreamRef): Promise<number> {
    let removed = 0;
    for (;;) {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'dest = :dest',
          ExpressionAttributeValues: { ':dest': outboxPartition(ref) },
          ProjectionExpression: 'sk',
          ConsistentRead: true,
          Limit: 500,
        }),
      );
      const keys = (out.Items ?? []).map((item) => String(item.sk));
      if (keys.length === 0) return removed;
      await this.remove(ref, keys);
      removed += keys.length;
    }
  }
}
