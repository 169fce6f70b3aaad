/**
 * The audit event: the zod schemas are the single source of its shape (types are inferred),
 * plus the pure steps that turn a submitted event into a stored one: defaults, normalisation,
 * redaction, retention checks, the content hash (SHA-256 over RFC 8785 canonical JSON) and the
 * fingerprint of what the client submitted, which tells an idempotent replay from a conflict.
 * Clients get a narrower schema than the service itself: the service's own actions
 * (`audit_log.*`, `trailkeeper.*`) and ids (`tk_…`) are refused from them.
 */
import * as z from 'zod';
import type { FieldError } from '../errors.ts';
import { contentHash, hashEvent, presentEvent } from './event-document.ts';
import { isServiceEventId, newEventId, SERVICE_EVENT_ID_PREFIX } from './ids.ts';
import { expiresAtEpochSeconds, retentionWindowStartMs } from './retention.ts';
import type { Redactor } from './sanitize.ts';

export { contentHash, hashEvent, presentEvent } from './event-document.ts';

export const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** Actions of the service's own trail (SPEC: "The tenant's own trail"); no client may send them. */
export const RESERVED_ACTION_PREFIXES = ['audit_log.', 'trailkeeper.'] as const;
export const MAX_BATCH = 100;
export const MAX_PAYLOAD_BYTES = 32 * 1024;
export const MAX_JSON_DEPTH = 20;
export const FUTURE_SKEW_MS = 5 * 60_000;

export const ACTOR_TYPES = ['user', 'api_key', 'service', 'system', 'support'] as const;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
/** Ids end up inside DynamoDB keys: no control characters. */
const identifier = (max: number) => text(max).regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** True when `value` nests deeper than `max` levels; iterative, so any input is safe. */
const nestsDeeperThan = (value: unknown, max: number): boolean => {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
};

const hasNonFiniteNumber = (value: unknown): boolean =>
  typeof value === 'number'
    ? !Number.isFinite(value)
    : value !== null && typeof value === 'object' && Object.values(value).some(hasNonFiniteNumber);

/** A free-form JSON object (metadata, request) bounded in size and depth. */
const payloadObject = z
  .record(z.string(), z.unknown())
  .refine((v) => !nestsDeeperThan(v, MAX_JSON_DEPTH), `must not nest deeper than ${MAX_JSON_DEPTH} levels`)
  .refine((v) => !hasNonFiniteNumber(v), 'numbers must be finite')
  .refine((v) => jsonBytes(v) <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes as JSON`);

export const actorSchema = z.strictObject({
  id: identifier(256),
  type: z.enum(ACTOR_TYPES).optional(),
  name: text(256).optional(),
  email: z.email().max(320).optional(),
  role: text(128).optional(),
});

export const impersonatorSchema = z.strictObject({
  id: identifier(256),
  email: z.email().max(320).optional(),
});

export const targetSchema = z.strictObject({
  type: identifier(128).optional(),
  id: identifier(256).optional(),
  name: text(256).optional(),
});

export const contextSchema = z.strictObject({
  ip: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional(),
  user_agent: text(1024).optional(),
  request_id: identifier(256).optional(),
  location: text(256).optional(),
});

const eventIdSchema = identifier(128).regex(/^[^#]+$/, 'must not contain "#"');
const actionSchema = z
  .string()
  .max(128)
  .regex(ACTION_PATTERN, 'must be dotted lower case, e.g. member.role_changed');

/** The event's shape, for every writer: a tenant's events and the service's own. */
const eventShape = z.strictObject({
  id: eventIdSchema.optional(),
  action: actionSchema,
  occurred_at: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
  actor: actorSchema,
  impersonator: impersonatorSchema.optional(),
  target: targetSchema.optional(),
  team_id: identifier(256).optional(),
  context: contextSchema.optional(),
  area: identifier(128).optional(),
  method: identifier(64).optional(),
  status: z.union([z.enum(['success', 'failure']), z.int().min(100).max(599)]).optional(),
  duration_ms: z.int().min(0).max(2_147_483_647).optional(),
  request: payloadObject.optional(),
  metadata: payloadObject.optional(),
});

/**
 * What a tenant may send: the shape without the service's own actions and ids. The service
 * builds its events (recordAccess) straight from `EventInput`, never through this schema.
 */
export const eventInputSchema = eventShape.extend({
  id: eventIdSchema
    .refine(
      (id) => !isServiceEventId(id),
      `must not start with "${SERVICE_EVENT_ID_PREFIX}" (reserved for the service's own events)`,
    )
    .optional(),
  action: actionSchema.refine(
    (action) => !RESERVED_ACTION_PREFIXES.some((prefix) => action.startsWith(prefix)),
    `must not start with ${RESERVED_ACTION_PREFIXES.map((p) => `"${p}"`).join(' or ')} (reserved for the service's own events)`,
  ),
});

export type EventInput = z.infer<typeof eventShape>;

