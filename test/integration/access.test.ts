/**
 * Access through the HTTP API: tenants and keys, scopes, revocation, tenant isolation of ids,
 * lists and cursors, and bad input answered 4xx problem+json with nothing stored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

let a: TestTenant;
let b: TestTenant;
let aEventId: string;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant({ name: 'A' }), createTenant({ name: 'B' })]);
  const events = Array.from({ length: 12 }, (_, i) => ({
    id: `shared-${i}`,
    action: 'doc.viewed',
    actor: { id: 'same-actor' },
    target: { type: 'doc', id: 'd1' },
  }));
  await api('POST', '/v1/events', { token: a.key, body: { events } });
  await api('POST', '/v1/events', { token: b.key, body: { events: events.slice(0, 3) } });
  aEventId = (
    await api('POST', '/v1/events', { token: a.key, body: { action: 'doc.deleted', actor: { id: 'x' } } })
  ).body.id;
});

describe('tenant isolation', () => {
  it("answers 404 for another tenant's event id", async () => {
    expect((await api('GET', `/v1/events/${aEventId}`, { token: a.key })).status).toBe(200);
    const other = await api('GET', `/v1/events/${aEventId}`, { token: b.key });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
  });

  it('keeps the same client ids of two tenants apart', async () => {
    const fromA = await listAll(a.key, { actor_id: 'same-actor' });
    const fromB = await listAll(b.key, { actor_id: 'same-actor' });
    expect(fromA.events).toHaveLength(12);
    expect(fromB.events).toHaveLength(3);
    expect(fromB.events.every((e) => e.tenant_id === b.id)).toBe(true);
    const bShared = await api('GET', '/v1/events/shared-5', { token: b.key });
    expect(bShared.status).toBe(404);
  });

  it('rejects a cursor from another tenant, another query, or altered', async () => {
    const page = await api('GET', '/v1/events?actor_id=same-actor&limit=5', { token: a.key });
    const cursor: string = page.body.next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const foreign = await api('GET', `/v1/events?actor_id=same-actor&limit=5&cursor=${cursor}`, {
      token: b.key,
    });
    expect(foreign.status).toBe(400);
    const otherQuery = await api('GET', `/v1/events?actor_id=x&limit=5&cursor=${cursor}`, { token: a.key });
    expect(otherQuery.status).toBe(400);
    const altered = `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`;
    const tampered = await api('GET', `/v1/events?actor_id=same-actor&limit=5&cursor=${altered}`, {
      token: a.key,
    });
    expect(tampered.status).toBe(400);
    expect(tampered.body.type).toBe('/problems/invalid-cursor');
  });

  it("does not let a tenant admin key reach another tenant's keys or settings", async () => {
    expect((await api('GET', `/v1/tenants/${b.id}/keys`, { token: a.key })).status).toBe(404);
    expect((await api('GET', `/v1/tenants/${b.id}`, { token: a.key })).status).toBe(404);
    expect(
      (
        await api('POST', `/v1/tenants/${b.id}/keys`, {
          token: a.key,
          body: { name: 'x', scopes: ['admin'] },
        })
      ).status,
    ).toBe(404);
  });
});

describe('credentials and scopes', () => {
  it('answers 401 without credentials and for an unknown key', async () => {
    expect((await api('GET', '/v1/events')).status).toBe(401);
    const unknown = await api('GET', '/v1/events', {
      token: `tk.${a.id}.key_01jd0000000000000000000000.${'A'.repeat(43)}`,
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.type).toBe('/problems/unauthorized');
  });

  it('answers 403 for a key without the scope', async () => {
    const reader = await createKey(a.id, ['events:read']);
    const write = await api('POST', '/v1/events', {
      token: reader.key,
      body: { action: 'a.b', actor: { id: 'u' } },
    });
    expect(write.status).toBe(403);
    const writer = await createKey(a.id, ['events:write']);
    expect((await api('GET', '/v1/events', { token: writer.key })).status).toBe(403);
    expect((await api('GET', `/v1/tenants/${a.id}/keys`, { token: writer.key })).status).toBe(403);
  });

  it('refuses a revoked key from then on', async () => {
    const key = await createKey(a.id, ['events:read']);
    expect((await api('GET', '/v1/events', { token: key.key })).status).toBe(200);
    expect((await api('DELETE', `/v1/tenants/${a.id}/keys/${key.id}`, { token: a.key })).status).toBe(204);
    expect((await api('GET', '/v1/events', { token: key.key })).status).toBe(401);
    const listed = await api('GET', `/v1/tenants/${a.id}/keys`, { token: operator() });
    const entry = listed.body.data.find((k: { id: string }) => k.id === key.id);
    expect(entry.revoked_at).toEqual(expect.any(String));
    expect(JSON.stringify(listed.body)).not.toMatch(/secret_hash|tk\./);
    expect(
      (await api('DELETE', `/v1/tenants/${a.id}/keys/key_01jd0000000000000000000000`, { token: a.key }))
        .status,
    ).toBe(404);
  });
});

describe('tenants', () => {
  it('lets the operator create, read and change a tenant, and nobody else', async () => {
    const created = await api('POST', '/v1/tenants', {
      token: operator(),
      body: { name: 'Globex', plan: 'business' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Globex',
      plan: 'business',
      retention_days: 365,
      created_at: expect.any(String),
    });
    const patched = await api('PATCH', `/v1/tenants/${created.body.id}`, {
      token: operator(),
      body: { plan: 'compliance' },
    });
    expect(patched.body).toMatchObject({ plan: 'compliance', retention_days: 2557 });
    const custom = await api('PATCH', `/v1/tenants/${created.body.id}`, {
      token: operator(),
      body: { retention_days: 45 },
    });
    expect(custom.body.retention_days).toBe(45);
    expect(
      (await api('GET', `/v1/tenants/${created.body.id}`, { token: operator() })).body.retention_days,
    ).toBe(45);
    expect((await api('POST', '/v1/tenants', { token: a.key, body: { name: 'X' } })).status).toBe(403);
    expect((await api('PATCH', `/v1/tenants/${a.id}`, { token: a.key, body: { plan: 'free' } })).status).toBe(
      403,
    );
    expect(
      (await api('GET', '/v1/tenants/tnt_01jd0000000000000000000000', { token: operator() })).status,
    ).toBe(404);
  });

  it('validates tenant and key bodies', async () => {
    const bad = await api('POST', '/v1/tenants', { token: operator(), body: { name: '', plan: 'platinum' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['name', 'plan']);
    const badKey = await api('POST', `/v1/tenants/${a.id}/keys`, {
      token: operator(),
      body: { name: 'k', scopes: ['root'] },
    });
    expect(badKey.status).toBe(400);
    expect(badKey.body.errors[0].field).toBe('scopes[0]');
  });
});

describe('bad input', () => {
  it.each([
    [
      'malformed JSON',
      { rawBody: '{"action": ', headers: { 'content-type': 'application/json' } },
      400,
      '/problems/malformed-json',
    ],
    ['a JSON array', { body: [1, 2] }, 400, '/problems/validation-error'],
    ['an empty body', {}, 400, '/problems/validation-error'],
    [
      'a non-JSON content type',
      { rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      '/problems/unsupported-media-type',
    ],
    [
      'a body over 1 MiB',
      { body: { action: 'a.b', actor: { id: 'u' }, metadata: { x: 'y'.repeat(1_100_000) } } },
      413,
      '/problems/payload-too-large',
    ],
  ])('answers %s with a clear 4xx problem', async (_name, options, status, type) => {
    const res = await api('POST', '/v1/events', { token: a.key, ...options });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status, type, title: expect.any(String), detail: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=5000', 'limit'],
    ['action=Bad*', 'action'],
    ['from=yesterday', 'from'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
    ['cursor=not-a-cursor', null],
    ['unknown=1', 'unknown'],
  ])('rejects the query %s naming the field', async (query, field) => {
    const res = await api('GET', `/v1/events?${query}`, { token: a.key });
    expect(res.status).toBe(400);
    if (field !== null)
      expect(res.body.errors.some((e: { field: string }) => e.field.startsWith(field))).toBe(true);
  });

  it('answers 404 for an unknown event id, even a hostile one', async () => {
    for (const id of ['nope', '..%2F..%2Fetc', '%23', 'x'.repeat(300), 'y'.repeat(5000)]) {
      expect((await api('GET', `/v1/events/${id}`, { token: a.key })).status).toBe(404);
    }
  });
});

describe('health', () => {
  it('answers without credentials', async () => {
    const res = await api('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});
