/**
 * The stream sweeper handler over mocked DynamoDB and SQS: the sparse `streams` index query, the
 * one-key outbox check, and a wake only for active or failing streams with a backlog and no lease.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext, scheduledEvent, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
let handler: typeof import('#functions/stream-sweeper.ts').handler;

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('OUTBOX_TABLE', 'outbox-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('DELIVERY_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/stream-sweeper.ts'));
});

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('stream sweeper handler', () => {
  it('wakes each active or failing stream with a backlog and no live lease', async () => {
    ddb.on(QueryCommand, { TableName: 'control-test' }).resolves({
      Items: [
        { entity_stream: 'stream', id: 'str_a', tenant_id: TENANT, status: 'active' },
        {
          entity_stream: 'stream',
          id: 'str_leased',
          tenant_id: TENANT,
          status: 'active',
          lease_until: NOW + 5_000,
        },
        { entity_stream: 'stream', id: 'str_paused', tenant_id: TENANT, status: 'paused' },
        { entity_stream: 'stream', id: 'str_empty', tenant_id: TENANT, status: 'failing' },
        {
          entity_stream: 'stream',
          id: 'str_f',
          tenant_id: TENANT,
          status: 'failing',
          next_attempt_at: new Date(NOW + 9_500).toISOString(),
        },
      ],
    });
    // No tenants listed: no alert is checked (test/handlers/alerts.test.ts has those).
    ddb.on(QueryCommand, { TableName: 'control-test', IndexName: 'tenants' }).resolves({ Items: [] });
    ddb
      .on(QueryCommand, { TableName: 'outbox-test' })
      .callsFake((input) =>
        input.ExpressionAttributeValues[':dest'] === `${TENANT}#str_empty`
          ? { Items: [] }
          : { Items: [{ sk: 'x' }] },
      );

    const result = await handler(scheduledEvent(), lambdaContext);

    expect(result).toEqual({ woken: 2, fired: 0 });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'control-test',
      IndexName: 'streams',
      KeyConditionExpression: '#entity = :entity',
      ExpressionAttributeNames: { '#entity': 'entity_stream' },
      ExpressionAttributeValues: { ':entity': 'stream' },
    });
    expect(
      ddb
        .commandCalls(QueryCommand)
        .slice(1)
        .map((call) => call.args[0].input)
        .filter((input) => input.TableName === 'outbox-test'),
    ).toEqual(
      ['str_a', 'str_empty', 'str_f'].map((id) => ({
        TableName: 'outbox-test',
        KeyConditionExpression: 'dest = :dest',
        ExpressionAttributeValues: { ':dest': `${TENANT}#${id}` },
        ProjectionExpression: 'sk',
        Limit: 1,
      })),
    );
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify({ kind: 'wake', tenant_id: TENANT, stream_id: 'str_a' }),
      },
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify({ kind: 'wake', tenant_id: TENANT, stream_id: 'str_f' }),
        DelaySeconds: 10,
      },
    ]);
  });
});
