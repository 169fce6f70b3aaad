/**
 * Alert records in the control table (`TENANT#<tenant>` / `ALERT#<alert id>`, keys from
 * shared/domain/control-keys.ts). The API's changes are UpdateItems of the named configuration
 * fields; the evaluation state is written only by saveState, conditional on `state_version`, so
 * router shards and the sweeper never lose each other's counts and never touch the rule. The
 * CRUD is the control table's one for tenant records (tenant-items.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertState } from '../domain/alert-rules.ts';
import { ALERT_SK_PREFIX, alertKey } from '../domain/control-keys.ts';
import type { AlertChanges, AlertRecord, AlertStore } from '../usecases/ports/alerts.ts';
import { TenantItems } from './tenant-items.ts';

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

export class DynamoAlertStore implements AlertStore {
  readonly #items: TenantItems<AlertRecord>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.#items = new TenantItems(client, tableName, {
      key: alertKey,
      skPrefix: ALERT_SK_PREFIX,
      placeholder: 'a',
    });
  }

  create(record: AlertRecord): Promise<void> {
    return this.#items.create(record);
  }

  get(tenantId: string, alertId: string): Promise<AlertRecord | null> {
    return this.#items.get(tenantId, alertId);
  }

  list(tenantId: string): Promise<AlertRecord[]> {
    return this.#items.list(tenantId);
  }

  update(tenantId: string, alertId: string, changes: AlertChanges): Promise<AlertRecord | null> {
    return this.#items.update(tenantId, alertId, changes);
  }

  delete(tenantId: string, alertId: string): Promise<boolean> {
    return this.#items.delete(tenantId, alertId);
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
