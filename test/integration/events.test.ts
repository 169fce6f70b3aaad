/**
 * Ingest and query through the HTTP API of the local stack: every filter against a client-side
 * expectation with small pages, sharded and unsharded tenants, idempotency, batches, redaction,
 * read auditing, expiry.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createKey, createTenant, listAll, type TestTenant } from './client.ts';

const ACTIONS = [
  'auth.login',
  'auth.login',
  'auth.logout',
  'member.role_changed',
  'member.removed',
  'secret.read',
  'secret.key.rotated',
  'secret.key.created',
  'billing.plan_changed',
];
const SEED_NOW = Date.now() - 60_000;

/** A deterministic, varied trail of 90 events over the last 10 days (pairs share a timestamp). */
const seedEvents = () =>
  Array.from({ length: 90 }, (_, i) => ({
    id: `seed-${String(i).padStart(3, '0')}`,
    action: ACTIONS[(i * 7) % ACTIONS.length] as string,
    occurred_at: new Date(SEED_NOW - Math.floor(i / 2) * 9_600_000).toISOString(),
    actor: {
      id: `u${i % 5}`,
      email: `U${i % 5}@Example.com`,
      type: i % 5 === 4 ? ('api_key' as const) : ('user' as const),
      role: i % 2 ? 'admin' : 'owner',
    },
    ...(i % 4 === 3
      ? {}
      : { target: { type: ['secret', 'member', 'plan'][i % 3] as string, id: `t${i % 7}` } }),
    ...(i % 3 === 0 ? {} : { team_id: i % 3 === 1 ? 'team_a' : 'team_b' }),
    ...(i % 9 === 0 ? { impersonator: { id: 'support_1' } } : {}),
    area: i % 2 ? 'billing' : 'security',
    method: i % 5 ? 'POST' : 'update',
    status: i % 6 === 0 ? 403 : i % 4 === 0 ? 'failure' : 'success',
    context: { ip: i % 2 ? '203.0.113.7' : '2001:db8::7', user_agent: 'vitest' },
    metadata: { i },
  }));

type Seed = ReturnType<typeof seedEvents>[number];
const sortKey = (e: { occurred_at: string; id: string }) =>
  `${new Date(e.occurred_at).toISOString()}#${e.id}`;
const newestFirst = (events: Seed[]) => [...events].sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));

