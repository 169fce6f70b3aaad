/**
 * The tenant's own trail through the HTTP API of the local stack: keys created and revoked and
 * tenant settings changed, by the operator and by a tenant's admin key, each appear once in
 * `GET /v1/events?action=trailkeeper.*` with the right actor, target and from/to; clients may not
 * send these actions; the access policy is changed by the operator or the tenant's admin key only,
 * and an invalid one is refused naming the field.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

const OPERATOR = { id: 'operator', type: 'system' };
const DEFAULT_ROLES = ['owner', 'admin', 'auditor', 'team_admin'];

let tenant: TestTenant;
let other: TestTenant;
/** A key of `tenant` that reads the log and nothing else. */
let reader: { id: string; key: string };

const patch = (token: string, tenantId: string, body: unknown) =>
  api('PATCH', `/v1/tenants/${tenantId}`, { token, body });

/** The tenant's trailkeeper.* events, oldest first. */
const ownTrail = async () =>
  (await listAll(reader.key, { action: 'trailkeeper.*' })).events.reverse().map((e) => ({
    action: e.action,
    actor: { id: e.actor.id, type: e.actor.type },
    target: e.target,
    metadata: e.metadata,
  }));

beforeAll(async () => {
  [tenant, other] = await Promise.all([
    createTenant({ name: 'Own trail', plan: 'pro' }),
    createTenant({ name: 'Someone else' }),
  ]);
  const made = await api('POST', `/v1/tenants/${tenant.id}/keys`, {
    token: tenant.key,
    body: { name: 'reader', scopes: ['events:read'] },
  });
  expect(made.status).toBe(201);
  reader = made.body;
});

describe("the tenant's own trail", () => {
  it('tells each administrative act once, with its actor, target and from/to', async () => {
    const admin = { id: tenant.keyId, type: 'api_key' };
    const doomed = await createKey(tenant.id, ['events:write']);
    expect(
      (await api('DELETE', `/v1/tenants/${tenant.id}/keys/${doomed.id}`, { token: tenant.key })).status,
    ).toBe(204);
    // Again, by the operator: the key stays revoked and nothing new is told.
    expect(
      (await api('DELETE', `/v1/tenants/${tenant.id}/keys/${doomed.id}`, { token: operator() })).status,
    ).toBe(204);

    expect((await patch(operator(), tenant.id, { plan: 'business' })).status).toBe(200);
    expect((await patch(operator(), tenant.id, { retention_days: 30 })).status).toBe(200);
    const access = { view: ['owner', 'admin'], export: ['owner'] };
    const changed = await patch(tenant.key, tenant.id, { access });
    expect(changed.status).toBe(200);
    expect(changed.body.access).toEqual(access);
    expect((await api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key })).body.access).toEqual(access);
    expect((await patch(tenant.key, tenant.id, { email_domains: ['example.com'] })).status).toBe(200);
    // Changes that change nothing are not told.
    expect((await patch(tenant.key, tenant.id, { email_domains: ['Example.com'], access })).status).toBe(200);
    expect((await patch(operator(), tenant.id, { plan: 'business' })).status).toBe(200);

    expect(await ownTrail()).toEqual([
      {
        action: 'trailkeeper.api_key.created',
        actor: OPERATOR,
        target: { type: 'api_key', id: tenant.keyId, name: 'test' },
        metadata: { scopes: ['events:write', 'events:read', 'exports:write', 'admin'] },
      },
      {
        action: 'trailkeeper.api_key.created',
        actor: admin,
        target: { type: 'api_key', id: reader.id, name: 'reader' },
        metadata: { scopes: ['events:read'] },
      },
      {
        action: 'trailkeeper.api_key.created',
        actor: OPERATOR,
        target: { type: 'api_key', id: doomed.id, name: 'test' },
        metadata: { scopes: ['events:write'] },
      },
      {
        action: 'trailkeeper.api_key.revoked',
        actor: admin,
        target: { type: 'api_key', id: doomed.id, name: 'test' },
      },
      {
        action: 'trailkeeper.tenant.updated',
        actor: OPERATOR,
        target: { type: 'tenant', id: tenant.id, name: 'Own trail' },
        metadata: {
          from: { plan: 'pro', retention_days: 90, rate_limit_rps: expect.any(Number) },
          to: { plan: 'business', retention_days: 365, rate_limit_rps: expect.any(Number) },
        },
      },
      {
        action: 'trailkeeper.tenant.updated',
        actor: OPERATOR,
        target: { type: 'tenant', id: tenant.id, name: 'Own trail' },
        metadata: { from: { retention_days: 365 }, to: { retention_days: 30 } },
      },
      {
        action: 'trailkeeper.tenant.updated',
        actor: admin,
        target: { type: 'tenant', id: tenant.id, name: 'Own trail' },
        metadata: { from: { access: { view: DEFAULT_ROLES, export: DEFAULT_ROLES } }, to: { access } },
      },
      {
        action: 'trailkeeper.tenant.updated',
        actor: admin,
        target: { type: 'tenant', id: tenant.id, name: 'Own trail' },
        metadata: { from: { email_domains: [] }, to: { email_domains: ['example.com'] } },
      },
    ]);
    // Another tenant's trail holds none of it.
    const theirs = await listAll(other.key, { action: 'trailkeeper.*' });
    expect(theirs.events.map((e) => e.target?.id)).toEqual([other.keyId]);
  });

  it.each(['trailkeeper.api_key.created', 'trailkeeper.api_key.revoked', 'trailkeeper.tenant.updated'])(
    'refuses %s from a client with 400, storing nothing',
    async (action) => {
      const id = `forged-${action}`;
      const res = await api('POST', '/v1/events', {
        token: other.key,
        body: { id, action, actor: { id: 'operator', type: 'system' } },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['action']);
      expect((await api('GET', `/v1/events/${id}`, { token: other.key })).status).toBe(404);
    },
  );
});

describe('the access policy', () => {
  const access = { view: ['owner'], export: ['owner'] };

  it('is changed by an admin key of the tenant only: 403 without admin, 404 for another tenant', async () => {
    const scoped = await createKey(other.id, ['events:read', 'events:write', 'exports:write']);
    const denied = await patch(scoped.key, other.id, { access });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toBe('application/problem+json');
    expect((await patch(tenant.key, other.id, { access })).status).toBe(404);
    // With an operator-only field beside it, an admin key may not.
    expect((await patch(other.key, other.id, { access, plan: 'enterprise' })).status).toBe(403);
    const unchanged = await api('GET', `/v1/tenants/${other.id}`, { token: other.key });
    expect(unchanged.body.access).toEqual({ view: DEFAULT_ROLES, export: DEFAULT_ROLES });

    const ownerOnly = await patch(other.key, other.id, { access });
    expect(ownerOnly.status).toBe(200);
    expect(ownerOnly.body.access).toEqual(access);
  });

  it.each([
    ['export beyond view', { view: ['owner'], export: ['owner', 'admin'] }, 'access.export'],
    ['an unknown role', { view: ['root'], export: [] }, 'access.view[0]'],
    ['a missing list', { view: ['owner'] }, 'access.export'],
  ])('refuses %s with 400 naming the field', async (_what, policy, field) => {
    const res = await patch(operator(), tenant.id, { access: policy });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});
