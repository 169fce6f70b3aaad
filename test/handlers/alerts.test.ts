/**
 * The alerts handler and the router's alert evaluation over mocked DynamoDB, KMS and SQS: the
 * exact commands — secrets sealed under their own contexts (never stored or shown in clear), the
 * trail event written before the item, an email outside the tenant's domains refused before any
 * write; and on a matching event the router's fresh read, its trail event, one notification
 * message per target and the state write conditional on the version it read — once per cooldown.
 */
import { randomBytes } from 'node:crypto';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem, toItem } from '#shared/adapters/event-store.ts';
import { initialAlertState } from '#shared/domain/alert-rules.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const sqs = mockClient(SQSClient);
let alerts: typeof import('#functions/alerts.ts').handler;
let router: typeof import('#functions/stream-router.ts').handler;

const KEY = 'alias/trailkeeper-destinations';
const QUEUE_URL = 'http://sqs.test/000000000000/trailkeeper-deliveries';
const ALERT = 'alr_01jda3k4m5n6p7q8r9s0t1v2w3';
const NOW = Date.parse('2026-11-18T12:00:00.000Z');
const admin = keyContext('admin');
const tenantItem = {
  pk: `TENANT#${TENANT}`,
  sk: 'TENANT',
  id: TENANT,
  name: 'Acme',
  plan: 'pro',
  custom_retention_days: null,
  shards: 1,
  email_domains: ['example.com'],
  created_at: 'c',
  updated_at: 'u',
};

const onTenant = () =>
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });

const trailEvents = () =>
  ddb
    .commandCalls(PutCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.TableName === 'events-test')
    .map((input) => fromItem(input.Item ?? {}));

const sentMessages = () =>
  sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(c.args[0].input.MessageBody ?? ''));

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('OUTBOX_TABLE', 'outbox-test');
  vi.stubEnv('DELIVERY_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('TRAILKEEPER_DESTINATION_KEY_ID', KEY);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler: alerts } = await import('#functions/alerts.ts'));
  ({ handler: router } = await import('#functions/stream-router.ts'));
});

afterEach(() => {
  ddb.reset();
  kms.reset();
  sqs.reset();
  vi.useRealTimers();
});

afterAll(() => vi.unstubAllEnvs());

