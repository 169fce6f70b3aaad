/**
 * Tenant isolation under random use. Two tenants (one with 1 shard, one with 3) hold interleaved
 * trails with the same client event ids, actors, emails, targets and teams, even the same
 * timestamps; only `metadata.owner` and the tenant differ. Events belong to four teams or to the
 * organization (no team), and a fifth team exists in B only. Each tenant has two keys and seven
 * people signed in through viewer sessions, with the same user ids in both tenants: an owner, an
 * admin, an auditor, three team admins with random teams (from the seed), and one of those team
 * admins signed in as an owner too.
 *
 * Random queries (filters incl. `team_id` lists, limits, paging), reads by id, proofs and digests
 * (both tenants' ids, other teams', organization-level ones), cursors replayed by the other
 * tenant, by a key and by people of other team scopes, exports made and read back by anyone,
 * admin calls aimed at the other tenant and forged keys and session tokens must never hand one
 * tenant the other's data, nor a team admin an event outside their teams: every returned event
 * (in a page, a get, a proof or an export file) carries the caller's tenant id, is one of the
 * caller's own events with the caller's own hash and within the caller's teams, and list and
 * export results equal what the caller's own trail and teams predict.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countBy,
  createHttpClient,
  createKey,
  createTenant,
  exportFileEvents,
  fmt,
  formatCounts,
  type HttpClient,
  type HttpReply,
  jsonRequest,
  jwtPart,
  printSummary,
  RELIABILITY_OPERATOR_KEY,
  type ReliabilityTenant,
  signIn,
  startTestStack,
  type TestStack,
  withJwtPart,
} from './support.ts';

const SEED = Number(process.env.TRAILKEEPER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 4;
const MIN_REQUESTS = 2_000;
const ACTIONS = [
  'auth.login',
  'auth.logout',
  'member.role_changed',
  'member.removed',
  'secret.read',
  'secret.key.rotated',
  'secret.key.created',
  'billing.plan_changed',
];
/** Seeds occur up to here; every read's audit event comes later, so `to=SEED_TO` sees seeds only. */
const SEED_TO_MS = Date.now() - 120_000;
const SEED_TO = new Date(SEED_TO_MS).toISOString();
/** The teams of the seeds in both tenants; `team_e` holds B's own events (ids 125 and up). */
const TEAMS = ['team_a', 'team_b', 'team_c', 'team_d'];
/** What team admins are given: the seeds' teams, B's own team, and a team without any event. */
const TEAM_POOL = [...TEAMS, 'team_e', 'team_x'];
const TEAM_ADMINS = 3;
/** The sealer's watermark lag on this stack: the seeds are sealed before the probes run. */
const SEAL_LAG_MS = 1_500;
const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
/** Actions only the service writes into a tenant's trail (its own reads and administration). */
const SERVICE_ACTION = /^(audit_log|trailkeeper)\./;

interface Seed {
  id: string;
  action: string;
  occurred_at: string;
  actor: { id: string; email: string; type: 'user' };
  target?: { type: string; id: string };
  team_id?: string;
  impersonator?: { id: string };
  area: string;
  method: string;
  status: string | number;
  metadata: { owner: string; i: number };
}

/** The team of event i: every fifth is organization-level; B's ids from 125 are its own team's. */
const teamOf = (i: number): string | undefined =>
  i % 5 === 0 ? undefined : i >= 125 ? 'team_e' : TEAMS[(i * 3) % TEAMS.length];

/** Event i, the same in both tenants but for its owner: same id, actor, target, team, time. */
const seedEvent = (i: number, owner: string): Seed => {
  const team = teamOf(i);
  return {
    id: `ev-${i}`,
    action: ACTIONS[(i * 7) % ACTIONS.length] as string,
    occurred_at: new Date(SEED_TO_MS - i * 7 * 60_000).toISOString(),
    actor: { id: `u${i % 6}`, email: `U${i % 6}@Example.com`, type: 'user' },
    ...(i % 5 === 4
      ? {}
      : { target: { type: ['doc', 'member', 'secret'][i % 3] as string, id: `t${i % 8}` } }),
    ...(team === undefined ? {} : { team_id: team }),
    ...(i % 9 === 0 ? { impersonator: { id: 'support_1' } } : {}),
    area: i % 2 ? 'billing' : 'security',
    method: i % 5 ? 'POST' : 'update',
    status: i % 6 === 0 ? 403 : i % 4 === 0 ? 'failure' : 'success',
    metadata: { owner, i },
  };
};

type Role = 'owner' | 'admin' | 'auditor' | 'team_admin';

/** Who reads: a key of a tenant, or a person signed in through a viewer session. */
interface Caller {
  /** `A key admin`, `B team_admin user_ta1 [team_a,team_e]`: what violations name. */
  readonly label: string;
  readonly kind: 'key' | 'person';
  readonly tenant: TenantWorld;
  readonly token: string;
  /** A person's `user.id`; a key's id. */
  readonly userId: string;
  readonly role: Role | 'key';
  /** A team admin's teams; null for keys and the roles that see the whole workspace. */
  readonly teams: readonly string[] | null;
  /** May create exports (every person under the default policy; keys with `exports:write`). */
  readonly exports: boolean;
}

interface TenantWorld {
  readonly name: 'A' | 'B';
  readonly shards: number;
  tenant: ReliabilityTenant;
  /** Every key of this tenant (all scopes, read-only). */
  keys: { id: string; key: string }[];
  /** Its keys and its people. */
  callers: Caller[];
  /** The session ids (`jti`) of its people: what their audit events name. */
  sessionIds: Set<string>;
  seeds: Seed[];
  /** Hash of each seeded event as this tenant's ingest answered it. */
  hashes: Map<string, string>;
  /** Id → hash of this tenant's own service events (audit_log.*, trailkeeper.*) seen so far. */
  auditIds: Map<string, string>;
}

/** An export made during the run: who made it and what its file must hold. */
interface ExportMade {
  readonly id: string;
  readonly tenant: TenantWorld;
  readonly creator: Caller;
  readonly format: (typeof EXPORT_FORMATS)[number];
  /** The teams it covers (a team admin's); null: the whole workspace. */
  readonly teamScope: readonly string[] | null;
  /** The ids its file holds, newest first. */
  readonly expected: readonly string[];
}

