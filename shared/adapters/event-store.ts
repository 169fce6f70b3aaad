/**
 * Events table adapter (DynamoDB). Append-only by construction: the only write is a PutItem
 * conditioned on the item not existing, so a replayed id returns the stored event and nothing
 * is ever overwritten. Reads go through the indexes named in shared/config/tables.ts with keys
 * from shared/domain/keys.ts, and never return an event past its expiry.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import canonicalize from 'canonicalize';
import { EVENT_SORT_KEY, EVENTS_TABLE } from '../config/tables.ts';
import { presentEvent, type StoredEvent } from '../domain/event.ts';
import { eventItemKey, eventKeys, type QuerySource, sortKeyRange } from '../domain/keys.ts';
import { mergeNewestFirst } from '../domain/merge.ts';
import type { Condition, QueryPlan } from '../domain/query.ts';

export interface AppendResult {
  event: StoredEvent;
  /** False when an event with this id already existed (an idempotent replay). */
  created: boolean;
}

export interface QueryPage {
  events: StoredEvent[];
  more: boolean;
  /** Read capacity units consumed (from ReturnConsumedCapacity). */
  readUnits: number;
}

export interface EventStore {
  append(events: readonly StoredEvent[], shards: number): Promise<AppendResult[]>;
  get(tenantId: string, eventId: string, nowMs: number): Promise<StoredEvent | null>;
  query(plan: QueryPlan, limit: number, before: string | undefined, nowMs: number): Promise<QueryPage>;
}

type Item = Record<string, unknown>;

/** The stored item: keys, the attributes filters evaluate, and `doc` = the exact canonical JSON that was hashed. */
export const toItem = (event: StoredEvent, shards: number): Item => {
  const { expires_at, hash, ...covered } = event;
  return {
    ...eventKeys(event, shards),
    tenant_id: event.tenant_id,
    id: event.id,
    action: event.action,
    actor_id: event.actor.id,
    actor_email: event.actor.email?.toLowerCase(),
    target_id: event.target?.id,
    target_type: event.target?.type,
    team_id: event.team_id,
    area: event.area,
    method: event.method,
    status: event.status === undefined ? undefined : String(event.status),
    impersonated: event.impersonated,
    occurred_at: event.occurred_at,
    received_at: event.received_at,
    expires_at: expires_at === null ? undefined : Math.floor(Date.parse(expires_at) / 1000),
    hash,
    doc: canonicalize(covered),
  };
};

export const fromItem = (item: Item): StoredEvent => {
  const doc = JSON.parse(String(item.doc)) as Record<string, unknown>;
  const expires = typeof item.expires_at === 'number' ? new Date(item.expires_at * 1000).toISOString() : null;
  return presentEvent({ ...doc, expires_at: expires, hash: item.hash } as unknown as StoredEvent);
};

const notExpired = (item: Item, nowMs: number): boolean =>
  typeof item.expires_at !== 'number' || item.expires_at * 1000 > nowMs;

/** Builds the FilterExpression for the plan's conditions plus the expiry guard. */
export const filterExpression = (
  conditions: readonly Condition[],
  nowMs: number,
): { expression: string; names: Record<string, string>; values: Record<string, unknown> } => {
  const names: Record<string, string> = { '#exp': 'expires_at' };
  const values: Record<string, unknown> = { ':now': Math.floor(nowMs / 1000) };
  const parts = ['(attribute_not_exists(#exp) OR #exp > :now)'];
  conditions.forEach((c, i) => {
    names[`#f${i}`] = c.attr;
    if ('equals' in c) {
      values[`:f${i}`] = c.equals;
      parts.push(`#f${i} = :f${i}`);
      return;
    }
    const alternatives = [
      ...c.anyOf.map((a, j) => {
        values[`:f${i}e${j}`] = a;
        return `#f${i} = :f${i}e${j}`;
      }),
      ...c.prefixes.map((p, j) => {
        values[`:f${i}p${j}`] = p;
        return `begins_with(#f${i}, :f${i}p${j})`;
      }),
    ];
    parts.push(`(${alternatives.join(' OR ')})`);
  });
  return { expression: parts.join(' AND '), names, values };
};

export class DynamoEventStore implements EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async append(events: readonly StoredEvent[], shards: number): Promise<AppendResult[]> {
    return Promise.all(events.map((event) => this.appendOne(event, shards)));
  }

  private async appendOne(event: StoredEvent, shards: number): Promise<AppendResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(event, shards),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { event, created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The document client does not unmarshall the item carried by the exception.
      const existing = error.Item ? unmarshall(error.Item) : await this.getItem(event.tenant_id, event.id);
      if (existing === undefined) throw error;
      return { event: fromItem(existing), created: false };
    }
  }

  private async getItem(tenantId: string, eventId: string): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: eventItemKey(tenantId, eventId),
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }

  async get(tenantId: string, eventId: string, nowMs: number): Promise<StoredEvent | null> {
    const item = await this.getItem(tenantId, eventId);
    if (item === undefined || item.tenant_id !== tenantId || !notExpired(item, nowMs)) return null;
    return fromItem(item);
  }

  async query(plan: QueryPlan, limit: number, before: string | undefined, nowMs: number): Promise<QueryPage> {
    const range = sortKeyRange(plan.from, plan.to);
    const high = before !== undefined && before < range.high ? before : range.high;
    const filter = filterExpression(plan.conditions, nowMs);
    let readUnits = 0;
    const fetch = async (
      source: QuerySource,
      start: Record<string, unknown> | undefined,
      pageSize: number,
    ) => {
      const index = EVENTS_TABLE.indexes[source.index];
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
          FilterExpression: filter.expression,
          ExpressionAttributeNames: { ...filter.names, '#pk': index.partitionKey, '#sk': EVENT_SORT_KEY },
          ExpressionAttributeValues: {
            ...filter.values,
            ':pk': source.partitionKey,
            ':low': range.low,
            ':high': high,
          },
          ScanIndexForward: false,
          Limit: pageSize,
          ExclusiveStartKey: start,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      return { items: out.Items ?? [], next: out.LastEvaluatedKey };
    };
    const merged = await mergeNewestFirst(
      plan.sources,
      fetch,
      (item) => String(item[EVENT_SORT_KEY]),
      limit,
      before,
    );
    return { events: merged.items.map(fromItem), more: merged.more, readUnits };
  }
}
