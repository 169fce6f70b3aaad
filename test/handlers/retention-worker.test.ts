import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { newRetentionJob, type RetentionJob } from '#shared/domain/retention-job.ts';
import { scheduledEvent, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/retention-worker.ts').handler;

const DAY = 86_400;
const REQUESTED = Date.parse('2026-03-01T00:00:00.000Z');
const OCCURRED = '2026-02-20T00:00:00.000Z';
const OCCURRED_S = Date.parse(OCCURRED) / 1000;

/** Two shards: shard 0 holds 3 events (read in pages of 200, so one page), shard 1 holds 1. */
const INDEX: Record<number, Array<{ pk: string; sk: string; expires_at?: number }>> = {
  0: [
    { pk: `${TENANT}#e1`, sk: `${OCCURRED}#e1`, expires_at: OCCURRED_S + 30 * DAY },
    // Already past its expiry when the change was requested: stays expired.
    {
      pk: `${TENANT}#e2`,
      sk: `2026-01-01T00:00:00.000Z#e2`,
      expires_at: Date.parse('2026-01-31T00:00:00Z') / 1000,
    },
    // Already at the target: nothing to write.
    { pk: `${TENANT}#e3`, sk: `${OCCURRED}#e3`, expires_at: OCCURRED_S + 90 * DAY },
  ],
  1: [{ pk: `${TENANT}#e4`, sk: `${OCCURRED}#e4` }],
};

let tenant: Record<string, unknown>;

const context = (remainingMs = 300_000) => ({ getRemainingTimeInMillis: () => remainingMs }) as Context;

beforeAll(async () => {
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/retention-worker.ts'));
});

beforeEach(() => {
  ddb.reset();
  tenant = {
    pk: `TENANT#${TENANT}`,
    sk: 'TENANT',
    id: TENANT,
    name: 'A',
    plan: 'pro',
    custom_retention_days: null,
    shards: 2,
    created_at: 'c',
    updated_at: 'u',
    retention_job: newRetentionJob('rtj_1', 90, new Date(REQUESTED).toISOString()),
    active_job: 'retention',
    active_since: `2026-03-01T00:00:00.000Z#${TENANT}`,
  };
  ddb
    .on(QueryCommand, { TableName: 'control-test' })
    .resolves({ Items: [{ pk: `TENANT#${TENANT}`, sk: 'TENANT' }] });
  ddb.on(GetCommand, { TableName: 'control-test' }).callsFake(() => ({ Item: structuredClone(tenant) }));
  // The control table's conditional job saves, as DynamoDB evaluates them.
  ddb.on(UpdateCommand, { TableName: 'control-test' }).callsFake((input) => {
    const job = tenant.retention_job as RetentionJob;
    const values = input.ExpressionAttributeValues;
    if (job.id !== values[':id'] || job.version !== values[':version']) {
      throw new ConditionalCheckFailedException({ message: 'conditional', $metadata: {} });
    }
    tenant.retention_job = values[':job'];
    if (String(input.UpdateExpression).includes('REMOVE')) {
      delete tenant.active_job;
      delete tenant.active_since;
    }
    return {};
  });
  ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => {
    const shard = Number(String(input.ExpressionAttributeValues[':partition']).split('#')[1]);
    return { Items: INDEX[shard] ?? [] };
  });
  ddb.on(UpdateCommand, { TableName: 'events-test' }).resolves({});
});

