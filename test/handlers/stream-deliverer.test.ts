/**
 * The stream deliverer handler over mocked DynamoDB and SQS, posting to a real receiver on
 * 127.0.0.1 (the loopback exception on, as the local stack runs it): the exact lease, outbox and
 * state writes for a delivered batch, and the delayed wake after a failure.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureSecretBoxKeyFile, secretBoxFrom } from '#shared/adapters/secret-box.ts';
import { streamSecretContext } from '#shared/usecases/ports/streams.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { lambdaContext as baseContext, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
let handler: typeof import('#functions/stream-deliverer.ts').handler;
let receiver: TestReceiver;
let sealedSecret: string;

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const STREAM = 'str_01jd0000000000000000000000';

const event = (n: number) => ({
  id: `evt_${n}`,
  tenant_id: TENANT,
  action: 'auth.login',
  occurred_at: '2026-03-01T12:00:00.000Z',
  received_at: `2026-03-01T12:00:0${n}.000Z`,
  actor: { id: 'u1', type: 'user' },
  impersonated: false,
  expires_at: null,
  hash: 'ab'.repeat(32),
});

/** A full minute left, as the deliverer's timeout gives it (the shared context has 10 s). */
const lambdaContext = { ...baseContext, getRemainingTimeInMillis: () => 60_000 };

const message = (body: unknown): SQSEvent =>
  ({ Records: [{ messageId: 'm1', body: JSON.stringify(body), attributes: {} }] }) as unknown as SQSEvent;

beforeAll(async () => {
  receiver = await startReceiver();
  const keyFile = await ensureSecretBoxKeyFile(join(await mkdtemp(join(tmpdir(), 'tk-deliverer-')), 'key'));
  sealedSecret = await (await secretBoxFrom({ TRAILKEEPER_DESTINATION_KEY_FILE: keyFile })).seal(
    SECRET,
    streamSecretContext(TENANT, STREAM, 'webhook'),
  );
  vi.stubEnv('TRAILKEEPER_DESTINATION_KEY_FILE', keyFile);
  vi.stubEnv('TRAILKEEPER_ALLOW_HTTP_LOOPBACK', '1');
  vi.stubEnv('TRAILKEEPER_DELIVERY_BACKOFF_MS', '100');
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('OUTBOX_TABLE', 'outbox-test');
  vi.stubEnv('DELIVERY_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/stream-deliverer.ts'));
});

afterAll(async () => {
  await receiver.close();
});

let outbox: Array<{ sk: string; doc: string }>;

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm2' });
  ddb.on(GetCommand, { TableName: 'control-test' }).resolves({
    Item: {
      pk: `TENANT#${TENANT}`,
      sk: `STREAM#${STREAM}`,
      id: STREAM,
      tenant_id: TENANT,
      type: 'webhook',
      url: `${receiver.url}/hook`,
      filter: null,
      status: 'active',
      secret_sealed: sealedSecret,
    },
  });
  ddb.on(UpdateCommand).resolves({});
  outbox = [1, 2].map((n) => ({ sk: `${event(n).received_at}#evt_${n}`, doc: JSON.stringify(event(n)) }));
  ddb
    .on(QueryCommand, { TableName: 'outbox-test' })
    .callsFake(() => ({ Items: outbox.map((item) => ({ ...item })) }));
  ddb.on(BatchWriteCommand).callsFake((input) => {
    const deleted = new Set(
      (input.RequestItems['outbox-test'] as Array<{ DeleteRequest: { Key: { sk: string } } }>).map(
        (request) => request.DeleteRequest.Key.sk,
      ),
    );
    outbox = outbox.filter((item) => !deleted.has(item.sk));
    return {};
  });
});

describe('stream deliverer handler', () => {
  it('takes the lease, posts the batch signed, deletes it from the outbox and records the delivery', async () => {
    const before = receiver.requests.length;
    const result = await handler(
      message({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }),
      lambdaContext,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    const [request] = receiver.requests.slice(before);
    expect(JSON.parse(request?.body.toString('utf8') ?? '{}')).toEqual({
      type: 'audit_events',
      data: [event(1), event(2)],
    });
    expect(() =>
      new Webhook(SECRET).verify(
        request?.body.toString('utf8') ?? '',
        request?.headers as Record<string, string>,
      ),
    ).not.toThrow();

    const updates = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(updates[0]).toMatchObject({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: `STREAM#${STREAM}` },
      UpdateExpression: 'SET lease_until = :until',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until <= :now)',
    });
    expect(ddb.commandCalls(BatchWriteCommand)[0]?.args[0].input).toEqual({
      RequestItems: {
        'outbox-test': [1, 2].map((n) => ({
          DeleteRequest: { Key: { dest: `${TENANT}#${STREAM}`, sk: `${event(n).received_at}#evt_${n}` } },
        })),
      },
    });
    const recorded = updates.find((input) => input.ExpressionAttributeValues?.[':status'] === 'active');
    expect(recorded?.ConditionExpression).toBe('attribute_exists(pk) AND #status IN (:active, :failing)');
    expect(Object.values(recorded?.ExpressionAttributeNames ?? {})).toEqual(
      expect.arrayContaining(['last_delivered_at', 'attempts', 'lag_seconds', 'status']),
    );
    expect(updates.at(-1)).toMatchObject({
      UpdateExpression: 'REMOVE lease_until',
      ConditionExpression: 'lease_until = :held',
    });
    expect(sqs.commandCalls(SendMessageCommand)).toEqual([]);
  });

  it('after a 503 keeps the outbox, records the failure and sends a delayed wake instead of waiting', async () => {
    receiver.respond({ status: 503, body: 'try later' });
    const result = await handler(
      message({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }),
      lambdaContext,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(BatchWriteCommand)).toEqual([]);
    const failing = ddb
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.ExpressionAttributeValues?.[':status'] === 'failing');
    expect(Object.values(failing?.ExpressionAttributeValues ?? {})).toContain('HTTP 503: try later');
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }),
        DelaySeconds: 1,
      },
    ]);
  });

  it('wakes itself to continue, starting no batch, when too little time is left for one', async () => {
    const before = receiver.requests.length;
    await handler(message({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }), baseContext);
    expect(receiver.requests.length).toBe(before);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input.DelaySeconds)).toEqual([
      undefined,
    ]);
  });

  it('reports the message as failed when the store fails, and drops a malformed one', async () => {
    ddb.on(GetCommand, { TableName: 'control-test' }).rejects(new Error('InternalServerError'));
    const failed = await handler(
      message({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }),
      lambdaContext,
    );
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });

    const dropped = await handler(message({ kind: 'shout' }), lambdaContext);
    expect(dropped).toEqual({ batchItemFailures: [] });
  });
});