const FILTERS: [string, Record<string, string>, (e: Seed) => boolean][] = [
  ['time only', {}, () => true],
  [
    'a narrower window',
    { from: new Date(SEED_NOW - 3 * 86_400_000).toISOString() },
    (e) => Date.parse(e.occurred_at) >= SEED_NOW - 3 * 86_400_000,
  ],
  ['exact action', { action: 'auth.login' }, (e) => e.action === 'auth.login'],
  ['action prefix', { action: 'secret.*' }, (e) => e.action.startsWith('secret.')],
  ['deep action prefix', { action: 'secret.key.*' }, (e) => e.action.startsWith('secret.key.')],
  [
    'action list',
    { action: 'auth.logout,member.*' },
    (e) => e.action === 'auth.logout' || e.action.startsWith('member.'),
  ],
  ['actor id', { actor_id: 'u1' }, (e) => e.actor.id === 'u1'],
  ['actor email, any case', { actor_email: 'u2@EXAMPLE.com' }, (e) => e.actor.id === 'u2'],
  ['target id', { target_id: 't3' }, (e) => e.target?.id === 't3'],
  [
    'target id and type',
    { target_id: 't3', target_type: 'secret' },
    (e) => e.target?.id === 't3' && e.target.type === 'secret',
  ],
  ['target type', { target_type: 'member' }, (e) => e.target?.type === 'member'],
  ['team', { team_id: 'team_a' }, (e) => e.team_id === 'team_a'],
  [
    'area and status',
    { area: 'security', status: 'failure' },
    (e) => e.area === 'security' && e.status === 'failure',
  ],
  ['method', { method: 'update' }, (e) => e.method === 'update'],
  ['area', { area: 'billing' }, (e) => e.area === 'billing'],
  ['status word', { status: 'failure' }, (e) => e.status === 'failure'],
  ['HTTP status', { status: '403' }, (e) => e.status === 403],
  ['impersonated', { impersonated: 'true' }, (e) => e.impersonator !== undefined],
  [
    'actor and action prefix',
    { actor_id: 'u1', action: 'secret.*' },
    (e) => e.actor.id === 'u1' && e.action.startsWith('secret.'),
  ],
  ['actor type', { actor_type: 'api_key' }, (e) => e.actor.type === 'api_key'],
  ['actor type list', { actor_type: 'user,service' }, (e) => e.actor.type === 'user'],
  ['actor id list', { actor_id: 'u1,u3' }, (e) => e.actor.id === 'u1' || e.actor.id === 'u3'],
  [
    'target type list',
    { target_type: 'secret,plan' },
    (e) => e.target?.type === 'secret' || e.target?.type === 'plan',
  ],
  ['team list', { team_id: 'team_a,team_b' }, (e) => e.team_id !== undefined],
  [
    'exclude_action',
    { exclude_action: 'auth.*,secret.key.*' },
    (e) => !/^(auth\.|secret\.key\.)/.test(e.action),
  ],
  [
    'actor email and team',
    { actor_email: 'u2@example.COM', team_id: 'team_a' },
    (e) => e.actor.id === 'u2' && e.team_id === 'team_a',
  ],
  [
    'target type list, status and actor type',
    { target_type: 'secret,member', status: 'failure', actor_type: 'user' },
    (e) =>
      (e.target?.type === 'secret' || e.target?.type === 'member') &&
      e.status === 'failure' &&
      e.actor.type === 'user',
  ],
  [
    'team and not impersonated',
    { team_id: 'team_b', impersonated: 'false' },
    (e) => e.team_id === 'team_b' && e.impersonator === undefined,
  ],
];

describe.each([
  ['one shard', 1],
  ['four shards', 4],
])('event filters on a tenant with %s', (_name, shards) => {
  let tenant: TestTenant;
  const seeds = seedEvents();
  const to = new Date(SEED_NOW).toISOString();

  beforeAll(async () => {
    tenant = await createTenant({ shards });
    for (let i = 0; i < seeds.length; i += 30) {
      const res = await api('POST', '/v1/events', {
        token: tenant.key,
        body: { events: seeds.slice(i, i + 30) },
      });
      expect(res.status).toBe(201);
    }
  });

  it.each(FILTERS)('%s matches the expectation page by page', async (_label, query, predicate) => {
    const expected = newestFirst(seeds.filter(predicate)).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(0);
    const { events, pages } = await listAll(tenant.key, { to, ...query, limit: '7' });
    expect(events.map((e) => e.id)).toEqual(expected);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 7));
    for (const e of events) expect(e.tenant_id).toBe(tenant.id);
  });

  it('returns full pages of exactly `limit` until the end', async () => {
    const first = await api('GET', `/v1/events?to=${encodeURIComponent(to)}&limit=25`, { token: tenant.key });
    expect(first.body.data).toHaveLength(25);
    expect(first.body.next_cursor).toEqual(expect.any(String));
  });
});

