/**
 * What the audit log console needs from the API, through the HTTP API of the local stack:
 * `exclude_action` on lists and exports (the log's own reads hidden), `scanned_until` on every
 * page (also when a page stops at its work budget), a CSV export's own `columns`, and a tenant's
 * `embed_origins` and `app_url` (who may set them, how they are validated, their trail event).
 */
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

const NOW = Date.now() - 60_000;
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

const download = async (token: string, exportId: string): Promise<string> => {
  const redirect = await api('GET', `/v1/exports/${exportId}/download`, { token });
  expect(redirect.status).toBe(302);
  const file = await fetch(redirect.headers.get('location') ?? '');
  expect(file.status).toBe(200);
  return (await file.text()).replace(/^\uFEFF/, '');
};

describe('exclude_action', () => {
  let tenant: TestTenant;
  /** What is left once the log's own reads are out, newest first. */
  const KEPT = ['trailkeeper.api_key.created', 'auth.login', 'auth.logout', 'member.removed', 'auth.login'];
  beforeAll(async () => {
    tenant = await createTenant();
    const events = [
      { id: 'x-1', action: 'auth.login', occurred_at: at(1), actor: { id: 'u1' } },
      { id: 'x-2', action: 'auth.logout', occurred_at: at(2), actor: { id: 'u1' } },
      { id: 'x-3', action: 'member.removed', occurred_at: at(3), actor: { id: 'u2' } },
      { id: 'x-4', action: 'auth.login', occurred_at: at(4), actor: { id: 'u2' } },
    ];
    expect((await api('POST', '/v1/events', { token: tenant.key, body: { events } })).status).toBe(201);
    // Reads of the log: each writes an audit_log.viewed event into the same trail.
    for (let i = 0; i < 3; i++)
      expect((await api('GET', '/v1/events?limit=1', { token: tenant.key })).status).toBe(200);
  });

  it('hides the audit_log.viewed rows of the log’s own reads with audit_log.*', async () => {
    const all = await listAll(tenant.key, { limit: '100' });
    expect(all.events.filter((e) => e.action === 'audit_log.viewed').length).toBeGreaterThanOrEqual(3);
    const { events } = await listAll(tenant.key, { exclude_action: 'audit_log.*', limit: '2' });
    // Newest first: the creation of the tenant's key (just now), then the events sent.
    expect(events.map((e) => e.action)).toEqual(KEPT);
    expect(events.slice(1).map((e) => e.id)).toEqual(['x-1', 'x-2', 'x-3', 'x-4']);
  });

  it('works with `action`, which picks the index, and with an exact list', async () => {
    const { events } = await listAll(tenant.key, { action: 'auth.*', exclude_action: 'auth.logout' });
    expect(events.map((e) => e.id)).toEqual(['x-1', 'x-4']);
    const listed = await listAll(tenant.key, {
      actor_id: 'u2',
      exclude_action: 'member.removed,audit_log.viewed',
    });
    expect(listed.events.map((e) => e.id)).toEqual(['x-4']);
  });

  it('answers 400 naming exclude_action for a bad entry', async () => {
    const bad = await api('GET', '/v1/events?exclude_action=Audit_Log', { token: tenant.key });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain('exclude_action[0]');
  });

  it('binds the cursor: a cursor made with another exclude_action is refused', async () => {
    const first = await api('GET', '/v1/events?exclude_action=audit_log.*&limit=1', { token: tenant.key });
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const cursor = encodeURIComponent(first.body.next_cursor);
    const same = await api('GET', `/v1/events?exclude_action=audit_log.*&limit=1&cursor=${cursor}`, {
      token: tenant.key,
    });
    expect(same.status).toBe(200);
    for (const other of ['', '&exclude_action=audit_log.viewed']) {
      const refused = await api('GET', `/v1/events?limit=1&cursor=${cursor}${other}`, { token: tenant.key });
      expect(refused.status).toBe(400);
      expect(refused.body.type).toBe('/problems/invalid-cursor');
    }
  });

  it('leaves the actions out of an export too, and the export shows the filter', async () => {
    const created = await api('POST', '/v1/exports', {
      token: tenant.key,
      body: { format: 'ndjson', exclude_action: 'audit_log.*' },
    });
    expect(created.status).toBe(201);
    expect(created.body.filters.exclude_action).toEqual(['audit_log.*']);
    const lines = (await download(tenant.key, created.body.id)).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).action)).toEqual(KEPT);
    expect(lines.slice(1).map((l) => JSON.parse(l).id)).toEqual(['x-1', 'x-2', 'x-3', 'x-4']);
  });
});

