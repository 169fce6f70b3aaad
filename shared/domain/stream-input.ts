/**
 * Input schemas of the streams API (zod; types inferred): creating a stream, changing it (PATCH:
 * pause/resume, url, filter, token, name) and replaying a window; and the pure match of a
 * stream's filter against an event. Destination URLs are checked by the network policy
 * (network-policy.ts), which the deployment decides, hence the schema factories taking it.
 */
import * as z from 'zod';
import { ACTOR_TYPES, type StoredEvent } from './event.ts';
import { checkDestinationUrl, type NetworkPolicy } from './network-policy.ts';
import { eventFiltersSchema } from './query.ts';

export const STREAM_TYPES = ['webhook', 'splunk_hec', 'datadog'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

/** Every status a stream shows; `failing` and `disabled` are set by delivery, never by a request. */
export const STREAM_STATUSES = ['active', 'paused', 'failing', 'disabled'] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];
/** The statuses a PATCH may ask for: pause and resume. */
export const SETTABLE_STREAM_STATUSES = ['active', 'paused'] as const;

/** Types that authenticate with a token the tenant gives; a webhook signs with a secret we generate. */
export const TOKEN_STREAM_TYPES: readonly StreamType[] = ['splunk_hec', 'datadog'];

export const MAX_STREAM_NAME_LENGTH = 100;
/** Splunk HEC tokens are 36 characters, Datadog API keys 32: room to spare, not for payloads. */
export const MAX_STREAM_TOKEN_LENGTH = 512;
/** A stream's `actor_type` list holds each actor type at most once. */
const MAX_ACTOR_TYPE_FILTER_LENGTH = ACTOR_TYPES.join(',').length + 4 * ACTOR_TYPES.length;

const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_STREAM_NAME_LENGTH, `must be at most ${MAX_STREAM_NAME_LENGTH} characters`);

const streamType = z.enum(STREAM_TYPES, { error: `must be one of ${STREAM_TYPES.join(', ')}` });

/** Sent in a request header (`Authorization: Splunk …`, `DD-API-KEY`): visible ASCII only, so no header injection. */
const token = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_STREAM_TOKEN_LENGTH, `must be at most ${MAX_STREAM_TOKEN_LENGTH} characters`)
  .regex(/^[\x21-\x7e]*$/, 'must be visible ASCII characters, with no spaces');

/** The destination URL, normalised, as the deployment's network policy allows it. */
const destinationUrl = (policy: NetworkPolicy) =>
  z.string().transform((raw, ctx) => {
    const checked = checkDestinationUrl(raw, policy);
    if ('url' in checked) return checked.url;
    ctx.addIssue({ code: 'custom', message: checked.error });
    return z.NEVER;
  });

/** `actor_type`: one event actor type or a comma-separated list of them (each once). */
const actorTypeList = z
  .string()
  .max(MAX_ACTOR_TYPE_FILTER_LENGTH, `must be at most ${MAX_ACTOR_TYPE_FILTER_LENGTH} characters`)
  .transform((raw) => [...new Set(raw.split(',').map((s) => s.trim()))])
  .pipe(z.array(z.enum(ACTOR_TYPES, { error: `each actor type must be one of ${ACTOR_TYPES.join(', ')}` })));

/**
 * Which events a stream sends. `action`: the events list's syntax and bounds (exact
 * `member.role_changed`, prefix `secret.*`, a comma list of at most 20, 2048 characters);
 * `actor_type`: a comma list of actor types. Absent fields match every event; so does `{}`.
 */
export const streamFilterSchema = z.strictObject({
  action: eventFiltersSchema.shape.action,
  actor_type: actorTypeList.optional(),
});
export type StreamFilter = z.output<typeof streamFilterSchema>;

const isKnownType = (type: unknown): type is StreamType =>
  (STREAM_TYPES as readonly unknown[]).includes(type);

/** Why a stream of `type` cannot take (or must have) a token, or undefined when it is right. */
export const tokenProblem = (type: StreamType, tokenGiven: boolean): string | undefined => {
  const needsToken = TOKEN_STREAM_TYPES.includes(type);
  if (needsToken && !tokenGiven) return `is required for ${type} streams`;
  if (!needsToken && tokenGiven)
    return `is not taken by ${type} streams: their signing secret is generated and shown once`;
  return undefined;
};