describe('ingest', () => {
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await createTenant();
  });

  it('stores one event, returns it with server fields, and serves it by id', async () => {
    const res = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        action: 'member.role_changed',
        actor: { id: 'u1', email: 'a@b.co' },
        metadata: { from: 'member', to: 'admin' },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-z]{26}$/),
      tenant_id: tenant.id,
      impersonated: false,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      expires_at: expect.any(String),
    });
    const byId = await api('GET', `/v1/events/${res.body.id}`, { token: tenant.key });
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(res.body);
  });

  it('is idempotent on the client id: a same-content replay returns the stored event and stores nothing new', async () => {
    const body = { id: 'idem-1', action: 'auth.login', actor: { id: 'u9' } };
    const first = await api('POST', '/v1/events', { token: tenant.key, body });
    const replay = await api('POST', '/v1/events', { token: tenant.key, body });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    const { events } = await listAll(tenant.key, { actor_id: 'u9' });
    expect(events.map((e) => e.id)).toEqual(['idem-1']);
  });

  it('answers a write-only key replaying an id with {id, duplicate}, never the stored event', async () => {
    const writer = await createKey(tenant.id, ['events:write']);
    const body = { id: 'idem-w', action: 'auth.login', actor: { id: 'u-w' }, metadata: { secretish: 'x' } };
    const first = await api('POST', '/v1/events', { token: writer.key, body });
    const replay = await api('POST', '/v1/events', { token: writer.key, body });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ id: 'idem-w', duplicate: true });
  });

  it('refuses an id reused with other content with 409, keeping the stored event', async () => {
    const body = { id: 'idem-c', action: 'auth.login', actor: { id: 'u-c' } };
    const first = await api('POST', '/v1/events', { token: tenant.key, body });
    const reuse = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { ...body, actor: { id: 'someone-else' } },
    });
    expect(reuse.status).toBe(409);
    expect(reuse.headers.get('content-type')).toBe('application/problem+json');
    expect(reuse.body).toMatchObject({
      type: '/problems/id-conflict',
      errors: [{ field: 'id', id: 'idem-c' }],
    });
    const stored = await api('GET', '/v1/events/idem-c', { token: tenant.key });
    expect(stored.body).toEqual(first.body);
  });

  it('stores the rest of a batch that reuses ids with other content, and lists every conflict', async () => {
    const event = (i: number) => ({
      id: `mix-${i}`,
      action: 'auth.login',
      actor: { id: 'mixer' },
      metadata: { i },
    });
    expect(
      (await api('POST', '/v1/events', { token: tenant.key, body: { events: [event(0), event(1)] } })).status,
    ).toBe(201);
    const events = [event(0), { ...event(1), metadata: { i: 'changed' } }, event(2), event(3)];
    const res = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
    expect(res.status).toBe(409);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: 'events[1].id', index: 1, id: 'mix-1' }),
    ]);
    const stored = await listAll(tenant.key, { actor_id: 'mixer' });
    expect(stored.events.map((e) => e.id).sort()).toEqual(['mix-0', 'mix-1', 'mix-2', 'mix-3']);
    expect(stored.events.find((e) => e.id === 'mix-1')?.metadata).toEqual({ i: 1 });
    const retry = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { events: [event(2), event(3)] },
    });
    expect(retry.status).toBe(200);
  });

  it.each([
    ['a reserved action', { action: 'audit_log.viewed', actor: { id: 'u' } }, 400, 'action'],
    ['a service id', { id: 'tk_audit-export-exp_x', action: 'auth.login', actor: { id: 'u' } }, 400, 'id'],
  ])('refuses %s with 400 naming the field', async (_name, body, status, field) => {
    const res = await api('POST', '/v1/events', { token: tenant.key, body });
    expect(res.status).toBe(status);
    expect(res.body.errors).toEqual([expect.objectContaining({ field })]);
  });

  it('refuses a body that is not application/json with 415, and a number JSON cannot keep with 400', async () => {
    const raw = '{"action":"auth.login","actor":{"id":"u-n"},"metadata":{"amount":12345678901234567890123}}';
    const asText = await api('POST', '/v1/events', {
      token: tenant.key,
      rawBody: raw.replace('12345678901234567890123', '1'),
      headers: { 'content-type': 'text/plain' },
    });
    expect(asText.status).toBe(415);
    const noType = await api('POST', '/v1/events', {
      token: tenant.key,
      rawBody: raw.replace('12345678901234567890123', '1'),
    });
    expect(noType.status).toBe(415);
    const big = await api('POST', '/v1/events', {
      token: tenant.key,
      rawBody: raw,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(big.status).toBe(400);
    expect(big.body.errors).toEqual([expect.objectContaining({ field: 'metadata.amount' })]);
    expect((await listAll(tenant.key, { actor_id: 'u-n' })).events).toEqual([]);
  });

  it('stores a batch of 100 and replays it safely', async () => {
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `batch-${i}`,
      action: 'auth.login',
      actor: { id: 'batcher' },
    }));
    const first = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
    expect(first.status).toBe(201);
    expect(first.body.data).toHaveLength(100);
    const again = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(first.body.data);
    const stored = await listAll(tenant.key, { actor_id: 'batcher', limit: '1000' });
    expect(stored.events).toHaveLength(100);
  });

  it('rejects a batch of 101 and a batch with one bad event, storing none of it', async () => {
    const good = (i: number) => ({ id: `aon-${i}`, action: 'auth.login', actor: { id: 'all-or-nothing' } });
    const tooMany = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { events: Array.from({ length: 101 }, (_, i) => good(i)) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].field).toBe('events');

    const mixed = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        events: [
          good(1),
          { ...good(2), action: 'Not Valid' },
          good(3),
          { ...good(4), context: { ip: 'nope' } },
        ],
      },
    });
    expect(mixed.status).toBe(400);
    expect(mixed.headers.get('content-type')).toBe('application/problem+json');
    expect(mixed.body.errors).toEqual([
      expect.objectContaining({ field: 'events[1].action', index: 1 }),
      expect.objectContaining({ field: 'events[3].context.ip', index: 3 }),
    ]);
    const { events } = await listAll(tenant.key, { actor_id: 'all-or-nothing' });
    expect(events).toEqual([]);
  });

  it('redacts secrets in metadata and request before storing', async () => {
    const res = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        action: 'integration.updated',
        actor: { id: 'u1' },
        request: {
          headers: { Authorization: 'Bearer abc' },
          body: { client_secret: 's3cr3t', name: 'Slack' },
        },
        metadata: { changes: [{ field: 'password', new_password: 'hunter2' }] },
      },
    });
    expect(res.status).toBe(201);
    const stored = await api('GET', `/v1/events/${res.body.id}`, { token: tenant.key });
    expect(stored.body.request).toEqual({
      headers: { Authorization: '[REDACTED]' },
      body: { client_secret: '[REDACTED]', name: 'Slack' },
    });
    expect(stored.body.metadata).toEqual({ changes: [{ field: 'password', new_password: '[REDACTED]' }] });
    expect(JSON.stringify(stored.body)).not.toMatch(/hunter2|s3cr3t|Bearer abc/);
  });

  it('flags impersonated events and filters on the flag', async () => {
    const res = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        action: 'member.removed',
        actor: { id: 'imp-actor' },
        impersonator: { id: 'support_9', email: 's@vendor.io' },
      },
    });
    expect(res.body.impersonated).toBe(true);
    const { events } = await listAll(tenant.key, { actor_id: 'imp-actor', impersonated: 'true' });
    expect(events.map((e) => e.id)).toEqual([res.body.id]);
  });
});