describe('scanned_until', () => {
  let tenant: TestTenant;
  const from = at(60);
  beforeAll(async () => {
    tenant = await createTenant();
    const events = [1, 2, 3].map((i) => ({
      id: `s-${i}`,
      action: 'auth.login',
      occurred_at: at(i),
      actor: { id: 'u1' },
    }));
    expect((await api('POST', '/v1/events', { token: tenant.key, body: { events } })).status).toBe(201);
  });

  it("is the last event's time on a full page, and the window's `from` on the last page", async () => {
    const query = `from=${encodeURIComponent(from)}&action=auth.login`;
    const first = await api('GET', `/v1/events?${query}&limit=2`, { token: tenant.key });
    expect(first.status).toBe(200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    expect(first.body.scanned_until).toBe(at(2));
    const cursor = encodeURIComponent(first.body.next_cursor);
    const last = await api('GET', `/v1/events?${query}&limit=2&cursor=${cursor}`, { token: tenant.key });
    expect(last.body).toMatchObject({ next_cursor: null, scanned_until: new Date(from).toISOString() });
  });

  it('says how far back a page searched when it stopped at its work budget, short or empty', async () => {
    // 6,000 events, half of them by `busy`, the other half `rare.event`s by others; then 10 older
    // `rare.event`s by `busy`. Each filter alone holds half of the log, so whichever index the
    // planner reads for both, a page reads ~3,000 items (~0.7 KB each: 2 MB) before it reaches
    // any match — past its budget of 128 read units (1 MB): it stops before it.
    const budget = await createTenant();
    const NOISE = 6_000;
    const note = Array.from({ length: 120 }, (_, i) => String((i * 7919) % 100_003)).join(' ');
    const noise = Array.from({ length: NOISE + 10 }, (_, i) => ({
      id: `n-${String(i).padStart(5, '0')}`,
      action: i < NOISE && i % 2 === 0 ? 'noise.tick' : 'rare.event',
      occurred_at: new Date(NOW - 1_000 - i * 100).toISOString(),
      actor: { id: i < NOISE && i % 2 === 1 ? `other_${i % 7}` : 'busy' },
      metadata: { note: `${i} ${note}` },
    }));
    for (let i = 0; i < noise.length; i += 100) {
      const res = await api('POST', '/v1/events', {
        token: budget.key,
        body: { events: noise.slice(i, i + 100) },
      });
      expect(res.status).toBe(201);
    }
    const windowFrom = new Date(NOW - 3_600_000).toISOString();
    const query = `actor_id=busy&action=rare.event&from=${encodeURIComponent(windowFrom)}&limit=10`;
    const page = await api('GET', `/v1/events?${query}`, { token: budget.key });
    expect(page.status).toBe(200);
    expect(page.body.data).toEqual([]);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    // It searched past the newest noise, not down to the window's start.
    expect(page.body.scanned_until < (noise[0]?.occurred_at as string)).toBe(true);
    expect(page.body.scanned_until > windowFrom).toBe(true);
    // Following the cursors finds every rare event once, and the last page searched to `from`.
    let cursor: string | null = page.body.next_cursor;
    const found: string[] = [];
    let last = page.body;
    for (let n = 0; cursor !== null && n < 20; n++) {
      const next = await api('GET', `/v1/events?${query}&cursor=${encodeURIComponent(cursor)}`, {
        token: budget.key,
      });
      expect(next.status).toBe(200);
      found.push(...next.body.data.map((e: { id: string }) => e.id));
      cursor = next.body.next_cursor;
      last = next.body;
    }
    expect(found).toEqual(noise.slice(NOISE).map((e) => e.id));
    expect(last).toMatchObject({ next_cursor: null, scanned_until: windowFrom });
  }, 180_000);
});

describe('CSV export columns', () => {
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await createTenant();
    const event = {
      id: 'c-1',
      action: 'billing.plan_changed',
      occurred_at: at(1),
      actor: { id: 'u1', email: 'ada@example.com', role: '=admin' },
      area: 'billing',
      method: 'update',
      duration_ms: 42,
      request: { plan: 'pro' },
    };
    expect((await api('POST', '/v1/events', { token: tenant.key, body: event })).status).toBe(201);
  });

  it('writes exactly the asked columns, in order, then the four verification columns', async () => {
    const columns = [
      'timestamp',
      'actor_email',
      'actor_role',
      'area',
      'method',
      'duration_ms',
      'request_json',
      'action',
    ];
    const created = await api('POST', '/v1/exports', {
      token: tenant.key,
      body: { format: 'csv', action: 'billing.*', columns },
    });
    expect(created.status).toBe(201);
    expect(created.body.columns).toEqual(columns);
    const [header, ...rows] = parse(await download(tenant.key, created.body.id)) as string[][];
    expect(header).toEqual([...columns, 'id', 'received_at', 'hash', 'event_json']);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.slice(0, 9)).toEqual([
      at(1),
      'ada@example.com',
      "'=admin", // neutralised, as in every column
      'billing',
      'update',
      '42',
      '{"plan":"pro"}',
      'billing.plan_changed',
      'c-1',
    ]);
  });

  it('answers 400 naming columns[i] for an unknown or repeated column, and for columns with JSON', async () => {
    const send = (body: Record<string, unknown>) => api('POST', '/v1/exports', { token: tenant.key, body });
    const unknown = await send({ format: 'csv', columns: ['action', 'secret_sauce'] });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(unknown.body.errors.map((e: { field: string }) => e.field)).toEqual(['columns[1]']);
    const repeated = await send({ format: 'csv', columns: ['area', 'action', 'area'] });
    expect(repeated.status).toBe(400);
    expect(repeated.body.errors.map((e: { field: string }) => e.field)).toEqual(['columns[2]']);
    for (const format of ['json', 'ndjson']) {
      const whole = await send({ format, columns: ['action'] });
      expect(whole.status).toBe(400);
      expect(whole.body.errors.map((e: { field: string }) => e.field)).toEqual(['columns']);
    }
  });
});

