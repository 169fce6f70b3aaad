/**
 * What a person may read (issue 12), against the real local stack. Events are sent through the
 * HTTP API with a tenant key. A team admin then reads through the HTTP API with a real viewer
 * session (minted by the tenant's admin key, its code exchanged for a token); the finer cases
 * (other sessions of the same person, other teams, other roles) invoke the read handlers (query,
 * exports, integrity) in this process, on the stack's environment, with a `person` authorizer
 * context as the authorizer builds it from a session.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { apiEvent, lambdaContext, parse } from '../handlers/api-event.ts';
import { api, createTenant, type TestTenant } from './client.ts';

const localEnv = inject('localEnv');
const previousEnv = Object.fromEntries(Object.keys(localEnv).map((name) => [name, process.env[name]]));

type Handler = typeof import('#functions/query.ts')['handler'];
let query: Handler;
let exportsHandler: Handler;
let integrity: Handler;

const SHARDS = 2;
/** Teams of the seeded events, oldest last; undefined = organization-level. */
const TEAMS = [
  'team_a',
  undefined,
  'team_c',
  'team_b',
  'team_a',
  undefined,
  'team_c',
  'team_b',
  'team_a',
  'team_b',
];
let tenant: TestTenant;
const ids = TEAMS.map((_, i) => `pr-${String(i).padStart(2, '0')}`);
const idsOfTeams = (teams: readonly string[]) =>
  ids.filter((_, i) => {
    const team = TEAMS[i];
    return team !== undefined && teams.includes(team);
  });

const person = (overrides: Partial<AuthorizerContext> = {}): AuthorizerContext => ({
  kind: 'person',
  tenantId: tenant.id,
  userId: 'user_ada',
  userEmail: 'ada@example.com',
  userName: 'Ada',
  role: 'team_admin',
  teams: 'team_a,team_b',
  permissions: 'view export',
  sessionId: 'ses_int_1',
  via: 'session',
  retentionDays: 90,
  shards: SHARDS,
  ...overrides,
});

const call = async (handler: Handler, ...args: Parameters<typeof apiEvent>) => {
  const result = await handler(apiEvent(...args), lambdaContext);
  return { status: result.statusCode, headers: result.headers ?? {}, body: parse(result) };
};

beforeAll(async () => {
  Object.assign(process.env, localEnv);
  ({ handler: query } = await import('#functions/query.ts'));
  ({ handler: exportsHandler } = await import('#functions/exports.ts'));
  ({ handler: integrity } = await import('#functions/integrity.ts'));
  tenant = await createTenant({ shards: SHARDS });
  const now = Date.now();
  const events = TEAMS.map((team, i) => ({
    id: ids[i],
    action: i % 2 === 0 ? 'document.viewed' : 'member.invited',
    actor: { id: i % 3 === 0 ? 'user_x' : 'user_y' },
    ...(team === undefined ? {} : { team_id: team }),
    occurred_at: new Date(now - 60_000 - i * 1000).toISOString(),
  }));
  const sent = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
  expect(sent.status).toBe(201);
});

