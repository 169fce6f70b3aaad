/**
 * Action registry adapter (DynamoDB, the control table): one item per (tenant, action) and per
 * (tenant, team, action), keyed by shared/domain/control-keys.ts in partitions of their own
 * (`ACTIONS#…`). Written with a PutItem conditioned on the item not existing, so the first
 * writer's item stands and a concurrent second writer's condition failure means "already there";
 * read with one Query by partition and sort-key prefix, in action order.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import {
  actionRegistryKey,
  actionRegistryPartition,
  actionRegistrySortKeyPrefix,
} from '../domain/control-keys.ts';
import type { ActionPage, ActionRegistry, RegisteredAction } from '../usecases/ports/actions.ts';

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

export class DynamoActionRegistry implements ActionRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async register(entry: RegisteredAction, seenAt: string): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...actionRegistryKey(entry.tenantId, entry.teamId, entry.action),
            action: entry.action,
            first_seen_at: seenAt,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CONTROL_TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async list(tenantId: string, teamId: string | null, prefix: string, limit: number): Promise<ActionPage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: {
          '#pk': CONTROL_TABLE.partitionKey,
          '#sk': CONTROL_TABLE.sortKey,
          '#action': 'action',
        },
        ExpressionAttributeValues: {
          ':pk': actionRegistryPartition(tenantId, teamId),
          ':prefix': actionRegistrySortKeyPrefix(prefix),
        },
        ProjectionExpression: '#action',
        // One more than asked tells whether there are more; no filter, so Limit counts matches.
        Limit: limit + 1,
      }),
    );
    const actions = (out.Items ?? []).flatMap((item) =>
      typeof item.action === 'string' ? [item.action] : [],
    );
    return { actions: actions.slice(0, limit), more: actions.length > limit };
  }
}
