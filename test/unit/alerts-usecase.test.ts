/**
 * The alerts use cases over in-memory fakes and an injected clock (no test waits for time): the
 * sweeper's absence alert (once per silent period, not before) and its report of held-back
 * matches after a cooldown; the router's state write retried on a version conflict (no count
 * lost); the deliverer's webhook signed so `standardwebhooks` verifies it, retried by a delayed
 * message, and after its last attempt recorded on the alert (never dropped silently).
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AlertState, initialAlertState } from '#shared/domain/alert-rules.ts';
import { newWebhookSecret } from '#shared/domain/deliveries.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { TenantRecord } from '#shared/domain/tenant.ts';
import {
  type AlertNotifyDeps,
  type AlertSweepDeps,
  deliverAlertNotification,
  evaluateAlerts,
  MAX_NOTIFY_ATTEMPTS,
  sweepAlerts,
} from '#shared/usecases/alerts.ts';
import type {
  AlertChanges,
  AlertNotification,
  AlertRecord,
  AlertStore,
} from '#shared/usecases/ports/alerts.ts';
import type { SecretBox } from '#shared/usecases/ports/secret-box.ts';
import { MemoryEventStore } from './fakes/events.ts';

const TENANT = 'tnt_01jda3k4m5n6p7q8r9s0t1v2w3';
const ALERT = 'alr_01jda3k4m5n6p7q8r9s0t1v2w3';
const T0 = Date.parse('2026-11-18T12:00:00.000Z');
const MIN = 60_000;
const tenant = { id: TENANT, plan: 'pro', custom_retention_days: null, shards: 1 } as unknown as TenantRecord;

class MemoryAlertStore implements AlertStore {
  readonly records = new Map<string, AlertRecord>();
  /** Versions whose save is refused once (another shard came first). */
  conflictOnce = new Set<number>();
  async create(record: AlertRecord) {
    this.records.set(record.id, structuredClone(record));
  }
  async get(_t: string, id: string) {
    const record = this.records.get(id);
    return record === undefined ? null : structuredClone(record);
  }
  async list() {
    return [...this.records.values()].map((r) => structuredClone(r));
  }
  async update(_t: string, id: string, changes: AlertChanges) {
    const record = this.records.get(id);
    if (record === undefined) return null;
    Object.assign(record, changes);
    return structuredClone(record);
  }
  async delete(_t: string, id: string) {
    return this.records.delete(id);
  }
  async saveState(_t: string, id: string, expected: number, state: AlertState) {
    const record = this.records.get(id);
    if (record === undefined || record.state_version !== expected) return false;
    if (this.conflictOnce.delete(expected)) {
      // Another shard counted one match meanwhile.
      record.state = { ...record.state, suppressed: record.state.suppressed + 1 };
      record.state_version += 1;
      return false;
    }
    record.state = state;
    record.state_version += 1;
    return true;
  }
}

const alertRecord = (overrides: Partial<AlertRecord> = {}): AlertRecord => ({
  id: ALERT,
  tenant_id: TENANT,
  name: 'Silent integration',
  rule: { match: { action: ['billing.sync'] }, cooldown_minutes: 5 },
  notify: [{ webhook_url: 'https://siem.example.com/a' }],
  created_at: new Date(T0).toISOString(),
  updated_at: new Date(T0).toISOString(),
  state: initialAlertState(T0),
  state_version: 0,
  ...overrides,
});

const setup = (record: AlertRecord) => {
  const alerts = new MemoryAlertStore();
  void alerts.create(record);
  const store = new MemoryEventStore();
  const queued: { message: AlertNotification; delay?: number }[] = [];
  let now = T0;
  const deps: AlertSweepDeps = {
    alerts,
    control: { getTenant: async () => tenant, listTenantIds: async () => [TENANT] },
    store,
    redact: createRedactor(),
    queue: {
      send: async (message, delay) => {
        queued.push({ message, ...(delay === undefined ? {} : { delay }) });
      },
    },
    now: () => now,
  };
  const at = (ms: number) => {
    now = ms;
  };
  return { alerts, store, queued, deps, at };
};

const event = (id: string, action: string, at: number): StoredEvent => {
  const built = buildStoredEvent(
    { id, action, actor: { id: 'u1', type: 'user' } },
    { tenantId: TENANT, retentionDays: 90 },
    at,
    createRedactor(),
  );
  if (!built.ok) throw new Error('fixture');
  return built.event;
};

describe('sweepAlerts', () => {
  it('fires an absence alert once after absent_minutes of silence, not before, and again only after a match re-arms it', async () => {
    const { queued, deps, at, alerts } = setup(
      alertRecord({ rule: { match: { action: ['billing.sync'] }, absent_minutes: 60, cooldown_minutes: 5 } }),
    );
    at(T0 + 59 * MIN);
    expect(await sweepAlerts(deps)).toBe(0);
    at(T0 + 60 * MIN);
    expect(await sweepAlerts(deps)).toBe(1);
    at(T0 + 61 * MIN);
    expect(await sweepAlerts(deps)).toBe(0);
    expect(queued.map((q) => q.message.fire)).toEqual([
      { kind: 'absence', events: [], suppressed: 0, absent_since: new Date(T0).toISOString() },
    ]);

    at(T0 + 70 * MIN);
    await evaluateAlerts([event('s1', 'billing.sync', T0 + 70 * MIN)], deps);
    at(T0 + 129 * MIN);
    expect(await sweepAlerts(deps)).toBe(0);
    at(T0 + 130 * MIN);
    expect(await sweepAlerts(deps)).toBe(1);
    expect((await alerts.get(TENANT, ALERT))?.state.absence_fired).toBe(true);
  });

  it('reports matches a cooldown held back once it is over', async () => {
    const { queued, deps, at } = setup(alertRecord());
    await evaluateAlerts([event('e1', 'billing.sync', T0), event('e2', 'billing.sync', T0)], deps);
    expect(queued.map((q) => q.message.fire.kind)).toEqual(['match']);
    at(T0 + 4 * MIN);
    expect(await sweepAlerts(deps)).toBe(0);
    at(T0 + 5 * MIN);
    expect(await sweepAlerts(deps)).toBe(1);
    expect(queued[1]?.message.fire).toMatchObject({ kind: 'held', suppressed: 1 });
  });
});

