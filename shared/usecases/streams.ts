/**
 * The streams API (SPEC, "Streams and alerts"): create, list, read, change (pause/resume, url,
 * filter, token, name), delete, a test delivery, replay of a window and webhook secret rotation.
 * Who may: a key with `admin`, or an `owner`/`admin` person whose role the tenant's policy lets
 * export (a stream sends the whole trail out). Another tenant's stream is a 404.
 *
 * Secrets and tokens are sealed (SecretBox, context streamSecretContext) and never returned after
 * the answer that created them. Every change writes its `trailkeeper.stream.*` event into the
 * tenant's trail, recorded before the act (as a key's creation is, own-trail.ts): a failed record
 * is a 503 and nothing was done; a failed act after it leaves a record of an attempt, never an
 * unrecorded change. Deliveries themselves are the pipeline's (router, deliverer): this module
 * only wakes a stream (resume) or asks for a replay through the DeliveryQueue port.
 */
import { buildDelivery, newWebhookSecret } from '../domain/deliveries.ts';
import { type DeliveryState, resumedState } from '../domain/delivery-state.ts';
import { buildStoredEvent } from '../domain/event.ts';
import { newStreamId, serviceEventId } from '../domain/ids.ts';
import type { NetworkPolicy } from '../domain/network-policy.ts';
import type { Role } from '../domain/people.ts';
import type { PersonPrincipal, Principal } from '../domain/principal.ts';
import { effectiveRetentionDays } from '../domain/retention.ts';
import type { Redactor } from '../domain/sanitize.ts';
import {
  createStreamSchemaFor,
  replayStreamSchema,
  replayWindowProblem,
  type StreamFilter,
  tokenProblem,
  updateStreamSchemaFor,
} from '../domain/stream-input.ts';
import type { TenantRecord } from '../domain/tenant.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RoleNotPermittedError,
  UnauthorizedError,
  ValidationError,
} from '../errors.ts';
import { adminActorOf, recordAdminAct } from './own-trail.ts';
import { parseInput } from './parse-input.ts';
import type { ControlStore } from './ports/control.ts';
import type { EventStore } from './ports/events.ts';
import type { SecretBox } from './ports/secret-box.ts';
import {
  type DeliveryQueue,
  type DestinationPost,
  type StreamChanges,
  type StreamRecord,
  type StreamStore,
  streamSecretContext,
} from './ports/streams.ts';

export interface StreamsDeps {
  streams: StreamStore;
  control: Pick<ControlStore, 'getTenant'>;
  /** The tenant's own trail. */
  store: EventStore;
  redact: Redactor;
  box: SecretBox;
  queue: DeliveryQueue;
  /** The deployment's destination rules (https, public addresses, the operator's private list). */
  policy: NetworkPolicy;
  /** The test delivery's POST (postGuarded under `policy`). */
  post: DestinationPost;
  now: () => number;
  /** A new `whsec_…` secret (tests inject one). */
  newSecret?: () => string;
}

/** After a rotation, deliveries sign with the previous secret too for this long (SPEC). */
export const PREVIOUS_SECRET_OVERLAP_MS = 24 * 3_600_000;

/** The action of the test delivery's synthetic event (never stored). */
export const STREAM_TEST_ACTION = 'trailkeeper.stream.test';

const STREAM_ID = /^str_[0-9a-z]{26}$/;

/** The roles that may manage streams (when the tenant's policy also lets them export). */
const STREAM_MANAGER_ROLES: readonly Role[] = ['owner', 'admin'];

type StreamAdmin = Extract<Principal, { kind: 'key' }> | PersonPrincipal;

/**
 * The caller, when they may manage streams: 401 without credentials; 403 for the operator, a key
 * without `admin`, or a person whose role is not owner/admin (`forbidden`) or whose role the
 * tenant's access policy does not let export (`role-not-permitted`: the policy is why).
 */
