/**
 * How the kind registry (shared/usecases/ports/kinds.ts) gets complete: every append registers the
 * kinds and (actor email, actor id) pairs of its events *before* storing them, and fails — storing
 * nothing — when that registration fails. So the query planner, which reads a kind filter's
 * `byKind` partitions and an `actor_email` filter's `byActor` partitions from the registry alone,
 * never misses a stored event.
 *
 * Registration wraps the EventStore port (`withKindRegistry`, wired in shared/adapters/wiring.ts
 * eventStore): every append of every function passes a store's `append`. Each container remembers
 * what it registered, so a busy tenant pays one write per new kind or email pair, not one per
 * event. Per-kind counts are estimates for the planner: the container adds up the events it
 * stored (created ones only, after the append) and writes them with the next registration of that
 * very kind (after its memo was cleared) or in a count-only flush at most once a minute; a failed
 * flush is reported, not retried, and a stopped container loses what it had not written.
 */
import { type EventKind, kindId, kindOf } from '../domain/kinds.ts';
import type { AppendResult, EventStore, NewEvent } from './ports/events.ts';
import type { ActorEmail, KindCount, KindRegistry } from './ports/kinds.ts';

/** Above this many remembered entries a container forgets them all (and re-registers as it goes). */
export const KIND_MEMO_LIMIT = 10_000;

/** A container writes pending counts at most this often (ms). */
export const KIND_COUNT_FLUSH_MS = 60_000;

type Appended = NewEvent | AppendResult['event'];

const eventOf = (entry: Appended): AppendResult['event'] =>
  'contentHash' in entry && 'event' in entry ? entry.event : entry;

const kindMemoKey = (tenantId: string, id: string): string => JSON.stringify(['kind', tenantId, id]);
const emailMemoKey = (tenantId: string, pair: ActorEmail): string =>
  JSON.stringify(['email', tenantId, pair.email, pair.actorId]);

/** What one tenant's events of an append need registered, deduplicated. */
interface TenantEntries {
  kinds: Map<string, EventKind>;
  emails: Map<string, ActorEmail>;
}

/** The registry entries of a batch by tenant: each event's kind and, when it has an email, its (email, actor id). */
export const kindEntriesOf = (events: readonly Appended[]): Map<string, TenantEntries> => {
  const byTenant = new Map<string, TenantEntries>();
  for (const entry of events) {
    const event = eventOf(entry);
    let entries = byTenant.get(event.tenant_id);
    if (entries === undefined) {
      entries = { kinds: new Map(), emails: new Map() };
      byTenant.set(event.tenant_id, entries);
    }
    const kind = kindOf(event);
    entries.kinds.set(kindId(kind), kind);
    const email = event.actor.email;
    if (typeof email === 'string' && email !== '') {
      const pair = { email: email.toLowerCase(), actorId: event.actor.id };
      entries.emails.set(emailMemoKey(event.tenant_id, pair), pair);
    }
  }
  return byTenant;
};

export interface KindRegistryOptions {
  now?: () => number;
  /** A count-only flush failed (its counts are dropped: they are estimates). */
  onCountError?: (error: unknown) => void;
}

/** The EventStore that registers the kinds and actor emails of what it appends first (see the header). */
export const withKindRegistry = (
  store: EventStore,
  registry: KindRegistry,
  options: KindRegistryOptions = {},
): EventStore & { readonly registered: ReadonlySet<string> } => {
  const now = options.now ?? Date.now;
  const registered = new Set<string>();
  /** Events stored and not yet counted in the registry, by memo key of (tenant, kind). */
  const pending = new Map<string, { tenantId: string; id: string; kind: EventKind; count: number }>();
  let lastFlush = now();

  /** Takes (removes) the pending count of a kind: it rides on the kind's registration. */
  const takeCount = (tenantId: string, id: string): number => {
    const key = kindMemoKey(tenantId, id);
    const count = pending.get(key)?.count ?? 0;
    pending.delete(key);
    return count;
  };

  const registerNew = async (events: readonly Appended[]): Promise<void> => {
    const firstSeenAt = new Date(now()).toISOString();
    const writes: { tenantId: string; keys: string[]; kinds: KindCount[]; emails: ActorEmail[] }[] = [];
    for (const [tenantId, entries] of kindEntriesOf(events)) {
      const keys: string[] = [];
      const kinds: KindCount[] = [];
      for (const [id, kind] of entries.kinds) {
        const key = kindMemoKey(tenantId, id);
        if (registered.has(key)) continue;
        keys.push(key);
        kinds.push({ id, kind, count: takeCount(tenantId, id) });
      }
      const emails: ActorEmail[] = [];
      for (const [key, pair] of entries.emails) {
        if (registered.has(key)) continue;
        keys.push(key);
        emails.push(pair);
      }
      if (keys.length > 0) writes.push({ tenantId, keys, kinds, emails });
    }
    if (writes.length === 0) return;
    // Every tenant's registration must settle before any event is stored; the first failure fails the append.
    const outcomes = await Promise.allSettled(
      writes.map(({ tenantId, kinds, emails }) =>
        registry.register(tenantId, { kinds, emails }, firstSeenAt),
      ),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    const added = writes.reduce((sum, write) => sum + write.keys.length, 0);
    if (registered.size + added > KIND_MEMO_LIMIT) registered.clear();
    writes.forEach((write, i) => {
      if (outcomes[i]?.status === 'fulfilled') for (const key of write.keys) registered.add(key);
    });
    if (failed !== undefined) throw failed.reason;
  };

  const count = (results: readonly AppendResult[]): void => {
    for (const { event, created } of results) {
      if (!created) continue;
      const kind = kindOf(event);
      const id = kindId(kind);
      const key = kindMemoKey(event.tenant_id, id);
      const entry = pending.get(key);
      if (entry === undefined) pending.set(key, { tenantId: event.tenant_id, id, kind, count: 1 });
      else entry.count += 1;
    }
  };

  /** At most once per KIND_COUNT_FLUSH_MS: writes every pending count; never rejects. */
  const flushCounts = async (): Promise<void> => {
    const at = now();
    if (pending.size === 0 || at - lastFlush < KIND_COUNT_FLUSH_MS) return;
    lastFlush = at;
    const byTenant = new Map<string, KindCount[]>();
    for (const { tenantId, id, kind, count } of pending.values()) {
      byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), { id, kind, count }]);
    }
    pending.clear();
    const firstSeenAt = new Date(at).toISOString();
    const outcomes = await Promise.allSettled(
      [...byTenant].map(([tenantId, kinds]) =>
        registry.register(tenantId, { kinds, emails: [] }, firstSeenAt),
      ),
    );
    for (const outcome of outcomes) if (outcome.status === 'rejected') options.onCountError?.(outcome.reason);
  };

  return {
    registered,
    async append(events: readonly Appended[], shards: number): Promise<AppendResult[]> {
      await registerNew(events);
      const results = await store.append(events, shards);
      count(results);
      await flushCounts();
      return results;
    },
    get: (...args: Parameters<EventStore['get']>) => store.get(...args),
    query: (...args: Parameters<EventStore['query']>) => store.query(...args),
    probe: (...args: Parameters<EventStore['probe']>) => store.probe(...args),
  };
};
