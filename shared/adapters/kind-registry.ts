/**
 * Kind registry adapter (DynamoDB, the control table): one item per (tenant, event kind) and per
 * (tenant, actor email, actor id), keyed by shared/domain/control-keys.ts in the tenant's partition
 * of its own (`KINDS#<tenant>`). Every write is an UpdateItem that is idempotent where it must
 * be — a kind's fields and first-seen time are set only if absent, its count only grows by `ADD` —
 * so concurrent registrations of one entry by several containers all succeed and agree. Reads are
 * Queries of the partition by sort-key prefix, projecting only what the planner uses.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import {
  actorEmailKey,
  actorEmailSortKeyPrefix,
  KIND_REGISTRY_ITEM,
  KIND_REGISTRY_KIND_PREFIX,
  kindIdOfSortKey,
  kindRegistryKey,
  kindRegistryPartition,
} from '../domain/control-keys.ts';
import { type EventKind, KIND_FIELDS, type RegisteredKind } from '../domain/kinds.ts';
import type { ActorEmail, KindCount, KindRegistry } from '../usecases/ports/kinds.ts';

const ITEM = KIND_REGISTRY_ITEM;

/** Rejects with the first failure, once every write has settled (none is left running). */
const allOrFirstError = async (writes: Promise<unknown>[]): Promise<void> => {
  const outcomes = await Promise.allSettled(writes);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
};

const kindOfItem = (item: Record<string, unknown>): RegisteredKind | null => {
  const sk = item[CONTROL_TABLE.sortKey];
  const id = typeof sk === 'string' ? kindIdOfSortKey(sk) : null;
  const action = item.action;
  if (id === null || typeof action !== 'string') return null;
  const kind: EventKind = { action };
  for (const field of KIND_FIELDS) {
    const value = item[field];
    if (field !== 'action' && typeof value === 'string') kind[field] = value;
  }
  const count = item[ITEM.count];
  return { id, kind, count: typeof count === 'number' && Number.isFinite(count) ? count : 0 };
};

export class DynamoKindRegistry implements KindRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async register(
    tenantId: string,
    entries: { kinds: readonly KindCount[]; emails: readonly ActorEmail[] },
    firstSeenAt: string,
  ): Promise<void> {
    await allOrFirstError([
      ...entries.kinds.map((entry) => this.registerKind(tenantId, entry, firstSeenAt)),
      ...entries.emails.map((entry) => this.registerEmail(tenantId, entry, firstSeenAt)),
    ]);
  }

  /** SET the kind's fields (the same for every writer: they make its id) and, if absent, first seen; ADD the count. */
  private async registerKind(tenantId: string, entry: KindCount, firstSeenAt: string): Promise<void> {
    const fields = KIND_FIELDS.filter((field) => entry.kind[field] !== undefined);
    const names: Record<string, string> = {
      '#first': ITEM.firstSeenAt,
      '#count': ITEM.count,
    };
    const values: Record<string, unknown> = { ':first': firstSeenAt, ':count': entry.count };
    for (const field of fields) {
      names[`#${field}`] = field;
      values[`:${field}`] = entry.kind[field];
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: kindRegistryKey(tenantId, entry.id),
        UpdateExpression: `SET ${fields.map((field) => `#${field} = :${field}`).join(', ')}, #first = if_not_exists(#first, :first) ADD #count :count`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  private async registerEmail(tenantId: string, entry: ActorEmail, firstSeenAt: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: actorEmailKey(tenantId, entry.email, entry.actorId),
        UpdateExpression: 'SET #email = :email, #actor = :actor, #first = if_not_exists(#first, :first)',
        ExpressionAttributeNames: {
          '#email': ITEM.email,
          '#actor': ITEM.actorId,
          '#first': ITEM.firstSeenAt,
        },
        ExpressionAttributeValues: { ':email': entry.email, ':actor': entry.actorId, ':first': firstSeenAt },
      }),
    );
  }

  async kinds(tenantId: string): Promise<{ kinds: RegisteredKind[]; readUnits: number }> {
    const names: Record<string, string> = {
      '#pk': CONTROL_TABLE.partitionKey,
      '#sk': CONTROL_TABLE.sortKey,
      '#count': ITEM.count,
    };
    for (const field of KIND_FIELDS) names[`#${field}`] = field;
    const kinds: RegisteredKind[] = [];
    let readUnits = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':pk': kindRegistryPartition(tenantId),
            ':prefix': KIND_REGISTRY_KIND_PREFIX,
          },
          ProjectionExpression: ['#sk', ...KIND_FIELDS.map((field) => `#${field}`), '#count'].join(', '),
          ReturnConsumedCapacity: 'TOTAL',
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      readUnits += out?.ConsumedCapacity?.CapacityUnits ?? 0;
      for (const item of out?.Items ?? []) {
        const kind = kindOfItem(item);
        if (kind !== null) kinds.push(kind);
      }
      start = out?.LastEvaluatedKey;
    } while (start !== undefined);
    return { kinds, readUnits };
  }

  async actorsWithEmail(
    tenantId: string,
    email: string,
    limit: number,
  ): Promise<{ ids: string[]; more: boolean; readUnits: number }> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: {
          '#pk': CONTROL_TABLE.partitionKey,
          '#sk': CONTROL_TABLE.sortKey,
          '#actor': ITEM.actorId,
        },
        ExpressionAttributeValues: {
          ':pk': kindRegistryPartition(tenantId),
          ':prefix': actorEmailSortKeyPrefix(email),
        },
        ProjectionExpression: '#actor',
        // One more than asked tells whether there are more; no filter, so Limit counts matches.
        Limit: limit + 1,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const ids = (out?.Items ?? []).flatMap((item) => {
      const id = item[ITEM.actorId];
      return typeof id === 'string' ? [id] : [];
    });
    return {
      ids: ids.slice(0, limit),
      more: ids.length > limit,
      readUnits: out?.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  }
}
