/**
 * The authorizer on viewer-session tokens, as deployed: the key's public half read from KMS
 * (GetPublicKey only, once), the tenant and both revocation items read from the control table,
 * the tenant's current access policy applied, the tenant's request rate enforced, a session cached
 * no longer than the auth cache nor its token — and anything forged or revoked anonymous.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalSessionSigner } from '#shared/adapters/session-keys.ts';
import { compactJws, type SessionTokenClaims, signingInputOf } from '#shared/domain/session-token.ts';
import { lambdaContext } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
let authorizer: typeof import('#functions/authorizer.ts');

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const TENANT = 'tnt_01jd0000000000000000000002';
const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const signer = new LocalSessionSigner(keys.privateKey);

const tenantItem = (access?: { view: string[]; export: string[] }) => ({
  pk: `TENANT#${TENANT}`,
  sk: 'TENANT',
  id: TENANT,
  name: 'A',
  plan: 'pro',
  custom_retention_days: null,
  shards: 2,
  ...(access ? { access } : {}),
});

const claims = (overrides: Partial<SessionTokenClaims> = {}): SessionTokenClaims => ({
  iss: 'trailkeeper',
  aud: 'trailkeeper:viewer',
  sub: 'user_ada',
  jti: 'ses_01jd0000000000000000000000',
  tid: TENANT,
  role: 'team_admin',
  teams: ['team_a'],
  email: 'ada@example.com',
  iat: NOW / 1000 - 60,
  exp: NOW / 1000 + 3600,
  ...overrides,
});

/** A token signed by the KMS key's private half (what the sessions function would have made). */
const tokenOf = async (payload: SessionTokenClaims, kid = KEY_ARN) => {
  const input = signingInputOf(kid, payload);
  return compactJws(input, await signer.sign(input));
};

const request = (token: string) =>
  ({
    type: 'REQUEST',
    headers: { authorization: `Bearer ${token}` },
  }) as unknown as APIGatewayRequestAuthorizerEventV2;
const authorize = async (token: string) => (await authorizer.handler(request(token), lambdaContext)).context;

const revocationKeys = [
  { pk: `TENANT#${TENANT}`, sk: 'SESSIONS_REVOKED' },
  { pk: `TENANT#${TENANT}`, sk: 'SESSIONS_REVOKED#USER#user_ada' },
];

const publicKeyReply = {
  KeyId: KEY_ARN,
  KeySpec: 'ECC_NIST_P256' as const,
  PublicKey: keys.publicKey.export({ format: 'der', type: 'spki' }),
};

const mockStore = (
  options: {
    access?: { view: string[]; export: string[] };
    revokedUntil?: [number | null, number | null];
    rate?: number;
  } = {},
) => {
  const tenant = { ...tenantItem(options.access), ...(options.rate ? { rate_limit_rps: options.rate } : {}) };
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({ Item: tenant });
  const [tenantWide, user] = options.revokedUntil ?? [null, null];
  ddb
    .on(GetCommand, { Key: revocationKeys[0] })
    .resolves(tenantWide === null ? {} : { Item: { revoked_until: tenantWide } });
  ddb
    .on(GetCommand, { Key: revocationKeys[1] })
    .resolves(user === null ? {} : { Item: { revoked_until: user } });
  ddb.on(UpdateCommand).resolves({ Attributes: { count: 1 } });
};

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_OPERATOR_KEY', 'operator-secret');
  vi.stubEnv('TRAILKEEPER_SESSION_KEY_ID', KEY_ARN);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  kms.on(GetPublicKeyCommand).resolves(publicKeyReply);
  authorizer = await import('#functions/authorizer.ts');
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  authorizer.clearAuthorizerCache();
});

afterEach(() => {
  ddb.reset();
  vi.useRealTimers();
  vi.stubEnv('TRAILKEEPER_AUTH_CACHE_SECONDS', '');
});

