import { randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem } from '#shared/adapters/event-store.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const sqs = mockClient(SQSClient);
let handler: typeof import('#functions/streams.ts').handler;

const KEY = 'alias/trailkeeper-destinations';
const QUEUE_URL = 'http://sqs.test/000000000000/trailkeeper-deliveries';
const STREAM = 'str_01jda3k4m5n6p7q8r9s0t1v2w3';
const admin = keyContext('admin');
const tenantItem = {
  pk: `TENANT#${TENANT}`,
  sk: 'TENANT',
  id: TENANT,
  name: 'Acme',
  plan: 'pro',
  custom_retention_days: null,
  shards: 1,
  created_at: 'c',
  updated_at: 'u',
};

const person = (role: string, permissions: string): AuthorizerContext => ({
  kind: 'person',
  tenantId: TENANT,
  userId: `user_${role}`,
  role,
  teams: '',
  permissions,
  sessionId: 'ses_1',
  via: 'session',
  retentionDays: 90,
  shards: 1,
});

/** KMS as the service behaves: an opaque blob per Encrypt, opened only with the same context. */
const fakeKms = () => {
  const blobs = new Map<string, { plaintext: Uint8Array; context: Record<string, string> }>();
  kms.on(EncryptCommand).callsFake((input) => {
    const blob = randomBytes(48);
    blobs.set(blob.toString('hex'), {
      plaintext: Uint8Array.from(input.Plaintext),
      context: { ...input.EncryptionContext },
    });
    return { CiphertextBlob: blob, KeyId: KEY };
  });
  kms.on(DecryptCommand).callsFake((input) => {
    const stored = blobs.get(Buffer.from(input.CiphertextBlob).toString('hex'));
    if (stored === undefined || JSON.stringify(stored.context) !== JSON.stringify(input.EncryptionContext))
      throw Object.assign(new Error('invalid'), { name: 'InvalidCiphertextException' });
    return { Plaintext: stored.plaintext, KeyId: KEY };
  });
};

/** Stream items as the control table holds them (`put` them with `ddb.on(GetCommand, …)`). */
const streamItem = (overrides: Record<string, unknown> = {}) => ({
  pk: `TENANT#${TENANT}`,
  sk: `STREAM#${STREAM}`,
  entity_stream: 'stream',
  id: STREAM,
  tenant_id: TENANT,
  name: 'SIEM',
  type: 'webhook',
  url: 'https://siem.example.com/hook',
  filter: null,
  status: 'active',
  created_at: '2026-11-18T09:00:00.000Z',
  updated_at: '2026-11-18T09:00:00.000Z',
  secret_sealed: 'kms1:AAAA',
  last_delivered_at: null,
  last_error: null,
  lag_seconds: null,
  ...overrides,
});

const onStream = (item: Record<string, unknown> | undefined) =>
  ddb
    .on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `STREAM#${STREAM}` } })
    .resolves(item === undefined ? {} : { Item: item });

const onTenant = () =>
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });

/** The events written into the tenant's trail (the registry's own puts left out). */
const trailEvents = () =>
  ddb
    .commandCalls(PutCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.TableName === 'events-test')
    .map((input) => fromItem(input.Item ?? {}));

const sentMessages = () =>
  sqs.commandCalls(SendMessageCommand).map((call) => JSON.parse(call.args[0].input.MessageBody ?? ''));

const call = (routeKey: Parameters<typeof apiEvent>[0], options: Parameters<typeof apiEvent>[1] = {}) =>
  handler(apiEvent(routeKey, { auth: admin, ...options }), lambdaContext);

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('DELIVERY_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('TRAILKEEPER_DESTINATION_KEY_ID', KEY);
  vi.stubEnv('TRAILKEEPER_ALLOW_HTTP_LOOPBACK', '1');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/streams.ts'));
});

afterEach(() => {
  ddb.reset();
  kms.reset();
  sqs.reset();
});

afterAll(() => vi.unstubAllEnvs());

