/**
 * The identity-provider door end to end, on a stack of its own configured with a test IdP (a
 * discovery document and a JWKS served by this test on 127.0.0.1, tokens signed with its key):
 * an IdP token is a person under the same rules as a viewer session — the tenant must exist, the
 * tenant's access policy gives the permissions, a team admin sees only their teams, per-person
 * revocations apply, reads are audited with the person as actor — while tokens for another
 * audience or from another issuer are refused, and an IdP that cannot be reached is a 503.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { DEFAULT_OIDC_CLAIMS } from '#shared/adapters/oidc.ts';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
const OPERATOR = 'tk_op_oidc-integration-test-operator-key-000000000';
const AUDIENCE = 'trailkeeper-audit-log';

let stack: LocalStack;
let idp: Server;
let idpPort = 0;
let issuer: string;
let jwks: { keys: JWK[] };
let signingKey: KeyPair['privateKey'];
let tenantId: string;
let tenantKey: string;

/** Serves the IdP on `idpPort` (0: a free one, then kept across restarts). */
const startIdp = async (): Promise<void> => {
  idp = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (request.url === '/jwks') {
      response.end(JSON.stringify(jwks));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve));
  idpPort = (idp.address() as AddressInfo).port;
};

const stopIdp = (): Promise<void> =>
  new Promise((resolve) => {
    idp.close(() => resolve());
    idp.closeAllConnections();
  });

/** A token of the test IdP for a person of the test tenant; `options` forge the rest. */
const idpToken = (
  claims: Record<string, unknown> = {},
  options: { aud?: string; iss?: string; sub?: string } = {},
): Promise<string> =>
  new SignJWT({ tenant_id: tenantId, role: 'admin', email: 'ada@example.com', name: 'Ada', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
    .setSubject(options.sub ?? 'user_ada')
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signingKey);

const call = async (method: string, path: string, token?: string, body?: unknown) => {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? null : JSON.parse(text)) as any };
};

const EVENTS = [
  { id: 'oidc-1', action: 'document.viewed', actor: { id: 'u1' }, team_id: 'team_a' },
  { id: 'oidc-2', action: 'document.viewed', actor: { id: 'u1' }, team_id: 'team_b' },
  { id: 'oidc-3', action: 'document.viewed', actor: { id: 'u1' } },
];

beforeAll(async () => {
  const keys = await generateKeyPair('RS256');
  signingKey = keys.privateKey;
  jwks = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' }] };
  await startIdp();
  issuer = `http://127.0.0.1:${idpPort}`;
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    logLevel: 'ERROR',
    oidc: { issuer, audience: AUDIENCE, claims: DEFAULT_OIDC_CLAIMS },
  });
  const tenant = await call('POST', '/v1/tenants', OPERATOR, { name: 'OIDC', plan: 'pro' });
  tenantId = tenant.body.id;
  const key = await call('POST', `/v1/tenants/${tenantId}/keys`, OPERATOR, {
    name: 'backend',
    scopes: ['events:write', 'events:read', 'admin'],
  });
  tenantKey = key.body.key;
  expect((await call('POST', '/v1/events', tenantKey, { events: EVENTS })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (idp?.listening) await stopIdp();
});

const documentIds = (body: { data: { id: string }[] }) =>
  body.data.map((event) => event.id).filter((id) => id.startsWith('oidc-'));

