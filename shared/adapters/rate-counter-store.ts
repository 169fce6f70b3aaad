/**
 * The shared request counters behind the per-tenant rate limit: one control-table item per
 * tenant and one-second window (`RATE#<tenant>` / `W#<window>`), incremented with ADD (no read,
 * no condition) and dropped by TTL a minute later.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import { rateCounterKey } from '../domain/control-keys.ts';
import { RATE_WINDOW_MS } from '../domain/rate-limit.ts';
import type { RateCounterStore } from '../usecases/ports/rate-limit.ts';

/** Counters outlive their window by this long before TTL may drop them. */
const KEEP_SECONDS = 60;

export class DynamoRateCounterStore implements RateCounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(tenantId: string, window: number, count: number): Promise<number> {
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: rateCounterKey(tenantId, window),
        UpdateExpression: 'ADD #count :n SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': CONTROL_TABLE.ttlAttribute },
        ExpressionAttributeValues: {
          ':n': count,
          ':ttl': Math.ceil(((window + 1) * RATE_WINDOW_MS) / 1000) + KEEP_SECONDS,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.count ?? count);
  }
}
