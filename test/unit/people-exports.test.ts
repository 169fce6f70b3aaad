/**
 * What a person may export and read back (issue 12), on in-memory ports: a team admin's export
 * holds only their teams' events (in the request and in every invocation of the job, which
 * re-applies the recorded scope), a person reads back only exports they made (any session) or,
 * for whole-workspace roles, exports made by keys, the team scope is checked again at download,
 * `notify_email` is the person's own, and exports and downloads are audited with the person as
 * actor.
 */
import { describe, expect, it } from 'vitest';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { newExportRecord } from '#shared/domain/export.ts';
import { serviceEventId } from '#shared/domain/ids.ts';
import type { Role } from '#shared/domain/people.ts';
import type { PersonPrincipal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import type { KeyPrincipal } from '#shared/usecases/events.ts';
import { runExportJob } from '#shared/usecases/export-job.ts';
import { createExport, downloadExport, getExport } from '#shared/usecases/exports.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';
import {
  MemoryEmailQuotaStore,
  MemoryExportStore,
  MemoryJobQueue,
  MemoryMailer,
  MemoryObjectStore,
} from './fakes/exports.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const BASE_URL = 'https://audit.example.com';
const SHARDS = 2;

const tenantRecord: TenantRecord = {
  id: TENANT,
  name: 'Acme',
  plan: 'pro',
  custom_retention_days: null,
  shards: SHARDS,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

const key: KeyPrincipal = {
  kind: 'key',
  tenantId: TENANT,
  keyId: 'key_1',
  keyName: 'ci',
  scopes: ['exports:write', 'events:read'],
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
  person: { id: 'user_ada', email: 'Ada@Example.com', name: 'Ada' },
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
const TEAMS = ['team_a', undefined, 'team_c', 'team_b', 'team_a', undefined, 'team_c', 'team_b'];

const setup = async () => {
  const control = new MemoryControlStore();
  await control.createTenant(tenantRecord);
  const store = new MemoryEventStore();
  const objects = new MemoryObjectStore(0);
  const deps = {
    store,
    kinds: store.registry,
    redact: createRedactor(),
    now: () => NOW,
    exports: new MemoryExportStore(),
    objects,
    queue: new MemoryJobQueue(),
    mailer: new MemoryMailer(),
    emailFrom: 'Trailkeeper <no-reply@trailkeeper.invalid>',
    sealLagMs: 60_000,
    control,
    emailQuota: new MemoryEmailQuotaStore(),
  };
  const events: StoredEvent[] = TEAMS.map((team, i) => {
    const built = buildStoredEvent(
      {
        id: `e${i}`,
        action: 'document.viewed',
        actor: { id: 'user_1' },
        ...(team === undefined ? {} : { team_id: team }),
        occurred_at: new Date(NOW - (i + 1) * 60_000).toISOString(),
      },
      { tenantId: TENANT, retentionDays: null },
      NOW,
      deps.redact,
    );
    if (!built.ok) throw new Error('fixture');
    return built.event;
  });
  await store.append(events, SHARDS);
  const fileIds = (exportId: string) =>
    (objects.text(`tenant=${TENANT}/exports/${exportId}.ndjson`) ?? '')
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line).id);
  return { deps, store, objects, fileIds };
};

describe("a team admin's export", () => {
  it('holds only the events of their teams, records the scope, and is audited with the person as actor', async () => {
    const { deps, store, fileIds } = await setup();
    const outcome = await createExport(deps, teamAdmin, { format: 'ndjson' }, BASE_URL, 'req-1');
    expect(outcome).toMatchObject({ status: 201, export: { rows: 4 } });
    expect(fileIds(outcome.export.id)).toEqual(['e0', 'e3', 'e4', 'e7']);
    const record = await deps.exports.get(TENANT, outcome.export.id);
    expect(record).toMatchObject({
      requested_by: 'user_ada',
      requester: { kind: 'person', id: 'user_ada', role: 'team_admin', session_id: 'ses_1' },
      team_scope: ['team_a', 'team_b'],
    });
    const audit = await store.get(TENANT, serviceEventId(`audit-export-${outcome.export.id}`), NOW);
    expect(audit).toMatchObject({
      action: 'audit_log.exported',
      actor: { id: 'user_ada', type: 'user', email: 'Ada@Example.com', name: 'Ada', role: 'team_admin' },
      metadata: { export_id: outcome.export.id, rows: 4, viewer_session: 'ses_1' },
    });
  });

  it('narrows to a team_id within the teams and refuses one outside them (403, nothing recorded)', async () => {
    const { deps, fileIds } = await setup();
    const narrowed = await createExport(
      deps,
      teamAdmin,
      { format: 'ndjson', team_id: 'team_b' },
      BASE_URL,
      'r',
    );
    expect(fileIds(narrowed.export.id)).toEqual(['e3', 'e7']);
    expect((await deps.exports.get(TENANT, narrowed.export.id))?.team_scope).toEqual(['team_b']);
    await expect(
      createExport(deps, teamAdmin, { format: 'ndjson', team_id: 'team_c' }, BASE_URL, 'r'),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('is re-scoped by the job in every invocation, from the recorded scope', async () => {
    const { deps, fileIds } = await setup();
    // A queued export as createExport records one for a team admin (the job loads everything from it).
    const record = newExportRecord({
      id: 'exp_01jd0000000000000000000001',
      tenantId: TENANT,
      format: 'ndjson',
      filters: {},
      window: { from: new Date(NOW - 86_400_000).toISOString(), to: new Date(NOW).toISOString() },
      notifyEmail: null,
      requester: { kind: 'person', id: 'user_ada', role: 'team_admin', session_id: 'ses_1' },
      teamScope: ['team_c'],
      baseUrl: BASE_URL,
      nowMs: NOW,
    });
    await deps.exports.create(record);
    const job = { tenantId: TENANT, exportId: record.id };
    expect(await runExportJob({ ...deps, partBytes: 1, reserveMs: 0 }, job, () => 60_000)).toBe('completed');
    expect(fileIds(record.id)).toEqual(['e2', 'e6']);
    const audit = await deps.store.get(TENANT, serviceEventId(`audit-export-${record.id}`), NOW);
    expect(audit?.actor).toEqual({ id: 'user_ada', type: 'user', role: 'team_admin' });
  });
});

describe('reading exports back', () => {
  it('a person reads their own exports from any session; another person gets 404', async () => {
    const { deps } = await setup();
    const mine = await createExport(deps, person('admin'), { format: 'ndjson' }, BASE_URL, 'r');
    const otherSession = person('admin', [], { sessionId: 'ses_9' });
    expect(await getExport(deps, otherSession, mine.export.id)).toEqual(mine.export);
    expect(await downloadExport(deps, otherSession, mine.export.id, 'r')).toContain(mine.export.id);

    const grace = person('owner', [], { person: { id: 'user_grace', email: 'grace@example.com' } });
    await expect(getExport(deps, grace, mine.export.id)).rejects.toMatchObject({ status: 404 });
    await expect(downloadExport(deps, grace, mine.export.id, 'r')).rejects.toMatchObject({ status: 404 });
  });

  it("a key's export is readable by whole-workspace roles and 404 to a team admin", async () => {
    const { deps } = await setup();
    const byKey = await createExport(deps, key, { format: 'ndjson' }, BASE_URL, 'r');
    for (const role of ['owner', 'admin', 'auditor'] as const)
      expect((await getExport(deps, person(role), byKey.export.id)).id).toBe(byKey.export.id);
    await expect(getExport(deps, teamAdmin, byKey.export.id)).rejects.toMatchObject({ status: 404 });
    await expect(downloadExport(deps, teamAdmin, byKey.export.id, 'r')).rejects.toMatchObject({
      status: 404,
    });
  });

  it('keys read every export of their tenant, people’s included', async () => {
    const { deps } = await setup();
    const byPerson = await createExport(deps, teamAdmin, { format: 'ndjson' }, BASE_URL, 'r');
    expect((await getExport(deps, key, byPerson.export.id)).id).toBe(byPerson.export.id);
  });

  it("checks the team scope again at download: teams no longer all the admin's → 404", async () => {
    const { deps } = await setup();
    const made = await createExport(deps, teamAdmin, { format: 'ndjson' }, BASE_URL, 'r');
    const fewerTeams = person('team_admin', ['team_a'], { sessionId: 'ses_2' });
    await expect(downloadExport(deps, fewerTeams, made.export.id, 'r')).rejects.toMatchObject({
      status: 404,
    });
    const moreTeams = person('team_admin', ['team_a', 'team_b', 'team_c'], { sessionId: 'ses_3' });
    expect(await downloadExport(deps, moreTeams, made.export.id, 'r')).toContain(made.export.id);
    // Promoted to a whole-workspace role: still their own export.
    expect(await downloadExport(deps, person('admin'), made.export.id, 'r')).toContain(made.export.id);
  });

  it('writes audit_log.export_downloaded for a person and for a key', async () => {
    const { deps, store } = await setup();
    const made = await createExport(deps, teamAdmin, { format: 'ndjson' }, BASE_URL, 'r');
    await downloadExport(deps, teamAdmin, made.export.id, 'req-d1');
    await downloadExport(deps, key, made.export.id, 'req-d2');
    const downloads = store
      .eventsOf(TENANT)
      .filter((e) => e.action === 'audit_log.export_downloaded')
      .sort((a, b) => (a.context?.request_id ?? '').localeCompare(b.context?.request_id ?? ''));
    expect(downloads).toMatchObject([
      {
        actor: { id: 'user_ada', type: 'user', role: 'team_admin' },
        context: { request_id: 'req-d1' },
        metadata: { export_id: made.export.id, viewer_session: 'ses_1' },
      },
      {
        actor: { id: 'key_1', type: 'api_key' },
        context: { request_id: 'req-d2' },
        metadata: { export_id: made.export.id },
      },
    ]);
  });
});

describe("a person's notify_email", () => {
  it('is refused (400 naming the field) for any address but their own, before anything is counted', async () => {
    const { deps } = await setup();
    await expect(
      createExport(deps, teamAdmin, { format: 'csv', notify_email: 'eve@example.com' }, BASE_URL, 'r'),
    ).rejects.toMatchObject({ status: 400, errors: [expect.objectContaining({ field: 'notify_email' })] });
    expect(deps.emailQuota.counted(TENANT, '2026-03-01T12')).toBe(0);
    expect(deps.mailer.sent).toHaveLength(0);
  });

  it('is accepted as their own address, whatever its case', async () => {
    const { deps } = await setup();
    const outcome = await createExport(
      deps,
      teamAdmin,
      { format: 'csv', notify_email: 'ada@example.com' },
      BASE_URL,
      'r',
    );
    expect(outcome.status).toBe(201);
    expect(deps.mailer.sent.map((m) => m.to)).toEqual(['ada@example.com']);
  });

  it('is refused for a person without an email', async () => {
    const { deps } = await setup();
    const anonymous = person('owner', [], { person: { id: 'user_x' } });
    await expect(
      createExport(deps, anonymous, { format: 'csv', notify_email: 'x@example.com' }, BASE_URL, 'r'),
    ).rejects.toMatchObject({ status: 400, errors: [expect.objectContaining({ field: 'notify_email' })] });
  });
});
