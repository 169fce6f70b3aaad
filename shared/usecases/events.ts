/**
 * Event use cases: ingest (single or batch, all-or-nothing validation, idempotent storage:
 * a replay of the same content is acknowledged, an id reused with other content is a conflict),
 * list with filters and cursors, get by id — and the audit of reads (`audit_log.viewed`).
 *
 * Reads are made by a Reader: a tenant key, or a person (viewer session). A team admin's team
 * scope is applied where the data is read: it travels with the plan and is evaluated on every
 * event read, whichever index the planner chose (shared/usecases/plan-events.ts; their teams'
 * `byTeam` partitions are one of the paths it weighs), their cursors are bound to that scope, and
 * an event outside it is answered as if it did not exist.
 */
import {
  CURSOR_MAX_CARRIED_CHARS,
  CURSOR_MAX_VALUES,
  type CursorCodec,
  type CursorState,
} from '../domain/cursor.ts';
import {
  type BuildResult,
  buildStoredEvent,
  type EventInput,
  isSameSubmission,
  parseSubmission,
  type StoredEvent,
} from '../domain/event.ts';
import { isServiceEventId, serviceEventId } from '../domain/ids.ts';
import { eventSortKey, occurredAtOfSortKey } from '../domain/keys.ts';
import { type TeamScope, teamScopeOf } from '../domain/people.ts';
import type { PersonPrincipal, Principal } from '../domain/principal.ts';
import {
  candidatePaths,
  type EventFilters,
  filtersFingerprint,
  inTeamScope,
  listQuerySchema,
  PAGE_READ_BUDGET,
  PATHS,
  type PathName,
  resolveWindow,
  TeamOutsideScopeError,
} from '../domain/query.ts';
import type { Redactor } from '../domain/sanitize.ts';
import {
  BadRequestError,
  type FieldError,
  ForbiddenError,
  type IdConflict,
  IdConflictError,
  NotFoundError,
  ValidationError,
} from '../errors.ts';
import { parseInput } from './parse-input.ts';
import { planEvents, type ResumeValues } from './plan-events.ts';
import type { EventStore, QueryPage } from './ports/events.ts';
import type { KindRegistry } from './ports/kinds.ts';
import { clampToRetention, retentionFloor } from './read-window.ts';

export type KeyPrincipal = Extract<Principal, { kind: 'key' }>;

/** Who reads the trail: a tenant key, or a person through a viewer session. */
export type Reader = KeyPrincipal | PersonPrincipal;

/** The part of the trail a reader may see: null = all of it (keys and whole-workspace roles). */
export const readerScope = (reader: Reader): TeamScope =>
  reader.kind === 'person' ? teamScopeOf(reader.role, reader.teamIds) : null;

/**
 * Checks a reader's filters against their team scope: a `team_id` filter outside that scope is a
 * 403 (the filter is the reader's own input: refusing it reveals nothing).
 */
export const checkReaderFilters = (reader: Reader, filters: EventFilters): void => {
  try {
    candidatePaths(filters, readerScope(reader));
  } catch (error) {
    if (!(error instanceof TeamOutsideScopeError)) throw error;
    throw new ForbiddenError(
      `Your role sees only the events of your own teams; \`team_id\` names others: ${error.teams.slice(0, 5).join(', ')}${error.teams.length > 5 ? ', …' : ''}.`,
    );
  }
};

const isPath = (value: string | undefined): value is PathName =>
  value !== undefined && (PATHS as readonly string[]).includes(value);

export interface EventDeps {
  store: EventStore;
  redact: Redactor;
  now: () => number;
}

/** What a key without `events:read` gets for a replay: never the stored event (it may not read the log). */
export interface ReplayAck {
  id: string;
  duplicate: true;
}

export interface IngestOutcome {
  kind: 'single' | 'batch';
  /**
   * One entry per submitted event, in order: the stored event (new, or replayed to a key that
   * may read the log), or a ReplayAck.
   */
  data: (StoredEvent | ReplayAck)[];
  /** How many were stored now; the rest were replays of the same content. */
  created: number;
}

