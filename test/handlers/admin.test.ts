import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromItem } from '#shared/adapters/event-store.ts';
import { eventItemKey } from '#shared/domain/keys.ts';
import { hashToken } from '#shared/domain/tenant.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/admin.ts').handler;
const operator = { kind: 'operator' as const };
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

type KeyedInput = { Item?: { pk?: unknown }; Key?: { pk?: unknown } };

/** The partition a call reads or writes. */
const partitionOf = (call: { args: readonly unknown[] }): string => {
  const { input } = call.args[0] as { input: KeyedInput };
  return String(input.Key?.pk ?? input.Item?.pk ?? '');
};

/**
 * The calls sent, without the action and kind registries' (each registers a new entry once per
 * container).
 */
const tableCalls = () => ddb.calls().filter((call) => !/^(ACTIONS|KINDS)#/.test(partitionOf(call)));

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/admin.ts'));
});

afterEach(() => ddb.reset());

describe('tenant and key admin handler', () => {
  it('creates a tenant with a conditional put (operator only)', async () => {
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('POST /v1/tenants', { body: { name: 'Acme', plan: 'business' }, auth: operator }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    expect(parse(result)).toMatchObject({
      name: 'Acme',
      plan: 'business',
      retention_days: 365,
      id: expect.stringMatching(/^tnt_/),
    });
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      TableName: 'control-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { sk: 'TENANT', name: 'Acme' },
    });

    const denied = await handler(
      apiEvent('POST /v1/tenants', { body: { name: 'X' }, auth: keyContext('admin') }),
      lambdaContext,
    );
    expect(denied.statusCode).toBe(403);
  });

  it('creates a key: its trail event by conditional put first, then the key, storing only its hash', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('POST /v1/tenants/{tenant_id}/keys', {
        params: { tenant_id: TENANT },
        body: { name: 'ci', scopes: ['events:read'] },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body.key).toMatch(new RegExp(`^tk\\.${TENANT}\\.key_`));

    // Exactly: read the tenant, append the event (registering its action), store the key.
    expect(
      ddb
        .commandCalls(PutCommand)
        .some(
          (call) =>
            call.args[0].input.Item?.pk === `ACTIONS#${TENANT}` &&
            call.args[0].input.Item?.sk === 'ACTION#trailkeeper.api_key.created',
        ),
    ).toBe(true);
    // The event's kind is registered before the event is stored.
    const order = ddb.calls().map(partitionOf);
    const kindAt = order.indexOf(`KINDS#${TENANT}`);
    expect(kindAt).toBeGreaterThan(-1);
    expect(kindAt).toBeLessThan(order.findIndex((pk) => pk.startsWith(`${TENANT}#`)));
    const sent = tableCalls().map((call) => call.args[0]);
    expect(
      sent.map((command) => [command.constructor.name, (command.input as { TableName?: string }).TableName]),
    ).toEqual([
      ['GetCommand', 'control-test'],
      ['PutCommand', 'events-test'],
      ['PutCommand', 'control-test'],
    ]);
    const [eventPut, keyPut] = sent
      .filter((command) => command instanceof PutCommand)
      .map((command) => command.input as PutCommand['input']);
    expect(eventPut).toMatchObject({
      TableName: 'events-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: eventItemKey(TENANT, `tk_admin-key-created-${body.id}`),
    });
    expect(fromItem(eventPut?.Item ?? {})).toMatchObject({
      id: `tk_admin-key-created-${body.id}`,
      tenant_id: TENANT,
      action: 'trailkeeper.api_key.created',
      actor: { id: 'operator', type: 'system' },
      target: { type: 'api_key', id: body.id, name: 'ci' },
      metadata: { scopes: ['events:read'] },
    });
    expect(keyPut).toMatchObject({
      TableName: 'control-test',
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(keyPut?.Item?.secret_hash).toBe(hashToken(body.key));
    expect(JSON.stringify(keyPut)).not.toContain(body.key);
    expect(JSON.stringify(fromItem(eventPut?.Item ?? {}))).not.toContain(body.key.split('.').at(-1));
  });

  it('answers 503 and stores no key when the trail event cannot be written', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb
      .on(PutCommand, { TableName: 'events-test' })
      .rejects(Object.assign(new Error('unavailable'), { name: 'InternalServerError' }));
    const result = await handler(
      apiEvent('POST /v1/tenants/{tenant_id}/keys', {
        params: { tenant_id: TENANT },
        body: { name: 'ci', scopes: ['events:read'] },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('1');
    expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input.TableName)).toEqual(['events-test']);
  });

  it('lists keys without their secrets', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(QueryCommand).resolves({
      Items: [
        {
          pk: 'p',
          sk: 's',
          id: 'key_1',
          tenant_id: TENANT,
          name: 'ci',
          scopes: [],
          secret_hash: 'h',
          created_at: 'c',
        },
      ],
    });
    const result = await handler(
      apiEvent('GET /v1/tenants/{tenant_id}/keys', {
        params: { tenant_id: TENANT },
        auth: keyContext('admin'),
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result).data).toEqual([
      { id: 'key_1', tenant_id: TENANT, name: 'ci', scopes: [], created_at: 'c', revoked_at: null },
    ]);
  });

  it('answers 404, not 403, for another tenant, and 403 for a key without admin', async () => {
    const other = await handler(
      apiEvent('GET /v1/tenants/{tenant_id}/keys', {
        params: { tenant_id: 'tnt_01jd0000000000000000000009' },
        auth: keyContext('admin'),
      }),
      lambdaContext,
    );
    expect(other.statusCode).toBe(404);
    const noAdmin = await handler(
      apiEvent('GET /v1/tenants/{tenant_id}/keys', {
        params: { tenant_id: TENANT },
        auth: keyContext('events:read'),
      }),
      lambdaContext,
    );
    expect(noAdmin.statusCode).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('revokes a key with a conditional update that keeps the first revocation time, then appends its event', async () => {
    const keyId = 'key_01jd0000000000000000000001';
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${keyId}` } }).resolves({
      Item: {
        pk: 'p',
        sk: 's',
        id: keyId,
        tenant_id: TENANT,
        name: 'ci',
        scopes: [],
        secret_hash: 'h',
        created_at: 'c',
      },
    });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('DELETE /v1/tenants/{tenant_id}/keys/{key_id}', {
        params: { tenant_id: TENANT, key_id: keyId },
        auth: keyContext('admin'),
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(204);
    expect(tableCalls().map((call) => call.args[0].constructor.name)).toEqual([
      'GetCommand',
      'GetCommand',
      'UpdateCommand',
      'PutCommand',
    ]);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${keyId}` },
      UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :at)',
      ConditionExpression: 'attribute_exists(pk)',
    });
    const eventPut = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(eventPut).toMatchObject({
      TableName: 'events-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      // Derived from the key: a repeated revocation writes no second event.
      Item: eventItemKey(TENANT, `tk_admin-key-revoked-${keyId}`),
    });
    expect(fromItem(eventPut?.Item ?? {})).toMatchObject({
      action: 'trailkeeper.api_key.revoked',
      actor: { id: 'key_01jd0000000000000000000000', type: 'api_key', name: 'ci' },
      target: { type: 'api_key', id: keyId, name: 'ci' },
    });
  });

  it("refuses to shrink a tenant's shard count", async () => {
    ddb.on(GetCommand).resolves({ Item: { ...tenantItem, shards: 4 } });
    const result = await handler(
      apiEvent('PATCH /v1/tenants/{tenant_id}', {
        params: { tenant_id: TENANT },
        body: { shards: 2 },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors[0].field).toBe('shards');
  });

  it('starts a retention job with the plan change, in the same conditional update', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(UpdateCommand).callsFake((input) => ({
      Attributes: {
        ...tenantItem,
        ...Object.fromEntries(
          Object.entries(input.ExpressionAttributeNames).map(([alias, name]) => [
            name,
            input.ExpressionAttributeValues[`:v${alias.slice(2)}`],
          ]),
        ),
      },
    }));
    const result = await handler(
      apiEvent('PATCH /v1/tenants/{tenant_id}', {
        params: { tenant_id: TENANT },
        body: { plan: 'business' },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toMatchObject({
      plan: 'business',
      retention_days: 365,
      retention_job: { status: 'pending', retention_days: 365, events_done: 0, events_retimed: 0 },
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
    const update = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(update).toMatchObject({
      TableName: 'control-test',
      Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' },
      ConditionExpression: 'attribute_exists(pk) AND updated_at = :expected',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(update?.ExpressionAttributeValues?.[':expected']).toBe('u');
    const names = Object.values(update?.ExpressionAttributeNames ?? {});
    // The act rides on the same update (last_act), then its event is appended.
    expect(names).toEqual(['plan', 'retention_job', 'last_act', 'updated_at', 'active_job', 'active_since']);
    expect(tableCalls().map((call) => call.args[0].constructor.name)).toEqual([
      'GetCommand',
      'UpdateCommand',
      'PutCommand',
    ]);
    const act = Object.values(update?.ExpressionAttributeValues ?? {})[2];
    expect(act).toMatchObject({
      actor: { id: 'operator', type: 'system' },
      from: { plan: 'pro', retention_days: 90 },
      to: { plan: 'business', retention_days: 365 },
    });
    const eventPut = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(eventPut).toMatchObject({
      TableName: 'events-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: eventItemKey(TENANT, `tk_admin-${act.event_key}`),
    });
    expect(fromItem(eventPut?.Item ?? {})).toMatchObject({
      action: 'trailkeeper.tenant.updated',
      target: { type: 'tenant', id: TENANT },
      metadata: { from: { plan: 'pro', retention_days: 90 }, to: { plan: 'business', retention_days: 365 } },
    });
  });

  it("first re-appends the tenant's last act, in case its request failed to", async () => {
    const lastAct = {
      event_key: 'tenant-updated-01jd0000000000000000000000',
      at: new Date().toISOString(),
      actor: { id: 'operator', type: 'system' },
      from: { email_domains: [] },
      to: { email_domains: ['example.com'] },
    };
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...tenantItem, email_domains: ['example.com'], last_act: lastAct } });
    ddb.on(PutCommand).resolves({});
    const result = await handler(
      apiEvent('PATCH /v1/tenants/{tenant_id}', {
        params: { tenant_id: TENANT },
        body: { email_domains: ['example.com'] },
        auth: keyContext('admin'),
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    // Nothing else changed: no update, only the (conditional, so at most once) event.
    expect(ddb.calls().map((call) => call.args[0].constructor.name)).toEqual(['GetCommand', 'PutCommand']);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'events-test',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: eventItemKey(TENANT, 'tk_admin-tenant-updated-01jd0000000000000000000000'),
    });
  });

  it('starts no job when the effective retention stays the same', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(UpdateCommand).resolves({ Attributes: { ...tenantItem, custom_retention_days: 90 } });
    const result = await handler(
      apiEvent('PATCH /v1/tenants/{tenant_id}', {
        params: { tenant_id: TENANT },
        body: { retention_days: 90 },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    const names = Object.values(
      ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeNames ?? {},
    );
    expect(names).toEqual(['custom_retention_days', 'updated_at']);
    // Pinned to the plan's own retention: nothing GET shows changed, so no event.
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('retries on a concurrent change and answers 409 when it keeps losing', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb
      .on(UpdateCommand)
      .rejects(
        Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException', Item: {} }),
      );
    const result = await handler(
      apiEvent('PATCH /v1/tenants/{tenant_id}', {
        params: { tenant_id: TENANT },
        body: { retention_days: 'unlimited' },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(409);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(3);
  });
});
