/**
 * The tenant's own trail: every administrative act on a tenant (keys created and revoked, tenant
 * settings and access policy changed, viewer sessions minted and revoked; later streams and
 * alerts) writes its `trailkeeper.*` event into that tenant's trail, with the acting key or the
 * operator as actor and what changed (from/to) in metadata. Clients can never send these
 * actions themselves (the event schema refuses them), so the trail's own record cannot be forged.
 *
 * The act and its record live in two tables, so each act orders them to fail safe, and a failed
 * record is a 503 whose retry repeats neither the act nor its event (admin.ts says how for each):
 * a key's creation is recorded first (no key exists unrecorded); a revocation is done first and
 * recorded under an id derived from the key (never a record of a key that still works); a tenant
 * change carries its record on the tenant item, written with the change, and every later update
 * writes it again under the same id until it is there.
 */
import { buildStoredEvent, type EventInput } from '../domain/event.ts';
import { serviceEventId } from '../domain/ids.ts';
import type { Principal } from '../domain/principal.ts';
import { effectiveRetentionDays, retentionWindowStartMs } from '../domain/retention.ts';
import type { Redactor } from '../domain/sanitize.ts';
import type { TenantRecord } from '../domain/tenant.ts';
import { ServiceUnavailableError } from '../errors.ts';
import type { AppendResult, EventStore } from './ports/events.ts';

export const ADMIN_ACTIONS = [
  'trailkeeper.api_key.created',
  'trailkeeper.api_key.revoked',
  'trailkeeper.tenant.updated',
  'trailkeeper.viewer_session.created',
  'trailkeeper.viewer_sessions.revoked',
  'trailkeeper.stream.created',
  'trailkeeper.stream.updated',
  'trailkeeper.stream.deleted',
  'trailkeeper.alert.created',
  'trailkeeper.alert.updated',
  'trailkeeper.alert.deleted',
  'trailkeeper.alert.triggered',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

export interface OwnTrailDeps {
  store: EventStore;
  redact: Redactor;
  now: () => number;
}

export interface AdminAct {
  action: AdminAction;
  /** What the act was done to, e.g. `{type: 'api_key', id: 'key_…'}`. */
  target?: { type: string; id: string; name?: string };
  /** What changed: `{from: {...}, to: {...}}` for updates; never a secret. */
  metadata?: Record<string, unknown>;
  /**
   * Makes the record idempotent when the act itself is (a retried revoke writes one event): the
   * event id is derived from it in the service's own id namespace.
   */
  eventKey?: string;
  /** When the act happened (RFC 3339), when it is recorded later than it was done; default: now. */
  occurredAt?: string;
}

export type AdminActor = EventInput['actor'];

/** The actor of an administrative act: the operator, an API key, or (for people) the person. */
export const adminActorOf = (principal: Principal): AdminActor => {
  switch (principal.kind) {
    case 'operator':
      return { id: 'operator', type: 'system', name: 'Trailkeeper operator' };
    case 'key':
      return {
        id: principal.keyId,
        type: 'api_key',
        ...(principal.keyName ? { name: principal.keyName } : {}),
      };
    case 'person':
      return {
        id: principal.person.id,
        type: 'user',
        ...(principal.person.email === undefined ? {} : { email: principal.person.email }),
        ...(principal.person.name === undefined ? {} : { name: principal.person.name }),
        role: principal.role,
      };
  }
};

/**
 * Writes one administrative act into `tenant`'s trail, by `by` (a principal, or an actor kept
 * from when the act was done). True when written now; false when an `eventKey` named an event
 * already there (nothing new is written). A failed write is a 503: the caller's act may already
 * be done, and retrying the request is how its record gets written (see the callers for order).
 */
export const recordAdminAct = async (
  deps: OwnTrailDeps,
  tenant: TenantRecord,
  by: Principal | AdminActor,
  act: AdminAct,
  requestId?: string,
): Promise<boolean> => {
  const retentionDays = effectiveRetentionDays(tenant.plan, tenant.custom_retention_days);
  // An act recorded late, past the tenant's retention: its event would have expired already.
  if (
    act.occurredAt !== undefined &&
    Date.parse(act.occurredAt) < retentionWindowStartMs(deps.now(), retentionDays)
  )
    return false;
  const input: EventInput = {
    ...(act.eventKey === undefined ? {} : { id: serviceEventId('admin', act.eventKey) }),
    action: act.action,
    ...(act.occurredAt === undefined ? {} : { occurred_at: act.occurredAt }),
    actor: 'kind' in by ? adminActorOf(by) : by,
    ...(act.target === undefined ? {} : { target: act.target }),
    area: 'audit_log',
    ...(requestId === undefined ? {} : { context: { request_id: requestId } }),
    ...(act.metadata === undefined ? {} : { metadata: act.metadata }),
  };
  const built = buildStoredEvent(input, { tenantId: tenant.id, retentionDays }, deps.now(), deps.redact);
  if (!built.ok) throw new Error(`${act.action} event did not validate`);
  let stored: AppendResult[];
  try {
    stored = await deps.store.append(
      [{ event: built.event, contentHash: built.submission.contentHash }],
      tenant.shards,
    );
  } catch (error) {
    throw Object.assign(
      new ServiceUnavailableError(
        "The tenant's trail could not record this administrative act; retry the request (a retry does not repeat it).",
      ),
      { cause: error },
    );
  }
  return stored[0]?.created === true;
};
