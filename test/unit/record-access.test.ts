import { describe, expect, it } from 'vitest';
import { serviceEventId } from '#shared/domain/ids.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { ingestEvents, type KeyPrincipal, recordAccess } from '#shared/usecases/events.ts';
import { MemoryEventStore } from './fakes/events.ts';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

const principal = (scopes: KeyPrincipal['scopes']): KeyPrincipal => ({
  kind: 'key',
  tenantId: 'tnt_a',
  keyId: 'key_1',
  keyName: 'ci',
  scopes,
  retentionDays: 90,
  shards: 1,
});

const setup = () => {
  const store = new MemoryEventStore();
  const deps = { store, redact: createRedactor(), now: () => NOW };
  return { store, deps };
};

describe('the export audit event', () => {
  it('is written under a service id, once, however often a job retries', async () => {
    const { store, deps } = setup();
    const key = principal(['exports:write']);
    const metadata = { export_id: 'exp_1', rows: 3 };
    await recordAccess(deps, key, 'audit_log.exported', metadata, 'req-1', 'audit-export-exp_1');
    await recordAccess(
      deps,
      key,
      'audit_log.exported',
      metadata,
      'req-1',
      serviceEventId('audit-export', 'exp_1'),
    );
    expect(store.eventsOf('tnt_a').map((event) => event.id)).toEqual(['tk_audit-export-exp_1']);
    expect(await store.get('tnt_a', 'tk_audit-export-exp_1', NOW)).toMatchObject({
      action: 'audit_log.exported',
      actor: { id: 'key_1', type: 'api_key' },
    });
  });

  it('cannot be claimed first by a client sending that id', async () => {
    const { store, deps } = setup();
    await expect(
      ingestEvents(deps, principal(['events:write']), {
        id: serviceEventId('audit-export', 'exp_2'),
        action: 'member.removed',
        actor: { id: 'intruder' },
      }),
    ).rejects.toMatchObject({ status: 400, extra: { errors: [expect.objectContaining({ field: 'id' })] } });
    await recordAccess(
      deps,
      principal(['exports:write']),
      'audit_log.exported',
      {},
      'r',
      'audit-export-exp_2',
    );
    expect((await store.get('tnt_a', 'tk_audit-export-exp_2', NOW))?.actor.id).toBe('key_1');
  });

  it('keeps the first record when a retry carries other content, without failing the job', async () => {
    const { store, deps } = setup();
    const key = principal(['exports:write']);
    await recordAccess(deps, key, 'audit_log.exported', { rows: 3 }, 'r', 'audit-export-exp_3');
    await expect(
      recordAccess(deps, key, 'audit_log.exported', { rows: 4 }, 'r', 'audit-export-exp_3'),
    ).resolves.toBeUndefined();
    expect((await store.get('tnt_a', 'tk_audit-export-exp_3', NOW))?.metadata).toEqual({ rows: 3 });
  });
});

describe('the access events of people', () => {
  const person = (via: 'session' | 'oidc') => ({
    kind: 'person' as const,
    tenantId: 'tnt_a',
    person: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
    role: 'auditor' as const,
    teamIds: [],
    sessionId: 'ses_01jd0000000000000000000000',
    permissions: ['view' as const],
    via,
    retentionDays: 90,
    shards: 1,
  });

  it('name the person as a user with their role, and their session (not redacted) in metadata', async () => {
    const { store, deps } = setup();
    await recordAccess(deps, person('session'), 'audit_log.viewed', { event_id: 'e1' }, 'req-1');
    const [written] = store.eventsOf('tnt_a');
    expect(written?.actor).toEqual({
      id: 'user_ada',
      type: 'user',
      email: 'ada@example.com',
      name: 'Ada',
      role: 'auditor',
    });
    expect(written?.metadata).toEqual({ event_id: 'e1', viewer_session: 'ses_01jd0000000000000000000000' });
  });

  it('say when the person came through the identity provider', async () => {
    const { store, deps } = setup();
    await recordAccess(deps, person('oidc'), 'audit_log.export_downloaded', { export_id: 'exp_1' }, 'req-2');
    expect(store.eventsOf('tnt_a')[0]).toMatchObject({
      action: 'audit_log.export_downloaded',
      metadata: { export_id: 'exp_1', via: 'oidc' },
    });
  });

  it('can be written for a requester recorded earlier (the export job), idempotently', async () => {
    const { store, deps } = setup();
    const requester = {
      tenantId: 'tnt_a',
      retentionDays: 90,
      shards: 1,
      actor: {
        kind: 'person' as const,
        person: { id: 'user_ada' },
        role: 'team_admin' as const,
        sessionId: 'ses_x',
        via: 'session' as const,
      },
    };
    for (let i = 0; i < 2; i++)
      await recordAccess(deps, requester, 'audit_log.exported', { rows: 1 }, 'job', 'audit-export-exp_9');
    expect(store.eventsOf('tnt_a')).toEqual([
      expect.objectContaining({
        id: 'tk_audit-export-exp_9',
        actor: { id: 'user_ada', type: 'user', role: 'team_admin' },
        metadata: { rows: 1, viewer_session: 'ses_x' },
      }),
    ]);
  });
});
