/**
 * The actions a reader may see, for the console's suggestions (`GET /v1/actions?prefix=`), and how
 * they get known: every append of an event registers its action — in the tenant as a whole and,
 * for an event with a `team_id`, in that team — in the action registry, so a read never scans the
 * events table.
 *
 * Registration wraps the EventStore port (`withActionRegistry`, wired in
 * shared/adapters/action-wiring.ts): every append — a client's events, the trail's own
 * `audit_log.*` reads and `trailkeeper.*` acts — passes a store's `append`, so wrapping the store a
 * function is given is the one place where no use case can forget it. Each container remembers what it registered, so
 * a busy tenant pays one conditional write per new (tenant, action) and (tenant, team, action), not
 * one per event. The registry only helps suggestions: failing to register never fails the append
 * (the pair is not remembered, so the next event with it tries again).
 */
import * as z from 'zod';
import { type Reader, readerScope } from './events.ts';
import { parseInput } from './parse-input.ts';
import type { ActionRegistry, RegisteredAction } from './ports/actions.ts';
import type { AppendResult, EventStore, NewEvent, QueryPage } from './ports/events.ts';

/** The most actions one answer lists: suggestions, not an inventory (narrow the prefix for more). */
export const MAX_ACTIONS = 200;

/**
 * `prefix`: the start of an action (`mem`, `member.`), optionally written as a filter prefix
 * (`member.*`); empty or absent lists every action.
 */
export const actionsQuerySchema = z.strictObject({
  prefix: z
    .string()
    .max(129, 'must be at most 128 characters (and an optional `*`)')
    .regex(
      /^([a-z][a-z0-9_.]*)?\*?$/,
      'must be the start of an action: lower-case letters, digits, `_` and `.`, starting with a letter, optionally ending in `*`',
    )
    .optional(),
});

export interface ActionList {
  data: { action: string }[];
  /** More actions start with the prefix than the answer holds. */
  has_more: boolean;
}

export interface ActionDeps {
  registry: ActionRegistry;
}

/**
 * The distinct actions of the events the reader may see, sorted: a key and a whole-workspace role
 * read the tenant's registry, a team admin one registry per team (merged), so they never learn of
 * an organization-level action or another team's.
 */
export const listActions = async (
  deps: ActionDeps,
  reader: Reader,
  rawQuery: Record<string, string>,
): Promise<ActionList> => {
  const query = parseInput(actionsQuerySchema, rawQuery);
  const prefix = (query.prefix ?? '').replace(/\*$/, '');
  const scope = readerScope(reader);
  const partitions: (string | null)[] = scope === null ? [null] : [...new Set(scope)];
  const pages = await Promise.all(
    partitions.map((teamId) => deps.registry.list(reader.tenantId, teamId, prefix, MAX_ACTIONS)),
  );
  const merged = [...new Set(pages.flatMap((page) => page.actions))].sort();
  return {
    data: merged.slice(0, MAX_ACTIONS).map((action) => ({ action })),
    has_more: merged.length > MAX_ACTIONS || pages.some((page) => page.more),
  };
};

/** Above this many remembered pairs a container forgets them all (and re-registers as it goes). */
export const REGISTERED_MEMO_LIMIT = 10_000;

const memoKey = (entry: RegisteredAction): string =>
  JSON.stringify([entry.tenantId, entry.teamId, entry.action]);

/** The registry entries an appended event implies: its tenant's, and its team's when it has one. */
export const registryEntriesOf = (
  event: Pick<AppendResult['event'], 'tenant_id' | 'team_id' | 'action'>,
): RegisteredAction[] => [
  { tenantId: event.tenant_id, teamId: null, action: event.action },
  ...(typeof event.team_id !== 'string'
    ? []
    : [{ tenantId: event.tenant_id, teamId: event.team_id, action: event.action }]),
];

/**
 * The EventStore that registers the actions of what it appends (see the header). Registers after
 * the append (the registry never names an action no stored event has), the stored event's action
 * — a replay's too, so a retry after a failed registration repairs it.
 */
export const withActionRegistry = (
  store: EventStore,
  registry: ActionRegistry,
  options: { onError?: (error: unknown) => void } = {},
): EventStore & { readonly registered: ReadonlySet<string> } => {
  const registered = new Set<string>();
  const register = async (results: readonly AppendResult[]): Promise<void> => {
    // Seen at: when the (first) event with it was received.
    const pending = new Map<string, { entry: RegisteredAction; seenAt: string }>();
    for (const { event } of results) {
      for (const entry of registryEntriesOf(event)) {
        const key = memoKey(entry);
        if (!registered.has(key) && !pending.has(key)) pending.set(key, { entry, seenAt: event.received_at });
      }
    }
    if (pending.size === 0) return;
    const outcomes = await Promise.allSettled(
      [...pending.values()].map(({ entry, seenAt }) => registry.register(entry, seenAt)),
    );
    if (registered.size + pending.size > REGISTERED_MEMO_LIMIT) registered.clear();
    [...pending.keys()].forEach((key, i) => {
      const outcome = outcomes[i];
      if (outcome?.status === 'fulfilled') registered.add(key);
      else options.onError?.(outcome?.reason);
    });
  };
  return {
    registered,
    async append(events: readonly (NewEvent | AppendResult['event'])[], shards: number) {
      const results = await store.append(events, shards);
      await register(results);
      return results;
    },
    get: (tenantId: string, eventId: string, nowMs: number) => store.get(tenantId, eventId, nowMs),
    query: (...args: Parameters<EventStore['query']>): Promise<QueryPage> => store.query(...args),
    probe: (...args: Parameters<EventStore['probe']>) => store.probe(...args),
  };
};