describe('reading the trail is audited', () => {
  it('writes audit_log.viewed with the reading key as actor', async () => {
    const tenant = await createTenant();
    await api('GET', '/v1/events?actor_id=nobody', { token: tenant.key });
    const { events } = await listAll(tenant.key, { action: 'audit_log.viewed' });
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({
      action: 'audit_log.viewed',
      actor: { id: tenant.keyId, type: 'api_key' },
      metadata: { filters: { actor_id: 'nobody' }, returned: 0 },
    });
  });
});

describe('retention', () => {
  it('never returns an event past its expiry, by id or in lists', async () => {
    const tenant = await createTenant({ retention_days: 1 });
    const occurred = new Date(Date.now() - 86_400_000 + 1_500).toISOString();
    const res = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { action: 'auth.login', actor: { id: 'ephemeral' }, occurred_at: occurred },
    });
    expect(res.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await api('GET', `/v1/events/${res.body.id}`, { token: tenant.key })).status).toBe(404);
    expect((await listAll(tenant.key, { actor_id: 'ephemeral' })).events).toEqual([]);
  });

  it('rejects events older than the retention window', async () => {
    const tenant = await createTenant({ plan: 'free' });
    const res = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        action: 'auth.login',
        actor: { id: 'u' },
        occurred_at: new Date(Date.now() - 31 * 86_400_000).toISOString(),
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('occurred_at');
  });
});
