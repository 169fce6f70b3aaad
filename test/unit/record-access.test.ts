import { describe, expect, it } from 'vitest';
import type { AppendResult, EventStore, NewEvent } from '#shared/adapters/event-store.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { serviceEventId } from '#shared/domain/ids.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { ingestEvents, type KeyPrincipal, recordAccess } from '#shared/usecases/events.ts';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

/** The events table's append rule in memory: the first write of an id stands. */
class MemoryEventStore implements EventStore {
  readonly events = new Map<string, NewEvent>();

  async append(entries: readonly (NewEvent | StoredEvent)[]): Promise<AppendResult[]> {
    return entries.map((entry) => {
      if (!('event' in entry)) throw new Error('the use cases always pass a fingerprint');
      const existing = this.events.get(entry.event.id);
      if (existing !== undefined) return { ...existing, created: false };
      this.events.set(entry.event.id, entry);
      return { ...entry, created: true };
    });
  }

  async get(): Promise<StoredEvent | null> {
    throw new Error('not used by these use cases');
  }

  async query(): Promise<never> {
    throw new Error('not used by these use cases');
  }
}

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
    expect([...store.events.keys()]).toEqual(['tk_audit-export-exp_1']);
    expect(store.events.get('tk_audit-export-exp_1')?.event).toMatchObject({
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
    expect(store.events.get('tk_audit-export-exp_2')?.event.actor.id).toBe('key_1');
  });

  it('keeps the first record when a retry carries other content, without failing the job', async () => {
    const { store, deps } = setup();
    const key = principal(['exports:write']);
    await recordAccess(deps, key, 'audit_log.exported', { rows: 3 }, 'r', 'audit-export-exp_3');
    await expect(
      recordAccess(deps, key, 'audit_log.exported', { rows: 4 }, 'r', 'audit-export-exp_3'),
    ).resolves.toBeUndefined();
    expect(store.events.get('tk_audit-export-exp_3')?.event.metadata).toEqual({ rows: 3 });
  });
});
