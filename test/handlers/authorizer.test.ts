import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROTATION_GRACE_MS, resetSecretCache } from '#shared/adapters/secrets.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { formatToken, hashToken } from '#shared/domain/tenant.ts';
import { lambdaContext } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/authorizer.ts').handler;
let RESOLVE_DEADLINE_MS: number;

const TENANT = 'tnt_01jd0000000000000000000000';
const KEY = 'key_01jd0000000000000000000000';
const token = formatToken(TENANT, KEY, 'A'.repeat(43));
const keyItem = {
  pk: `TENANT#${TENANT}`,
  sk: `KEY#${KEY}`,
  id: KEY,
  tenant_id: TENANT,
  name: 'ci',
  scopes: ['events:read'],
  secret_hash: hashToken(token),
  created_at: '2026-11-01T00:00:00Z',
};
const tenantItem = {
  pk: `TENANT#${TENANT}`,
  sk: 'TENANT',
  id: TENANT,
  name: 'A',
  plan: 'pro',
  custom_retention_days: null,
  shards: 2,
};

const request = (authorization?: string) =>
  ({
    type: 'REQUEST',
    headers: authorization === undefined ? {} : { authorization },
    identitySource: [authorization],
  }) as unknown as APIGatewayRequestAuthorizerEventV2;

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_OPERATOR_KEY', 'operator-secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler, RESOLVE_DEADLINE_MS } = await import('#functions/authorizer.ts'));
});

afterEach(() => ddb.reset());

/** One invocation, as API Gateway makes it. */
const authorize = (event: APIGatewayRequestAuthorizerEventV2) => handler(event, lambdaContext);

describe('authorizer', () => {
  it('resolves a valid key with two GetItems and passes its tenant settings on', async () => {
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${KEY}` } }).resolves({ Item: keyItem });
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });
    const result = await authorize(request(`Bearer ${token}`));
    expect(result).toEqual({
      isAuthorized: true,
      context: {
        kind: 'key',
        tenantId: TENANT,
        keyId: KEY,
        keyName: 'ci',
        scopes: 'events:read',
        retentionDays: 90,
        shards: 2,
      },
    });
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.TableName)).toEqual([
      'control-test',
      'control-test',
    ]);
  });

  it('marks a revoked key anonymous', async () => {
    ddb
      .on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${KEY}` } })
      .resolves({ Item: { ...keyItem, revoked_at: '2026-11-20T00:00:00Z' } });
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });
    expect((await authorize(request(`Bearer ${token}`))).context.kind).toBe('anonymous');
  });

  it('marks a key whose secret does not match anonymous', async () => {
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: `KEY#${KEY}` } }).resolves({ Item: keyItem });
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });
    const forged = formatToken(TENANT, KEY, 'B'.repeat(43));
    expect((await authorize(request(`Bearer ${forged}`))).context.kind).toBe('anonymous');
  });

  it('recognises the operator key without touching DynamoDB', async () => {
    expect((await authorize(request('Bearer operator-secret'))).context).toEqual({ kind: 'operator' });
    expect((await authorize(request('Basic operator-secret'))).context.kind).toBe('anonymous');
    expect((await authorize(request('Bearer wrong'))).context.kind).toBe('anonymous');
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers "unavailable" (503 downstream), not "anonymous", when the store is down', async () => {
    ddb.on(GetCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' }));
    expect((await authorize(request(`Bearer ${token}`))).context).toEqual({ kind: 'unavailable' });
  });

  it('answers "unavailable" before its own timeout when the store hangs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      ddb.on(GetCommand).callsFake(() => new Promise(() => undefined));
      const answer = authorize(request(`Bearer ${token}`));
      await vi.advanceTimersByTimeAsync(RESOLVE_DEADLINE_MS - 1);
      let settled = false;
      void answer.then(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect((await answer).context).toEqual({ kind: 'unavailable' });
      expect(RESOLVE_DEADLINE_MS).toBeLessThan(MANIFEST.authorizer.timeoutSeconds * 1_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('authorizer during an operator key rotation', () => {
  const sm = mockClient(SecretsManagerClient);
  const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:TrailkeeperOperatorKey-AbCdEf';

  afterEach(() => {
    sm.reset();
    vi.stubEnv('OPERATOR_KEY_SECRET_ARN', '');
    vi.stubEnv('TRAILKEEPER_OPERATOR_KEY_PREVIOUS', '');
    resetSecretCache();
  });

  it('accepts the previous local operator key (TRAILKEEPER_OPERATOR_KEY_PREVIOUS) as well as the current one', async () => {
    resetSecretCache();
    vi.stubEnv('TRAILKEEPER_OPERATOR_KEY_PREVIOUS', 'operator-before-local-rotation');
    expect((await authorize(request('Bearer operator-before-local-rotation'))).context).toEqual({
      kind: 'operator',
    });
    expect((await authorize(request('Bearer operator-secret'))).context).toEqual({ kind: 'operator' });
    expect((await authorize(request('Bearer operator-never-issued'))).context.kind).toBe('anonymous');
  });

  it('accepts AWSCURRENT and AWSPREVIOUS from Secrets Manager within the grace period', async () => {
    resetSecretCache();
    vi.stubEnv('OPERATOR_KEY_SECRET_ARN', ARN);
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: 'operator-current-aws',
      CreatedDate: new Date(Date.now() - 60_000),
    });
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).resolves({
      SecretString: 'operator-previous-aws',
    });

    expect((await authorize(request('Bearer operator-previous-aws'))).context).toEqual({ kind: 'operator' });
    expect((await authorize(request('Bearer operator-current-aws'))).context).toEqual({ kind: 'operator' });
    expect((await authorize(request('Bearer operator-secret'))).context.kind).toBe('anonymous');
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN, VersionStage: 'AWSCURRENT' },
      { SecretId: ARN, VersionStage: 'AWSPREVIOUS' },
    ]);
  });

  it('refuses the previous key once the grace period after the rotation is over', async () => {
    resetSecretCache();
    vi.stubEnv('OPERATOR_KEY_SECRET_ARN', ARN);
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({
      SecretString: 'operator-current-late',
      CreatedDate: new Date(Date.now() - ROTATION_GRACE_MS - 60_000),
    });
    sm.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).resolves({
      SecretString: 'operator-previous-late',
    });

    expect((await authorize(request('Bearer operator-previous-late'))).context.kind).toBe('anonymous');
    expect((await authorize(request('Bearer operator-current-late'))).context).toEqual({ kind: 'operator' });
  });
});