export const requireStreamAdmin = (principal: Principal | null): StreamAdmin => {
  if (principal === null) throw new UnauthorizedError();
  if (principal.kind === 'operator')
    throw new ForbiddenError("Streams are the tenant's: use a tenant API key with `admin`.");
  if (principal.kind === 'key') {
    if (!principal.scopes.includes('admin'))
      throw new ForbiddenError('This API key lacks the `admin` scope.');
    return principal;
  }
  if (!STREAM_MANAGER_ROLES.includes(principal.role))
    throw new ForbiddenError(
      `Your role (\`${principal.role}\`) may not manage streams: owners and admins may.`,
    );
  if (!principal.permissions.includes('export'))
    throw new RoleNotPermittedError(
      `Your role (\`${principal.role}\`) may not export this audit log, and a stream sends all of it out.`,
    );
  return principal;
};

// ---------------------------------------------------------------------------------------------
// Presenting

/** The filter as a request gives it (comma lists), so a GET can be sent back as a PATCH. */
const presentFilter = (filter: StreamFilter | null | undefined) => {
  if (filter === null || filter === undefined) return null;
  return {
    ...(filter.action === undefined ? {} : { action: filter.action.join(',') }),
    ...(filter.actor_type === undefined ? {} : { actor_type: filter.actor_type.join(',') }),
  };
};

/** A stream as the API shows it: configuration and health, never a secret or token. */
export const presentStream = (record: StreamRecord, nowMs: number) => ({
  id: record.id,
  name: record.name,
  type: record.type,
  url: record.url,
  filter: presentFilter(record.filter),
  status: record.status,
  created_at: record.created_at,
  updated_at: record.updated_at,
  last_delivered_at: record.last_delivered_at ?? null,
  last_error: record.last_error ?? null,
  lag_seconds: record.lag_seconds ?? null,
  ...(record.status === 'failing'
    ? { failing_since: record.failing_since ?? null, next_attempt_at: record.next_attempt_at ?? null }
    : {}),
  ...(record.status === 'disabled'
    ? { disabled_at: record.disabled_at ?? null, disabled_reason: record.disabled_reason ?? null }
    : {}),
  ...(record.previous_secret_until !== undefined && Date.parse(record.previous_secret_until) > nowMs
    ? { previous_secret_valid_until: record.previous_secret_until }
    : {}),
});
export type StreamView = ReturnType<typeof presentStream>;

// ---------------------------------------------------------------------------------------------
// Helpers

const iso = (ms: number): string => new Date(ms).toISOString();

const loadTenant = async (deps: StreamsDeps, tenantId: string): Promise<TenantRecord> => {
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === null) throw new NotFoundError('No tenant with this id.');
  return tenant;
};

const loadStream = async (deps: StreamsDeps, tenantId: string, streamId: string): Promise<StreamRecord> => {
  const stream = STREAM_ID.test(streamId) ? await deps.streams.get(tenantId, streamId) : null;
  if (stream === null) throw new NotFoundError('No stream with this id.');
  return stream;
};

const target = (stream: Pick<StreamRecord, 'id' | 'name'>) => ({
  type: 'stream',
  id: stream.id,
  name: stream.name,
});

const seal = (deps: StreamsDeps, stream: Pick<StreamRecord, 'tenant_id' | 'id' | 'type'>, secret: string) =>
  deps.box.seal(secret, streamSecretContext(stream.tenant_id, stream.id, stream.type));

/** What a change shows in the trail: configuration only (a token change says so, never the token). */
const configOf = (stream: Pick<StreamRecord, 'name' | 'url' | 'filter' | 'status'>) => ({
  name: stream.name,
  url: stream.url,
  filter: presentFilter(stream.filter),
  status: stream.status,
});

const changedFields = (before: StreamRecord, after: ReturnType<typeof configOf>) => {
  const was = configOf(before);
  const fields = (Object.keys(was) as (keyof typeof was)[]).filter(
    (field) => JSON.stringify(was[field]) !== JSON.stringify(after[field]),
  );
  return {
    from: Object.fromEntries(fields.map((field) => [field, was[field]])),
    to: Object.fromEntries(fields.map((field) => [field, after[field]])),
  };
};