type Built = Extract<BuildResult, { ok: true }>;

/**
 * Validates everything first (any invalid event: 400 naming each, nothing stored), then stores
 * all. An id already stored with the same submitted content stores nothing (a replay); with
 * other content it is a conflict: 409 naming every such id, after the rest were stored.
 */
export const ingestEvents = async (
  deps: EventDeps,
  principal: KeyPrincipal,
  body: unknown,
): Promise<IngestOutcome> => {
  if (body === undefined)
    throw new ValidationError([{ field: 'body', message: 'an event or {"events": [...]} is required' }]);
  const parsed = parseSubmission(body);
  if (!parsed.ok) throw new ValidationError(parsed.errors);
  const nowMs = deps.now();
  const tenant = { tenantId: principal.tenantId, retentionDays: principal.retentionDays };
  const batch = parsed.value.kind === 'batch';
  const results: BuildResult[] = parsed.value.events.map((input, i) =>
    buildStoredEvent(input, tenant, nowMs, deps.redact, batch ? i : undefined),
  );
  const errors: FieldError[] = results.flatMap((b) => (b.ok ? [] : b.errors));
  if (errors.length > 0) throw new ValidationError(errors);
  const built = results as Built[];
  const stored = await deps.store.append(
    built.map((b) => ({ event: b.event, contentHash: b.submission.contentHash })),
    principal.shards,
  );

  const mayRead = principal.scopes.includes('events:read');
  const conflicts: IdConflict[] = [];
  const data: (StoredEvent | ReplayAck)[] = [];
  stored.forEach((result, i) => {
    const submitted = built[i] as Built;
    if (result.created) {
      data.push(result.event);
    } else if (isSameSubmission(submitted.submission, result.event, result.contentHash)) {
      data.push(mayRead ? result.event : { id: result.event.id, duplicate: true });
    } else {
      conflicts.push({ id: submitted.event.id, ...(batch ? { index: i } : {}) });
    }
  });
  if (conflicts.length > 0) throw new IdConflictError(conflicts, data.length);
  return { kind: parsed.value.kind, data, created: stored.filter((r) => r.created).length };
};

/** The trail's own read events: a list or event read, an export, an export's file downloaded. */
export type AccessAction = 'audit_log.viewed' | 'audit_log.exported' | 'audit_log.export_downloaded';

/**
 * Who an access event names as actor (a key, or a person with their role) and the metadata it
 * adds: a person's session. (`viewer_session`, not `session_id`: the redactor treats that name as
 * a secret, and a session id is no credential — the signed token is.)
 */
export type AccessActor =
  | { kind: 'key'; keyId: string; keyName?: string }
  | {
      kind: 'person';
      person: PersonPrincipal['person'];
      role: PersonPrincipal['role'];
      sessionId: string;
      via: PersonPrincipal['via'];
    };

export const accessActorOf = (reader: Reader): AccessActor =>
  reader.kind === 'key'
    ? { kind: 'key', keyId: reader.keyId, ...(reader.keyName ? { keyName: reader.keyName } : {}) }
    : {
        kind: 'person',
        person: reader.person,
        role: reader.role,
        sessionId: reader.sessionId,
        via: reader.via,
      };

const actorInput = (actor: AccessActor): EventInput['actor'] =>
  actor.kind === 'key'
    ? { id: actor.keyId, type: 'api_key', ...(actor.keyName ? { name: actor.keyName } : {}) }
    : {
        id: actor.person.id,
        type: 'user',
        ...(actor.person.email === undefined ? {} : { email: actor.person.email }),
        ...(actor.person.name === undefined ? {} : { name: actor.person.name }),
        role: actor.role,
      };

/** The tenant an access event is written into, and the settings its storage needs. */
export interface AccessTenant {
  tenantId: string;
  retentionDays: number | null;
  shards: number;
}