describe('embed_origins and app_url', () => {
  let tenant: TestTenant;
  const patch = (token: string, body: unknown) => api('PATCH', `/v1/tenants/${tenant.id}`, { token, body });
  beforeAll(async () => {
    tenant = await createTenant();
  });

  it('starts with none, and an admin key sets them (normalised) and GET shows them', async () => {
    const fresh = await api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key });
    expect(fresh.body).toMatchObject({ embed_origins: [], app_url: null });
    const changed = await patch(tenant.key, {
      embed_origins: ['https://App.Example.com', 'https://admin.example.com:8443'],
      app_url: 'https://app.example.com/settings/audit-log',
    });
    expect(changed.status).toBe(200);
    const expected = {
      embed_origins: ['https://app.example.com', 'https://admin.example.com:8443'],
      app_url: 'https://app.example.com/settings/audit-log',
    };
    expect(changed.body).toMatchObject(expected);
    expect((await api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key })).body).toMatchObject(
      expected,
    );
  });

  it('records the change in the tenant’s own trail with from/to, and clears app_url with null', async () => {
    const cleared = await patch(operator(), { app_url: null, embed_origins: [] });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ embed_origins: [], app_url: null });
    const { events } = await listAll(tenant.key, { action: 'trailkeeper.tenant.updated' });
    expect(events.map((e) => e.metadata)).toEqual([
      {
        from: {
          embed_origins: ['https://app.example.com', 'https://admin.example.com:8443'],
          app_url: 'https://app.example.com/settings/audit-log',
        },
        to: { embed_origins: [], app_url: null },
      },
      {
        from: { embed_origins: [], app_url: null },
        to: {
          embed_origins: ['https://app.example.com', 'https://admin.example.com:8443'],
          app_url: 'https://app.example.com/settings/audit-log',
        },
      },
    ]);
    expect(events[0]?.actor).toMatchObject({ id: 'operator' });
    expect(events[1]?.actor).toMatchObject({ id: tenant.keyId, type: 'api_key' });
  });

  it('answers 400 naming each bad origin, and a bad app_url, changing nothing', async () => {
    const bad = await patch(tenant.key, {
      embed_origins: [
        'https://ok.example.com',
        'http://app.example.com',
        'https://*.x.com',
        'https://a.com/path',
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'embed_origins[1]',
      'embed_origins[2]',
      'embed_origins[3]',
    ]);
    const eleven = Array.from({ length: 11 }, (_, i) => `https://a${i}.example.com`);
    expect((await patch(tenant.key, { embed_origins: eleven })).status).toBe(400);
    for (const app_url of ['http://app.example.com', 'not a url', `https://a.com/${'x'.repeat(2048)}`]) {
      const refused = await patch(tenant.key, { app_url });
      expect(refused.status).toBe(400);
      expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['app_url']);
    }
    const shown = await api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key });
    expect(shown.body).toMatchObject({ embed_origins: [], app_url: null });
  });

  it('is refused to a key without admin (403) and to a person with a viewer session (403)', async () => {
    const reader = await createKey(tenant.id, ['events:read']);
    expect((await patch(reader.key, { embed_origins: ['https://evil.example.com'] })).status).toBe(403);
    const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
      token: tenant.key,
      body: { user: { id: 'user_owner', email: 'owner@example.com' }, role: 'owner' },
    });
    expect(minted.status).toBe(201);
    const session = await api('POST', '/v1/sessions', { body: { code: minted.body.code } });
    expect(session.status).toBe(201);
    const byPerson = await patch(session.body.token, {
      embed_origins: ['https://evil.example.com'],
      app_url: 'https://evil.example.com',
    });
    expect(byPerson.status).toBe(403);
    const shown = await api('GET', `/v1/tenants/${tenant.id}`, { token: tenant.key });
    expect(shown.body).toMatchObject({ embed_origins: [], app_url: null });
  });

  it('keeps the plan the operator’s: an admin key changing it with embed_origins is refused', async () => {
    const mixed = await patch(tenant.key, { embed_origins: ['https://app.example.com'], plan: 'enterprise' });
    expect(mixed.status).toBe(403);
  });
});
