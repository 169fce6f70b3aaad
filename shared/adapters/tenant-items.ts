/**
 * One kind of record kept in a tenant's partition of the control table (`TENANT#<tenant>` /
 * `<PREFIX>#<id>`, keys from shared/domain/control-keys.ts): create once, read consistently, list
 * the tenant's records of that kind, change named fields only (UpdateItem, so the API's edits and
 * the workers' state never overwrite each other), delete. Streams and alerts are such records.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CONTROL_KEY_ATTRIBUTES, type ControlKey, tenantPartition } from '../domain/control-keys.ts';

export interface TenantItemKind {
  /** The item's table key. */
  key(tenantId: string, id: string): ControlKey;
  /** The sort-key prefix every item of the kind starts with. */
  skPrefix: string;
  /** Attributes stored beside the record (a sparse index's listing); never part of the record. */
  listing?: () => Record<string, string>;
  /** Letter of the update expressions' placeholders (`#s0`, `:s0`). */
  placeholder: string;
}

export class TenantItems<R extends { tenant_id: string; id: string }> {
  readonly #hidden: readonly string[];

  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly kind: TenantItemKind,
  ) {
    this.#hidden = [...CONTROL_KEY_ATTRIBUTES, ...Object.keys(kind.listing?.() ?? {})];
  }

  /** The item's own fields: its table keys and its index listing are not part of the record. */
  recordOf(item: Record<string, unknown>): R {
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(item)) if (!this.#hidden.includes(name)) record[name] = value;
    return record as unknown as R;
  }

  async create(record: R): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.kind.key(record.tenant_id, record.id), ...this.kind.listing?.(), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, id: string): Promise<R | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.kind.key(tenantId, id), ConsistentRead: true }),
    );
    return out.Item === undefined ? null : this.recordOf(out.Item);
  }

  async list(tenantId: string): Promise<R[]> {
    const records: R[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': this.kind.skPrefix },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of out.Items ?? []) records.push(this.recordOf(item));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return records;
  }

  /** Sets the named fields (undefined ones are left alone); null when there is no such record. */
  async update(tenantId: string, id: string, changes: object): Promise<R | null> {
    const p = this.kind.placeholder;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .forEach(([field, value], i) => {
        names[`#${p}${i}`] = field;
        values[`:${p}${i}`] = value;
        sets.push(`#${p}${i} = :${p}${i}`);
      });
    if (sets.length === 0) return this.get(tenantId, id);
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.kind.key(tenantId, id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? null : this.recordOf(out.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  /** Whether there was such a record. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.kind.key(tenantId, id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }
}