/** The batch envelope: `{"events": [...]}` with 1..100 events. */
export const batchInputSchema = z.strictObject({
  events: z
    .array(z.unknown())
    .min(1, 'must hold at least one event')
    .max(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
});

/** What Trailkeeper stores and returns. */
export interface StoredEvent extends Omit<EventInput, 'id' | 'occurred_at'> {
  id: string;
  tenant_id: string;
  occurred_at: string;
  received_at: string;
  impersonated: boolean;
  /** When hot storage drops it (RFC 3339), or null when retention is unlimited. */
  expires_at: string | null;
  /** SHA-256 (hex) of the RFC 8785 canonical JSON of the event without `expires_at` and `hash`. */
  hash: string;
}

/**
 * Turns zod issues into field errors, prefixed for batches (`events[3].actor.id`). Each unknown
 * key is its own error, so the list (which ValidationError cuts at 100) bounds the answer.
 */
export const toFieldErrors = (error: z.ZodError, index?: number): FieldError[] =>
  error.issues.flatMap((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const prefix = index === undefined ? '' : `events[${index}]`;
    const named = (field: string, message: string): FieldError => {
      const full = `${prefix}${field}`.replace(/^\./, '');
      return {
        field: full || (index === undefined ? 'body' : `events[${index}]`),
        message,
        ...(index === undefined ? {} : { index }),
      };
    };
    if (issue.code === 'unrecognized_keys' && issue.keys.length > 0)
      return issue.keys.map((key) => named(`${path}.${key}`, 'unknown field'));
    return [named(path, issue.message)];
  });

export interface TenantSettings {
  tenantId: string;
  retentionDays: number | null;
}

const toIso = (ms: number): string => new Date(ms).toISOString();

/** What tells a replay of a submission from a conflicting reuse of its id. */
export interface Submission {
  contentHash: string;
  occurredAtSent: boolean;
}

/**
 * True when `stored`, the event already under the submission's id, holds the same submitted
 * content. Its fingerprint is stored with it; events stored before fingerprints existed
 * (`storedContentHash` undefined) are fingerprinted from the stored event instead. Whether their
 * `occurred_at` was defaulted is no longer known, so for them it counts only when the replay
 * sends one (a replay that omits it matches on every other field).
 */
export const isSameSubmission = (
  submission: Submission,
  stored: StoredEvent,
  storedContentHash: string | undefined,
): boolean =>
  (storedContentHash ?? contentHash(stored, submission.occurredAtSent)) === submission.contentHash;

export type BuildResult =
  | { ok: true; event: StoredEvent; expiresAt: number | undefined; submission: Submission }
  | { ok: false; errors: FieldError[] };

/**
 * Validates the time rules and builds the stored event. `input` has passed the schema already.
 * Pure: the clock and redactor are passed in.
 */
export const buildStoredEvent = (
  input: EventInput,
  tenant: TenantSettings,
  nowMs: number,
  redact: Redactor,
  index?: number,
): BuildResult => {
  const at = (field: string) => (index === undefined ? field : `events[${index}].${field}`);
  const occurredMs = input.occurred_at === undefined ? nowMs : Date.parse(input.occurred_at);
  const errors: FieldError[] = [];
  if (occurredMs > nowMs + FUTURE_SKEW_MS) {
    errors.push({ field: at('occurred_at'), message: 'must not be more than 5 minutes in the future' });
  } else if (occurredMs < retentionWindowStartMs(nowMs, tenant.retentionDays)) {
    errors.push({
      field: at('occurred_at'),
      message: `must be within the tenant's ${tenant.retentionDays}-day retention window`,
    });
  }
  if (errors.length > 0)
    return { ok: false, errors: index === undefined ? errors : errors.map((e) => ({ ...e, index })) };

  const { id, occurred_at: _occurred, request, metadata, actor, ...rest } = input;
  const expiresAt = expiresAtEpochSeconds(occurredMs, tenant.retentionDays);
  const withoutHash: Omit<StoredEvent, 'hash' | 'expires_at'> = {
    ...rest,
    actor,
    id: id ?? newEventId(nowMs),
    tenant_id: tenant.tenantId,
    occurred_at: toIso(occurredMs),
    received_at: toIso(nowMs),
    impersonated: input.impersonator !== undefined,
    ...(request === undefined ? {} : { request: redact(request) as Record<string, unknown> }),
    ...(metadata === undefined ? {} : { metadata: redact(metadata) as Record<string, unknown> }),
  };
  const event = presentEvent({
    ...withoutHash,
    expires_at: expiresAt === undefined ? null : toIso(expiresAt * 1000),
    hash: hashEvent(withoutHash),
  });
  const occurredAtSent = input.occurred_at !== undefined;
  const submission = { contentHash: contentHash(withoutHash, occurredAtSent), occurredAtSent };
  return { ok: true, event, expiresAt, submission };
};

/** Parses and validates a request body that is one event or a `{"events": [...]}` batch. */
export type ParsedSubmission =
  | { kind: 'single'; events: [EventInput] }
  | { kind: 'batch'; events: EventInput[] };

export const parseSubmission = (
  body: unknown,
): { ok: true; value: ParsedSubmission } | { ok: false; errors: FieldError[] } => {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body) {
    const envelope = batchInputSchema.safeParse(body);
    if (!envelope.success) return { ok: false, errors: toFieldErrors(envelope.error) };
    const events: EventInput[] = [];
    const errors: FieldError[] = [];
    const seen = new Map<string, number>();
    envelope.data.events.forEach((raw, index) => {
      const parsed = eventInputSchema.safeParse(raw);
      if (!parsed.success) {
        errors.push(...toFieldErrors(parsed.error, index));
        return;
      }
      const id = parsed.data.id;
      if (id !== undefined) {
        const first = seen.get(id);
        if (first !== undefined) {
          errors.push({
            field: `events[${index}].id`,
            message: `duplicates events[${first}].id within the batch`,
            index,
          });
        }
        seen.set(id, index);
      }
      events.push(parsed.data);
    });
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { kind: 'batch', events } };
  }
  const parsed = eventInputSchema.safeParse(body);
  if (!parsed.success) return { ok: false, errors: toFieldErrors(parsed.error) };
  return { ok: true, value: { kind: 'single', events: [parsed.data] } };
};