/**
 * Writes an event about the caller reading the trail into the same tenant's trail, with the key
 * or the person (and their session) as actor.
 */
export const recordAccess = async (
  deps: EventDeps,
  reader: Reader | (AccessTenant & { actor: AccessActor }),
  action: AccessAction,
  metadata: Record<string, unknown>,
  requestId: string,
  /**
   * Makes the record idempotent (a job that is retried writes it once): the event's id is
   * `serviceEventId(eventKey)`, in the namespace no client may use (a key already in it is kept
   * as it is). Whatever is already stored under that id stands.
   */
  eventKey?: string,
): Promise<void> => {
  const actor = 'actor' in reader ? reader.actor : accessActorOf(reader);
  const eventId =
    eventKey === undefined ? undefined : isServiceEventId(eventKey) ? eventKey : serviceEventId(eventKey);
  const input: EventInput = {
    ...(eventId === undefined ? {} : { id: eventId }),
    action,
    actor: actorInput(actor),
    area: 'audit_log',
    context: { request_id: requestId },
    metadata:
      actor.kind === 'person'
        ? { ...metadata, viewer_session: actor.sessionId, ...(actor.via === 'oidc' ? { via: 'oidc' } : {}) }
        : metadata,
  };
  const built = buildStoredEvent(
    input,
    { tenantId: reader.tenantId, retentionDays: reader.retentionDays },
    deps.now(),
    deps.redact,
  );
  if (!built.ok) throw new Error('access event did not validate');
  await deps.store.append([{ event: built.event, contentHash: built.submission.contentHash }], reader.shards);
};

export interface ListDeps extends EventDeps {
  cursors: CursorCodec;
  kinds: Pick<KindRegistry, 'kinds' | 'actorsWithEmail'>;
}

export interface EventPage {
  data: StoredEvent[];
  next_cursor: string | null;
  /**
   * How far back (by `occurred_at`) this page searched: every match newer than it is in this page
   * or an earlier one. The budget's stop point, a full page's last event, or the window's `from`
   * when the page reached the end.
   */
  scanned_until: string;
  /** Read units consumed, the planner's probes included (for logs and the bench; not part of the API answer). */
  readUnits: number;
  /** The access path the page was read through (for logs and the bench; not part of the API answer). */
  path?: PathName;
}

/**
 * What a cursor carries of the path's values: those whose partitions (one per shard) may still
 * hold matches below the page, with their weights — the kind registry's counts where the plan has
 * them, else what each gave this page (+1) — so the next page asks each for about its share
 * (measured: counts over many kinds beat one page's sample of them; for a few actors or teams
 * without counts, the sample beats an even split). Not for the time index (one partition per
 * shard, always read), nor for more values than a cursor carries, by count or length (later
 * pages then plan them again).
 */
const stillHolding = (
  path: PathName,
  chosen: ResumeValues,
  page: Pick<QueryPage, 'live' | 'taken'>,
  shards: number,
): Pick<CursorState, 'values' | 'weights'> => {
  if (path === 'time' || chosen.values.length > CURSOR_MAX_VALUES) return {};
  const perShard = Math.max(1, shards);
  /** The entries of a per-source list that belong to value i (its shards). */
  const ofValue = <T>(perSource: readonly T[], i: number): T[] =>
    perSource.slice(i * perShard, (i + 1) * perShard);
  const values: string[] = [];
  const weights: number[] = [];
  chosen.values.forEach((value, i) => {
    if (page.live !== undefined && !ofValue(page.live, i).some(Boolean)) return;
    values.push(value);
    const gave = page.taken === undefined ? 0 : ofValue(page.taken, i).reduce((sum, n) => sum + n, 0);
    weights.push(chosen.weights?.[i] ?? gave + 1);
  });
  // Long ids (up to 256 characters each) would make the cursor too long to send back.
  if (JSON.stringify([values, weights]).length > CURSOR_MAX_CARRIED_CHARS) return {};
  return { values, weights };
};