describe('a token of the operator’s identity provider', () => {
  // First, while the stack has never fetched the IdP's keys.
  it('is a 503 with Retry-After, never a 401, while the IdP cannot be reached; accepted once it is back', async () => {
    const token = await idpToken();
    await stopIdp();
    const down = await call('GET', '/v1/events?limit=5', token);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    await startIdp();
    expect((await call('GET', '/v1/events?limit=5', token)).status).toBe(200);
  });

  it('lets an admin read the trail, and the read is audited with the person as actor (via oidc)', async () => {
    const token = await idpToken({ jti: 'idp-session-ada' });
    const page = await call('GET', '/v1/events?action=document.viewed&limit=10', token);
    expect(page.status).toBe(200);
    expect(documentIds(page.body)).toEqual(['oidc-3', 'oidc-2', 'oidc-1']);

    const trail = await call(
      'GET',
      '/v1/events?action=audit_log.viewed&actor_id=user_ada&limit=50',
      tenantKey,
    );
    const read = trail.body.data.find(
      (event: { metadata: Record<string, unknown> }) => event.metadata.viewer_session === 'idp-session-ada',
    );
    expect(read).toMatchObject({
      actor: { id: 'user_ada', type: 'user', email: 'ada@example.com', name: 'Ada', role: 'admin' },
      metadata: { via: 'oidc', viewer_session: 'idp-session-ada' },
    });
  });

  it('keeps a team admin to the teams of the token', async () => {
    const token = await idpToken({ role: 'team_admin', team_ids: ['team_a'] }, { sub: 'user_tia' });
    const page = await call('GET', '/v1/events?action=document.viewed&limit=10', token);
    expect(page.status).toBe(200);
    expect(documentIds(page.body)).toEqual(['oidc-1']);
    expect((await call('GET', '/v1/events/oidc-2', token)).status).toBe(404);
    expect((await call('GET', '/v1/events?team_id=team_b', token)).status).toBe(403);
  });

  it.each([
    ['the SaaS application’s own audience', () => idpToken({}, { aud: 'saas-app' })],
    ['another issuer', () => idpToken({}, { iss: 'https://idp.evil.example' })],
    ['a tenant that does not exist', () => idpToken({ tenant_id: 'tnt_01jd0000000000000000000404' })],
  ])('is refused (401) with %s', async (_, make) => {
    const refused = await call('GET', '/v1/events?limit=5', await make());
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
  });

  it('gives a member nothing to read (403), and no one a write (403)', async () => {
    const member = await idpToken({ role: 'member' }, { sub: 'user_mo' });
    expect((await call('GET', '/v1/events?limit=5', member)).status).toBe(403);
    const owner = await idpToken({ role: 'owner' }, { sub: 'user_olu' });
    const write = await call('POST', '/v1/events', owner, { action: 'doc.viewed', actor: { id: 'x' } });
    expect(write.status).toBe(403);
  });

  it('is refused once the person’s sessions are revoked, and their next token works', async () => {
    const before = await idpToken({}, { sub: 'user_rev' });
    const other = await idpToken({}, { sub: 'user_kept' });
    expect((await call('GET', '/v1/events?limit=5', before)).status).toBe(200);

    const revoked = await call(
      'DELETE',
      `/v1/tenants/${tenantId}/viewer-sessions?user_id=user_rev`,
      tenantKey,
    );
    expect(revoked.status).toBe(204);
    expect((await call('GET', '/v1/events?limit=5', before)).status).toBe(401);
    expect((await call('GET', '/v1/events?limit=5', other)).status).toBe(200);

    // Revocations have a resolution of one second (the tokens' `iat`).
    await sleep(1100);
    expect((await call('GET', '/v1/events?limit=5', await idpToken({}, { sub: 'user_rev' }))).status).toBe(
      200,
    );
  });

  it('leaves viewer sessions working beside it', async () => {
    const minted = await call('POST', `/v1/tenants/${tenantId}/viewer-sessions`, tenantKey, {
      user: { id: 'user_ses' },
      role: 'auditor',
    });
    expect(minted.status).toBe(201);
    const session = await call('POST', '/v1/sessions', undefined, { code: minted.body.code });
    expect(session.status).toBe(201);
    expect((await call('GET', '/v1/events?limit=5', session.body.token)).status).toBe(200);
  });

  it('keeps working while the IdP is down once its keys are known', async () => {
    await stopIdp();
    expect((await call('GET', '/v1/events?limit=5', await idpToken())).status).toBe(200);
    await startIdp();
  });
});