describe('retention worker', () => {
  it('re-times every event of every shard, touching only the TTL attribute', async () => {
    expect(await handler(scheduledEvent(), context())).toEqual({ [TENANT]: 'completed' });

    const queries = ddb.commandCalls(QueryCommand, { TableName: 'events-test' }).map((c) => c.args[0].input);
    expect(queries).toEqual(
      [0, 1].map((shard) => ({
        TableName: 'events-test',
        IndexName: 'byTenantTime',
        KeyConditionExpression: '#partition = :partition',
        ProjectionExpression: '#pk, #sk, #ttl',
        ExpressionAttributeNames: { '#partition': 'time_pk', '#pk': 'pk', '#sk': 'sk', '#ttl': 'expires_at' },
        ExpressionAttributeValues: { ':partition': `${TENANT}#${shard}` },
        ExclusiveStartKey: undefined,
        Limit: 200,
      })),
    );

    const updates = ddb.commandCalls(UpdateCommand, { TableName: 'events-test' }).map((c) => c.args[0].input);
    const condition = {
      ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#ttl) OR #ttl > :notExpiredAt)',
      ExpressionAttributeNames: { '#pk': 'pk', '#ttl': 'expires_at' },
    };
    expect(updates).toEqual([
      {
        TableName: 'events-test',
        Key: { pk: `${TENANT}#e1` },
        UpdateExpression: 'SET #ttl = :ttl',
        ...condition,
        ExpressionAttributeValues: { ':notExpiredAt': REQUESTED / 1000, ':ttl': OCCURRED_S + 90 * DAY },
      },
      {
        TableName: 'events-test',
        Key: { pk: `${TENANT}#e4` },
        UpdateExpression: 'SET #ttl = :ttl',
        ...condition,
        ExpressionAttributeValues: { ':notExpiredAt': REQUESTED / 1000, ':ttl': OCCURRED_S + 90 * DAY },
      },
    ]);

    expect(tenant.retention_job).toMatchObject({
      status: 'completed',
      events_done: 4,
      events_retimed: 2,
      cursor: null,
      lease_until: 0,
    });
    expect(tenant.active_job).toBeUndefined();
  });

  it('removes the TTL for unlimited retention', async () => {
    tenant.retention_job = newRetentionJob('rtj_2', null, new Date(REQUESTED).toISOString());
    await handler(scheduledEvent(), context());
    const updates = ddb.commandCalls(UpdateCommand, { TableName: 'events-test' }).map((c) => c.args[0].input);
    expect(updates.map((u) => [u.Key?.pk, u.UpdateExpression])).toEqual([
      [`${TENANT}#e1`, 'REMOVE #ttl'],
      [`${TENANT}#e3`, 'REMOVE #ttl'],
    ]);
  });

  it('checkpoints and hands the job back when its time runs low, then resumes where it stopped', async () => {
    let remaining = 300_000;
    ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => {
      remaining = 1_000; // the first page uses up the time
      const shard = Number(String(input.ExpressionAttributeValues[':partition']).split('#')[1]);
      return { Items: INDEX[shard] ?? [] };
    });
    const ctx = { getRemainingTimeInMillis: () => remaining } as Context;
    expect(await handler(scheduledEvent(), ctx)).toEqual({ [TENANT]: 'paused' });
    expect(tenant.retention_job).toMatchObject({
      status: 'running',
      events_done: 3,
      cursor: { shard: 1 },
      lease_until: 0,
    });

    remaining = 300_000;
    ddb.on(QueryCommand, { TableName: 'events-test' }).callsFake((input) => {
      const shard = Number(String(input.ExpressionAttributeValues[':partition']).split('#')[1]);
      return { Items: INDEX[shard] ?? [] };
    });
    expect(await handler(scheduledEvent(), context())).toEqual({ [TENANT]: 'completed' });
    const shards = ddb
      .commandCalls(QueryCommand, { TableName: 'events-test' })
      .map((c) => c.args[0].input.ExpressionAttributeValues?.[':partition']);
    expect(shards).toEqual([`${TENANT}#0`, `${TENANT}#1`]);
    expect(tenant.retention_job).toMatchObject({ status: 'completed', events_done: 4 });
  });

  it('stops when a newer retention change replaced its job', async () => {
    ddb.on(UpdateCommand, { TableName: 'events-test' }).callsFake(() => {
      // A PATCH lands mid-run and replaces the job.
      tenant.retention_job = newRetentionJob('rtj_new', 30, new Date(REQUESTED + 1000).toISOString());
      return {};
    });
    expect(await handler(scheduledEvent(), context())).toEqual({ [TENANT]: 'superseded' });
    expect(tenant.retention_job).toMatchObject({ id: 'rtj_new', status: 'pending' });
  });

  it('leaves a job another run holds alone', async () => {
    tenant.retention_job = {
      ...(tenant.retention_job as RetentionJob),
      status: 'running',
      lease_until: Date.now() + 60_000,
    };
    expect(await handler(scheduledEvent(), context())).toEqual({ [TENANT]: 'busy' });
    expect(ddb.commandCalls(QueryCommand, { TableName: 'events-test' })).toHaveLength(0);
  });
});