describe('evaluateAlerts', () => {
  it('re-reads and re-applies its matches when another shard wrote the state first (no count lost)', async () => {
    const { alerts, deps } = setup(
      alertRecord({ state: { ...initialAlertState(T0), last_fired_at: new Date(T0).toISOString() } }),
    );
    alerts.conflictOnce.add(0);
    await evaluateAlerts([event('e1', 'billing.sync', T0)], deps);
    const after = await alerts.get(TENANT, ALERT);
    expect(after?.state.suppressed).toBe(2);
    expect(after?.state_version).toBe(2);
  });

  it('never evaluates trailkeeper.alert.* events, even for a rule on them', async () => {
    const { queued, deps, alerts } = setup(
      alertRecord({ rule: { match: { action: ['trailkeeper.alert.*'] }, cooldown_minutes: 0 } }),
    );
    expect(await evaluateAlerts([event('e1', 'trailkeeper.alert.triggered', T0)], deps)).toBe(0);
    expect(queued).toEqual([]);
    expect((await alerts.get(TENANT, ALERT))?.state_version).toBe(0);
  });
});

describe('deliverAlertNotification', () => {
  const secret = newWebhookSecret();
  const box: SecretBox = { seal: async (p) => `sealed:${p}`, open: async (s) => s.replace(/^sealed:/, '') };
  const message: AlertNotification = {
    kind: 'alert',
    tenant_id: TENANT,
    alert_id: ALERT,
    target: 0,
    fire_id: `${ALERT}-0-0`,
    fired_at: new Date(T0).toISOString(),
    fire: { kind: 'match', events: ['e1'], suppressed: 0 },
    attempt: 0,
  };

  const notifyDeps = (status: number) => {
    const { alerts, store } = setup(alertRecord({ secret_sealed: `sealed:${secret}` }));
    const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
    const queued: { message: AlertNotification; delay?: number }[] = [];
    let failed = 0;
    return {
      alerts,
      store,
      posts,
      queued,
      failed: () => failed,
      deps: <AlertNotifyDeps>{
        alerts,
        control: { getTenant: async () => ({ ...tenant, email_domains: ['example.com'] }) },
        store,
        secrets: async () => box,
        poster: {
          post: async (request: { url: string; headers: Record<string, string>; body: string }) => {
            posts.push(request);
            return { status, headers: {}, body: status === 200 ? 'ok' : 'boom' };
          },
        },
        mailer: { send: async () => undefined },
        emailFrom: 'alerts@example.com',
        queue: {
          send: async (m: AlertNotification, delay?: number) => void queued.push({ message: m, delay }),
        },
        baseUrl: 'https://audit.example.com',
        now: () => T0,
        failed: () => {
          failed += 1;
        },
      },
    };
  };

  afterEach(() => {
    vi.useRealTimers();
  });

  it('signs the webhook so standardwebhooks verifies it, with the matching events', async () => {
    // The verifier's clock at the signing time (it refuses timestamps 5 minutes off).
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    const { deps, posts, store } = notifyDeps(200);
    await store.append([event('e1', 'billing.sync', T0)], 1);
    expect(await deliverAlertNotification(message, deps)).toBe('delivered');
    const [post] = posts;
    if (post === undefined) throw new Error('no post');
    const payload = new Webhook(secret).verify(post.body, post.headers) as { events: { id: string }[] };
    expect(payload).toMatchObject({
      type: 'alert',
      alert: { id: ALERT, name: 'Silent integration' },
      suppressed: 0,
    });
    expect(payload.events.map((e) => e.id)).toEqual(['e1']);
    expect(post.headers['webhook-id']).toBe(`msg_${ALERT}-0-0-0`);
  });

  it('sends no email to an address the tenant no longer allows, and says so on the alert', async () => {
    const { deps, alerts } = notifyDeps(200);
    await alerts.update(TENANT, ALERT, { notify: [{ email: 'someone@elsewhere.org' }] });
    const sent: string[] = [];
    deps.mailer = {
      send: async (email: { to: string }) => {
        sent.push(email.to);
        return undefined;
      },
    };
    expect(await deliverAlertNotification({ ...message, attempt: MAX_NOTIFY_ATTEMPTS - 1 }, deps)).toBe(
      'failed',
    );
    expect(sent).toEqual([]);
    expect((await alerts.get(TENANT, ALERT))?.last_error).toMatch(/no longer at one of the tenant's allowed/);
  });

  it('retries a failure by a delayed message, then records the last one on the alert', async () => {
    const { deps, queued, alerts, failed } = notifyDeps(500);
    expect(await deliverAlertNotification(message, deps)).toBe('retrying');
    expect(queued).toEqual([{ message: { ...message, attempt: 1 }, delay: 2 }]);
    expect(await deliverAlertNotification({ ...message, attempt: MAX_NOTIFY_ATTEMPTS - 1 }, deps)).toBe(
      'failed',
    );
    expect(failed()).toBe(1);
    expect((await alerts.get(TENANT, ALERT))?.last_error).toBe('HTTP 500: boom');
  });
});
