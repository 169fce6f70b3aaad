/**
 * The published contract against the real local stack: every route of the route table is
 * called (its happy path, and at least one problem per route family), and every answer must be
 * documented for its operation — its status, its media type, its body parsed by the documented
 * (strict) zod schema, and its documented headers present.
 */
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { buildOpenApiDocument } from '#shared/contract/openapi.ts';
import { documentedResponse } from '#shared/contract/operations.ts';
import { routesFromManifest } from '#shared/contract/routes.ts';
import { api, baseUrl, createKey, createTenant, operator, type Reply } from './client.ts';

/** Route keys this file called. */
const called = new Set<string>();

interface Call {
  params?: Record<string, string>;
  query?: Record<string, string>;
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Whether a documented header schema accepts the header's text (as text, or as a number). */
const headerMatches = (schema: z.ZodType, raw: string): boolean =>
  schema.safeParse(raw).success || schema.safeParse(Number(raw)).success;

/** Checks an answer against the operation of `routeKey`: documented status, media type, body and headers. */
const expectDocumented = (routeKey: string, reply: Reply) => {
  const what = `${routeKey} → ${reply.status} ${JSON.stringify(reply.body)?.slice(0, 400)}`;
  const response = documentedResponse(routeKey, reply.status);
  expect(response, `undocumented status: ${what}`).toBeDefined();
  if (response?.content === undefined) {
    expect(reply.body, `undocumented body: ${what}`).toBeNull();
  } else {
    const mediaType = (reply.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const schema = response.content[mediaType]?.schema as z.ZodType | undefined;
    expect(schema, `undocumented media type ${mediaType}: ${what}`).toBeDefined();
    const parsed = (schema as z.ZodType).safeParse(reply.body);
    expect(parsed.error, `body does not match the documented schema: ${what}`).toBeUndefined();
  }
  const headers = (response?.headers as z.ZodObject | undefined)?.shape ?? {};
  for (const [name, schema] of Object.entries(headers)) {
    const raw = reply.headers.get(name);
    expect(raw, `missing header ${name}: ${what}`).not.toBeNull();
    expect(headerMatches(schema as z.ZodType, raw ?? ''), `header ${name}: ${raw} (${what})`).toBe(true);
  }
};

/** Calls a route by its key and checks the answer against the contract (and the expected status). */
const call = async (routeKey: string, expected: number, options: Call = {}): Promise<Reply> => {
  const [method = '', template = ''] = routeKey.split(' ');
  let path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = options.params?.[name];
    if (value === undefined) throw new Error(`${routeKey}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  if (options.query !== undefined) path += `?${new URLSearchParams(options.query)}`;
  const reply = await api(method, path, options);
  called.add(routeKey);
  expect(reply.status, `${routeKey}: ${JSON.stringify(reply.body)?.slice(0, 400)}`).toBe(expected);
  expectDocumented(routeKey, reply);
  return reply;
};

const json = { 'content-type': 'application/json' };
const event = (id: string, note = 'a') => ({
  id,
  action: 'member.role_changed',
  actor: { id: 'user_42', type: 'user', email: 'ada@example.com', role: 'owner' },
  target: { type: 'member', id: 'user_7', name: 'Grace' },
  context: { ip: '203.0.113.9', user_agent: 'Mozilla/5.0' },
  metadata: { from: 'member', to: 'admin', note },
});

describe('the contract, against the local stack', () => {
  it('service routes', async () => {
    await call('GET /health', 200);
    await call('GET /v1/integrity/public-key', 200);
    await call('GET /console/t/{tenant_id}', 200, {
      params: { tenant_id: 'tnt_01jd8x1a2b3c4d5e6f7g8h9j0k' },
    });
    await call('GET /console/t/{tenant_id}', 404, { params: { tenant_id: 'not a tenant id' } });
  });

  it('GET /v1/openapi.json serves the document without credentials, servers from the public URL', async () => {
    const reply = await call('GET /v1/openapi.json', 200);
    expect(reply.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument({ serverUrl: baseUrl() }))));
  });

  it('tenants and keys', async () => {
    const created = await call('POST /v1/tenants', 201, {
      token: operator(),
      body: { name: 'Contract Inc', plan: 'business' },
    });
    const tenantId: string = created.body.id;
    const admin = await call('POST /v1/tenants/{tenant_id}/keys', 201, {
      params: { tenant_id: tenantId },
      token: operator(),
      body: { name: 'admin', scopes: ['admin', 'events:read'] },
    });
    const writer = await call('POST /v1/tenants/{tenant_id}/keys', 201, {
      params: { tenant_id: tenantId },
      token: admin.body.key,
      body: { name: 'billing-service', scopes: ['events:write'] },
    });
    const other = await createTenant();

    await call('GET /v1/tenants/{tenant_id}', 200, { params: { tenant_id: tenantId }, token: operator() });
    await call('GET /v1/tenants/{tenant_id}', 200, {
      params: { tenant_id: tenantId },
      token: admin.body.key,
    });
    await call('GET /v1/tenants/{tenant_id}', 404, { params: { tenant_id: tenantId }, token: other.key });
    await call('PATCH /v1/tenants/{tenant_id}', 200, {
      params: { tenant_id: tenantId },
      token: operator(),
      body: { plan: 'enterprise' },
    });
    await call('PATCH /v1/tenants/{tenant_id}', 200, {
      params: { tenant_id: tenantId },
      token: admin.body.key,
      body: { email_domains: ['example.com'] },
    });
    await call('GET /v1/tenants/{tenant_id}', 200, { params: { tenant_id: tenantId }, token: operator() });
    await call('GET /v1/tenants/{tenant_id}/keys', 200, {
      params: { tenant_id: tenantId },
      token: operator(),
    });
    await call('DELETE /v1/tenants/{tenant_id}/keys/{key_id}', 204, {
      params: { tenant_id: tenantId, key_id: writer.body.id },
      token: admin.body.key,
    });
    await call('GET /v1/tenants/{tenant_id}/keys', 200, {
      params: { tenant_id: tenantId },
      token: admin.body.key,
    });

    // Problems
    await call('POST /v1/tenants', 401, { body: { name: 'Nobody' } });
    await call('POST /v1/tenants', 403, { token: admin.body.key, body: { name: 'Not mine' } });
    await call('POST /v1/tenants', 400, { token: operator(), body: { name: '', plan: 'platinum' } });
    await call('POST /v1/tenants', 400, { token: operator(), rawBody: '{"name": ', headers: json });
    await call('POST /v1/tenants', 415, {
      token: operator(),
      rawBody: 'name=Acme',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await call('PATCH /v1/tenants/{tenant_id}', 403, {
      params: { tenant_id: tenantId },
      token: admin.body.key,
      body: { plan: 'free' },
    });
    await call('PATCH /v1/tenants/{tenant_id}', 400, {
      params: { tenant_id: tenantId },
      token: operator(),
      body: { shards: 0 },
    });
    await call('POST /v1/tenants/{tenant_id}/keys', 400, {
      params: { tenant_id: tenantId },
      token: operator(),
      body: { name: 'x', scopes: ['everything'] },
    });
    await call('GET /v1/tenants/{tenant_id}/keys', 403, {
      params: { tenant_id: other.id },
      token: (await createKey(other.id, ['events:read'])).key,
    });
    await call('DELETE /v1/tenants/{tenant_id}/keys/{key_id}', 404, {
      params: { tenant_id: tenantId, key_id: 'key_00000000000000000000000000' },
      token: operator(),
    });
    await call('GET /v1/tenants/{tenant_id}', 401, {
      params: { tenant_id: tenantId },
      token: writer.body.key, // revoked above
    });
  });

  it('events', async () => {
    const tenant = await createTenant();
    const writeOnly = await createKey(tenant.id, ['events:write']);
    const id = `contract-${Date.now()}`;

    const stored = await call('POST /v1/events', 201, { token: tenant.key, body: event(id) });
    await call('POST /v1/events', 201, {
      token: tenant.key,
      body: { events: [event(`${id}-b1`), { action: 'auth.login', actor: { id: 'user_42' } }] },
    });
    await call('POST /v1/events', 200, { token: tenant.key, body: event(id) });
    await call('POST /v1/events', 200, { token: writeOnly.key, body: event(id) });
    await call('POST /v1/events', 200, {
      token: writeOnly.key,
      body: { events: [event(id), event(`${id}-b1`)] },
    });
    await call('POST /v1/events', 201, {
      token: writeOnly.key,
      body: { events: [event(id), event(`${id}-b2`)] },
    });

    const page = await call('GET /v1/events', 200, { token: tenant.key, query: { limit: '1' } });
    expect(page.body.next_cursor).not.toBeNull();
    await call('GET /v1/events', 200, {
      token: tenant.key,
      query: { limit: '1', cursor: page.body.next_cursor },
    });
    await call('GET /v1/events', 200, {
      token: tenant.key,
      query: { action: 'member.*,auth.login', actor_email: 'ada@example.com', impersonated: 'false' },
    });
    await call('GET /v1/events/{id}', 200, { params: { id: stored.body.id }, token: tenant.key });
    const suggested = await call('GET /v1/actions', 200, {
      token: tenant.key,
      query: { prefix: 'member.*' },
    });
    expect(suggested.body.data).toEqual([{ action: 'member.role_changed' }]);
    await call('GET /v1/actions', 200, { token: tenant.key });

    // Problems
    await call('POST /v1/events', 409, {
      token: tenant.key,
      body: { events: [event(id, 'other content'), event(`${id}-b3`)] },
    });
    await call('POST /v1/events', 400, {
      token: tenant.key,
      body: { events: [event(`${id}-x`), { action: 'Not.Dotted', actor: {} }] },
    });
    await call('POST /v1/events', 400, { token: tenant.key, rawBody: '{"action": "a.b",', headers: json });
    await call('POST /v1/events', 415, {
      token: tenant.key,
      rawBody: JSON.stringify(event(`${id}-t`)),
      headers: { 'content-type': 'text/plain' },
    });
    await call('POST /v1/events', 413, {
      token: tenant.key,
      rawBody: JSON.stringify({ ...event(`${id}-big`), metadata: { blob: 'x'.repeat(1024 * 1024) } }),
      headers: json,
    });
    await call('POST /v1/events', 401, { body: event(`${id}-anon`) });
    await call('POST /v1/events', 403, { token: operator(), body: event(`${id}-op`) });
    await call('GET /v1/events', 403, { token: writeOnly.key });
    await call('GET /v1/events', 400, { token: tenant.key, query: { limit: '0' } });
    await call('GET /v1/events', 400, {
      token: tenant.key,
      query: { limit: '1', action: 'auth.login', cursor: page.body.next_cursor },
    });
    await call('GET /v1/events/{id}', 404, { params: { id: 'no-such-event' }, token: tenant.key });
    await call('GET /v1/actions', 400, { token: tenant.key, query: { prefix: 'Member.' } });
    await call('GET /v1/actions', 403, { token: writeOnly.key });
    await call('GET /v1/actions', 401, {});
  });

  it('the polling feed', async () => {
    const tenant = await createTenant();
    const writeOnly = await createKey(tenant.id, ['events:write']);
    const first = await call('GET /v1/feed', 200, {
      token: tenant.key,
      query: { from: new Date(Date.now() - 3_600_000).toISOString(), limit: '10' },
    });
    expect(typeof first.body.next_cursor).toBe('string');
    await call('GET /v1/feed', 200, { token: tenant.key, query: { cursor: first.body.next_cursor } });

    // Problems
    await call('GET /v1/feed', 400, { token: tenant.key, query: { limit: '1001' } });
    await call('GET /v1/feed', 400, {
      token: tenant.key,
      query: { cursor: first.body.next_cursor, from: '2026-12-07T00:00:00Z' },
    });
    const other = await createTenant();
    await call('GET /v1/feed', 400, { token: other.key, query: { cursor: first.body.next_cursor } });
    await call('GET /v1/feed', 403, { token: writeOnly.key });
    await call('GET /v1/feed', 403, { token: operator() });
    await call('GET /v1/feed', 401, {});
  });

  it('integrity', async () => {
    const tenant = await createTenant();
    const stored = await call('POST /v1/events', 201, { token: tenant.key, body: event('sealed-later') });
    await call('GET /v1/integrity/digests', 200, { token: tenant.key });
    await call('GET /v1/integrity/digests', 200, {
      token: tenant.key,
      query: { from: '2026-01-01T00:00:00Z', to: new Date().toISOString() },
    });

    // Problems: the event is not sealed yet (the shared stack seals 16 minutes behind).
    await call('GET /v1/events/{id}/proof', 404, { params: { id: stored.body.id }, token: tenant.key });
    await call('GET /v1/integrity/digests', 400, { token: tenant.key, query: { from: 'yesterday' } });
    await call('GET /v1/integrity/digests', 401, {});
  });

  it('exports', async () => {
    const tenant = await createTenant({ plan: 'business' });
    const reader = await createKey(tenant.id, ['events:read']);
    await call('POST /v1/events', 201, {
      token: tenant.key,
      body: { events: [event('exp-1'), event('exp-2'), { action: 'auth.login', actor: { id: 'user_42' } }] },
    });
    await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: operator(),
      body: { email_domains: ['example.com'] },
    });

    const created = await call('POST /v1/exports', 201, {
      token: tenant.key,
      body: { format: 'csv', action: 'member.*,auth.login', notify_email: 'contract-auditor@example.com' },
    });
    expect(created.body.status).toBe('completed');
    await call('POST /v1/exports', 201, { token: tenant.key, body: { format: 'ndjson' } });
    await call('GET /v1/exports/{id}', 200, { params: { id: created.body.id }, token: reader.key });
    await call('GET /v1/exports/{id}/download', 302, { params: { id: created.body.id }, token: tenant.key });
    const link = await call('GET /v1/exports/{id}/download', 200, {
      params: { id: created.body.id },
      token: tenant.key,
      headers: { accept: 'application/json' },
    });
    expect(Date.parse(link.body.expires_at)).toBeGreaterThan(Date.now());

    // Problems
    await call('POST /v1/exports', 400, {
      token: tenant.key,
      body: { format: 'csv', notify_email: 'auditor@elsewhere.example' },
    });
    await call('POST /v1/exports', 400, { token: tenant.key, body: { format: 'xlsx' } });
    await call('POST /v1/exports', 403, { token: reader.key, body: { format: 'csv' } });
    await call('GET /v1/exports/{id}', 404, {
      params: { id: 'exp_00000000000000000000000000' },
      token: tenant.key,
    });
    await call('GET /v1/exports/{id}/download', 404, {
      params: { id: created.body.id },
      token: (await createTenant()).key,
    });
  });

  it('viewer sessions', async () => {
    const tenant = await createTenant();
    const params = { tenant_id: tenant.id };
    const minted = await call('POST /v1/tenants/{tenant_id}/viewer-sessions', 201, {
      params,
      token: tenant.key,
      body: { user: { id: 'user_ada', email: 'ada@example.com' }, role: 'team_admin', team_ids: ['t1'] },
    });
    await call('POST /v1/tenants/{tenant_id}/viewer-sessions', 400, {
      params,
      token: tenant.key,
      body: { user: { id: 'u' }, role: 'root' },
    });
    await call('POST /v1/tenants/{tenant_id}/viewer-sessions', 403, {
      params,
      token: tenant.key,
      body: { user: { id: 'u' }, role: 'guest' },
    });
    await call('POST /v1/tenants/{tenant_id}/viewer-sessions', 404, {
      params: { tenant_id: (await createTenant()).id },
      token: tenant.key,
      body: { user: { id: 'u' }, role: 'owner' },
    });
    await call('POST /v1/sessions', 201, { body: { code: minted.body.code } });
    await call('POST /v1/sessions', 401, { body: { code: minted.body.code } });
    await call('POST /v1/sessions', 400, { body: {} });
    await call('DELETE /v1/tenants/{tenant_id}/viewer-sessions', 204, { params, token: operator() });
    await call('DELETE /v1/tenants/{tenant_id}/viewer-sessions', 204, {
      params,
      query: { user_id: 'user_ada' },
      token: tenant.key,
    });
    await call('DELETE /v1/tenants/{tenant_id}/viewer-sessions', 400, {
      params,
      query: { user_id: '' },
      token: tenant.key,
    });
    await call('DELETE /v1/tenants/{tenant_id}/viewer-sessions', 401, { params });
  });

  it("a person's viewer session on the read routes", async () => {
    const tenant = await createTenant();
    await call('POST /v1/events', 201, {
      token: tenant.key,
      body: { events: [{ ...event('team-1'), team_id: 't1' }, event('org-1')] },
    });
    const session = async (role: string, teamIds?: string[]): Promise<string> => {
      const minted = await call('POST /v1/tenants/{tenant_id}/viewer-sessions', 201, {
        params: { tenant_id: tenant.id },
        token: tenant.key,
        body: { user: { id: `user_${role}` }, role, ...(teamIds ? { team_ids: teamIds } : {}) },
      });
      const exchanged = await call('POST /v1/sessions', 201, { body: { code: minted.body.code } });
      return exchanged.body.token;
    };
    const owner = await session('owner');
    const teamAdmin = await session('team_admin', ['t1']);

    await call('GET /v1/events', 200, { token: owner, query: { team_id: 't1,t2' } });
    await call('GET /v1/integrity/digests', 200, { token: owner });
    await call('GET /v1/feed', 403, { token: owner }); // keys only
    const own = await call('GET /v1/events', 200, { token: teamAdmin });
    expect(own.body.data.map((e: { id: string }) => e.id)).toEqual(['team-1']);
    await call('GET /v1/events', 403, { token: teamAdmin, query: { team_id: 't2' } });
    await call('GET /v1/events/{id}', 404, { params: { id: 'org-1' }, token: teamAdmin });
    await call('GET /v1/integrity/digests', 403, { token: teamAdmin });
    await call('POST /v1/exports', 403, { token: teamAdmin, body: { format: 'csv', team_id: 't2' } });
  });

  it('streams', async () => {
    const tenant = await createTenant({ plan: 'pro' });
    const reader = await createKey(tenant.id, ['events:read']);
    const nowhere = 'https://siem.invalid/hook';
    const quiet = { action: 'nobody.sends_this' };
    const created = await call('POST /v1/streams', 201, {
      token: tenant.key,
      body: { name: 'SIEM', type: 'webhook', url: nowhere, filter: quiet },
    });
    const id: string = created.body.id;
    const splunk = await call('POST /v1/streams', 201, {
      token: tenant.key,
      body: { name: 'Splunk', type: 'splunk_hec', url: nowhere, token: 'hec-token', filter: quiet },
    });
    await call('GET /v1/streams', 200, { token: tenant.key });
    await call('GET /v1/streams/{id}', 200, { params: { id }, token: tenant.key });
    await call('PATCH /v1/streams/{id}', 200, {
      params: { id },
      token: tenant.key,
      body: { status: 'paused' },
    });
    await call('PATCH /v1/streams/{id}', 200, {
      params: { id },
      token: tenant.key,
      body: { status: 'active', filter: null },
    });
    const tested = await call('POST /v1/streams/{id}/test', 200, { params: { id }, token: tenant.key });
    expect(tested.body.receiver_status).toBeNull();
    const rotated = await call('POST /v1/streams/{id}/rotate-secret', 201, {
      params: { id },
      token: tenant.key,
    });
    await call('GET /v1/streams/{id}', 200, { params: { id }, token: tenant.key });
    expect(rotated.body.secret).not.toBe(created.body.secret);
    await call('POST /v1/streams/{id}/replay', 202, {
      params: { id },
      token: tenant.key,
      body: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() },
    });

    // Problems
    await call('POST /v1/streams', 400, {
      token: tenant.key,
      body: { name: 'x', type: 'webhook', url: 'http://siem.example.com/' },
    });
    await call('POST /v1/streams', 400, { token: tenant.key, rawBody: '{"name": ', headers: json });
    await call('POST /v1/streams', 403, {
      token: reader.key,
      body: { name: 'x', type: 'webhook', url: nowhere },
    });
    await call('POST /v1/streams', 401, { body: { name: 'x', type: 'webhook', url: nowhere } });
    await call('PATCH /v1/streams/{id}', 400, { params: { id }, token: tenant.key, body: {} });
    await call('POST /v1/streams/{id}/rotate-secret', 409, {
      params: { id: splunk.body.id },
      token: tenant.key,
    });
    await call('POST /v1/streams/{id}/replay', 400, {
      params: { id },
      token: tenant.key,
      body: { from: '2020-01-01T00:00:00Z', to: new Date().toISOString() },
    });
    await call('GET /v1/streams/{id}', 404, { params: { id }, token: (await createTenant()).key });
    await call('GET /v1/streams', 403, { token: reader.key });
    await call('DELETE /v1/streams/{id}', 204, { params: { id }, token: tenant.key });
    await call('DELETE /v1/streams/{id}', 404, { params: { id }, token: tenant.key });
    await call('POST /v1/streams/{id}/test', 404, { params: { id }, token: tenant.key });
    await call('POST /v1/streams/{id}/rotate-secret', 404, { params: { id }, token: tenant.key });
  });

  it('alerts', async () => {
    const tenant = await createTenant({ plan: 'pro' });
    const reader = await createKey(tenant.id, ['events:read']);
    const quiet = { action: 'nobody.sends_this' };
    const created = await call('POST /v1/alerts', 201, {
      token: tenant.key,
      body: { name: 'SIEM alert', match: quiet, notify: [{ webhook_url: 'https://siem.invalid/alert' }] },
    });
    const id: string = created.body.id;
    expect(created.body.secret).toMatch(/^whsec_/);
    await call('GET /v1/alerts', 200, { token: tenant.key });
    await call('GET /v1/alerts/{id}', 200, { params: { id }, token: tenant.key });
    await call('PATCH /v1/alerts/{id}', 200, {
      params: { id },
      token: tenant.key,
      body: { cooldown_minutes: 60 },
    });

    // Problems
    await call('POST /v1/alerts', 400, {
      token: tenant.key,
      body: {
        name: 'x',
        match: { action: 'a.b', outside_hours: { tz: 'Nowhere/City', from: '09:00', to: '17:00' } },
        notify: [{ email: 'a@example.com' }],
      },
    });
    await call('POST /v1/alerts', 400, { token: tenant.key, rawBody: '{"name": ', headers: json });
    await call('POST /v1/alerts', 403, {
      token: reader.key,
      body: { name: 'x', match: quiet, notify: [{ email: 'a@example.com' }] },
    });
    await call('POST /v1/alerts', 401, {
      body: { name: 'x', match: quiet, notify: [{ email: 'a@example.com' }] },
    });
    await call('PATCH /v1/alerts/{id}', 400, { params: { id }, token: tenant.key, body: {} });
    await call('GET /v1/alerts/{id}', 404, { params: { id }, token: (await createTenant()).key });
    await call('GET /v1/alerts', 403, { token: reader.key });
    await call('DELETE /v1/alerts/{id}', 204, { params: { id }, token: tenant.key });
    await call('DELETE /v1/alerts/{id}', 404, { params: { id }, token: tenant.key });
    await call('PATCH /v1/alerts/{id}', 404, { params: { id }, token: tenant.key, body: { name: 'y' } });
  });

  it('a tenant over its request rate', async () => {
    const tenant = await createTenant({ rate_limit_rps: 1 });
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key })),
    );
    called.add('GET /v1/tenants/{tenant_id}');
    expect(replies.map((r) => r.status)).toContain(429);
    for (const reply of replies) expectDocumented('GET /v1/tenants/{tenant_id}', reply);
  });

  it('called every route of the route table', () => {
    const routed = routesFromManifest().map((route) => route.key);
    expect([...called].sort()).toEqual([...routed].sort());
  });
});