interface World {
  http: HttpClient;
  tenants: [TenantWorld, TenantWorld];
  requests: number;
  violations: Map<string, string[]>;
  /** Every violation found (the lists above keep the first five of each probe). */
  violationCount: number;
  /** Violations that handed a caller something not theirs (data, an export, a credential). */
  leaks: number;
  /** Outcomes of the new doors, for the summary: refusals seen, files checked, replays followed. */
  tally: Map<string, number>;
  exports: ExportMade[];
}

const other = (world: World, t: TenantWorld): TenantWorld =>
  world.tenants[0] === t ? world.tenants[1] : world.tenants[0];

const send = async (
  world: World,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<HttpReply> => {
  world.requests += 1;
  return world.http.send(jsonRequest(method, path, token, body));
};

/** Records a violation; `leak`: the caller was handed something that is not theirs. */
const violation = (world: World, probe: string, message: string, leak = false): void => {
  world.violationCount += 1;
  if (leak) world.leaks += 1;
  const list = world.violations.get(probe) ?? [];
  if (list.length < 5) list.push(leak ? `LEAK ${message}` : message);
  world.violations.set(probe, list);
};

const tally = (world: World, outcome: string): void => {
  world.tally.set(outcome, (world.tally.get(outcome) ?? 0) + 1);
};

/** Whether an answer handed something over (a refusal expected instead is then a leak). */
const handedOver = (reply: HttpReply): boolean => reply.status >= 200 && reply.status < 400;

const isServiceEvent = (event: any): boolean => SERVICE_ACTION.test(String(event?.action));

/** Problems with one of the service's own events returned to a reader of `owner`. */
const serviceEventForeignness = (world: World, owner: TenantWorld, event: any): string[] => {
  const problems: string[] = [];
  const actors = new Set(['operator', ...owner.callers.map((c) => c.userId)]);
  if (!actors.has(String(event.actor?.id)))
    problems.push(`${event.action} ${event.id} by ${event.actor?.id}, not one of ${owner.name}'s`);
  const session = event.metadata?.viewer_session;
  if (session !== undefined && !owner.sessionIds.has(String(session)))
    problems.push(`${event.action} ${event.id} of another tenant's session ${session}`);
  if (event.target?.type === 'api_key' && !owner.keys.some((k) => k.id === event.target.id))
    problems.push(`${event.action} ${event.id} of another tenant's key ${event.target.id}`);
  const exportId = event.metadata?.export_id;
  if (exportId !== undefined && world.exports.some((e) => e.id === exportId && e.tenant !== owner))
    problems.push(`${event.action} ${event.id} of another tenant's export ${exportId}`);
  return problems;
};

/**
 * Problems with one event returned to a reader of `owner` whose teams are `teams` (null: the
 * whole workspace). Empty: it is the owner's own, within the teams.
 */
const foreignness = (
  world: World,
  owner: TenantWorld,
  event: any,
  teams: readonly string[] | null = null,
): string[] => {
  const problems: string[] = [];
  if (event?.tenant_id !== owner.tenant.id) problems.push(`tenant_id ${event?.tenant_id}`);
  if (teams !== null && !teams.includes(event?.team_id))
    problems.push(
      `id ${event?.id} of team ${event?.team_id ?? '(organization-level)'} outside the teams ${teams.join(',')}`,
    );
  if (isServiceEvent(event)) {
    problems.push(...serviceEventForeignness(world, owner, event));
    if (problems.length === 0) owner.auditIds.set(String(event.id), String(event.hash));
    return problems;
  }
  const hash = owner.hashes.get(String(event?.id));
  if (hash === undefined) problems.push(`id ${event?.id} is not ${owner.name}'s`);
  else if (event.hash !== hash) problems.push(`id ${event.id} has the other tenant's content (hash)`);
  if (event?.metadata?.owner !== owner.name)
    problems.push(`id ${event?.id} owned by ${event?.metadata?.owner}`);
  return problems;
};

// ---------------------------------------------------------------------------------------------
// The query model: what a tenant's own trail predicts for a filter set (seeds only)

type Filters = Record<string, string>;

/** Whether an event of `team` is within `teams` (null: the whole workspace). */
const inTeams = (team: string | undefined, teams: readonly string[] | null): boolean =>
  teams === null || (team !== undefined && teams.includes(team));

/** The teams of a `team_id` filter outside `teams` (a 403 for a team admin). */
const teamsOutside = (filters: Filters, teams: readonly string[] | null): string[] =>
  teams === null || filters.team_id === undefined
    ? []
    : filters.team_id.split(',').filter((team) => !teams.includes(team));

const matches = (seed: Seed, filters: Filters): boolean => {
  const to = filters.to ?? new Date().toISOString();
  const from = filters.from ?? new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
  if (seed.occurred_at < from || seed.occurred_at > to) return false;
  if (filters.action !== undefined) {
    const ok = filters.action
      .split(',')
      .some((a) => (a.endsWith('.*') ? seed.action.startsWith(a.slice(0, -1)) : seed.action === a));
    if (!ok) return false;
  }
  const equal: [string, string | undefined][] = [
    ['actor_id', seed.actor.id],
    ['actor_email', seed.actor.email.toLowerCase()],
    ['target_id', seed.target?.id],
    ['target_type', seed.target?.type],
    ['area', seed.area],
    ['method', seed.method],
    ['status', String(seed.status)],
    ['impersonated', String(seed.impersonator !== undefined)],
  ];
  if (filters.team_id !== undefined && !inTeams(seed.team_id, filters.team_id.split(','))) return false;
  return equal.every(([name, value]) => {
    const wanted = filters[name];
    if (wanted === undefined) return true;
    return name === 'actor_email' ? wanted.toLowerCase() === value : wanted === value;
  });
};

/** The seeds of `t` a reader with `teams` gets for `filters`, newest first. */
const expectedIds = (t: TenantWorld, filters: Filters, teams: readonly string[] | null = null): string[] =>
  t.seeds
    .filter((s) => matches(s, filters) && inTeams(s.team_id, teams))
    .sort((a, b) => (`${a.occurred_at}#${a.id}` < `${b.occurred_at}#${b.id}` ? 1 : -1))
    .map((s) => s.id);

const FILTER_VALUES: Record<string, fc.Arbitrary<string>> = {
  actor_id: fc.constantFrom('u0', 'u1', 'u2', 'u3', 'u5', 'nobody'),
  actor_email: fc.constantFrom('u1@example.com', 'U2@EXAMPLE.COM', 'nobody@example.com'),
  target_id: fc.constantFrom('t0', 't3', 't7', 't9'),
  target_type: fc.constantFrom('doc', 'member', 'secret'),
  team_id: fc.constantFrom(
    'team_a',
    'team_b',
    'team_c',
    'team_e',
    'team_x',
    'team_a,team_c',
    'team_b,team_d,team_e',
  ),
  action: fc.constantFrom(
    'auth.login',
    'secret.*',
    'secret.key.*',
    'member.*,auth.logout',
    'billing.plan_changed,secret.read',
    'nothing.here',
  ),
  area: fc.constantFrom('billing', 'security'),
  method: fc.constantFrom('POST', 'update'),
  status: fc.constantFrom('success', 'failure', '403'),
  impersonated: fc.constantFrom('true', 'false'),
  from: fc.integer({ min: 1, max: 20 }).map((h) => new Date(SEED_TO_MS - h * 3_600_000).toISOString()),
};

/** Up to three filters, as people query: any combination the planner must serve. */
const filtersArb: fc.Arbitrary<Filters> = fc
  .subarray(Object.keys(FILTER_VALUES), { maxLength: 3 })
  .chain((names) =>
    fc.record(Object.fromEntries(names.map((n) => [n, FILTER_VALUES[n] as fc.Arbitrary<string>]))),
  );

// ---------------------------------------------------------------------------------------------
// Probes: every way one tenant could name another tenant's data, and a team admin another team's.
// Each runs as one fast-check property; a new way in is one more probe here.

interface Probe<T> {
  readonly name: string;
  readonly runs: number;
  readonly input: (world: World) => fc.Arbitrary<T>;
  readonly run: (world: World, input: T) => Promise<void>;
}

const probe = <T>(p: Probe<T>): Probe<unknown> => p as Probe<unknown>;

const tenantArb = (world: World) => fc.constantFrom(...world.tenants);
const everyCaller = (world: World): Caller[] => world.tenants.flatMap((t) => t.callers);
const callerArb = (world: World) => fc.constantFrom(...everyCaller(world));
const personArb = (world: World) => fc.constantFrom(...everyCaller(world).filter((c) => c.kind === 'person'));
const exporterArb = (world: World) => fc.constantFrom(...everyCaller(world).filter((c) => c.exports));

const listQuery: Probe<{ caller: TenantWorld; filters: Filters; limit: number; bounded: boolean }> = {
  name: 'list queries, page by page, and their cursors replayed by the other tenant',
  runs: 80,
  input: (world) =>
    fc.record({
      caller: tenantArb(world),
      filters: filtersArb,
      limit: fc.oneof(fc.integer({ min: 3, max: 15 }), fc.integer({ min: 16, max: 200 })),
      bounded: fc.constantFrom(true, true, true, false),
    }),
  run: async (world, { caller, filters, limit, bounded }) => {
    const name = listQuery.name;
    const query: Filters = { ...filters, ...(bounded ? { to: SEED_TO } : {}), limit: String(limit) };
    const ids: string[] = [];
    let cursor: string | null = null;
    let replayed = false;
    // Unbounded, the window includes the audit events every read adds: a few pages are enough.
    const maxPages = bounded ? 200 : 3;
    for (let page = 0; page < maxPages; page++) {
      const params = new URLSearchParams({ ...query, ...(cursor === null ? {} : { cursor }) });
      const reply = await send(world, 'GET', `/v1/events?${params}`, caller.tenant.key);
      if (reply.status !== 200) {
        violation(world, name, `${caller.name} ${params}: ${reply.status} ${reply.text.slice(0, 200)}`);
        return;
      }
      for (const event of reply.json.data) {
        for (const problem of foreignness(world, caller, event))
          violation(world, name, `${caller.name} ${params}: ${problem}`, true);
        if (!isServiceEvent(event)) ids.push(String(event.id));
      }
      cursor = reply.json.next_cursor;
      if (cursor !== null && !replayed) {
        replayed = true;
        const foreign = other(world, caller);
        const replay = await send(
          world,
          'GET',
          `/v1/events?${new URLSearchParams({ ...query, cursor })}`,
          foreign.tenant.key,
        );
        if (replay.status !== 400 || replay.json?.type !== '/problems/invalid-cursor')
          violation(
            world,
            name,
            `${caller.name}'s cursor replayed by ${foreign.name}: ${replay.status} ${replay.text.slice(0, 200)}`,
            handedOver(replay),
          );
      }
      if (cursor === null) break;
    }
    if (bounded && cursor !== null)
      violation(world, name, `${caller.name} ${JSON.stringify(query)}: more than ${maxPages} pages`);
    // Bounded to the seeds' window, the answer is exactly what the caller's own trail predicts.
    if (bounded) {
      const expected = expectedIds(caller, query);
      if (JSON.stringify(ids) !== JSON.stringify(expected))
        violation(
          world,
          name,
          `${caller.name} ${JSON.stringify(query)}: got [${ids.join(',')}], expected [${expected.join(',')}]`,
        );
    }
  },
};

const readById: Probe<{
  caller: TenantWorld;
  pick: number;
  from: 'own' | 'other' | 'any-seed' | 'other-audit';
}> = {
  name: 'reads by id, own and the other tenant’s',
  runs: 150,
  input: (world) =>
    fc.record({
      caller: tenantArb(world),
      pick: fc.nat(),
      from: fc.constantFrom<'own' | 'other' | 'any-seed' | 'other-audit'>(
        'own',
        'other',
        'any-seed',
        'other-audit',
      ),
    }),
  run: async (world, { caller, pick, from }) => {
    const name = readById.name;
    const foreign = other(world, caller);
    const pool =
      from === 'own'
        ? [...caller.hashes.keys()]
        : from === 'other'
          ? [...foreign.hashes.keys()]
          : from === 'other-audit'
            ? [...foreign.auditIds.keys()]
            : Array.from({ length: 150 }, (_, i) => `ev-${i}`);
    if (pool.length === 0) return;
    const id = pool[pick % pool.length] as string;
    const reply = await send(world, 'GET', `/v1/events/${encodeURIComponent(id)}`, caller.tenant.key);
    const owned = caller.hashes.has(id) || caller.auditIds.has(id);
    if (owned) {
      if (reply.status !== 200) violation(world, name, `${caller.name} GET own ${id}: ${reply.status}`);
      else
        for (const problem of foreignness(world, caller, reply.json))
          violation(world, name, `${caller.name} GET ${id}: ${problem}`, true);
    } else if (reply.status !== 404 || reply.json?.type !== '/problems/not-found') {
      violation(
        world,
        name,
        `${caller.name} GET ${foreign.name}'s ${id}: ${reply.status} ${reply.text.slice(0, 200)}`,
        handedOver(reply),
      );
    }
  },
};

type AdminCall = 'get tenant' | 'list keys' | 'create key' | 'revoke key' | 'update tenant';

const adminCalls: Probe<{ caller: TenantWorld; call: AdminCall; target: 'own' | 'other'; pick: number }> = {
  name: 'tenant and key administration across tenants',
  runs: 125,
  input: (world) =>
    fc.record({
      caller: tenantArb(world),
      call: fc.constantFrom<AdminCall>(
        'get tenant',
        'list keys',
        'create key',
        'revoke key',
        'update tenant',
      ),
      target: fc.constantFrom<'own' | 'other'>('own', 'other', 'other'),
      pick: fc.nat(),
    }),
  run: async (world, { caller, call, target, pick }) => {
    const name = adminCalls.name;
    const subject = target === 'own' ? caller : other(world, caller);
    const base = `/v1/tenants/${subject.tenant.id}`;
    const token = caller.tenant.key;
    const label = `${caller.name} ${call} of ${subject.name}`;
    switch (call) {
      case 'get tenant': {
        const reply = await send(world, 'GET', base, token);
        const ok =
          target === 'own'
            ? reply.status === 200 && reply.json.id === caller.tenant.id
            : reply.status === 404;
        if (!ok)
          violation(
            world,
            name,
            `${label}: ${reply.status} ${reply.text.slice(0, 200)}`,
            target === 'other' && handedOver(reply),
          );
        return;
      }
      case 'list keys': {
        const reply = await send(world, 'GET', `${base}/keys`, token);
        if (target === 'other') {
          if (reply.status !== 404)
            violation(
              world,
              name,
              `${label}: ${reply.status} ${reply.text.slice(0, 200)}`,
              handedOver(reply),
            );
          return;
        }
        const listed: any[] = reply.json?.data ?? [];
        const own = new Set(caller.keys.map((k) => k.id));
        const bad = listed.filter(
          (k) => k.tenant_id !== caller.tenant.id || !own.has(k.id) || 'key' in k || 'secret_hash' in k,
        );
        if (reply.status !== 200 || bad.length > 0 || listed.length !== caller.keys.length)
          violation(
            world,
            name,
            `${label}: ${reply.status}, ${listed.length} keys, foreign or secret: ${JSON.stringify(bad).slice(0, 200)}`,
          );
        return;
      }
      case 'create key': {
        // Only aimed at the other tenant: a key made there would be the breach itself.
        const reply = await send(world, 'POST', `/v1/tenants/${other(world, caller).tenant.id}/keys`, token, {
          name: 'intruder',
          scopes: ['admin', 'events:read'],
        });
        if (reply.status !== 404)
          violation(
            world,
            name,
            `${caller.name} create key in the other tenant: ${reply.status} ${reply.text.slice(0, 200)}`,
            handedOver(reply),
          );
        return;
      }
      case 'revoke key': {
        // Only aimed at the other tenant's keys; revoking one's own would end the run early.
        const victim = other(world, caller);
        const victimKey = victim.keys[pick % victim.keys.length] as { id: string };
        const reply = await send(
          world,
          'DELETE',
          `/v1/tenants/${victim.tenant.id}/keys/${victimKey.id}`,
          token,
        );
        if (reply.status !== 404)
          violation(
            world,
            name,
            `${caller.name} revoke ${victim.name}'s key: ${reply.status} ${reply.text.slice(0, 200)}`,
            handedOver(reply),
          );
        return;
      }
      default: {
        // Tenant settings are the operator's: 403 for any tenant key, whichever tenant it names.
        const reply = await send(world, 'PATCH', base, token, { plan: 'compliance', shards: 8 });
        if (reply.status !== 403)
          violation(world, name, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`, handedOver(reply));
      }
    }
  },
};

const forgedTokens: Probe<{ caller: TenantWorld; how: number }> = {
  name: 'tokens rewritten to name the other tenant',
  runs: 40,
  input: (world) => fc.record({ caller: tenantArb(world), how: fc.integer({ min: 0, max: 2 }) }),
  run: async (world, { caller, how }) => {
    const foreign = other(world, caller);
    const [, , keyId, secret] = caller.tenant.key.split('.') as [string, string, string, string];
    const foreignKeyId = (foreign.keys[0] as { id: string }).id;
    const token = [
      `tk.${foreign.tenant.id}.${keyId}.${secret}`,
      `tk.${foreign.tenant.id}.${foreignKeyId}.${secret}`,
      `tk.${caller.tenant.id}.${foreignKeyId}.${secret}`,
    ][how] as string;
    const reply = await send(world, 'GET', '/v1/events?limit=5', token);
    if (reply.status !== 401)
      violation(
        world,
        forgedTokens.name,
        `${caller.name} token variant ${how}: ${reply.status} ${reply.text.slice(0, 200)}`,
        handedOver(reply),
      );
  },
};

// ---------------------------------------------------------------------------------------------
// People: viewer sessions of both tenants, whole-workspace roles and team admins

/** Whether two readers share a cursor's scope: the same tenant and the same teams (or both none). */
const sameScope = (a: Caller, b: Caller): boolean =>
  a.tenant === b.tenant &&
  (a.teams === null || b.teams === null
    ? a.teams === b.teams
    : [...new Set(a.teams)].sort().join(',') === [...new Set(b.teams)].sort().join(','));

/**
 * `caller`'s cursor sent by `replayer` with the same query: another tenant's is refused (400);
 * within the tenant, one of the same scope continues, and one of another scope is refused or
 * yields nothing outside the replayer's own teams.
 */
const replayCursor = async (
  world: World,
  probeName: string,
  caller: Caller,
  replayer: Caller,
  query: Filters,
  cursor: string,
): Promise<void> => {
  const reply = await send(
    world,
    'GET',
    `/v1/events?${new URLSearchParams({ ...query, cursor })}`,
    replayer.token,
  );
  const label = `${caller.label}'s cursor (${JSON.stringify(query)}) replayed by ${replayer.label}`;
  const refused = reply.status === 400 && reply.json?.type === '/problems/invalid-cursor';
  const same = sameScope(caller, replayer);
  if (!same && refused) {
    tally(
      world,
      replayer.tenant === caller.tenant
        ? 'cursors of another scope: 400'
        : 'cursors of the other tenant: 400',
    );
    return;
  }
  if (replayer.tenant !== caller.tenant) {
    violation(world, probeName, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`, handedOver(reply));
    return;
  }
  if (reply.status !== 200) {
    violation(world, probeName, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`);
    return;
  }
  let outside = 0;
  for (const event of reply.json.data)
    for (const problem of foreignness(world, replayer.tenant, event, replayer.teams)) {
      outside += 1;
      violation(world, probeName, `${label}: ${problem}`, true);
    }
  if (outside === 0)
    tally(world, same ? 'cursors of the same scope followed' : 'cursors of another scope followed within it');
};

/** People's filters: as anyone's, with a `team_id` (theirs, others', lists) half of the time. */
const personFiltersArb: fc.Arbitrary<Filters> = fc
  .tuple(filtersArb, fc.option(FILTER_VALUES.team_id as fc.Arbitrary<string>))
  .map(([filters, team]) => (team === null ? filters : { ...filters, team_id: team }));

const personList: Probe<{
  caller: Caller;
  filters: Filters;
  limit: number;
  bounded: boolean;
  replayer: Caller;
}> = {
  name: 'people’s list queries under their team scope, their cursors replayed by others',
  runs: 30,
  input: (world) =>
    personArb(world).chain((caller) =>
      fc.record({
        caller: fc.constant(caller),
        filters: personFiltersArb,
        limit: fc.oneof(fc.integer({ min: 2, max: 10 }), fc.integer({ min: 11, max: 200 })),
        bounded: fc.constantFrom(true, true, true, false),
        // Anyone of either tenant, or (as often) someone of the caller's own tenant.
        replayer: fc.oneof(callerArb(world), fc.constantFrom(...caller.tenant.callers)),
      }),
    ),
  run: async (world, { caller, filters, limit, bounded, replayer }) => {
    const name = personList.name;
    const query: Filters = { ...filters, ...(bounded ? { to: SEED_TO } : {}), limit: String(limit) };
    const outside = teamsOutside(filters, caller.teams);
    const ids: string[] = [];
    let cursor: string | null = null;
    let replayed = replayer === caller;
    const maxPages = bounded ? 200 : 3;
    for (let page = 0; page < maxPages; page++) {
      const params = new URLSearchParams({ ...query, ...(cursor === null ? {} : { cursor }) });
      const reply = await send(world, 'GET', `/v1/events?${params}`, caller.token);
      if (outside.length > 0) {
        if (reply.status === 403) tally(world, 'team filters outside the teams: 403');
        else violation(world, name, `${caller.label} ${params}: ${reply.status}, not 403`, handedOver(reply));
        return;
      }
      if (reply.status !== 200) {
        violation(world, name, `${caller.label} ${params}: ${reply.status} ${reply.text.slice(0, 200)}`);
        return;
      }
      for (const event of reply.json.data) {
        for (const problem of foreignness(world, caller.tenant, event, caller.teams))
          violation(world, name, `${caller.label} ${params}: ${problem}`, true);
        if (!isServiceEvent(event)) ids.push(String(event.id));
      }
      cursor = reply.json.next_cursor;
      if (cursor !== null && !replayed) {
        replayed = true;
        await replayCursor(world, name, caller, replayer, query, cursor);
      }
      if (cursor === null) break;
    }
    if (bounded && cursor !== null)
      violation(world, name, `${caller.label} ${JSON.stringify(query)}: more than ${maxPages} pages`);
    if (bounded) {
      const expected = expectedIds(caller.tenant, query, caller.teams);
      if (JSON.stringify(ids) !== JSON.stringify(expected))
        violation(
          world,
          name,
          `${caller.label} ${JSON.stringify(query)}: got [${ids.join(',')}], expected [${expected.join(',')}]`,
          ids.some((id) => !expected.includes(id)),
        );
    }
  },
};

type IdSource = 'own' | 'other' | 'other-only' | 'own-service' | 'other-service';

/** Digests list every interval's event count and first and last event ids: never the other tenant's. */
const checkDigests = async (world: World, probeName: string, caller: Caller): Promise<void> => {
  const reply = await send(world, 'GET', '/v1/integrity/digests', caller.token);
  const label = `${caller.label} GET /v1/integrity/digests`;
  if (caller.teams !== null) {
    if (reply.status === 403) tally(world, 'digests for team admins: 403');
    else violation(world, probeName, `${label}: ${reply.status}, not 403`, handedOver(reply));
    return;
  }
  if (reply.status !== 200 || !Array.isArray(reply.json?.data) || reply.json.data.length === 0) {
    violation(world, probeName, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`);
    return;
  }
  const own = caller.tenant;
  const foreign = other(world, own);
  const foreignOnly = (id: unknown) =>
    (foreign.hashes.has(String(id)) && !own.hashes.has(String(id))) || foreign.auditIds.has(String(id));
  for (const digest of reply.json.data) {
    const named = [digest.first_event?.id, digest.last_event?.id].filter((id) => id !== undefined);
    if (digest.tenant_id !== own.tenant.id || named.some(foreignOnly))
      violation(world, probeName, `${label}: ${JSON.stringify(digest).slice(0, 300)}`, true);
  }
  tally(world, 'digest listings checked');
};

const personReads: Probe<{
  caller: Caller;
  pick: number;
  from: IdSource;
  route: 'event' | 'proof' | 'digests';
}> = {
  name: 'people’s reads by id, proofs and digests: other teams, organization-level, the other tenant',
  runs: 50,
  input: (world) =>
    fc.record({
      caller: personArb(world),
      pick: fc.nat(),
      from: fc.constantFrom<IdSource>('own', 'own', 'other', 'other-only', 'own-service', 'other-service'),
      route: fc.constantFrom<'event' | 'proof' | 'digests'>('event', 'event', 'proof', 'proof', 'digests'),
    }),
  run: async (world, { caller, pick, from, route }) => {
    const name = personReads.name;
    if (route === 'digests') return checkDigests(world, name, caller);
    const own = caller.tenant;
    const foreign = other(world, own);
    const pool =
      from === 'own'
        ? [...own.hashes.keys()]
        : from === 'other'
          ? [...foreign.hashes.keys()]
          : from === 'other-only'
            ? [...foreign.hashes.keys()].filter((id) => !own.hashes.has(id))
            : from === 'own-service'
              ? [...own.auditIds.keys()]
              : [...foreign.auditIds.keys()];
    if (pool.length === 0) return;
    const id = pool[pick % pool.length] as string;
    const seed = own.seeds.find((s) => s.id === id);
    const visible =
      seed !== undefined
        ? inTeams(seed.team_id, caller.teams)
        : own.auditIds.has(id) && caller.teams === null;
    const path = `/v1/events/${encodeURIComponent(id)}${route === 'proof' ? '/proof' : ''}`;
    const reply = await send(world, 'GET', path, caller.token);
    const label = `${caller.label} GET ${path} (${seed === undefined ? from : `${own.name}'s, team ${seed.team_id ?? '(organization-level)'}`})`;
    if (!visible) {
      if (reply.status === 404 && reply.json?.type === '/problems/not-found')
        tally(world, `${route === 'proof' ? 'proofs' : 'events'} outside the teams or tenant: 404`);
      else violation(world, name, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`, handedOver(reply));
      return;
    }
    if (route === 'event') {
      if (reply.status !== 200)
        violation(world, name, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`);
      else
        for (const problem of foreignness(world, own, reply.json, caller.teams))
          violation(world, name, `${label}: ${problem}`, true);
      return;
    }
    // A service event written after the seal has no proof yet; every seed was sealed at setup.
    if (seed === undefined && reply.status === 404) return;
    const hash = seed === undefined ? own.auditIds.get(id) : own.hashes.get(id);
    if (reply.status !== 200) violation(world, name, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`);
    else if (
      reply.json.event_id !== id ||
      reply.json.event_hash !== hash ||
      reply.json.digest?.tenant_id !== own.tenant.id
    )
      violation(world, name, `${label}: proof of ${JSON.stringify(reply.json).slice(0, 300)}`, true);
    else tally(world, 'proofs of own events');
  },
};

/** SPEC: keys read every export of their tenant; people their own, and key-made ones if they see everything. */
const exportVisible = (reader: Caller, made: ExportMade): boolean => {
  if (reader.tenant !== made.tenant) return false;
  if (reader.kind === 'key') return true;
  if (made.creator.kind === 'key') return reader.teams === null;
  if (made.creator.userId !== reader.userId) return false;
  const teams = reader.teams;
  if (teams === null) return true;
  // A whole-workspace export is never within a team scope.
  return made.teamScope?.every((team) => teams.includes(team)) ?? false;
};

/** `reader` reads an export back and downloads its file: exactly what the model allows, nothing else. */
const checkExportAccess = async (world: World, probeName: string, reader: Caller, made: ExportMade) => {
  const visible = exportVisible(reader, made);
  const label = `${reader.label} reads ${made.creator.label}'s export ${made.id}`;
  const record = await send(world, 'GET', `/v1/exports/${made.id}`, reader.token);
  world.requests += 1;
  const link = await world.http.send({
    method: 'GET',
    path: `/v1/exports/${made.id}/download`,
    headers: { authorization: `Bearer ${reader.token}`, accept: 'application/json' },
  });
  if (!visible) {
    for (const [what, reply] of [
      ['GET', record],
      ['download', link],
    ] as const) {
      if (reply.status === 404) tally(world, 'exports of others and of the other tenant: 404');
      else violation(world, probeName, `${label} (${what}): ${reply.status}, not 404`, handedOver(reply));
    }
    return;
  }
  if (
    record.status !== 200 ||
    record.json?.id !== made.id ||
    link.status !== 200 ||
    typeof link.json?.url !== 'string'
  ) {
    violation(
      world,
      probeName,
      `${label}: ${record.status}, download ${link.status} ${link.text.slice(0, 200)}`,
    );
    return;
  }
  const file = await fetch(link.json.url);
  const events = exportFileEvents(made.format, await file.text());
  for (const event of events)
    for (const problem of foreignness(world, reader.tenant, event, reader.teams))
      violation(world, probeName, `${label}: ${problem}`, true);
  const ids = events.map((event) => String(event?.id));
  if (JSON.stringify(ids) !== JSON.stringify(made.expected))
    violation(
      world,
      probeName,
      `${label}: file holds [${ids.join(',')}], expected [${made.expected.join(',')}]`,
      ids.some((id) => !made.expected.includes(id)),
    );
  else tally(world, 'export files checked');
};

const exportsProbe: Probe<{
  creator: Caller;
  filters: Filters;
  format: (typeof EXPORT_FORMATS)[number];
  reader: Caller;
  earlier: number;
}> = {
  name: 'exports by people and keys, read back and downloaded by anyone of either tenant',
  runs: 20,
  input: (world) =>
    fc.record({
      creator: exporterArb(world),
      filters: personFiltersArb,
      format: fc.constantFrom(...EXPORT_FORMATS),
      reader: callerArb(world),
      earlier: fc.nat(),
    }),
  run: async (world, { creator, filters, format, reader, earlier }) => {
    const name = exportsProbe.name;
    // Bounded to the seeds' window: the file is exactly what the creator's trail and teams predict.
    const body: Filters = { ...filters, to: SEED_TO };
    const reply = await send(world, 'POST', '/v1/exports', creator.token, { ...body, format });
    const label = `${creator.label} exports ${JSON.stringify(body)}`;
    if (teamsOutside(filters, creator.teams).length > 0) {
      if (reply.status === 403) tally(world, 'exports with a team filter outside the teams: 403');
      else violation(world, name, `${label}: ${reply.status}, not 403`, handedOver(reply));
    } else if (reply.status !== 201 || reply.json?.status !== 'completed') {
      violation(world, name, `${label}: ${reply.status} ${reply.text.slice(0, 200)}`);
    } else {
      const expected = expectedIds(creator.tenant, body, creator.teams);
      const teamScope =
        creator.teams === null
          ? null
          : filters.team_id === undefined
            ? creator.teams
            : [...new Set(filters.team_id.split(','))];
      const made: ExportMade = {
        id: String(reply.json.id),
        tenant: creator.tenant,
        creator,
        format,
        teamScope,
        expected,
      };
      world.exports.push(made);
      tally(world, 'exports made');
      if (reply.json.rows !== expected.length)
        violation(
          world,
          name,
          `${label}: ${reply.json.rows} rows, expected ${expected.length}`,
          reply.json.rows > expected.length,
        );
      await checkExportAccess(world, name, creator, made);
      await checkExportAccess(world, name, reader, made);
    }
    // And one export made earlier in the run, by anyone of either tenant.
    const before = world.exports[earlier % Math.max(1, world.exports.length)];
    if (before !== undefined) await checkExportAccess(world, name, reader, before);
  },
};

const SESSION_FORGERIES = [
  'tenant id rewritten to the other tenant',
  'role rewritten (to owner, or an owner’s to admin)',
  'teams widened to every team',
  'user and expiry rewritten',
  'signature of the other tenant’s token',
  'alg none',
] as const;

const SESSION_ROUTES: readonly { method: string; path: string; body?: unknown }[] = [
  { method: 'GET', path: '/v1/events?limit=5' },
  { method: 'GET', path: '/v1/events/ev-30' },
  { method: 'GET', path: '/v1/events/ev-30/proof' },
  { method: 'GET', path: '/v1/integrity/digests' },
  { method: 'POST', path: '/v1/exports', body: { format: 'json', to: SEED_TO } },
];

const forgedSessions: Probe<{ caller: Caller; how: number; route: number; victim: number }> = {
  name: 'session tokens with an edited payload or a borrowed signature',
  runs: 25,
  input: (world) =>
    fc.record({
      caller: personArb(world),
      how: fc.integer({ min: 0, max: SESSION_FORGERIES.length - 1 }),
      route: fc.integer({ min: 0, max: SESSION_ROUTES.length - 1 }),
      victim: fc.nat(),
    }),
  run: async (world, { caller, how, route, victim }) => {
    const foreignPeople = other(world, caller.tenant).callers.filter((c) => c.kind === 'person');
    const borrowed = foreignPeople[victim % foreignPeople.length] as Caller;
    const header = jwtPart(caller.token, 0);
    const claims = jwtPart(caller.token, 1);
    const token = [
      () => withJwtPart(caller.token, 1, { ...claims, tid: other(world, caller.tenant).tenant.id }),
      () => {
        const { teams: _teams, ...rest } = claims;
        return withJwtPart(caller.token, 1, { ...rest, role: claims.role === 'owner' ? 'admin' : 'owner' });
      },
      () => withJwtPart(caller.token, 1, { ...claims, role: 'team_admin', teams: TEAM_POOL }),
      () => withJwtPart(caller.token, 1, { ...claims, sub: borrowed.userId, exp: claims.exp + 86_400 }),
      () => `${caller.token.split('.').slice(0, 2).join('.')}.${borrowed.token.split('.')[2]}`,
      () => {
        const unsigned = withJwtPart(caller.token, 0, { ...header, alg: 'none' });
        return `${unsigned.split('.').slice(0, 2).join('.')}.`;
      },
    ][how]?.() as string;
    // Each forgery edits the token: an unchanged one would rightly be accepted.
    if (token === caller.token)
      throw new Error(`${SESSION_FORGERIES[how]} left ${caller.label}'s token unchanged`);
    const { method, path, body } = SESSION_ROUTES[route] as (typeof SESSION_ROUTES)[number];
    const reply = await send(world, method, path, token, body);
    if (reply.status === 401) tally(world, 'forged session tokens: 401');
    else
      violation(
        world,
        forgedSessions.name,
        `${caller.label} ${SESSION_FORGERIES[how]} on ${method} ${path}: ${reply.status} ${reply.text.slice(0, 200)}`,
        handedOver(reply),
      );
  },
};

const PROBES: readonly Probe<unknown>[] = [
  probe(listQuery),
  probe(readById),
  probe(adminCalls),
  probe(forgedTokens),
  probe(personList),
  probe(personReads),
  probe(exportsProbe),
  probe(forgedSessions),
];

// ---------------------------------------------------------------------------------------------

describe('tenant isolation under random queries, ids, cursors, sessions, exports and admin calls', () => {
  let ts: TestStack;
  let world: World;
  const runs = new Map<string, number>();
  let summary = 'did not finish';

  beforeAll(async () => {
    ts = await startTestStack('isolation', { sealWatermarkLagMs: SEAL_LAG_MS });
    const http = createHttpClient(ts.stack.url, CONCURRENCY * 2);
    const make = async (name: 'A' | 'B', shards: number, indexes: number[]): Promise<TenantWorld> => {
      const tenant = await createTenant(http, { name: `Isolation ${name}`, shards });
      const reader = await createKey(http, tenant.id, ['events:read']);
      const seeds = indexes.map((i) => seedEvent(i, name));
      const hashes = new Map<string, string>();
      for (let i = 0; i < seeds.length; i += 100) {
        const reply = await http.send(
          jsonRequest('POST', '/v1/events', tenant.key, { events: seeds.slice(i, i + 100) }),
        );
        if (reply.status !== 201)
          throw new Error(`seed ${name}: ${reply.status} ${reply.text.slice(0, 300)}`);
        for (const event of reply.json.data) hashes.set(String(event.id), String(event.hash));
      }
      const t: TenantWorld = {
        name,
        shards,
        tenant,
        keys: [{ id: tenant.keyId, key: tenant.key }, reader],
        callers: [],
        sessionIds: new Set(),
        seeds,
        hashes,
        auditIds: new Map(),
      };
      t.callers.push(
        {
          label: `${name} key admin`,
          kind: 'key',
          tenant: t,
          token: tenant.key,
          userId: tenant.keyId,
          role: 'key',
          teams: null,
          exports: true,
        },
        {
          label: `${name} key read-only`,
          kind: 'key',
          tenant: t,
          token: reader.key,
          userId: reader.id,
          role: 'key',
          teams: null,
          exports: false,
        },
      );
      return t;
    };
    /** The tenant's people, signed in with its admin key: the same user ids in both tenants. */
    const signInPeople = async (t: TenantWorld, teamSets: readonly string[][]) => {
      const people: { userId: string; role: Role; teams?: string[] }[] = [
        { userId: 'user_owner', role: 'owner' },
        { userId: 'user_admin', role: 'admin' },
        { userId: 'user_auditor', role: 'auditor' },
        ...teamSets.map((teams, i) => ({ userId: `user_ta${i}`, role: 'team_admin' as const, teams })),
        // The first team admin signed in as an owner too: one person, two sessions.
        { userId: 'user_ta0', role: 'owner' },
      ];
      for (const { userId, role, teams } of people) {
        const session = await signIn(http, t.tenant.id, t.tenant.key, {
          user: { id: userId, email: `${userId}@example.com`, name: userId },
          role,
          ...(teams === undefined ? {} : { team_ids: teams }),
        });
        t.sessionIds.add(session.sessionId);
        t.callers.push({
          label: `${t.name} ${role} ${userId}${teams === undefined ? '' : ` [${teams.join(',')}]`}`,
          kind: 'person',
          tenant: t,
          token: session.token,
          userId,
          role,
          teams: teams ?? null,
          exports: true,
        });
      }
    };
    // Events 20..119 exist in both tenants: same ids, actors, targets, teams and timestamps.
    const a = await make(
      'A',
      1,
      Array.from({ length: 120 }, (_, i) => i),
    );
    const b = await make(
      'B',
      3,
      Array.from({ length: 120 }, (_, i) => i + 20),
    );
    // Team admins' teams come from the seed; the last one of each tenant also holds team_e (B's own).
    const teamSets = fc
      .sample(fc.subarray(TEAM_POOL, { minLength: 1, maxLength: 3 }), {
        seed: SEED,
        numRuns: 2 * TEAM_ADMINS,
      })
      .map((teams, i) => (i % TEAM_ADMINS === TEAM_ADMINS - 1 ? [...new Set([...teams, 'team_e'])] : teams));
    await signInPeople(a, teamSets.slice(0, TEAM_ADMINS));
    await signInPeople(b, teamSets.slice(TEAM_ADMINS));
    world = {
      http,
      tenants: [a, b],
      requests: 0,
      violations: new Map(),
      violationCount: 0,
      leaks: 0,
      tally: new Map(),
      exports: [],
    };
    // Seal what the seeds wrote, so every seeded event has an inclusion proof.
    await sleep(SEAL_LAG_MS + 100);
    await ts.stack.runScheduled('sealer');
  });

  afterAll(async () => {
    world?.http.close();
    await ts?.stop();
    printSummary('fuzz-tenant-isolation', summary);
  });

  it.each(PROBES.map((p, i) => [p.name, p, i] as const))('%s', async (_name, p, index) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(p.input(world), { minLength: CONCURRENCY, maxLength: CONCURRENCY }),
        async (inputs) => {
          await Promise.all(inputs.map((input) => p.run(world, input)));
        },
      ),
      { numRuns: p.runs, seed: SEED + index },
    );
    runs.set(p.name, p.runs * CONCURRENCY);
    expect(world.violations.get(p.name) ?? []).toEqual([]);
  });

  it('left both tenants intact: keys, sessions, settings and trails', async () => {
    const problems: string[] = [];
    for (const t of world.tenants) {
      for (const caller of t.callers) {
        const reply = await send(world, 'GET', '/v1/events?limit=1', caller.token);
        if (reply.status !== 200) problems.push(`${caller.label} stopped working: ${reply.status}`);
      }
      const keys = await send(world, 'GET', `/v1/tenants/${t.tenant.id}/keys`, RELIABILITY_OPERATOR_KEY);
      const names = countBy((keys.json?.data ?? []).map((k: any) => String(k.name)));
      if (keys.json?.data?.length !== t.keys.length)
        problems.push(`${t.name} has keys ${formatCounts(names)}`);
      const settings = await send(world, 'GET', `/v1/tenants/${t.tenant.id}`, RELIABILITY_OPERATOR_KEY);
      if (settings.json?.plan !== 'pro' || settings.json?.shards !== t.shards)
        problems.push(`${t.name}'s settings changed: ${settings.text.slice(0, 200)}`);
    }
    const teamAdmins = world.tenants
      .map(
        (t) =>
          `${t.name} ${t.callers.flatMap((c) => (c.teams === null ? [] : [`[${c.teams.join(',')}]`])).join(' ')}`,
      )
      .join(', ');
    summary =
      `${fmt(world.requests)} requests (seed ${SEED}), tenants with 1 and 3 shards, 100 shared event ids, ` +
      `teams a–e and organization-level events; per tenant 2 keys and ${world.tenants[0].sessionIds.size} viewer sessions ` +
      `(owner, admin, auditor, a team admin also signed in as owner; team admins ${teamAdmins}); ` +
      `${formatCounts(runs)} probe inputs; ${formatCounts(world.tally)}; ` +
      `service events seen: A ${world.tenants[0].auditIds.size}, B ${world.tenants[1].auditIds.size}; ` +
      `leaks ${world.leaks}, other violations ${world.violationCount - world.leaks}`;
    expect(problems).toEqual([]);
    expect(world.leaks).toBe(0);
    expect(world.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
  });
});