describe('streams handler', () => {
  it('creates a webhook stream: its trail event first, then the item with the secret sealed under its context', async () => {
    fakeKms();
    onTenant();
    ddb.on(PutCommand).resolves({});
    const result = await call('POST /v1/streams', {
      body: {
        name: 'SIEM',
        type: 'webhook',
        url: 'https://siem.example.com/hook',
        filter: { action: 'member.*' },
      },
    });

    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toMatchObject({
      id: expect.stringMatching(/^str_[0-9a-z]{26}$/),
      status: 'active',
      filter: { action: 'member.*' },
      last_delivered_at: null,
      lag_seconds: null,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(body).not.toHaveProperty('secret_sealed');

    expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input).toEqual({
      KeyId: KEY,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      Plaintext: Buffer.from(body.secret, 'utf8'),
      EncryptionContext: { tenant_id: TENANT, destination_id: body.id, purpose: 'webhook_signing_secret' },
    });
    const puts = ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((input) => !String(input.Item?.pk).startsWith('ACTIONS#'));
    expect(puts.map((input) => input.TableName)).toEqual(['events-test', 'control-test']);
    expect(puts[1]).toEqual({
      TableName: 'control-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: expect.objectContaining({
        pk: `TENANT#${TENANT}`,
        sk: `STREAM#${body.id}`,
        entity_stream: 'stream',
        id: body.id,
        filter: { action: ['member.*'] },
        secret_sealed: expect.stringMatching(/^kms1:/),
      }),
    });
    expect(JSON.stringify(puts[1]?.Item)).not.toContain(body.secret);
    expect(trailEvents()).toEqual([
      expect.objectContaining({
        id: `tk_admin-stream-created-${body.id}`,
        action: 'trailkeeper.stream.created',
        actor: { id: admin.keyId, type: 'api_key', name: 'ci' },
        target: { type: 'stream', id: body.id, name: 'SIEM' },
      }),
    ]);
    expect(JSON.stringify(trailEvents())).not.toContain(body.secret);
  });

  it('seals a Splunk token with its own purpose and never shows it', async () => {
    fakeKms();
    onTenant();
    ddb.on(PutCommand).resolves({});
    const result = await call('POST /v1/streams', {
      body: {
        name: 'Splunk',
        type: 'splunk_hec',
        url: 'https://splunk.example.com:8088/x',
        token: 'hec-token-1',
      },
    });
    expect(result.statusCode).toBe(201);
    expect(result.body).not.toContain('hec-token-1');
    expect(parse(result)).not.toHaveProperty('secret');
    expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input.EncryptionContext).toMatchObject({
      purpose: 'splunk_hec_token',
    });
  });

  it.each([
    [{ name: 'x', type: 'syslog', url: 'https://siem.example.com/' }, 'type'],
    [{ name: 'x', type: 'webhook', url: 'http://siem.example.com/' }, 'url'],
    [{ name: 'x', type: 'webhook', url: 'https://10.0.0.7/hook' }, 'url'],
    [{ name: 'x', type: 'webhook', url: 'https://169.254.169.254/latest' }, 'url'],
    [
      {
        name: 'x',
        type: 'webhook',
        url: 'https://siem.example.com/',
        filter: { action: 'a.b,'.repeat(600) },
      },
      'filter.action',
    ],
    [{ name: 'x', type: 'datadog', url: 'https://http-intake.logs.datadoghq.com/api/v2/logs' }, 'token'],
  ])('refuses %j naming %s, storing nothing', async (body, field) => {
    const result = await call('POST /v1/streams', { body });
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
  });

  it('shows a stream without its sealed secret, and another tenant’s (or an unknown) id as 404', async () => {
    onStream(streamItem());
    const shown = await call('GET /v1/streams/{id}', { params: { id: STREAM } });
    expect(shown.statusCode).toBe(200);
    expect(parse(shown)).toEqual({
      id: STREAM,
      name: 'SIEM',
      type: 'webhook',
      url: 'https://siem.example.com/hook',
      filter: null,
      status: 'active',
      created_at: '2026-11-18T09:00:00.000Z',
      updated_at: '2026-11-18T09:00:00.000Z',
      last_delivered_at: null,
      last_error: null,
      lag_seconds: null,
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: `STREAM#${STREAM}` },
      ConsistentRead: true,
    });

    ddb.reset();
    ddb.on(GetCommand).resolves({});
    const foreign = await call('GET /v1/streams/{id}', {
      params: { id: STREAM },
      auth: keyContext('admin', { tenantId: 'tnt_01jdffffffffffffffffffffff' }),
    });
    expect(foreign.statusCode).toBe(404);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({
      pk: 'TENANT#tnt_01jdffffffffffffffffffffff',
      sk: `STREAM#${STREAM}`,
    });
    const malformed = await call('GET /v1/streams/{id}', { params: { id: 'not-a-stream' } });
    expect(malformed.statusCode).toBe(404);
  });

  it('lists the tenant’s streams with one query of its partition', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        streamItem({
          status: 'disabled',
          disabled_at: '2026-11-18T10:00:00.000Z',
          disabled_reason: 'the receiver answered 410 Gone',
        }),
      ],
    });
    const result = await call('GET /v1/streams');
    expect(result.statusCode).toBe(200);
    expect(parse(result).data[0]).toMatchObject({
      status: 'disabled',
      disabled_at: '2026-11-18T10:00:00.000Z',
      disabled_reason: 'the receiver answered 410 Gone',
    });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: 'control-test',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `TENANT#${TENANT}`, ':prefix': 'STREAM#' },
      ConsistentRead: true,
    });
  });

  it('admits admin keys and owner/admin people who may export; refuses the others', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const status = async (auth: AuthorizerContext) => {
      const result = await call('GET /v1/streams', { auth });
      return [result.statusCode, parse(result).type];
    };
    expect(await status(admin)).toEqual([200, undefined]);
    expect(await status(person('owner', 'view export'))).toEqual([200, undefined]);
    expect(await status(person('admin', 'view export'))).toEqual([200, undefined]);
    expect(await status(person('owner', 'view'))).toEqual([403, '/problems/role-not-permitted']);
    expect(await status(person('auditor', 'view export'))).toEqual([403, '/problems/forbidden']);
    expect(await status(person('team_admin', 'view export'))).toEqual([403, '/problems/forbidden']);
    expect(await status(keyContext('events:read exports:write'))).toEqual([403, '/problems/forbidden']);
    expect(await status({ kind: 'operator' })).toEqual([403, '/problems/forbidden']);
    expect(await status({ kind: 'anonymous' } as AuthorizerContext)).toEqual([401, '/problems/unauthorized']);
  });

  it('pauses with an update of the named fields only, and resumes with a wake', async () => {
    onTenant();
    onStream(streamItem());
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem({ status: 'paused' }) });
    const paused = await call('PATCH /v1/streams/{id}', {
      params: { id: STREAM },
      body: { status: 'paused' },
    });
    expect(paused.statusCode).toBe(200);
    expect(parse(paused).status).toBe('paused');
    // The first update besides the kind registry's (the trail event's kind).
    const update = ddb
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .find((input) => !String(input.Key?.pk).startsWith('KINDS#'));
    expect(update).toMatchObject({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: `STREAM#${STREAM}` },
      UpdateExpression: 'SET #s0 = :s0, #s1 = :s1',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#s0': 'status', '#s1': 'updated_at' },
      ExpressionAttributeValues: { ':s0': 'paused', ':s1': expect.any(String) },
      ReturnValues: 'ALL_NEW',
    });
    expect(trailEvents()[0]).toMatchObject({
      action: 'trailkeeper.stream.updated',
      metadata: { from: { status: 'active' }, to: { status: 'paused' } },
    });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);

    ddb.reset();
    onTenant();
    onStream(streamItem({ status: 'paused', attempts: 4, failing_since: '2026-11-18T09:30:00.000Z' }));
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem() });
    sqs.on(SendMessageCommand).resolves({});
    const resumed = await call('PATCH /v1/streams/{id}', {
      params: { id: STREAM },
      body: { status: 'active' },
    });
    expect(resumed.statusCode).toBe(200);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':s0': 'active',
      ':s1': 0,
      ':s2': null,
    });
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: JSON.stringify({ kind: 'wake', tenant_id: TENANT, stream_id: STREAM }),
    });
  });

  it('replaces a Splunk token sealed, saying so in the trail without it; a webhook takes no token', async () => {
    fakeKms();
    onTenant();
    onStream(streamItem({ type: 'splunk_hec', secret_sealed: undefined, token_sealed: 'kms1:AAAA' }));
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem({ type: 'splunk_hec' }) });
    const changed = await call('PATCH /v1/streams/{id}', {
      params: { id: STREAM },
      body: { token: 'hec-token-2' },
    });
    expect(changed.statusCode).toBe(200);
    expect(kms.commandCalls(EncryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({
      tenant_id: TENANT,
      destination_id: STREAM,
      purpose: 'splunk_hec_token',
    });
    expect(trailEvents()[0]?.metadata).toEqual({ from: {}, to: {}, replaced: ['token'] });
    expect(JSON.stringify(ddb.calls().map((c) => c.args[0].input))).not.toContain('hec-token-2');

    ddb.reset();
    onStream(streamItem());
    const refused = await call('PATCH /v1/streams/{id}', { params: { id: STREAM }, body: { token: 'x' } });
    expect(refused.statusCode).toBe(400);
    expect(parse(refused).errors).toEqual([{ field: 'token', message: expect.stringContaining('webhook') }]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('resumes a disabled stream from now, saying in the trail since when it had stopped', async () => {
    onTenant();
    onStream(
      streamItem({ status: 'disabled', disabled_at: '2026-11-18T10:00:00.000Z', disabled_reason: 'gone' }),
    );
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem() });
    sqs.on(SendMessageCommand).resolves({});
    const resumed = await call('PATCH /v1/streams/{id}', {
      params: { id: STREAM },
      body: { status: 'active' },
    });
    expect(resumed.statusCode).toBe(200);
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    const set = Object.fromEntries(
      Object.entries(update?.ExpressionAttributeNames ?? {}).map(([alias, field]) => [
        field,
        update?.ExpressionAttributeValues?.[alias.replace('#', ':')],
      ]),
    );
    expect(set).toMatchObject({ status: 'active', disabled_at: null, disabled_reason: null, attempts: 0 });
    expect(set.deliver_from).toBe(set.updated_at);
    expect(trailEvents()[0]?.metadata).toMatchObject({
      resumed_from_disabled: { disabled_at: '2026-11-18T10:00:00.000Z', delivers_from: set.deliver_from },
    });
  });

  it('pausing a disabled stream also leaves disabled: it delivers from then on, once resumed', async () => {
    onTenant();
    onStream(
      streamItem({ status: 'disabled', disabled_at: '2026-11-18T10:00:00.000Z', disabled_reason: 'gone' }),
    );
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem({ status: 'paused' }) });
    const paused = await call('PATCH /v1/streams/{id}', {
      params: { id: STREAM },
      body: { status: 'paused' },
    });
    expect(paused.statusCode).toBe(200);
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    const fields = Object.values(update?.ExpressionAttributeNames ?? {});
    expect(fields).toEqual(['status', 'disabled_at', 'disabled_reason', 'deliver_from', 'updated_at']);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('replays a window within the hot retention with a replay message; an older one is a 400 naming from', async () => {
    onTenant();
    onStream(streamItem());
    ddb.on(PutCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date().toISOString();
    const accepted = await call('POST /v1/streams/{id}/replay', {
      params: { id: STREAM },
      body: { from, to },
    });
    expect(accepted.statusCode).toBe(202);
    expect(sentMessages()).toEqual([{ kind: 'replay', tenant_id: TENANT, stream_id: STREAM, from, to }]);
    expect(trailEvents()[0]).toMatchObject({
      action: 'trailkeeper.stream.updated',
      metadata: { replay: { from, to } },
    });

    sqs.reset();
    const tooOld = await call('POST /v1/streams/{id}/replay', {
      params: { id: STREAM },
      body: { from: new Date(Date.now() - 91 * 86_400_000).toISOString(), to },
    });
    expect(tooOld.statusCode).toBe(400);
    expect(parse(tooOld).errors).toEqual([{ field: 'from', message: expect.stringContaining('90 days') }]);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('rotates a webhook secret, keeping the previous one sealed for 24 h', async () => {
    fakeKms();
    onTenant();
    onStream(streamItem({ secret_sealed: 'kms1:T0xE' }));
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: streamItem() });
    const rotated = await call('POST /v1/streams/{id}/rotate-secret', { params: { id: STREAM } });
    expect(rotated.statusCode).toBe(201);
    const body = parse(rotated);
    expect(body.secret).toMatch(/^whsec_/);
    expect(Date.parse(body.previous_secret_valid_until) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    const values = ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues ?? {};
    expect(Object.values(values)).toEqual(
      expect.arrayContaining([
        'kms1:T0xE',
        body.previous_secret_valid_until,
        expect.stringMatching(/^kms1:/),
      ]),
    );
    expect(trailEvents()[0]).toMatchObject({
      action: 'trailkeeper.stream.updated',
      metadata: { rotated: { previous_valid_until: body.previous_secret_valid_until } },
    });
  });

  it('deletes: the event first (idempotent id), then the item', async () => {
    onTenant();
    onStream(streamItem());
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({ Attributes: streamItem() });
    const deleted = await call('DELETE /v1/streams/{id}', { params: { id: STREAM } });
    expect(deleted.statusCode).toBe(204);
    expect(trailEvents()[0]).toMatchObject({
      id: `tk_admin-stream-deleted-${STREAM}`,
      action: 'trailkeeper.stream.deleted',
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: `STREAM#${STREAM}` },
      ReturnValues: 'ALL_OLD',
    });
  });

  describe('test delivery', () => {
    let receiver: TestReceiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(() => receiver.close());

    it('posts one signed test event straight to the receiver, verifiable with standardwebhooks', async () => {
      fakeKms();
      const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/nJyprpN9mQ=';
      const { CiphertextBlob } = await new KMSClient({}).send(
        new EncryptCommand({
          KeyId: KEY,
          Plaintext: Buffer.from(secret),
          EncryptionContext: { tenant_id: TENANT, destination_id: STREAM, purpose: 'webhook_signing_secret' },
        }),
      );
      onStream(
        streamItem({
          url: `${receiver.url}/hook`,
          secret_sealed: `kms1:${Buffer.from(CiphertextBlob ?? []).toString('base64')}`,
        }),
      );
      receiver.respond({ status: 204 });

      const result = await call('POST /v1/streams/{id}/test', { params: { id: STREAM } });
      expect(result.statusCode).toBe(200);
      expect(parse(result)).toEqual({ receiver_status: 204, error: null });
      const [request] = await receiver.waitForRequests(1);
      const payload = new Webhook(secret).verify(
        request?.body.toString('utf8') ?? '',
        request?.headers as Record<string, string>,
      ) as {
        type: string;
        data: { action: string; target: unknown }[];
      };
      expect(payload.type).toBe('audit_events');
      expect(payload.data).toHaveLength(1);
      expect(payload.data[0]).toMatchObject({
        action: 'trailkeeper.stream.test',
        target: { type: 'stream', id: STREAM },
      });
      // Nothing stored, nothing queued.
      expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
      expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    });

    it('answers a receiver error and a refused address as the receiver’s, not as a failure of the API', async () => {
      fakeKms();
      const { CiphertextBlob } = await new KMSClient({}).send(
        new EncryptCommand({
          KeyId: KEY,
          Plaintext: Buffer.from('token-1'),
          EncryptionContext: { tenant_id: TENANT, destination_id: STREAM, purpose: 'datadog_api_key' },
        }),
      );
      const sealed = `kms1:${Buffer.from(CiphertextBlob ?? []).toString('base64')}`;
      onStream(
        streamItem({
          type: 'datadog',
          url: `${receiver.url}/logs`,
          secret_sealed: undefined,
          token_sealed: sealed,
        }),
      );
      receiver.respond({ status: 403, body: 'bad key' });
      const rejected = await call('POST /v1/streams/{id}/test', { params: { id: STREAM } });
      expect(parse(rejected)).toEqual({ receiver_status: 403, error: 'the receiver answered 403: bad key' });
      const requests = await receiver.waitForRequests(2);
      expect(requests[1]?.headers['dd-api-key']).toBe('token-1');

      ddb.reset();
      onStream(
        streamItem({
          type: 'datadog',
          url: 'https://169.254.169.254/latest',
          secret_sealed: undefined,
          token_sealed: sealed,
        }),
      );
      const refused = await call('POST /v1/streams/{id}/test', { params: { id: STREAM } });
      expect(refused.statusCode).toBe(200);
      expect(parse(refused)).toEqual({
        receiver_status: null,
        error: expect.stringMatching(/^invalid-url|^refused-address/),
      });
    });
  });
});