const deliveryStateOf = (stream: StreamRecord): DeliveryState => ({
  status: stream.status,
  attempts: stream.attempts ?? 0,
  last_delivered_at: stream.last_delivered_at ?? null,
  last_error: stream.last_error ?? null,
  last_error_at: stream.last_error_at ?? null,
  failing_since: stream.failing_since ?? null,
  next_attempt_at: stream.next_attempt_at ?? null,
  disabled_at: stream.disabled_at ?? null,
  disabled_reason: stream.disabled_reason ?? null,
});

// ---------------------------------------------------------------------------------------------
// Use cases

/**
 * `POST /v1/streams`. A webhook gets a generated signing secret, shown in this answer only; a
 * Splunk HEC or Datadog stream takes the tenant's token. Recorded as `trailkeeper.stream.created`
 * (first, under an id derived from the stream's), then stored.
 */
export const createStream = async (
  deps: StreamsDeps,
  principal: Principal | null,
  body: unknown,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const input = parseInput(createStreamSchemaFor(deps.policy), body);
  const tenant = await loadTenant(deps, admin.tenantId);
  const now = iso(deps.now());
  const id = newStreamId();
  const secret = input.type === 'webhook' ? (deps.newSecret ?? newWebhookSecret)() : undefined;
  const credential = secret ?? input.token;
  const record: StreamRecord = {
    id,
    tenant_id: tenant.id,
    name: input.name,
    type: input.type,
    url: input.url,
    filter: input.filter ?? null,
    status: 'active',
    created_at: now,
    updated_at: now,
    last_delivered_at: null,
    last_error: null,
    lag_seconds: null,
    attempts: 0,
  };
  if (credential !== undefined) {
    const sealed = await seal(deps, record, credential);
    if (input.type === 'webhook') record.secret_sealed = sealed;
    else record.token_sealed = sealed;
  }
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.stream.created',
      target: target(record),
      metadata: { type: record.type, ...configOf(record) },
      eventKey: `stream-created-${id}`,
    },
    requestId,
  );
  await deps.streams.create(record);
  return { ...presentStream(record, deps.now()), ...(secret === undefined ? {} : { secret }) };
};

export const listStreams = async (deps: StreamsDeps, principal: Principal | null) => {
  const admin = requireStreamAdmin(principal);
  const records = await deps.streams.list(admin.tenantId);
  const now = deps.now();
  return { data: records.map((record) => presentStream(record, now)) };
};

export const getStream = async (deps: StreamsDeps, principal: Principal | null, streamId: string) => {
  const admin = requireStreamAdmin(principal);
  return presentStream(await loadStream(deps, admin.tenantId, streamId), deps.now());
};

/**
 * `PATCH /v1/streams/{id}`: pause (`status: "paused"`, the backlog is kept and delivered on
 * resume), resume (`status: "active"`: due at once, its failure run restarted; a `disabled` stream
 * resumes from now — it kept no backlog — and the trail says since when it had stopped), or change
 * name, url, filter or token. A change of url or token is tried at once too. Unchanged → no event.
 */