describe('authorizer on a session token', () => {
  // First: the module keeps the public key once it has read it.
  it('answers unavailable (503), not anonymous, while KMS cannot give the public key', async () => {
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
      .resolves(publicKeyReply);
    mockStore();
    const token = await tokenOf(claims());
    expect(await authorize(token)).toEqual({ kind: 'unavailable' });
    expect((await authorize(token)).kind).toBe('person');
  });

  it("makes it a person: the tenant's settings, the policy's permissions, the token's teams", async () => {
    mockStore();
    expect(await authorize(await tokenOf(claims()))).toEqual({
      kind: 'person',
      tenantId: TENANT,
      userId: 'user_ada',
      userEmail: 'ada@example.com',
      role: 'team_admin',
      teams: 'team_a',
      permissions: 'view export',
      sessionId: 'ses_01jd0000000000000000000000',
      via: 'session',
      retentionDays: 90,
      shards: 2,
    });
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual(
      expect.arrayContaining([
        { TableName: 'control-test', Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } },
        ...revocationKeys.map((Key) => ({ TableName: 'control-test', Key, ConsistentRead: true })),
      ]),
    );
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    // The public key only: the authorizer never signs.
    expect(kms.calls().map((c) => [c.args[0].constructor.name, c.args[0].input])).toEqual(
      kms.calls().map(() => ['GetPublicKeyCommand', { KeyId: KEY_ARN }]),
    );
    expect(kms.commandCalls(SignCommand)).toHaveLength(0);
  });

  it("applies the tenant's current access policy on every request", async () => {
    mockStore({ access: { view: ['owner', 'admin'], export: ['owner'] } });
    expect(await authorize(await tokenOf(claims()))).toMatchObject({ kind: 'person', permissions: '' });
    ddb.reset();
    mockStore({ access: { view: ['owner', 'team_admin'], export: ['owner'] } });
    expect(await authorize(await tokenOf(claims()))).toMatchObject({ kind: 'person', permissions: 'view' });
  });

  it('refuses a token revoked tenant-wide or for the person (issued at or before the revocation)', async () => {
    const iat = NOW / 1000 - 60;
    mockStore({ revokedUntil: [iat, null] });
    expect((await authorize(await tokenOf(claims()))).kind).toBe('anonymous');
    ddb.reset();
    mockStore({ revokedUntil: [null, iat + 1] });
    expect((await authorize(await tokenOf(claims()))).kind).toBe('anonymous');
    ddb.reset();
    mockStore({ revokedUntil: [iat - 1, iat - 1] });
    expect((await authorize(await tokenOf(claims()))).kind).toBe('person');
  });

  it('refuses forgeries without reading the table: alg none, a foreign kid, an expired token', async () => {
    mockStore();
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', kid: KEY_ARN }))}.${base64url.encode(JSON.stringify(claims()))}.`;
    expect((await authorize(none)).kind).toBe('anonymous');
    expect(
      (await authorize(await tokenOf(claims(), 'arn:aws:kms:us-east-1:123456789012:key/other'))).kind,
    ).toBe('anonymous');
    expect((await authorize(await tokenOf(claims({ exp: NOW / 1000 - 60 })))).kind).toBe('anonymous');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('refuses a well-signed JWT of any identity provider when none is configured, reading nothing', async () => {
    mockStore();
    const idpKey = await generateKeyPair('RS256');
    const idpToken = await new SignJWT({ tid: TENANT, tenant_id: TENANT, role: 'owner' })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
      .setSubject('user_ada')
      .setIssuer('https://idp.example.com')
      .setAudience('trailkeeper')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 600)
      .sign(idpKey.privateKey);
    expect(await authorize(idpToken)).toMatchObject({ kind: 'anonymous' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('refuses the token of a tenant that does not exist', async () => {
    mockStore();
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({});
    expect((await authorize(await tokenOf(claims()))).kind).toBe('anonymous');
  });

  it("enforces the tenant's request rate for people too", async () => {
    // A second of its own: the limiter counts this tenant's earlier requests too.
    const second = NOW + 100_000;
    vi.setSystemTime(second);
    mockStore({ rate: 2 });
    ddb
      .on(UpdateCommand)
      .callsFake((input) => ({ Attributes: { count: input.ExpressionAttributeValues[':n'] } }));
    const token = await tokenOf(claims());
    const contexts = [];
    for (let i = 0; i < 4; i++) contexts.push(await authorize(token));
    expect(contexts.map((c) => c.kind)).toEqual(['person', 'person', 'throttled', 'throttled']);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
      pk: `RATE#${TENANT}`,
      sk: `W#${second / 1000}`,
    });
    expect(contexts.at(-1)).toEqual({ kind: 'throttled', tenantId: TENANT, retryAfter: 1 });
  });

  it('caches a session for the auth cache period, never beyond its expiry', async () => {
    vi.stubEnv('TRAILKEEPER_AUTH_CACHE_SECONDS', '30');
    mockStore();
    const token = await tokenOf(claims({ exp: NOW / 1000 + 5 }));
    expect((await authorize(token)).kind).toBe('person');
    vi.setSystemTime(NOW + 4_000);
    expect((await authorize(token)).kind).toBe('person');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    // Past the token's expiry and the verifier's few seconds of clock skew, within the cache period.
    vi.setSystemTime(NOW + 11_000);
    expect((await authorize(token)).kind).toBe('anonymous');
  });
});
