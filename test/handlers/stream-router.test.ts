/**
 * The stream router handler over mocked DynamoDB and SQS: the exact outbox writes and wake
 * messages for a batch of stream records, nothing for other tenants or non-inserts.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { toItem } from '#shared/adapters/event-store.ts';
import { buildStoredEvent, presentEvent, type StoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { lambdaContext, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
let handler: typeof import('#functions/stream-router.ts').handler;

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

const stored = (id: string, action: string): StoredEvent => {
  const built = buildStoredEvent(
    { id, action, actor: { id: 'u1', type: 'user' } },
    { tenantId: TENANT, retentionDays: 90 },
    NOW,
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return built.event;
};

const insert = (event: StoredEvent): DynamoDBRecord => {
  const item = toItem(event, 1);
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, { B?: Uint8Array }>;
  return {
    eventName: 'INSERT',
    dynamodb: {
      Keys: { pk: { S: item.pk } },
      NewImage: { ...image, doc: { B: Buffer.from(image.doc?.B ?? []).toString('base64') } },
      SequenceNumber: '1',
    },
  } as unknown as DynamoDBRecord;
};

const streamItem = (id: string, extra: Record<string, unknown> = {}) => ({
  pk: `TENANT#${TENANT}`,
  sk: `STREAM#${id}`,
  id,
  tenant_id: TENANT,
  type: 'webhook',
  url: 'https://siem.example.com/hook',
  filter: null,
  status: 'active',
  ...extra,
});

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('OUTBOX_TABLE', 'outbox-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('DELIVERY_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/stream-router.ts'));
});

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  ddb.on(BatchWriteCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
});

describe('stream router handler', () => {
  it('writes matching events into each stream’s outbox and wakes the active streams', async () => {
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [
        streamItem('str_keys', { filter: { action: ['key.*'] } }),
        streamItem('str_paused', { status: 'paused' }),
        streamItem('str_off', { status: 'disabled' }),
      ],
    });
    // The tenant has no alert rules (test/handlers/alerts.test.ts has those).
    ddb
      .on(QueryCommand, { TableName: 'control-test', ExpressionAttributeValues: { ':prefix': 'ALERT#' } })
      .resolves({ Items: [] });
    const login = stored('e1', 'auth.login');
    const created = stored('e2', 'key.created');

    const result = await handler(
      {
        Records: [insert(login), insert(created), { eventName: 'REMOVE' } as DynamoDBRecord],
      } as DynamoDBStreamEvent,
      lambdaContext,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    const query = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query).toMatchObject({
      TableName: 'control-test',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `TENANT#${TENANT}`, ':prefix': 'STREAM#' },
    });
    const writes = ddb.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems);
    const ttl = Math.floor(NOW / 1000) + 4 * 86_400;
    const item = (stream: string, event: StoredEvent) => ({
      PutRequest: {
        Item: {
          dest: `${TENANT}#${stream}`,
          sk: `${event.received_at}#${event.id}`,
          tenant_id: TENANT,
          doc: JSON.stringify(presentEvent(event)),
          ttl,
        },
      },
    });
    expect(writes).toEqual([
      { 'outbox-test': [item('str_keys', created)] },
      { 'outbox-test': [item('str_paused', login), item('str_paused', created)] },
    ]);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify({ kind: 'wake', tenant_id: TENANT, stream_id: 'str_keys' }),
      },
    ]);
  });

  it('fails the batch when the outbox cannot be written (the mapping retries; writes are idempotent)', async () => {
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({ Items: [streamItem('str_all')] });
    ddb.on(BatchWriteCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    await expect(
      handler(
        { Records: [insert(stored('e3', 'trailkeeper.stream.updated'))] } as DynamoDBStreamEvent,
        lambdaContext,
      ),
    ).rejects.toThrow();
    expect(sqs.commandCalls(SendMessageCommand)).toEqual([]);
  });
});
