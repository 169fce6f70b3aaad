/**
 * What a person may read (issue 12), on the in-memory event store: a team admin lists, reads and
 * proves only the events of their own teams (never an organization-level one), whatever the
 * filter, cursor or id; whole-workspace roles see everything keys see; digests are theirs only;
 * and every read is audited with the person as actor. The planner's key conditions are unit-tested
 * in query.test.ts and the DynamoDB commands in test/handlers/query.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CursorCodec } from '#shared/domain/cursor.ts';
import { eventLeaf, type SignedDigest } from '#shared/domain/digest.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { merkleRoot } from '#shared/domain/merkle.ts';
import type { Role } from '#shared/domain/people.ts';
import type { PersonPrincipal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { ForbiddenError } from '#shared/errors.ts';
import { getEvent, type KeyPrincipal, listEvents, recordAccess } from '#shared/usecases/events.ts';
import { type IntegrityDeps, listDigests, proveEvent } from '#shared/usecases/integrity.ts';
import { MemoryEventStore } from './fakes/events.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const SHARDS = 2;

const key: KeyPrincipal = {
  kind: 'key',
  tenantId: TENANT,
  keyId: 'key_1',
  keyName: 'ci',
  scopes: ['events:read'],
  retentionDays: 90,
  shards: SHARDS,
};

const person = (
  role: Role,
  teamIds: string[] = [],
  overrides: Partial<PersonPrincipal> = {},
): PersonPrincipal => ({
  kind: 'person',
  tenantId: TENANT,
  person: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
  role,
  teamIds: role === 'team_admin' ? teamIds : [],
  sessionId: 'ses_1',
  permissions: ['view', 'export'],
  via: 'session',
  retentionDays: 90,
  shards: SHARDS,
  ...overrides,
});

const teamAdmin = person('team_admin', ['team_a', 'team_b']);

/** Events a minute apart, newest first by index: each with its team (or none: organization-level). */
const TEAMS_BY_EVENT: (string | undefined)[] = [
  'team_a',
  undefined,
  'team_c',
  'team_b',
  'team_a',
  undefined,
  'team_c',
  'team_b',
  'team_a',
  'team_a',
];

const setup = async () => {
  const store = new MemoryEventStore();
  const redact = createRedactor();
  const deps = {
    store,
    kinds: store.registry,
    redact,
    now: () => NOW,
    cursors: new CursorCodec(randomBytes(32)),
  };
  const events: StoredEvent[] = [];
  for (const [i, team] of TEAMS_BY_EVENT.entries()) {
    const built = buildStoredEvent(
      {
        id: `e${i}`,
        action: i % 2 === 0 ? 'document.viewed' : 'member.invited',
        actor: { id: i % 3 === 0 ? 'user_x' : 'user_y' },
        ...(team === undefined ? {} : { team_id: team }),
        occurred_at: new Date(NOW - (i + 1) * 60_000).toISOString(),
      },
      { tenantId: TENANT, retentionDays: 90 },
      NOW,
      redact,
    );
    if (!built.ok) throw new Error('fixture');
    events.push(built.event);
  }
  await store.append(events, SHARDS);
  const idsOf = (page: { data: StoredEvent[] }) => page.data.map((e) => e.id);
  return { store, deps, events, idsOf };
};

const idsWhere = (keep: (team: string | undefined) => boolean) =>
  TEAMS_BY_EVENT.flatMap((team, i) => (keep(team) ? [`e${i}`] : []));

