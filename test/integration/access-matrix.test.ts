/**
 * The access matrix, through the HTTP API of the local stack: every caller (anonymous, the
 * operator, a key of each scope, a person of each role that may sign in) against every route of
 * the manifest, with the status SPEC gives; and for reads, the exact set of events each caller
 * sees (a team admin: exactly their teams' events, nothing organization-level). The route list
 * comes from the manifest, so a route added later fails here until its row is written.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteKey } from '#shared/config/routes.ts';
import { api, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

type Caller =
  | 'anonymous'
  | 'operator'
  | 'key:events:write'
  | 'key:events:read'
  | 'key:exports:write'
  | 'key:admin'
  | 'person:owner'
  | 'person:admin'
  | 'person:auditor'
  | 'person:team_admin';

const CALLERS: readonly Caller[] = [
  'anonymous',
  'operator',
  'key:events:write',
  'key:events:read',
  'key:exports:write',
  'key:admin',
  'person:owner',
  'person:admin',
  'person:auditor',
  'person:team_admin',
];
const PEOPLE = CALLERS.filter((c) => c.startsWith('person:'));
const TEAMS = ['t1', 't2'];

let tenant: TestTenant;
const tokens = new Map<Caller, string>();
/** Ids of the seeded events, by team ('' = organization-level). */
const seeded = new Map<string, string>();
let keyExport: string;

const mint = async (role: string, extra: Record<string, unknown> = {}) => {
  const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
    token: operator(),
    body: { user: { id: `user_${role}`, email: `${role}@example.com`, name: role }, role, ...extra },
  });
  if (minted.status !== 201) throw new Error(`mint ${role}: ${minted.status} ${JSON.stringify(minted.body)}`);
  return minted.body.code as string;
};

const exchange = async (code: string): Promise<string> => {
  const session = await api('POST', '/v1/sessions', { body: { code } });
  if (session.status !== 201) throw new Error(`exchange: ${session.status} ${JSON.stringify(session.body)}`);
  return session.body.token as string;
};

beforeAll(async () => {
  // Every route × every caller, as fast as the stack answers: far past a `pro` tenant's 100
  // requests/s, whose 429s would stand in for the statuses under test (limits.test.ts tests them).
  tenant = await createTenant({ name: 'Matrix', rate_limit_rps: 10_000 });
  for (const scope of ['events:write', 'events:read', 'exports:write', 'admin'] as const)
    tokens.set(`key:${scope}`, (await createKey(tenant.id, [scope])).key);
  tokens.set('operator', operator());
  for (const caller of PEOPLE) {
    const role = caller.slice('person:'.length);
    const code = await mint(role, role === 'team_admin' ? { team_ids: TEAMS } : {});
    tokens.set(caller, await exchange(code));
  }
  const events = ['', 't1', 't2', 't3'].map((team) => ({
    id: `matrix-${team || 'org'}`,
    action: 'document.shared',
    actor: { id: 'u1' },
    ...(team ? { team_id: team } : {}),
  }));
  const sent = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
  expect(sent.status).toBe(201);
  for (const event of events) seeded.set(event.team_id ?? '', event.id);
  const exported = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'json' } });
  expect(exported.status).toBe(201);
  keyExport = exported.body.id;
});

interface Row {
  /** The request a caller makes on this route (fresh resources where the call consumes them). */
  request: () => Promise<{ path: string; body?: unknown; headers?: Record<string, string> }>;
  /** The status for each caller; `default` for those not listed. */
  expect: Partial<Record<Caller, number>> & { default: number };
}

const WHOLE = { 'person:owner': 0, 'person:admin': 0, 'person:auditor': 0 } as const;
const each = <T extends Record<string, number>>(keys: T, status: number) =>
  Object.fromEntries(Object.keys(keys).map((k) => [k, status])) as Record<keyof T, number>;
const readers = (status: number, teamAdmin = status) => ({
  'key:events:read': status,
  ...each(WHOLE, status),
  'person:team_admin': teamAdmin,
});

