/**
 * The viewer-session handlers and the exact commands they send: the mint's conditional put of the
 * code's hash (never the code) with its TTL and the trail event, the exchange's conditional
 * DeleteItem returning the old item and its KMS Sign of the token's digest (DER converted to the
 * JWS's r || s), and the revocation's guarded update.
 */

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { base64url } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromItem } from '#shared/adapters/event-store.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { derToJoseSignature, hashSessionCode } from '#shared/domain/session-token.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
let admin: typeof import('#functions/admin.ts').handler;
let sessions: typeof import('#functions/sessions.ts').handler;

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const NOW_S = NOW / 1000;
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
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('EVENTS_TABLE', 'events-test');
  vi.stubEnv('TRAILKEEPER_SESSION_KEY_ID', KEY_ARN);
  vi.stubEnv('TRAILKEEPER_PUBLIC_URL', 'https://audit.example.com');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler: admin } = await import('#functions/admin.ts'));
  ({ handler: sessions } = await import('#functions/sessions.ts'));
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});

afterEach(() => {
  ddb.reset();
  kms.reset();
  vi.useRealTimers();
});

/** `POST /v1/sessions` is public: API Gateway runs no authorizer in front of it. */
const exchange = (body: unknown) => {
  const event = apiEvent('POST /v1/sessions', { body });
  delete (event.requestContext as { authorizer?: unknown }).authorizer;
  return sessions(event, lambdaContext);
};

const mint = (body: unknown, auth: AuthorizerContext = operator) =>
  admin(
    apiEvent('POST /v1/tenants/{tenant_id}/viewer-sessions', { body, auth, params: { tenant_id: TENANT } }),
    lambdaContext,
  );

describe('minting a viewer session', () => {
  it('puts the hash of the code, conditionally, with its grant and TTL, then writes the trail event', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(PutCommand).resolves({});
    const result = await mint({
      user: { id: 'user_ada', email: 'ada@example.com' },
      role: 'team_admin',
      team_ids: ['t1', 't1', 't2'],
      ttl_seconds: 600,
    });
    expect(result.statusCode).toBe(201);
    const body = parse(result);
    expect(body).toEqual({
      code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      url: `https://audit.example.com/console/t/${TENANT}/#code=${body.code}`,
      code_expires_at: '2026-12-07T12:05:00.000Z',
      expires_at: '2026-12-07T12:10:00.000Z',
    });
    const [codePut, eventPut] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(codePut).toEqual({
      TableName: 'control-test',
      Item: {
        pk: `SESSION_CODE#${hashSessionCode(body.code)}`,
        sk: 'SESSION_CODE',
        tenant_id: TENANT,
        user: { id: 'user_ada', email: 'ada@example.com' },
        role: 'team_admin',
        team_ids: ['t1', 't2'],
        expires_at: NOW_S + 600,
        minted_at_ms: NOW,
        code_expires_at: NOW_S + 300,
        ttl: NOW_S + 300,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(JSON.stringify(codePut)).not.toContain(body.code);
    expect(eventPut?.TableName).toBe('events-test');
    expect(fromItem(eventPut?.Item ?? {}).action).toBe('trailkeeper.viewer_session.created');
    expect(JSON.stringify(eventPut)).not.toContain(body.code);
  });

  it('refuses a role the policy does not let view with 403, putting nothing', async () => {
    ddb.on(GetCommand).resolves({ Item: { ...tenantItem, access: { view: ['owner'], export: ['owner'] } } });
    const result = await mint({ user: { id: 'u' }, role: 'admin' });
    expect(result.statusCode).toBe(403);
    expect(parse(result).detail).toMatch(/does not let the admin role view/);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it("answers 404 to another tenant's admin key and 403 to a key without admin, reading nothing", async () => {
    const other = keyContext('admin', { tenantId: 'tnt_01jd9999999999999999999999' });
    expect((await mint({ user: { id: 'u' }, role: 'owner' }, other)).statusCode).toBe(404);
    expect((await mint({ user: { id: 'u' }, role: 'owner' }, keyContext('events:read'))).statusCode).toBe(
      403,
    );
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('exchanging a code', () => {
  const grantItem = {
    tenant_id: TENANT,
    user: { id: 'user_ada', email: 'ada@example.com' },
    role: 'admin',
    team_ids: [],
    expires_at: NOW_S + 3600,
    minted_at_ms: NOW - 10_000,
    code_expires_at: NOW_S + 290,
    ttl: NOW_S + 290,
  };
  /** A DER signature KMS could have made (its content is checked through its conversion). */
  const derSignature = sign('sha256', Buffer.from('any'), { key: keys.privateKey, dsaEncoding: 'der' });

  const mockKms = () => {
    kms.on(GetPublicKeyCommand).resolves({
      KeyId: KEY_ARN,
      KeySpec: 'ECC_NIST_P256',
      PublicKey: keys.publicKey.export({ format: 'der', type: 'spki' }),
    });
    kms.on(SignCommand).resolves({ Signature: derSignature, KeyId: KEY_ARN });
  };

  it('deletes the code conditionally (returning it), and signs the digest of the token with KMS', async () => {
    mockKms();
    ddb.on(DeleteCommand).resolves({ Attributes: { pk: 'x', sk: 'SESSION_CODE', ...grantItem } });
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenantItem });
    const code = 'c'.repeat(43);
    const result = await exchange({ code });
    expect(result.statusCode).toBe(201);
    expect(ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'control-test',
        Key: { pk: `SESSION_CODE#${hashSessionCode(code)}`, sk: 'SESSION_CODE' },
        ConditionExpression: 'attribute_exists(pk) AND #ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':now': NOW_S },
        ReturnValues: 'ALL_OLD',
      },
    ]);
    const body = parse(result);
    expect(body).toEqual({
      token: expect.any(String),
      expires_at: '2026-12-07T13:00:00.000Z',
      user: { id: 'user_ada', email: 'ada@example.com' },
      role: 'admin',
      team_ids: [],
      permissions: ['view', 'export'],
    });
    const [header, payload, signature] = body.token.split('.');
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(header)))).toEqual({
      alg: 'ES256',
      typ: 'JWT',
      kid: KEY_ARN,
    });
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(payload)))).toMatchObject({
      iss: 'trailkeeper',
      aud: 'trailkeeper:viewer',
      sub: 'user_ada',
      tid: TENANT,
      role: 'admin',
      iat: NOW_S,
      exp: NOW_S + 3600,
      jti: expect.stringMatching(/^ses_/),
    });
    expect(kms.commandCalls(SignCommand).map((c) => c.args[0].input)).toEqual([
      {
        KeyId: KEY_ARN,
        Message: createHash('sha256').update(`${header}.${payload}`).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      },
    ]);
    expect(base64url.decode(signature)).toEqual(derToJoseSignature(derSignature));
  });

  it('answers 401 when the conditional delete fails (used, expired or unknown), signing nothing', async () => {
    mockKms();
    ddb
      .on(DeleteCommand)
      .rejects(Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' }));
    const result = await exchange({ code: 'used' });
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it('answers 400 naming the field for a missing code', async () => {
    const result = await exchange({});
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors).toEqual([expect.objectContaining({ field: 'code' })]);
  });
});