/** `POST /v1/streams` under the deployment's network policy. */
export const createStreamSchemaFor = (policy: NetworkPolicy) =>
  z
    .strictObject({
      name,
      type: streamType,
      url: destinationUrl(policy),
      token: token.optional(),
      filter: streamFilterSchema.optional(),
    })
    .superRefine(
      (stream, ctx) => {
        const problem = tokenProblem(stream.type, stream.token !== undefined);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: problem });
      },
      // Also when another field (a refused url) failed, so one answer names every bad field; never
      // for an unknown type, which is refused on its own.
      { when: (payload) => isKnownType((payload.value as { type?: unknown } | null)?.type) },
    );
export type CreateStreamInput = z.output<ReturnType<typeof createStreamSchemaFor>>;

/**
 * `PATCH /v1/streams/{id}` under the deployment's network policy: pause or resume, change the
 * url, filter (null: send every event), token or name; at least one. Whether the stream's type
 * takes a token is the use case's to check with tokenProblem(), which knows the type.
 */
export const updateStreamSchemaFor = (policy: NetworkPolicy) =>
  z
    .strictObject({
      name: name.optional(),
      status: z
        .enum(SETTABLE_STREAM_STATUSES, {
          error: 'must be active or paused (failing and disabled are set by delivery)',
        })
        .optional(),
      url: destinationUrl(policy).optional(),
      filter: streamFilterSchema.nullable().optional(),
      token: token.optional(),
    })
    .refine((update) => Object.keys(update).length > 0, {
      message: 'must change at least one field',
      // A change of unknown fields only is answered by naming them, not by this too.
      when: (payload) => payload.issues.length === 0,
    });
export type UpdateStreamInput = z.output<ReturnType<typeof updateStreamSchemaFor>>;

const timestamp = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' });

/** `POST /v1/streams/{id}/replay`: the window [from, to) of received events to deliver again. */
export const replayStreamSchema = z.strictObject({ from: timestamp, to: timestamp }).refine(
  // A malformed end is refused on its own; only two timestamps have an order.
  (window) =>
    !timestamp.safeParse(window.from).success ||
    !timestamp.safeParse(window.to).success ||
    Date.parse(window.from) < Date.parse(window.to),
  {
    path: ['to'],
    message: 'must be after from',
  },
);
export type ReplayWindow = z.output<typeof replayStreamSchema>;

/**
 * Why a replay window reaches beyond the hot table, or undefined when it does not. The hot table
 * keeps `hotRetentionDays` (null: unlimited); older events are only in the archive, which replay
 * does not read. The answer names `from`, the end of the window that is too old.
 */
export const replayWindowProblem = (
  window: ReplayWindow,
  nowMs: number,
  hotRetentionDays: number | null,
): { field: 'from'; message: string } | undefined => {
  if (hotRetentionDays === null) return undefined;
  const oldest = nowMs - hotRetentionDays * 86_400_000;
  if (Date.parse(window.from) >= oldest) return undefined;
  return {
    field: 'from',
    message: `must be within the hot retention (${hotRetentionDays} days): events before ${new Date(oldest).toISOString()} are only in the archive`,
  };
};

/** The parts of an event a stream filter reads. */
export type FilterableEvent = Pick<StoredEvent, 'action'> & { actor: { type?: string | undefined } };

/** Whether a stream with `filter` sends `event` (no filter, or `{}`, sends everything). */
export const streamFilterMatches = (
  filter: StreamFilter | null | undefined,
  event: FilterableEvent,
): boolean => {
  if (filter === null || filter === undefined) return true;
  if (filter.action !== undefined && !filter.action.some((pattern) => actionMatches(pattern, event.action)))
    return false;
  if (filter.actor_type !== undefined) {
    const type = event.actor.type;
    if (type === undefined || !(filter.actor_type as readonly string[]).includes(type)) return false;
  }
  return true;
};

/** `secret.*` matches `secret.created` and `secret.key.rotated`, not `secret` or `secrets.x`. */
const actionMatches = (pattern: string, action: string): boolean =>
  pattern.endsWith('.*') ? action.startsWith(pattern.slice(0, -1)) : action === pattern;