/** A stream of the matrix tenant (created with its all-scopes key); nothing is ever delivered to it. */
const newStream = async (): Promise<string> => {
  const created = await api('POST', '/v1/streams', {
    token: tenant.key,
    body: {
      name: 'matrix',
      type: 'webhook',
      url: 'https://siem.invalid/hook',
      filter: { action: 'nobody.sends_this' },
    },
  });
  if (created.status !== 201) throw new Error(`stream: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id as string;
};

/** An alert of the matrix tenant; its action is one nobody sends, so it never fires. */
const ALERT_BODY = {
  name: 'matrix',
  match: { action: 'nobody.sends_this' },
  notify: [{ webhook_url: 'https://siem.invalid/alert' }],
};
const newAlert = async (): Promise<string> => {
  const created = await api('POST', '/v1/alerts', { token: tenant.key, body: ALERT_BODY });
  if (created.status !== 201) throw new Error(`alert: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id as string;
};

/** Streams: an `admin` key, or an owner/admin person whose role may export (SPEC, "Streams and alerts"). */
const streamAdmins = (status: number) => ({
  'key:admin': status,
  'person:owner': status,
  'person:admin': status,
});

/** One row per route of the manifest: SPEC's "Access" and "People, roles and the console". */
const MATRIX: Record<RouteKey, Row> = {
  'GET /health': { request: async () => ({ path: '/health' }), expect: { default: 200 } },
  'GET /v1/openapi.json': { request: async () => ({ path: '/v1/openapi.json' }), expect: { default: 200 } },
  // The page shell holds no data: the same page for everyone (the data needs a session token).
  'GET /console/t/{tenant_id}': {
    request: async () => ({ path: `/console/t/${tenant.id}/` }),
    expect: { default: 200 },
  },
  'GET /v1/integrity/public-key': {
    request: async () => ({ path: '/v1/integrity/public-key' }),
    expect: { default: 200 },
  },
  'POST /v1/events': {
    request: async () => ({ path: '/v1/events', body: { action: 'document.viewed', actor: { id: 'u1' } } }),
    expect: { default: 403, anonymous: 401, 'key:events:write': 201 },
  },
  'GET /v1/events': {
    request: async () => ({ path: '/v1/events?action=document.shared' }),
    expect: { default: 403, anonymous: 401, ...readers(200) },
  },
  'GET /v1/events/{id}': {
    request: async () => ({ path: `/v1/events/${seeded.get('t1')}` }),
    expect: { default: 403, anonymous: 401, ...readers(200) },
  },
  // Keys only: the feed is a SIEM's, never a viewer session's.
  'GET /v1/feed': {
    request: async () => ({ path: '/v1/feed?limit=5' }),
    expect: { default: 403, anonymous: 401, 'key:events:read': 200 },
  },
  'GET /v1/actions': {
    request: async () => ({ path: '/v1/actions?prefix=document.' }),
    expect: { default: 403, anonymous: 401, ...readers(200) },
  },
  // Not sealed yet: 404 for everyone who may ask (proofs are tested in integrity.test.ts).
  'GET /v1/events/{id}/proof': {
    request: async () => ({ path: `/v1/events/${seeded.get('t1')}/proof` }),
    expect: { default: 403, anonymous: 401, ...readers(404) },
  },
  'GET /v1/integrity/digests': {
    request: async () => ({ path: '/v1/integrity/digests' }),
    expect: { default: 403, anonymous: 401, ...readers(200, 403) },
  },
  'POST /v1/tenants': {
    request: async () => ({ path: '/v1/tenants', body: { name: 'Another' } }),
    expect: { default: 403, anonymous: 401, operator: 201 },
  },
  'GET /v1/tenants/{tenant_id}': {
    request: async () => ({ path: `/v1/tenants/${tenant.id}` }),
    expect: { default: 403, anonymous: 401, operator: 200, 'key:admin': 200 },
  },
  'PATCH /v1/tenants/{tenant_id}': {
    request: async () => ({ path: `/v1/tenants/${tenant.id}`, body: { email_domains: [] } }),
    expect: { default: 403, anonymous: 401, operator: 200, 'key:admin': 200 },
  },
  'POST /v1/tenants/{tenant_id}/keys': {
    request: async () => ({
      path: `/v1/tenants/${tenant.id}/keys`,
      body: { name: 'k', scopes: ['events:read'] },
    }),
    expect: { default: 403, anonymous: 401, operator: 201, 'key:admin': 201 },
  },
  'GET /v1/tenants/{tenant_id}/keys': {
    request: async () => ({ path: `/v1/tenants/${tenant.id}/keys` }),
    expect: { default: 403, anonymous: 401, operator: 200, 'key:admin': 200 },
  },
  'DELETE /v1/tenants/{tenant_id}/keys/{key_id}': {
    request: async () => ({
      path: `/v1/tenants/${tenant.id}/keys/${(await createKey(tenant.id, ['events:read'])).id}`,
    }),
    expect: { default: 403, anonymous: 401, operator: 204, 'key:admin': 204 },
  },
  'POST /v1/tenants/{tenant_id}/viewer-sessions': {
    request: async () => ({
      path: `/v1/tenants/${tenant.id}/viewer-sessions`,
      body: { user: { id: 'user_x' }, role: 'auditor' },
    }),
    expect: { default: 403, anonymous: 401, operator: 201, 'key:admin': 201 },
  },
  // One person nobody signed in as: revoking them leaves the matrix's own sessions alone.
  'DELETE /v1/tenants/{tenant_id}/viewer-sessions': {
    request: async () => ({ path: `/v1/tenants/${tenant.id}/viewer-sessions?user_id=user_nobody` }),
    expect: { default: 403, anonymous: 401, operator: 204, 'key:admin': 204 },
  },
  // Public: the code is the credential; whatever else the caller sends does not matter.
  'POST /v1/sessions': {
    request: async () => ({ path: '/v1/sessions', body: { code: await mint('auditor') } }),
    expect: { default: 201 },
  },
  'POST /v1/exports': {
    request: async () => ({ path: '/v1/exports', body: { format: 'csv', action: 'document.shared' } }),
    expect: {
      default: 403,
      anonymous: 401,
      'key:exports:write': 201,
      ...each(WHOLE, 201),
      'person:team_admin': 201,
    },
  },
  // An export a key made: keys that read, and the roles that see the whole workspace.
  'GET /v1/exports/{id}': {
    request: async () => ({ path: `/v1/exports/${keyExport}` }),
    expect: {
      default: 403,
      anonymous: 401,
      'key:events:read': 200,
      'key:exports:write': 200,
      ...each(WHOLE, 200),
      'person:team_admin': 404,
    },
  },
  'GET /v1/exports/{id}/download': {
    request: async () => ({ path: `/v1/exports/${keyExport}/download` }),
    expect: {
      default: 403,
      anonymous: 401,
      'key:events:read': 302,
      'key:exports:write': 302,
      ...each(WHOLE, 302),
      'person:team_admin': 404,
    },
  },
  'POST /v1/streams': {
    request: async () => ({
      path: '/v1/streams',
      body: { name: 'm', type: 'webhook', url: 'https://siem.invalid/hook', filter: { action: 'nobody.x' } },
    }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(201) },
  },
  'GET /v1/streams': {
    request: async () => ({ path: '/v1/streams' }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'GET /v1/streams/{id}': {
    request: async () => ({ path: `/v1/streams/${await newStream()}` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'PATCH /v1/streams/{id}': {
    request: async () => ({ path: `/v1/streams/${await newStream()}`, body: { status: 'paused' } }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'DELETE /v1/streams/{id}': {
    request: async () => ({ path: `/v1/streams/${await newStream()}` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(204) },
  },
  // The host does not resolve: the test answers 200 with the receiver's error, contacting nobody.
  'POST /v1/streams/{id}/test': {
    request: async () => ({ path: `/v1/streams/${await newStream()}/test` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'POST /v1/streams/{id}/replay': {
    request: async () => ({
      path: `/v1/streams/${await newStream()}/replay`,
      body: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() },
    }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(202) },
  },
  'POST /v1/streams/{id}/rotate-secret': {
    request: async () => ({ path: `/v1/streams/${await newStream()}/rotate-secret` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(201) },
  },
  // Alerts: the same access as streams.
  'POST /v1/alerts': {
    request: async () => ({ path: '/v1/alerts', body: ALERT_BODY }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(201) },
  },
  'GET /v1/alerts': {
    request: async () => ({ path: '/v1/alerts' }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'GET /v1/alerts/{id}': {
    request: async () => ({ path: `/v1/alerts/${await newAlert()}` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'PATCH /v1/alerts/{id}': {
    request: async () => ({ path: `/v1/alerts/${await newAlert()}`, body: { cooldown_minutes: 60 } }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(200) },
  },
  'DELETE /v1/alerts/{id}': {
    request: async () => ({ path: `/v1/alerts/${await newAlert()}` }),
    expect: { default: 403, anonymous: 401, ...streamAdmins(204) },
  },
};

const METHOD = (key: RouteKey) => key.slice(0, key.indexOf(' '));

describe('access matrix', () => {
  it('has a row for every route of the manifest, and no other', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(ROUTES.map((route) => route.key).sort());
  });

  it('answers every caller on every route with the status SPEC gives', async () => {
    const wrong: string[] = [];
    const measured: Record<string, Record<string, number>> = {};
    for (const route of ROUTES) {
      const row = MATRIX[route.key];
      const statuses: Record<string, number> = {};
      measured[route.key] = statuses;
      for (const caller of CALLERS) {
        const { path, body, headers } = await row.request();
        const token = tokens.get(caller);
        const reply = await api(METHOD(route.key), path, {
          ...(token === undefined ? {} : { token }),
          ...(body === undefined ? {} : { body }),
          ...(headers === undefined ? {} : { headers }),
        });
        const expected = row.expect[caller] ?? row.expect.default;
        statuses[caller] = reply.status;
        if (reply.status !== expected)
          wrong.push(
            `${caller} ${route.key}: ${reply.status}, expected ${expected} ${JSON.stringify(reply.body)}`,
          );
      }
    }
    console.log(`access matrix (status by route and caller):\n${formatMatrix(measured)}`);
    expect(wrong).toEqual([]);
  });

  it('shows each reader exactly the events SPEC lets them see', async () => {
    const all = [...seeded.values()].sort();
    const teams = TEAMS.map((team) => seeded.get(team) as string).sort();
    const visible = async (caller: Caller) =>
      (await listAll(tokens.get(caller) as string, { action: 'document.shared' })).events
        .map((e) => e.id)
        .sort();
    expect(await visible('key:events:read')).toEqual(all);
    for (const caller of ['person:owner', 'person:admin', 'person:auditor'] as const)
      expect(await visible(caller), caller).toEqual(all);
    expect(await visible('person:team_admin')).toEqual(teams);
    // Org-level and other teams' events are not there for the team admin, by any door.
    for (const hidden of [seeded.get(''), seeded.get('t3')]) {
      const one = await api('GET', `/v1/events/${hidden}`, { token: tokens.get('person:team_admin') });
      expect(one.status).toBe(404);
    }
    const foreign = await api('GET', '/v1/events?team_id=t3', { token: tokens.get('person:team_admin') });
    expect(foreign.status).toBe(403);
  });
});

const formatMatrix = (measured: Record<string, Record<string, number>>): string => {
  const header = ['route', ...CALLERS.map((c) => c.replace(/^(key|person):/, ''))];
  const rows = Object.entries(measured).map(([route, byCaller]) => [
    route,
    ...CALLERS.map((c) => String(byCaller[c] ?? '')),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' ')).join('\n');
};