export const listEvents = async (
  deps: ListDeps,
  principal: Reader,
  rawQuery: Record<string, string>,
): Promise<EventPage> => {
  const { limit, cursor, ...filters } = parseInput(listQuerySchema, rawQuery);
  // Bound to the reader's team scope too: a team admin's cursor continues only under that scope.
  const fingerprint = filtersFingerprint(filters, readerScope(principal));
  let window: { from: string; to: string };
  let before: string | undefined;
  let via: PathName | undefined;
  let resume: ResumeValues | undefined;
  if (cursor !== undefined) {
    const state = deps.cursors.decode(principal.tenantId, cursor);
    if (state === null || state.filters !== fingerprint) {
      throw new BadRequestError('The cursor is invalid, or belongs to another query.', 'invalid-cursor');
    }
    window = { from: state.from, to: state.to };
    before = state.position;
    if (isPath(state.path)) via = state.path;
    if (state.values !== undefined) {
      resume = { values: state.values, ...(state.weights === undefined ? {} : { weights: state.weights }) };
    }
  } else {
    const resolved = resolveWindow(filters, deps.now());
    if ('error' in resolved) throw new ValidationError([{ field: 'from', message: resolved.error }]);
    window = resolved;
  }
  const nowMs = deps.now();
  // Checked before the retention clamp: a team outside the reader's scope is refused either way.
  checkReaderFilters(principal, filters);
  // Never older than the tenant's current retention: after a retention cut, events the backfill
  // has not re-timed yet are hidden at once (their TTL catches up).
  const readable = clampToRetention(window, principal.retentionDays, nowMs);
  if (readable === null) return { data: [], next_cursor: null, scanned_until: window.from, readUnits: 0 };
  const planned = await planEvents(deps, {
    tenantId: principal.tenantId,
    shards: principal.shards,
    filters,
    window: readable,
    scope: readerScope(principal),
    limit,
    ...(before === undefined ? {} : { before }),
    ...(via === undefined ? {} : { via }),
    ...(resume === undefined ? {} : { resume }),
  });
  // A page never reads without bound: past the budget (the planner's probes included) it answers
  // with what it has, and a cursor from how far back it searched (a short page, even an empty
  // one, is then not the end).
  const page = await deps.store.query(
    { ...planned.plan, readBudget: Math.max(1, PAGE_READ_BUDGET - planned.readUnits) },
    limit,
    before,
    nowMs,
  );
  const last = page.events.at(-1);
  const position =
    page.scannedUntil ??
    (last !== undefined && page.events.length === limit
      ? eventSortKey(last.occurred_at, last.id)
      : undefined);
  const next_cursor =
    page.more && position !== undefined
      ? deps.cursors.encode(principal.tenantId, {
          position,
          from: window.from,
          to: window.to,
          filters: fingerprint,
          path: planned.plan.path,
          ...stillHolding(planned.plan.path, planned.values, page, principal.shards),
        })
      : null;
  return {
    data: page.events,
    next_cursor,
    scanned_until:
      next_cursor === null || position === undefined ? window.from : occurredAtOfSortKey(position),
    readUnits: page.readUnits + planned.readUnits,
    path: planned.plan.path,
  };
};

/** One event by id; 404 when absent, past retention, or outside the reader's team scope. */
export const getEvent = async (
  deps: Pick<EventDeps, 'store' | 'now'>,
  principal: Reader,
  eventId: string,
): Promise<StoredEvent> => {
  // No stored id can look like this (see eventInputSchema): answer without touching the store.
  const possible = eventId.length > 0 && eventId.length <= 128 && !eventId.includes('#');
  const nowMs = deps.now();
  const event = possible ? await deps.store.get(principal.tenantId, eventId, nowMs) : null;
  if (
    event === null ||
    event.occurred_at < retentionFloor(principal.retentionDays, nowMs) ||
    !inTeamScope(event, readerScope(principal))
  ) {
    throw new NotFoundError('No event with this id.');
  }
  return event;
};
