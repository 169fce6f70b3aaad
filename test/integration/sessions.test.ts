/**
 * Viewer sessions through the HTTP API of the local stack: a backend mints a link with its admin
 * key, the browser exchanges the code once, the token reads the trail, and it stops working at
 * once when revoked (everyone, or one person) or when the access policy drops its role. Bad input
 * names the field; a person gets 403 on writes and admin routes; another tenant's id is a 404.
 * A second authorizer instance (this test process, importing the authorizer afresh against the
 * same DynamoDB Local) sees the revocations and the policy change too: nothing here works only
 * because the local stack is one process.
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { lambdaContext } from '../handlers/api-event.ts';
import { api, baseUrl, createTenant, operator, type TestTenant } from './client.ts';

let a: TestTenant;
let b: TestTenant;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const mint = (tenantId: string, token: string, body: Record<string, unknown>) =>
  api('POST', `/v1/tenants/${tenantId}/viewer-sessions`, { token, body });

/** Mints with A's admin key and exchanges the code: the session as the browser gets it. */
const signIn = async (body: Record<string, unknown>, tenant: TestTenant = a) => {
  const minted = await mint(tenant.id, tenant.key, body);
  expect(minted.status, JSON.stringify(minted.body)).toBe(201);
  const exchanged = await api('POST', '/v1/sessions', { body: { code: minted.body.code } });
  expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(201);
  return { minted: minted.body, session: exchanged.body, token: exchanged.body.token as string };
};

const readStatus = async (token: string) => (await api('GET', '/v1/events?limit=5', { token })).status;

/** A second authorizer instance, in this process, on the same tables and key file. */
let secondAuthorizer: typeof import('#functions/authorizer.ts').handler;
const authorizeElsewhere = async (token: string) =>
  (
    await secondAuthorizer(
      {
        type: 'REQUEST',
        headers: { authorization: `Bearer ${token}` },
      } as unknown as APIGatewayRequestAuthorizerEventV2,
      lambdaContext,
    )
  ).context;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant({ name: 'Sessions A' }), createTenant({ name: 'Sessions B' })]);
  await api('POST', '/v1/events', { token: a.key, body: { action: 'doc.viewed', actor: { id: 'u1' } } });
  Object.assign(process.env, inject('localEnv'), {
    TRAILKEEPER_AUTH_CACHE_SECONDS: '0',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler: secondAuthorizer } = await import('#functions/authorizer.ts'));
});