describe("a team admin's event list", () => {
  it('holds exactly the events of their teams, newest first, nothing organization-level', async () => {
    const { deps, idsOf } = await setup();
    const page = await listEvents(deps, teamAdmin, {});
    expect(idsOf(page)).toEqual(idsWhere((team) => team === 'team_a' || team === 'team_b'));
    expect(page.next_cursor).toBeNull();
  });

  it('applies the other filters within the teams only', async () => {
    const { deps, idsOf } = await setup();
    expect(idsOf(await listEvents(deps, teamAdmin, { actor_id: 'user_x' }))).toEqual(['e0', 'e3', 'e9']);
    expect(idsOf(await listEvents(deps, teamAdmin, { action: 'member.*' }))).toEqual(['e3', 'e7', 'e9']);
    // A key reading the same filter sees the other teams' and organization-level events too.
    expect(idsOf(await listEvents(deps, key, { actor_id: 'user_x' }))).toEqual(['e0', 'e3', 'e6', 'e9']);
  });

  it('narrows to a team_id within the teams, and refuses one outside them with 403', async () => {
    const { deps, idsOf } = await setup();
    expect(idsOf(await listEvents(deps, teamAdmin, { team_id: 'team_b' }))).toEqual(['e3', 'e7']);
    await expect(listEvents(deps, teamAdmin, { team_id: 'team_c' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(listEvents(deps, teamAdmin, { team_id: 'team_a,team_c' })).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('team_c'),
    });
  });

  it('pages with cursors that only the same scope can follow', async () => {
    const { deps, idsOf } = await setup();
    const first = await listEvents(deps, teamAdmin, { limit: '2' });
    expect(idsOf(first)).toEqual(['e0', 'e3']);
    const cursor = first.next_cursor ?? '';
    expect(idsOf(await listEvents(deps, teamAdmin, { limit: '2', cursor }))).toEqual(['e4', 'e7']);

    // Replayed by a key, by another team admin's session with other teams, or by an owner: refused.
    for (const other of [
      key,
      person('team_admin', ['team_a']),
      person('team_admin', ['team_a', 'team_c']),
      person('owner'),
    ]) {
      await expect(listEvents(deps, other, { limit: '2', cursor })).rejects.toMatchObject({
        status: 400,
        slug: 'invalid-cursor',
      });
    }
    // The same teams in another session (another order) continue it.
    const again = person('team_admin', ['team_b', 'team_a'], { sessionId: 'ses_2' });
    expect(idsOf(await listEvents(deps, again, { limit: '2', cursor }))).toEqual(['e4', 'e7']);
  });

  it("does not let a key's cursor widen a team admin's read", async () => {
    const { deps } = await setup();
    const keyPage = await listEvents(deps, key, { limit: '1' });
    await expect(
      listEvents(deps, teamAdmin, { limit: '1', cursor: keyPage.next_cursor ?? '' }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('never returns an event outside the teams, whichever path the planner reads', async () => {
    const { deps, store } = await setup();
    const scopes: unknown[] = [];
    const query = store.query.bind(store);
    store.query = async (plan, ...rest) => {
      scopes.push(plan.scope);
      return query(plan, ...rest);
    };
    for (const filters of [
      {},
      { actor_id: 'user_x' },
      { action: 'document.*' },
      { impersonated: 'false' },
    ] as Record<string, string>[]) {
      const page = await listEvents(deps, teamAdmin, filters);
      // The scope travels with the plan, whatever path it reads.
      expect(scopes.at(-1)).toEqual(['team_a', 'team_b']);
      for (const event of page.data) expect(['team_a', 'team_b']).toContain(event.team_id);
      const all = await listEvents(deps, key, filters);
      expect(page.data.map((e) => e.id)).toEqual(
        all.data.filter((e) => e.team_id === 'team_a' || e.team_id === 'team_b').map((e) => e.id),
      );
    }
  });
});

describe('whole-workspace roles', () => {
  it.each(['owner', 'admin', 'auditor'] as const)('%s sees every event, as a key does', async (role) => {
    const { deps, idsOf } = await setup();
    expect(idsOf(await listEvents(deps, person(role), {}))).toEqual(idsOf(await listEvents(deps, key, {})));
    expect(idsOf(await listEvents(deps, person(role), {}))).toHaveLength(TEAMS_BY_EVENT.length);
  });
});

describe('team_id lists', () => {
  it('return the events of any of the teams, newest first, for a key', async () => {
    const { deps, idsOf } = await setup();
    expect(idsOf(await listEvents(deps, key, { team_id: 'team_b,team_c' }))).toEqual([
      'e2',
      'e3',
      'e6',
      'e7',
    ]);
  });
});

describe("a team admin's event by id", () => {
  it('is read within the teams and 404 outside them or without a team', async () => {
    const { deps } = await setup();
    expect((await getEvent(deps, teamAdmin, 'e3')).team_id).toBe('team_b');
    await expect(getEvent(deps, teamAdmin, 'e2')).rejects.toMatchObject({ status: 404 });
    await expect(getEvent(deps, teamAdmin, 'e1')).rejects.toMatchObject({ status: 404 });
    expect((await getEvent(deps, person('auditor'), 'e1')).id).toBe('e1');
  });
});

describe('proofs and digests', () => {
  const integrity = async () => {
    const { store, events } = await setup();
    const byId = new Map(events.map((e) => [e.id, e]));
    const digest = (eventId: string) =>
      ({
        sequence: 1,
        event_count: 1,
        merkle_root: merkleRoot([eventLeaf(byId.get(eventId)?.hash ?? '')]).toString('hex'),
        interval: { start: '', end: '' },
      }) as unknown as SignedDigest;
    const touched: string[] = [];
    const deps: IntegrityDeps = {
      store,
      now: () => NOW,
      signer: {} as IntegrityDeps['signer'],
      digests: {
        save: async () => {
          throw new Error('not here');
        },
        covering: async (_tenant, receivedAt) => {
          touched.push(receivedAt);
          return digest('e3');
        },
        leaves: async () => [byId.get('e3')?.hash ?? ''],
        list: async () => {
          touched.push('list');
          return [];
        },
        after: async () => [],
      },
    };
    return { deps, touched };
  };

  it("prove a team admin's own event and 404 any other, without touching the digests", async () => {
    const { deps, touched } = await integrity();
    expect(await proveEvent(deps, teamAdmin, 'e3')).toMatchObject({ event_id: 'e3', leaf_index: 0 });
    touched.length = 0;
    await expect(proveEvent(deps, teamAdmin, 'e2')).rejects.toMatchObject({ status: 404 });
    await expect(proveEvent(deps, teamAdmin, 'e1')).rejects.toMatchObject({ status: 404 });
    expect(touched).toEqual([]);
  });

  it('list digests for whole-workspace roles and refuse a team admin (403)', async () => {
    const { deps, touched } = await integrity();
    await expect(listDigests(deps, person('owner'), {})).resolves.toEqual({ data: [], next: null });
    await expect(listDigests(deps, teamAdmin, {})).rejects.toBeInstanceOf(ForbiddenError);
    expect(touched).toEqual(['list']);
  });
});

describe('the audit of a person reading', () => {
  it('names the person, their role and their session', async () => {
    const { deps, store } = await setup();
    await recordAccess(deps, teamAdmin, 'audit_log.viewed', { filters: {}, returned: 6 }, 'req-7');
    const written = store.eventsOf(TENANT).filter((e) => e.action === 'audit_log.viewed');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      actor: { id: 'user_ada', type: 'user', email: 'ada@example.com', name: 'Ada', role: 'team_admin' },
      area: 'audit_log',
      context: { request_id: 'req-7' },
      metadata: { filters: {}, returned: 6, viewer_session: 'ses_1' },
    });
  });

  it('still names a key as the key', async () => {
    const { deps, store } = await setup();
    await recordAccess(deps, key, 'audit_log.viewed', { event_id: 'e1' }, 'req-8');
    const written = store.eventsOf(TENANT).find((e) => e.action === 'audit_log.viewed');
    expect(written?.actor).toEqual({ id: 'key_1', type: 'api_key', name: 'ci' });
    expect(written?.metadata).toEqual({ event_id: 'e1' });
  });
});