export const updateStream = async (
  deps: StreamsDeps,
  principal: Principal | null,
  streamId: string,
  body: unknown,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const input = parseInput(updateStreamSchemaFor(deps.policy), body);
  const stream = await loadStream(deps, admin.tenantId, streamId);
  if (input.token !== undefined) {
    const problem = tokenProblem(stream.type, true);
    if (problem !== undefined) throw new ValidationError([{ field: 'token', message: problem }]);
  }
  const nowMs = deps.now();
  const now = iso(nowMs);
  const changes: StreamChanges = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.url !== undefined) changes.url = input.url;
  if (input.filter !== undefined) changes.filter = input.filter;
  if (input.token !== undefined) changes.token_sealed = await seal(deps, stream, input.token);

  const resuming = input.status === 'active' && (stream.status === 'paused' || stream.status === 'disabled');
  // A new destination or credential is worth trying now, not at the failing stream's next backoff.
  const retryNow = stream.status === 'failing' && (input.url !== undefined || input.token !== undefined);
  if (input.status === 'paused') {
    changes.status = 'paused';
  } else if (resuming || retryNow) {
    const restarted = resumedState({ ...deliveryStateOf(stream), status: 'paused' }, nowMs);
    Object.assign(changes, {
      status: restarted.status,
      attempts: restarted.attempts,
      failing_since: restarted.failing_since,
      next_attempt_at: restarted.next_attempt_at,
    });
  }
  // Leaving `disabled` (resumed, or paused to resume later): it kept no backlog, so it delivers
  // what is received from now on, and the trail says since when it had stopped.
  let resumedFromDisabled: string | null = null;
  if (stream.status === 'disabled' && input.status !== undefined) {
    resumedFromDisabled = stream.disabled_at ?? now;
    Object.assign(changes, { disabled_at: null, disabled_reason: null, deliver_from: now });
  }

  const after = configOf({ ...stream, ...changes } as StreamRecord);
  const diff = changedFields(stream, after);
  const tokenChanged = input.token !== undefined;
  if (Object.keys(diff.to).length === 0 && !tokenChanged) return presentStream(stream, nowMs);

  const tenant = await loadTenant(deps, admin.tenantId);
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.stream.updated',
      target: target({ id: stream.id, name: after.name }),
      metadata: {
        ...diff,
        ...(tokenChanged ? { replaced: ['token'] } : {}),
        ...(resumedFromDisabled === null
          ? {}
          : { resumed_from_disabled: { disabled_at: resumedFromDisabled, delivers_from: now } }),
      },
    },
    requestId,
  );
  changes.updated_at = now;
  const updated = await deps.streams.update(stream.tenant_id, stream.id, changes);
  if (updated === null) throw new NotFoundError('No stream with this id.');
  if (changes.status === 'active')
    await deps.queue.wake({ tenant_id: updated.tenant_id, stream_id: updated.id });
  return presentStream(updated, nowMs);
};

/** `DELETE /v1/streams/{id}`: recorded (idempotently, by the stream's id) and then deleted. */
export const deleteStream = async (
  deps: StreamsDeps,
  principal: Principal | null,
  streamId: string,
  requestId?: string,
): Promise<void> => {
  const admin = requireStreamAdmin(principal);
  const stream = await loadStream(deps, admin.tenantId, streamId);
  const tenant = await loadTenant(deps, admin.tenantId);
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.stream.deleted',
      target: target(stream),
      metadata: { type: stream.type, ...configOf(stream) },
      eventKey: `stream-deleted-${stream.id}`,
    },
    requestId,
  );
  if (!(await deps.streams.delete(stream.tenant_id, stream.id)))
    throw new NotFoundError('No stream with this id.');
};

/** The previous webhook secret, while deliveries still sign with it. */
const openSecrets = async (deps: StreamsDeps, stream: StreamRecord, nowMs: number) => {
  const context = streamSecretContext(stream.tenant_id, stream.id, stream.type);
  if (stream.type !== 'webhook') {
    return {
      token:
        stream.token_sealed === undefined ? undefined : await deps.box.open(stream.token_sealed, context),
    };
  }
  if (stream.secret_sealed === undefined) return {};
  const current = await deps.box.open(stream.secret_sealed, context);
  const previous =
    stream.previous_secret_sealed !== undefined &&
    stream.previous_secret_until !== undefined &&
    Date.parse(stream.previous_secret_until) > nowMs
      ? [await deps.box.open(stream.previous_secret_sealed, context)]
      : [];
  return { secrets: [current, ...previous] as const };
};

/**
 * `POST /v1/streams/{id}/test`: one test event, `trailkeeper.stream.test` (synthetic, never
 * stored), sent now and directly — never through the outbox — in the stream's own format and
 * signature. Answers what the receiver said; any status of the stream may be tested.
 */
