/**
 * The query planner's use case: turns a filter set into the plan that reads least. The pure
 * half (shared/domain/query.ts) says which paths could serve the filters and which is cheapest
 * given estimates; this half gathers the estimates where they are cheap to know:
 *
 * - a kind-field filter (action, area, method, target type, status, actor type, exclude_action)
 *   reads the `byKind` partitions of the kinds the tenant's registry lists as matching, and its
 *   share of the tenant's events comes from the registry's per-kind counts — no read of events;
 * - an `actor_email` is resolved to its actors' `byActor` partitions through the same registry;
 * - the sparse flag index (impersonated or failed events) holds a `status=failure` filter's events
 *   in one or two partitions instead of a fan-out over every failed kind; the registry's counts
 *   give its share too, unless it must read impersonated events (then it is probed like an id);
 * - an id path (actor, email, target, team, flag) is estimated only when it competes
 *   with another path: one small probe of shard 0 of (up to PROBE_VALUES of) its partitions,
 *   beside one of the tenant's time partition, says how densely each holds events just below
 *   where the page starts.
 *
 * A cursor carries the chosen path, so the pages after the first neither probe nor re-learn.
 */
import { occurredAtOfSortKey, type QuerySource, sortKeyRange, sourcesFor } from '../domain/keys.ts';
import type { TeamScope } from '../domain/people.ts';
import {
  type Candidate,
  candidatePaths,
  choosePath,
  type EventFilters,
  kindMatches,
  PATH_INDEX,
  type PathEstimate,
  type PathName,
  type QueryPlan,
  type TimeWindow,
} from '../domain/query.ts';
import type { EventStore } from './ports/events.ts';
import type { KindRegistry } from './ports/kinds.ts';

/** Items one probe reads (about one read unit). */
export const PROBE_LIMIT = 10;
/** Key values of a multi-value path probed (the rest are assumed alike). */
export const PROBE_VALUES = 3;
/** An email seen with more actors than this is not resolved: the email is then a condition. */
export const MAX_EMAIL_ACTORS = 50;

export interface PlanDeps {
  store: Pick<EventStore, 'probe'>;
  kinds: Pick<KindRegistry, 'kinds' | 'actorsWithEmail'>;
}

export interface PlanRequest {
  tenantId: string;
  shards: number;
  filters: EventFilters;
  window: TimeWindow;
  scope: TeamScope;
  /** Events the page wants (weighs a fan-out's per-Query cost against items read). */
  limit: number;
  /** The sort key the page starts strictly below (a cursor's position). */
  before?: string;
  /** The path a cursor carries: reused when it can still serve the filters. */
  via?: PathName;
  /**
   * What a cursor carries of that path besides: its key values still holding events below the
   * cursor (and their weights), so a later page reads neither the registry nor exhausted ones.
   */
  resume?: ResumeValues;
}

/** A path's key values (kind ids, actor ids, team ids, …) with the merge's weights, in order. */
export interface ResumeValues {
  values: string[];
  weights?: number[];
}

export interface PlannedQuery {
  plan: QueryPlan;
  /** The chosen path's key values (each read on every shard: `plan.sources` in this order) and weights. */
  values: ResumeValues;
  /** Read units spent by probes. */
  readUnits: number;
  /** What the choice was made from (for logs, tests and the bench). */
  estimates: PathEstimate[];
}

/** The time (ms) of a sort key or bound: `<ISO>#<id>` or `<ISO>$`. */
const timeOf = (key: string): number =>
  Date.parse(key.includes('#') ? occurredAtOfSortKey(key) : key.replace(/\$$/, ''));

/**
 * Events per ms a partition holds just below `high`: the PROBE_LIMIT newest items there, over the
 * time between the first and the last of them; or, when it holds fewer, all of them over the
 * window (the partition holds no more in it).
 */
const density = async (
  deps: PlanDeps,
  source: QuerySource,
  from: string,
  high: string,
): Promise<{ perMs: number; readUnits: number }> => {
  const found = await deps.store.probe(source, from, high, PROBE_LIMIT);
  const full = found.count === PROBE_LIMIT && found.firstKey !== undefined && found.lastKey !== undefined;
  const perMs = full
    ? (found.count - 1) / Math.max(1, timeOf(found.firstKey as string) - timeOf(found.lastKey as string))
    : found.count / Math.max(1, timeOf(high) - Date.parse(from));
  return { perMs, readUnits: found.readUnits };
};

/** The plan reading `values` of `path` (each on every shard), with weights when given. */
const planOf = (
  request: PlanRequest,
  path: PathName,
  values: ResumeValues,
): Omit<PlannedQuery, 'readUnits' | 'estimates'> => {
  const { tenantId, shards, filters, window, scope } = request;
  const sources = values.values.flatMap((value) => sourcesFor(tenantId, shards, PATH_INDEX[path], value));
  const perShard = Math.max(1, shards);
  const weights = values.weights?.flatMap((w) => Array.from({ length: perShard }, () => w));
  return {
    plan: {
      path,
      sources,
      ...(weights === undefined ? {} : { weights }),
      filters,
      scope,
      from: window.from,
      to: window.to,
    },
    values,
  };
};

/**
 * A cursor's values of its path, when the path still serves the filters. Values the filters or
 * the reader's scope name themselves are kept only if still named (a cursor narrows, never
 * widens); registry-derived ones (kind ids, an email's actors) are taken as carried — they only
 * choose partitions of the tenant's own, and every event read is checked against the filters.
 */
