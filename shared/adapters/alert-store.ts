/**
 * Alert records in the control table (`TENANT#<tenant>` / `ALERT#<alert id>`, keys from
 * shared/domain/control-keys.ts). The API's changes are UpdateItems of the named configuration
 * fields; the evaluation state is written only by saveState, conditional on `state_version`, so
 * router shards and the sweeper never lose each other's counts and never touch the rule.
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
import type { AlertState } from '../domain/alert-rules.ts';
import {
  ALERT_SK_PREFIX,
  alertKey,
  CONTROL_KEY_ATTRIBUTES,
  tenantPartition,
} from '../domain/control-keys.ts';
import type { AlertChanges, AlertRecord, AlertStore } from '../usecases/ports/alerts.ts';

const recordOf = (item: Record<string, unknown>): AlertRecord => {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item))
    if (!CONTROL_KEY_ATTRIBUTES.includes(name)) record[name] = value;
  return record as unknown as AlertRecord;
};

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: AlertRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...alertKey(record.tenant_id, record.id), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(tenantId: string, alertId: string): Promise<AlertRecord | null> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: alertKey(tenantId, alertId), ConsistentRead: true }),
    );
    return out.Item === undefined ? null : recordOf(out.Item);
  }

  async list(tenantId: string): Promise<AlertRecord[]> {
    const records: AlertRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': tenantPartition(tenantId), ':prefix': ALERT_SK_PREFIX },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of out.Items ?? []) records.push(recordOf(item));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return records;
  }

  async update(tenantId: string, alertId: string, changes: AlertChanges): Promise<AlertRecord | null> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .forEach(([field, value], i) => {
        names[`#a${i}`] = field;
        values[`:a${i}`] = value;
        sets.push(`#a${i} = :a${i}`);
      });
    if (sets.length === 0) return this.get(tenantId, alertId);
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: alertKey(tenantId, alertId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? null : recordOf(out.Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async delete(tenantId: string, alertId: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: alertKey(tenantId, alertId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }

  async saveState(
    tenantId: string,
    alertId: string,
    expectedVersion: number,
    state: AlertState,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: alertKey(tenantId, alertId),
          UpdateExpression: 'SET #state = :state, #version = :next, #fired = :fired',
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#version': 'state_version',
            '#fired': 'last_fired_at',
          },
          ExpressionAttributeValues: {
            ':state': state,
            ':next': expectedVersion + 1,
            ':expected': expectedVersion,
            ':fired': state.last_fired_at ?? null,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