describe('a viewer session', () => {
  it('is minted as a console link, exchanged once, and reads the trail', async () => {
    const { minted, session, token } = await signIn({
      user: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
      role: 'admin',
      ttl_seconds: 600,
    });
    expect(minted.url).toBe(`${baseUrl()}/console/t/${a.id}/#code=${minted.code}`);
    expect(session).toMatchObject({
      user: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
      role: 'admin',
      team_ids: [],
      permissions: ['view', 'export'],
      expires_at: minted.expires_at,
    });
    const page = await api('GET', '/v1/events?limit=5', { token });
    expect(page.status).toBe(200);
    expect(page.body.data.map((e: { action: string }) => e.action)).toContain('doc.viewed');

    const replay = await api('POST', '/v1/sessions', { body: { code: minted.code } });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('content-type')).toBe('application/problem+json');
    expect((await api('POST', '/v1/sessions', { body: { code: 'never-minted' } })).status).toBe(401);
  });

  it('is exchanged by exactly one of several concurrent exchanges of its code', async () => {
    const minted = await mint(a.id, a.key, { user: { id: 'user_race' }, role: 'auditor' });
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => api('POST', '/v1/sessions', { body: { code: minted.body.code } })),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 401, 401, 401, 401, 401]);
  });

  it('is refused on writes and on the admin routes (403), and for another tenant (404)', async () => {
    const { token } = await signIn({ user: { id: 'user_owner' }, role: 'owner' });
    const write = await api('POST', '/v1/events', {
      token,
      body: { action: 'doc.viewed', actor: { id: 'x' } },
    });
    expect(write.status).toBe(403);
    expect((await api('GET', `/v1/tenants/${a.id}`, { token })).status).toBe(403);
    expect((await api('GET', `/v1/tenants/${a.id}/keys`, { token })).status).toBe(403);
    expect((await mint(a.id, token, { user: { id: 'x' }, role: 'owner' })).status).toBe(403);
    expect((await api('DELETE', `/v1/tenants/${a.id}/viewer-sessions`, { token })).status).toBe(403);
    expect((await mint(b.id, token, { user: { id: 'x' }, role: 'owner' })).status).toBe(404);
  });

  it('cannot be minted for members and guests, nor with bad input (400 naming the field)', async () => {
    for (const role of ['member', 'guest']) {
      const refused = await mint(a.id, a.key, { user: { id: 'u' }, role });
      expect(refused.status).toBe(403);
      expect(refused.body.detail).toContain(`${role} role`);
    }
    const fieldOf = async (body: Record<string, unknown>) => {
      const res = await mint(a.id, a.key, body);
      expect(res.status).toBe(400);
      return res.body.errors.map((e: { field: string }) => e.field);
    };
    expect(await fieldOf({ user: { id: 'u' }, role: 'root' })).toEqual(['role']);
    expect(await fieldOf({ user: { id: 'u' }, role: 'team_admin' })).toEqual(['team_ids']);
    const teams = Array.from({ length: 51 }, (_, i) => `team_${i}`);
    expect(await fieldOf({ user: { id: 'u' }, role: 'team_admin', team_ids: teams })).toEqual(['team_ids']);
    expect(await fieldOf({ user: { id: 'u' }, role: 'owner', ttl_seconds: 30 })).toEqual(['ttl_seconds']);
    expect(await fieldOf({ user: { id: 'u' }, role: 'owner', ttl_seconds: 86_400 })).toEqual(['ttl_seconds']);
    expect((await mint(b.id, a.key, { user: { id: 'u' }, role: 'owner' })).status).toBe(404);
  });

  it('stops working at once when revoked, for one person or everyone, here and on a second instance', async () => {
    const ada = await signIn({ user: { id: 'user_ada2' }, role: 'admin' });
    const grace = await signIn({ user: { id: 'user_grace' }, role: 'auditor' });
    const ofB = await signIn({ user: { id: 'user_ada2' }, role: 'admin' }, b);
    expect(await authorizeElsewhere(ada.token)).toMatchObject({ kind: 'person', tenantId: a.id });

    const one = await api('DELETE', `/v1/tenants/${a.id}/viewer-sessions?user_id=user_ada2`, {
      token: a.key,
    });
    expect(one.status).toBe(204);
    expect(await readStatus(ada.token)).toBe(401);
    expect((await authorizeElsewhere(ada.token)).kind).toBe('anonymous');
    expect(await readStatus(grace.token)).toBe(200);
    // Another tenant's person of the same id is untouched.
    expect(await readStatus(ofB.token)).toBe(200);

    const all = await api('DELETE', `/v1/tenants/${a.id}/viewer-sessions`, { token: operator() });
    expect(all.status).toBe(204);
    expect(await readStatus(grace.token)).toBe(401);
    expect((await authorizeElsewhere(grace.token)).kind).toBe('anonymous');
    expect(await readStatus(ofB.token)).toBe(200);

    // Sessions issued after the revocation's second work again.
    await sleep(1100);
    const later = await signIn({ user: { id: 'user_ada2' }, role: 'admin' });
    expect(await readStatus(later.token)).toBe(200);
  });

  it("follows the tenant's current access policy on the next request, here and on a second instance", async () => {
    const tenant = await createTenant({ name: 'Sessions policy' });
    const admin = await signIn({ user: { id: 'user_admin' }, role: 'admin' }, tenant);
    const owner = await signIn({ user: { id: 'user_owner' }, role: 'owner' }, tenant);
    expect(await readStatus(admin.token)).toBe(200);
    const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: operator(),
      body: { access: { view: ['owner'], export: ['owner'] } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await readStatus(admin.token)).toBe(403);
    expect(await authorizeElsewhere(admin.token)).toMatchObject({ kind: 'person', permissions: '' });
    expect(await readStatus(owner.token)).toBe(200);
    expect((await mint(tenant.id, tenant.key, { user: { id: 'u' }, role: 'admin' })).status).toBe(403);
  });

  it('writes the mint and the revocation into the tenant trail, never the code', async () => {
    const { minted } = await signIn({ user: { id: 'user_trail' }, role: 'owner' });
    await api('DELETE', `/v1/tenants/${a.id}/viewer-sessions?user_id=user_trail`, { token: a.key });
    const page = await api('GET', '/v1/events?action=trailkeeper.*&limit=100', { token: a.key });
    expect(page.status).toBe(200);
    const mine = page.body.data.filter(
      (e: { metadata?: { user_id?: string } }) => e.metadata?.user_id === 'user_trail',
    );
    expect(mine.map((e: { action: string }) => e.action).sort()).toEqual([
      'trailkeeper.viewer_session.created',
      'trailkeeper.viewer_sessions.revoked',
    ]);
    expect(JSON.stringify(page.body)).not.toContain(minted.code);
  });
});