const resumed = (request: PlanRequest, candidates: readonly Candidate[]): ResumeValues | undefined => {
  const { via, resume } = request;
  const candidate = candidates.find((c) => c.path === via);
  if (via === undefined || resume === undefined || candidate === undefined) return undefined;
  if (resume.weights !== undefined && resume.weights.length !== resume.values.length) return undefined;
  const allowed = candidate.values === undefined ? undefined : new Set(candidate.values);
  const keep = resume.values.map((value) => allowed === undefined || allowed.has(value));
  return {
    values: resume.values.filter((_, i) => keep[i]),
    ...(resume.weights === undefined ? {} : { weights: resume.weights.filter((_, i) => keep[i]) }),
  };
};

export const planEvents = async (deps: PlanDeps, request: PlanRequest): Promise<PlannedQuery> => {
  const { tenantId, shards, filters, window, scope, limit } = request;
  const candidates = candidatePaths(filters, scope);
  const carried = resumed(request, candidates);
  if (carried !== undefined) {
    const via = request.via as PathName;
    return { ...planOf(request, via, carried), readUnits: 0, estimates: [] };
  }
  const values = new Map<PathName, string[]>();
  const shares = new Map<PathName, number>([['time', 1]]);
  let readUnits = 0;

  for (const candidate of candidates) {
    if (candidate.values !== undefined) values.set(candidate.path, candidate.values);
  }
  const kindCounts = new Map<string, number>();
  if (candidates.some((c) => c.path === 'kind')) {
    const { kinds, readUnits: registryUnits } = await deps.kinds.kinds(tenantId);
    readUnits += registryUnits;
    const matching = kinds.filter((k) => kindMatches(k.kind, filters));
    values.set(
      'kind',
      matching.map((k) => k.id),
    );
    for (const k of matching) kindCounts.set(k.id, k.count);
    const total = kinds.reduce((sum, k) => sum + k.count, 0);
    const share =
      total > 0
        ? matching.reduce((sum, k) => sum + k.count, 0) / total
        : matching.length / Math.max(1, kinds.length);
    shares.set('kind', share);
    // The flag index holds the failures: their share is the failed kinds' (unless it also needs
    // the impersonated ones, which the registry does not count: then it is probed).
    if (values.has('flag') && filters.impersonated !== 'true' && total > 0) {
      const failed = kinds.filter((k) => k.kind.status === 'failure');
      shares.set('flag', failed.reduce((sum, k) => sum + k.count, 0) / total);
    }
  }
  if (filters.actor_email !== undefined) {
    const actors = await deps.kinds.actorsWithEmail(
      tenantId,
      filters.actor_email.toLowerCase(),
      MAX_EMAIL_ACTORS,
    );
    readUnits += actors.readUnits ?? 0;
    if (!actors.more) values.set('email', actors.ids);
  }
  const usable: Candidate[] = candidates.filter((c) => values.has(c.path));
  const partitions = (path: PathName) => (values.get(path)?.length ?? 0) * Math.max(1, shards);

  const estimates = (): PathEstimate[] =>
    usable.map((c) => ({
      path: c.path,
      partitions: partitions(c.path),
      ...(shares.has(c.path) ? { share: shares.get(c.path) as number } : {}),
    }));

  let path: PathName;
  if (request.via !== undefined && usable.some((c) => c.path === request.via)) {
    path = request.via;
  } else {
    // Id paths are probed only when they compete: with each other, or with a kind path.
    const unknown = usable.filter((c) => !shares.has(c.path));
    const competing = usable.filter((c) => c.path !== 'time').length >= 2;
    if (competing && unknown.length > 0) {
      const high = request.before ?? sortKeyRange(window.from, window.to).high;
      const probe = (path: PathName, value: string) =>
        density(deps, sourcesFor(tenantId, 1, PATH_INDEX[path], value)[0] as QuerySource, window.from, high);
      const [all, ...found] = await Promise.all([
        probe('time', ''),
        ...unknown.map(async (c) => {
          const all = values.get(c.path) as string[];
          const sampled = all.slice(0, PROBE_VALUES);
          const probes = await Promise.all(sampled.map((v) => probe(c.path, v)));
          return {
            path: c.path,
            perMs: (probes.reduce((sum, p) => sum + p.perMs, 0) * all.length) / Math.max(1, sampled.length),
            readUnits: probes.reduce((sum, p) => sum + p.readUnits, 0),
          };
        }),
      ]);
      readUnits += (all?.readUnits ?? 0) + found.reduce((sum, f) => sum + f.readUnits, 0);
      const perMsAll = all?.perMs ?? 0;
      for (const f of found) shares.set(f.path, perMsAll > 0 ? Math.min(1, f.perMs / perMsAll) : 0);
    }
    path = choosePath(estimates(), limit);
  }

  const chosen = values.get(path) as string[];
  // A kind's partitions hold about its count (each shard an equal part), so the merge's first
  // reads ask each for its share. (+1: a kind not counted yet still holds its first events.)
  const weights = path === 'kind' ? chosen.map((id) => (kindCounts.get(id) ?? 0) + 1) : undefined;
  return {
    ...planOf(request, path, { values: chosen, ...(weights === undefined ? {} : { weights }) }),
    readUnits,
    estimates: estimates(),
  };
};
