import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('creates a key, returns the secret once and stores only its hash', async () => {
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
    const stored = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
    expect(stored?.secret_hash).toBe(hashToken(body.key));
    expect(JSON.stringify(stored)).not.toContain(body.key);
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

  it('revokes a key with a conditional update that keeps the first revocation time', async () => {
    ddb.on(UpdateCommand).resolves({});
    const result = await handler(
      apiEvent('DELETE /v1/tenants/{tenant_id}/keys/{key_id}', {
        params: { tenant_id: TENANT, key_id: 'key_01jd0000000000000000000001' },
        auth: operator,
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(204);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: `TENANT#${TENANT}`, sk: 'KEY#key_01jd0000000000000000000001' },
      UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :at)',
      ConditionExpression: 'attribute_exists(pk)',
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
    expect(names).toEqual(['plan', 'retention_job', 'updated_at', 'active_job', 'active_since']);
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