describe('revoking sessions', () => {
  it('records the revocation second, never moving it back, for everyone or one person', async () => {
    ddb.on(GetCommand).resolves({ Item: tenantItem });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    const revoke = (query?: Record<string, string>) =>
      admin(
        apiEvent('DELETE /v1/tenants/{tenant_id}/viewer-sessions', {
          auth: operator,
          params: { tenant_id: TENANT },
          ...(query ? { query } : {}),
        }),
        lambdaContext,
      );
    expect((await revoke()).statusCode).toBe(204);
    expect((await revoke({ user_id: 'user_ada' })).statusCode).toBe(204);
    const all = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    // The trail events' kinds are registered too, in the kind registry's own partition.
    const kinds = all.filter((input) => input.Key?.pk === `KINDS#${TENANT}`);
    expect(kinds.length).toBeGreaterThan(0);
    const updates = all.filter((input) => !kinds.includes(input));
    expect(updates).toEqual(
      ['SESSIONS_REVOKED', 'SESSIONS_REVOKED#USER#user_ada'].map((sk) => ({
        TableName: 'control-test',
        Key: { pk: `TENANT#${TENANT}`, sk },
        UpdateExpression: 'SET revoked_until = :at, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(revoked_until) OR revoked_until <= :at',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':at': NOW_S, ':ttl': NOW_S + 2 * 86_400 },
      })),
    );
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    const events = puts
      .filter((put) => put.TableName === 'events-test')
      .map((put) => fromItem(put.Item ?? {}));
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.action === 'trailkeeper.viewer_sessions.revoked')).toBe(true);
    // The action is registered for suggestions once (the container remembers it).
    const registered = puts.filter((put) => String(put.Item?.pk).startsWith('ACTIONS#'));
    expect(registered.map((put) => put.Item?.action)).toEqual(['trailkeeper.viewer_sessions.revoked']);
    expect((await revoke({ user_id: '' })).statusCode).toBe(400);
  });
});