describe('alerts handler', () => {
  it('creates an alert: Slack URL and webhook secret sealed under their contexts, trail event first', async () => {
    kms.on(EncryptCommand).callsFake(() => ({ CiphertextBlob: randomBytes(48), KeyId: KEY }));
    onTenant();
    ddb.on(PutCommand).resolves({});
    const slackUrl = 'https://hooks.slack.com/services/T1/B1/very-secret';

    const result = await alerts(
      apiEvent('POST /v1/alerts', {
        auth: admin,
        body: {
          name: 'Unlisted key creation',
          match: { action: 'api_key.created', actor_id_not: ['user_alice'] },
          notify: [
            { slack_url: slackUrl },
            { webhook_url: 'https://siem.example.com/a' },
            { email: 'sec@example.com' },
          ],
        },
      }),
      lambdaContext,
    );

    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toMatchObject({
      id: expect.stringMatching(/^alr_[0-9a-z]{26}$/),
      notify: [
        { slack_url: 'https://hooks.slack.com/…' },
        { webhook_url: 'https://siem.example.com/a' },
        { email: 'sec@example.com' },
      ],
      cooldown_minutes: 5,
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(kms.commandCalls(EncryptCommand).map((c) => c.args[0].input)).toEqual([
      {
        KeyId: KEY,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        Plaintext: Buffer.from(slackUrl, 'utf8'),
        EncryptionContext: { tenant_id: TENANT, destination_id: body.id, purpose: 'slack_webhook_url' },
      },
      {
        KeyId: KEY,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        Plaintext: Buffer.from(body.secret, 'utf8'),
        EncryptionContext: { tenant_id: TENANT, destination_id: body.id, purpose: 'alert_webhook_secret' },
      },
    ]);
    const puts = ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((input) => !String(input.Item?.pk).startsWith('ACTIONS#'));
    expect(puts.map((input) => input.TableName)).toEqual(['events-test', 'control-test']);
    expect(puts[1]).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: `TENANT#${TENANT}`, sk: `ALERT#${body.id}`, state_version: 0 },
    });
    expect(JSON.stringify(puts)).not.toContain('very-secret');
    expect(JSON.stringify(puts)).not.toContain(body.secret);
    expect(trailEvents()).toEqual([
      expect.objectContaining({
        id: `tk_admin-alert-created-${body.id}`,
        action: 'trailkeeper.alert.created',
        target: { type: 'alert', id: body.id, name: 'Unlisted key creation' },
      }),
    ]);
  });

  it('refuses an email outside the tenant’s domains, naming it, before any write', async () => {
    onTenant();
    const result = await alerts(
      apiEvent('POST /v1/alerts', {
        auth: admin,
        body: { name: 'x', match: { action: 'a.b' }, notify: [{ email: 'x@elsewhere.org' }] },
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors.map((e: { field: string }) => e.field)).toEqual(['notify[0].email']);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
  });
});

const stored = (id: string, action: string, actor: string): StoredEvent => {
  const built = buildStoredEvent(
    { id, action, actor: { id: actor, type: 'user' } },
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

describe('stream router: alert evaluation', () => {
  const alertItem = {
    pk: `TENANT#${TENANT}`,
    sk: `ALERT#${ALERT}`,
    id: ALERT,
    tenant_id: TENANT,
    name: 'Unlisted key creation',
    rule: { match: { action: ['api_key.created'], actor_id_not: ['user_alice'] }, cooldown_minutes: 5 },
    notify: [{ webhook_url: 'https://siem.example.com/a' }, { email: 'sec@example.com' }],
    created_at: 'c',
    updated_at: 'u',
    state: initialAlertState(NOW - 60_000),
    state_version: 3,
  };

  it('fires once for an unlisted actor (trail, one message per target, conditional state write), holds the next back, ignores a listed actor', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    ddb
      .on(QueryCommand, { TableName: 'control-test', ExpressionAttributeValues: { ':prefix': 'STREAM#' } })
      .resolves({ Items: [] });
    ddb
      .on(QueryCommand, { TableName: 'control-test', ExpressionAttributeValues: { ':prefix': 'ALERT#' } })
      .resolves({ Items: [alertItem] });
    onTenant();
    ddb
      .on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `ALERT#${ALERT}` } })
      .resolves({ Item: alertItem });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });

    const result = await router(
      {
        Records: [
          insert(stored('e1', 'api_key.created', 'user_alice')),
          insert(stored('e2', 'api_key.created', 'user_mallory')),
          insert(stored('e3', 'api_key.created', 'user_eve')),
          insert(stored('e4', 'trailkeeper.alert.triggered', 'user_mallory')),
        ],
      } as DynamoDBStreamEvent,
      lambdaContext,
    );

    expect(result).toEqual({ batchItemFailures: [] });
    const fireId = `${ALERT}-3-0`;
    expect(trailEvents()).toEqual([
      expect.objectContaining({
        id: `tk_admin-alert-triggered-${fireId}`,
        action: 'trailkeeper.alert.triggered',
        actor: { id: 'trailkeeper-alerts', type: 'system', name: 'Trailkeeper alerts' },
        metadata: expect.objectContaining({ event_ids: ['e2'], suppressed: 0, kind: 'match' }),
      }),
    ]);
    const fire = { kind: 'match', events: ['e2'], suppressed: 0 };
    const firedAt = new Date(NOW).toISOString();
    expect(sentMessages()).toEqual([
      {
        kind: 'alert',
        tenant_id: TENANT,
        alert_id: ALERT,
        target: 0,
        fire_id: fireId,
        fired_at: firedAt,
        fire,
        attempt: 0,
      },
      {
        kind: 'alert',
        tenant_id: TENANT,
        alert_id: ALERT,
        target: 1,
        fire_id: fireId,
        fired_at: firedAt,
        fire,
        attempt: 0,
      },
    ]);
    // Besides the kind registry's (the trail event's kind, before the event is stored).
    const updates = ddb
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .filter((input) => !String(input.Key?.pk).startsWith('KINDS#'));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: `ALERT#${ALERT}` },
      ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
      ExpressionAttributeValues: {
        ':expected': 3,
        ':next': 4,
        ':fired': firedAt,
        ':state': expect.objectContaining({ suppressed: 1, last_fired_at: firedAt }),
      },
    });
  });
});