export const testStream = async (deps: StreamsDeps, principal: Principal | null, streamId: string) => {
  const admin = requireStreamAdmin(principal);
  const stream = await loadStream(deps, admin.tenantId, streamId);
  const nowMs = deps.now();
  const built = buildStoredEvent(
    {
      id: serviceEventId('stream-test', stream.id, String(nowMs)),
      action: STREAM_TEST_ACTION,
      actor: adminActorOf(admin),
      target: target(stream),
      area: 'audit_log',
      metadata: { note: 'A test delivery from Trailkeeper: receivers may ignore it.' },
    },
    { tenantId: stream.tenant_id, retentionDays: admin.retentionDays },
    nowMs,
    deps.redact,
  );
  if (!built.ok) throw new Error('the stream test event did not validate');
  const request = buildDelivery(stream.type, [built.event], {
    streamId: stream.id,
    now: nowMs,
    ...(await openSecrets(deps, stream, nowMs)),
  });
  const answer = await deps.post({ url: stream.url, headers: request.headers, body: request.body });
  if ('error' in answer) return { receiver_status: null, error: answer.error };
  const ok = answer.status >= 200 && answer.status < 300;
  return {
    receiver_status: answer.status,
    error: ok
      ? null
      : `the receiver answered ${answer.status}${answer.body.trim() === '' ? '' : `: ${answer.body.trim()}`}`,
  };
};

/**
 * `POST /v1/streams/{id}/replay`: the events received in the window are delivered again. Only
 * the hot table is read: a window reaching past the tenant's retention is a 400 naming `from`
 * (older events are in the archive; export them). A disabled stream is resumed first (409).
 */
export const replayStream = async (
  deps: StreamsDeps,
  principal: Principal | null,
  streamId: string,
  body: unknown,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const window = parseInput(replayStreamSchema, body);
  const stream = await loadStream(deps, admin.tenantId, streamId);
  const tenant = await loadTenant(deps, admin.tenantId);
  const nowMs = deps.now();
  const problem = replayWindowProblem(
    window,
    nowMs,
    effectiveRetentionDays(tenant.plan, tenant.custom_retention_days),
  );
  if (problem !== undefined) throw new ValidationError([problem]);
  if (stream.status === 'disabled')
    throw new ConflictError('The stream is disabled: resume it (PATCH status "active") before replaying.');
  const from = new Date(window.from).toISOString();
  const to = new Date(window.to).toISOString();
  await recordAdminAct(
    deps,
    tenant,
    admin,
    { action: 'trailkeeper.stream.updated', target: target(stream), metadata: { replay: { from, to } } },
    requestId,
  );
  await deps.queue.replay({ tenant_id: stream.tenant_id, stream_id: stream.id }, { from, to });
  return { id: stream.id, replay: { from, to }, status: stream.status };
};

/**
 * `POST /v1/streams/{id}/rotate-secret` (webhooks): a new signing secret, shown once; the
 * previous one stays valid 24 h (deliveries carry both signatures meanwhile). Rotating again
 * within the overlap ends the older secret's overlap at once.
 */
export const rotateStreamSecret = async (
  deps: StreamsDeps,
  principal: Principal | null,
  streamId: string,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const stream = await loadStream(deps, admin.tenantId, streamId);
  if (stream.type !== 'webhook' || stream.secret_sealed === undefined)
    throw new ConflictError(
      `A ${stream.type} stream has no signing secret: change its token with PATCH /v1/streams/{id}.`,
    );
  const tenant = await loadTenant(deps, admin.tenantId);
  const nowMs = deps.now();
  const secret = (deps.newSecret ?? newWebhookSecret)();
  const previousUntil = iso(nowMs + PREVIOUS_SECRET_OVERLAP_MS);
  const sealed = await seal(deps, stream, secret);
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.stream.updated',
      target: target(stream),
      // Key names holding `secret` or `token` would be redacted from the trail: say it otherwise.
      metadata: { rotated: { previous_valid_until: previousUntil } },
    },
    requestId,
  );
  const updated = await deps.streams.update(stream.tenant_id, stream.id, {
    secret_sealed: sealed,
    previous_secret_sealed: stream.secret_sealed,
    previous_secret_until: previousUntil,
    updated_at: iso(nowMs),
  });
  if (updated === null) throw new NotFoundError('No stream with this id.');
  return { id: stream.id, secret, previous_secret_valid_until: previousUntil };
};