afterAll(() => {
  for (const [name, value] of Object.entries(previousEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('a team admin with a viewer session, over HTTP', () => {
  let token: string;
  beforeAll(async () => {
    const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
      token: tenant.key,
      body: {
        user: { id: 'user_bo', email: 'bo@example.com', name: 'Bo' },
        role: 'team_admin',
        team_ids: ['team_a', 'team_b'],
      },
    });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    const exchanged = await api('POST', '/v1/sessions', { body: { code: minted.body.code } });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(201);
    token = exchanged.body.token;
  });

  it('lists, reads and proves only their teams; other teams are 403, their events 404; digests 403', async () => {
    const list = await api('GET', '/v1/events?limit=100&action=document.viewed,member.invited', { token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual(idsOfTeams(['team_a', 'team_b']));
    expect((await api('GET', '/v1/events?team_id=team_c', { token })).status).toBe(403);
    expect((await api('GET', `/v1/events/${ids[0]}`, { token })).status).toBe(200);
    expect((await api('GET', `/v1/events/${ids[1]}`, { token })).status).toBe(404);
    expect((await api('GET', `/v1/events/${ids[2]}/proof`, { token })).status).toBe(404);
    expect((await api('GET', '/v1/integrity/digests', { token })).status).toBe(403);

    const trail = await api('GET', '/v1/events?action=audit_log.viewed&actor_id=user_bo&limit=10', {
      token: tenant.key,
    });
    expect(trail.body.data.length).toBeGreaterThanOrEqual(2); // the list and the event read
    for (const event of trail.body.data) {
      expect(event.actor).toEqual({
        id: 'user_bo',
        type: 'user',
        email: 'bo@example.com',
        name: 'Bo',
        role: 'team_admin',
      });
      expect(event.metadata.viewer_session).toMatch(/^ses_[0-9a-z]{26}$/); // the session id, not redacted
    }
  });

  it('exports only their teams and downloads the file; another address to notify is a 400', async () => {
    const created = await api('POST', '/v1/exports', { token, body: { format: 'ndjson' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const redirect = await api('GET', `/v1/exports/${created.body.id}/download`, { token });
    expect(redirect.status).toBe(302);
    const file = await (await fetch(redirect.headers.get('location') ?? '')).text();
    const exported = file
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id as string)
      .filter((id) => id.startsWith('pr-'));
    expect(exported).toEqual(idsOfTeams(['team_a', 'team_b']));
    const other = await api('POST', '/v1/exports', {
      token,
      body: { format: 'csv', notify_email: 'eve@example.com' },
    });
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([expect.objectContaining({ field: 'notify_email' })]);
  });
});

describe('a team admin reading the log', () => {
  it('lists exactly the events of their teams, newest first, page by page', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await call(query, 'GET /v1/events', {
        query: {
          limit: '4',
          action: 'document.viewed,member.invited',
          ...(cursor === null ? {} : { cursor }),
        },
        auth: person(),
      });
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((e: { id: string }) => e.id));
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 5);
    expect(cursor).toBeNull();
    expect(pages).toBe(2);
    expect(seen).toEqual(idsOfTeams(['team_a', 'team_b']));
  });

  it('narrows to one of their teams, and gets 403 for another team', async () => {
    const narrowed = await call(query, 'GET /v1/events', { query: { team_id: 'team_b' }, auth: person() });
    expect(narrowed.body.data.map((e: { id: string }) => e.id)).toEqual(idsOfTeams(['team_b']));
    const foreign = await call(query, 'GET /v1/events', { query: { team_id: 'team_c' }, auth: person() });
    expect(foreign.status).toBe(403);
  });

  it("cannot follow a key's cursor, nor a key the team admin's", async () => {
    const keyPage = await api('GET', '/v1/events?limit=1&action=document.viewed', { token: tenant.key });
    const replayed = await call(query, 'GET /v1/events', {
      query: { limit: '1', action: 'document.viewed', cursor: keyPage.body.next_cursor },
      auth: person(),
    });
    expect(replayed.status).toBe(400);
    const own = await call(query, 'GET /v1/events', { query: { limit: '1' }, auth: person() });
    const byKey = await api('GET', `/v1/events?limit=1&cursor=${encodeURIComponent(own.body.next_cursor)}`, {
      token: tenant.key,
    });
    expect(byKey.status).toBe(400);
  });

  it('reads and proves (404) nothing outside their teams; digests are 403', async () => {
    expect(
      (await call(query, 'GET /v1/events/{id}', { params: { id: ids[3] ?? '' }, auth: person() })).status,
    ).toBe(200);
    for (const id of [ids[1], ids[2]]) {
      expect(
        (await call(query, 'GET /v1/events/{id}', { params: { id: id ?? '' }, auth: person() })).status,
      ).toBe(404);
      expect(
        (await call(integrity, 'GET /v1/events/{id}/proof', { params: { id: id ?? '' }, auth: person() }))
          .status,
      ).toBe(404);
    }
    expect((await call(integrity, 'GET /v1/integrity/digests', { auth: person() })).status).toBe(403);
    expect(
      (await call(integrity, 'GET /v1/integrity/digests', { auth: person({ role: 'auditor', teams: '' }) }))
        .status,
    ).toBe(200);
  });

  it('exports only their teams, downloads it from any session, and is audited as the person', async () => {
    const created = await call(exportsHandler, 'POST /v1/exports', {
      body: { format: 'ndjson', notify_email: 'ada@example.com' },
      auth: person(),
    });
    expect(created.status).toBe(201);
    const exportId = created.body.id as string;
    const redirect = await call(exportsHandler, 'GET /v1/exports/{id}/download', {
      params: { id: exportId },
      auth: person({ sessionId: 'ses_int_2' }),
    });
    expect(redirect.status).toBe(302);
    const file = await (await fetch(String(redirect.headers.location))).text();
    const exported = file
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id)
      .filter((id: string) => id.startsWith('pr-'));
    expect(exported).toEqual(idsOfTeams(['team_a', 'team_b']));

    // Another person, and a team admin of other teams, get 404.
    const grace = person({ userId: 'user_grace', role: 'owner', teams: '' });
    expect(
      (await call(exportsHandler, 'GET /v1/exports/{id}', { params: { id: exportId }, auth: grace })).status,
    ).toBe(404);
    const shrunk = person({ teams: 'team_a', sessionId: 'ses_int_3' });
    expect(
      (
        await call(exportsHandler, 'GET /v1/exports/{id}/download', {
          params: { id: exportId },
          auth: shrunk,
        })
      ).status,
    ).toBe(404);

    const trail = await api(
      'GET',
      '/v1/events?action=audit_log.exported,audit_log.export_downloaded&limit=10',
      {
        token: tenant.key,
      },
    );
    const actions = trail.body.data.map(
      (e: { action: string; actor: unknown; metadata: { viewer_session?: string } }) => ({
        action: e.action,
        actor: e.actor,
        session: e.metadata.viewer_session,
      }),
    );
    const ada = { id: 'user_ada', type: 'user', email: 'ada@example.com', name: 'Ada', role: 'team_admin' };
    expect(actions).toEqual(
      expect.arrayContaining([
        { action: 'audit_log.exported', actor: ada, session: 'ses_int_1' },
        { action: 'audit_log.export_downloaded', actor: ada, session: 'ses_int_2' },
      ]),
    );
  });

  it('gets 404 for an export a key made; an owner reads it', async () => {
    const byKey = await api('POST', '/v1/exports', { token: tenant.key, body: { format: 'json' } });
    expect(byKey.status).toBe(201);
    const params = { id: byKey.body.id as string };
    expect((await call(exportsHandler, 'GET /v1/exports/{id}', { params, auth: person() })).status).toBe(404);
    const owner = person({ role: 'owner', teams: '' });
    expect((await call(exportsHandler, 'GET /v1/exports/{id}', { params, auth: owner })).status).toBe(200);
  });
});
