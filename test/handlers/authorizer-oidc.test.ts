/**
 * The authorizer with an identity provider configured (TRAILKEEPER_OIDC_*, as CDK sets them): a
 * JWT of that issuer is verified against the IdP's JWKS (served by this test on 127.0.0.1) and
 * then follows the rules of a viewer session — the tenant and both revocation items read from the
 * control table, the tenant's current access policy applied, the tenant's rate enforced, cached
 * never beyond the token's expiry — while an IdP whose keys cannot be fetched makes the request
 * `unavailable` (503), never anonymous.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from './api-event.ts';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
const ddb = mockClient(DynamoDBDocumentClient);
let authorizer: typeof import('#functions/authorizer.ts');

const TENANT = 'tnt_01jd0000000000000000000003';
const AUDIENCE = 'trailkeeper-audit-log';
const NOW = Date.parse('2026-12-07T12:00:00.000Z');
const NOW_S = NOW / 1000;

let idp: Server;
let issuer: string;
let idpDown = false;
let jwksFetches = 0;
let jwks: { keys: JWK[] };
let privateKey: KeyPair['privateKey'];

const idpToken = (claims: Record<string, unknown> = {}, exp = NOW_S + 600) =>
  new SignJWT({ tenant_id: TENANT, role: 'admin', email: 'ada@example.com', jti: 'idp-1', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('user_ada')
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt(NOW_S - 60)
    .setExpirationTime(exp)
    .sign(privateKey);

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

const mockStore = (
  options: {
    access?: { view: string[]; export: string[] };
    revokedUntil?: [number | null, number | null];
    rate?: number;
  } = {},
) => {
  ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({
    Item: {
      pk: `TENANT#${TENANT}`,
      sk: 'TENANT',
      id: TENANT,
      name: 'A',
      plan: 'pro',
      custom_retention_days: null,
      shards: 2,
      ...(options.access ? { access: options.access } : {}),
      ...(options.rate ? { rate_limit_rps: options.rate } : {}),
    },
  });
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
  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
  jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
  idp = createServer((req, res) => {
    if (idpDown) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else {
      jwksFetches += 1;
      res.end(JSON.stringify(jwks));
    }
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_OPERATOR_KEY', 'operator-secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('TRAILKEEPER_OIDC_ISSUER', issuer);
  vi.stubEnv('TRAILKEEPER_OIDC_AUDIENCE', AUDIENCE);
  authorizer = await import('#functions/authorizer.ts');
});

afterAll(() => new Promise<void>((resolve) => idp.close(() => resolve())));

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

describe('authorizer on a token of the identity provider', () => {
  // First: the module keeps the IdP's keys once it has fetched them.
  it('answers unavailable (503), not anonymous, while the IdP cannot be reached, and reads nothing', async () => {
    mockStore();
    const token = await idpToken();
    idpDown = true;
    expect(await authorize(token)).toEqual({ kind: 'unavailable' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    idpDown = false;
    expect((await authorize(token)).kind).toBe('person');
  });

  it("makes it a person like a session: the tenant's settings, the policy's permissions, via oidc", async () => {
    mockStore();
    expect(await authorize(await idpToken())).toEqual({
      kind: 'person',
      tenantId: TENANT,
      userId: 'user_ada',
      userEmail: 'ada@example.com',
      role: 'admin',
      teams: '',
      permissions: 'view export',
      sessionId: 'idp-1',
      via: 'oidc',
      retentionDays: 90,
      shards: 2,
    });
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual(
      expect.arrayContaining([
        { TableName: 'control-test', Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } },
        ...revocationKeys.map((Key) => ({ TableName: 'control-test', Key, ConsistentRead: true })),
      ]),
    );
  });

  it("gives a team admin the token's teams, and a member no permission", async () => {
    mockStore();
    expect(
      await authorize(await idpToken({ role: 'team_admin', team_ids: ['team_a', 'team_b'] })),
    ).toMatchObject({
      kind: 'person',
      role: 'team_admin',
      teams: 'team_a,team_b',
      permissions: 'view export',
    });
    expect(await authorize(await idpToken({ role: 'member' }))).toMatchObject({
      kind: 'person',
      permissions: '',
    });
  });

  it("applies the tenant's current access policy", async () => {
    mockStore({ access: { view: ['owner'], export: ['owner'] } });
    expect(await authorize(await idpToken())).toMatchObject({ kind: 'person', permissions: '' });
  });

  it('refuses a token issued at or before a revocation of the tenant or the person', async () => {
    mockStore({ revokedUntil: [null, NOW_S - 60] });
    expect((await authorize(await idpToken())).kind).toBe('anonymous');
    ddb.reset();
    mockStore({ revokedUntil: [NOW_S - 60, null] });
    expect((await authorize(await idpToken())).kind).toBe('anonymous');
    ddb.reset();
    mockStore({ revokedUntil: [NOW_S - 61, NOW_S - 61] });
    expect((await authorize(await idpToken())).kind).toBe('person');
  });

  it('refuses the token of a tenant that does not exist', async () => {
    mockStore();
    ddb.on(GetCommand, { Key: { pk: `TENANT#${TENANT}`, sk: 'TENANT' } }).resolves({});
    expect((await authorize(await idpToken())).kind).toBe('anonymous');
  });

  it('refuses, without reading the table, a token for another audience or signed by another key', async () => {
    mockStore();
    const saas = await new SignJWT({ tenant_id: TENANT, role: 'owner' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('user_ada')
      .setIssuer(issuer)
      .setAudience('saas-app')
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 600)
      .sign(privateKey);
    expect((await authorize(saas)).kind).toBe('anonymous');
    const forged = await new SignJWT({ tenant_id: TENANT, role: 'owner' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('user_ada')
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 600)
      .sign((await generateKeyPair('ES256')).privateKey);
    expect((await authorize(forged)).kind).toBe('anonymous');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it("enforces the tenant's request rate", async () => {
    const second = NOW + 200_000;
    vi.setSystemTime(second);
    mockStore({ rate: 1 });
    ddb
      .on(UpdateCommand)
      .callsFake((input) => ({ Attributes: { count: input.ExpressionAttributeValues[':n'] } }));
    const token = await idpToken({}, second / 1000 + 600);
    const kinds = [];
    for (let i = 0; i < 3; i++) kinds.push((await authorize(token)).kind);
    expect(kinds).toEqual(['person', 'throttled', 'throttled']);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
      pk: `RATE#${TENANT}`,
      sk: `W#${second / 1000}`,
    });
  });

  it('caches the person for the auth cache period, never beyond the token’s expiry', async () => {
    vi.stubEnv('TRAILKEEPER_AUTH_CACHE_SECONDS', '120');
    mockStore();
    const token = await idpToken({}, NOW_S + 10);
    expect((await authorize(token)).kind).toBe('person');
    vi.setSystemTime(NOW + 5_000);
    expect((await authorize(token)).kind).toBe('person');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(3);
    // Past the expiry and the IdP's 30 s of clock tolerance, well within the cache period.
    vi.setSystemTime(NOW + 45_000);
    expect((await authorize(token)).kind).toBe('anonymous');
  });

  it('leaves a JWT of any other issuer to the session path, which refuses it here', async () => {
    mockStore();
    const before = jwksFetches;
    const other = await new SignJWT({ tenant_id: TENANT, role: 'owner' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('user_ada')
      .setIssuer('https://another-idp.example')
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 600)
      .sign(privateKey);
    expect((await authorize(other)).kind).toBe('anonymous');
    expect(jwksFetches).toBe(before);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});
