/**
 * Alert rules (SPEC "Streams and alerts"): the rule schema of `POST /v1/alerts` and its PATCH,
 * the matcher that decides whether one stored event matches a rule, and the per-rule state
 * machine that turns matches into fires (threshold within a window, cooldown with a count of what
 * it held back, absence of matches). Pure: no I/O, the clock is passed in.
 *
 * Matching uses the event filters' action syntax (query.ts actionMatches) and compares the same
 * fields, so `action`, `actor_id`, `target_type`… mean the same thing in a rule as in
 * `GET /v1/events`.
 *
 * `outside_hours` {tz, from, to, days}: business hours are the local wall-clock minutes
 * [from, to) of each of `days`, in the IANA zone `tz`, read at the event's `occurred_at`. The
 * rule matches an event *outside* them: on a business day before `from` or at/after `to`, and at
 * any time on any other day. `to` may be `24:00` (end of the day); `from` must be before `to`
 * (business hours never span midnight). Wall-clock time is what counts across daylight-saving
 * changes: a skipped hour never happens, and the repeated hour is judged by its local time both
 * times. `days` defaults to mon–fri.
 */
import * as z from 'zod';
import { ACTOR_TYPES, type StoredEvent } from './event.ts';
import { checkDestinationUrl, type NetworkPolicy, STRICT_POLICY } from './network-policy.ts';
import { actionMatches, eventFiltersSchema } from './query.ts';

/** The service's own alert events; no rule ever matches them (an alert must not feed itself). */
export const OWN_ALERT_ACTION_PREFIX = 'trailkeeper.alert.';
export const MAX_ACTOR_LIST = 100;
export const MAX_NOTIFY = 10;
export const MAX_THRESHOLD_COUNT = 1000;
export const MAX_WINDOW_MINUTES = 1440;
export const MAX_COOLDOWN_MINUTES = 1440;
export const DEFAULT_COOLDOWN_MINUTES = 5;
/** `absent_minutes` up to a week. */
export const MAX_ABSENT_MINUTES = 7 * 1440;
/** Event ids a fire names (the newest); the rest are reachable through the console link. */
export const MAX_FIRED_EVENTS = 20;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const BUSINESS_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];

const FILTER_VALUE = /^\S(?:[^\p{Cc}]*\S)?$/u;
const filterValue = (max: number) =>
  z
    .string()
    .max(max)
    .regex(FILTER_VALUE, 'must not be empty, start or end with white space, or hold control characters');

/** The events filter's `action` (exact, `prefix.*`, comma list): validated and split the same way. */
const actionListString = eventFiltersSchema.shape.action.unwrap();

/** `action`: as the events filter takes it, or the same entries as a JSON array. */
const actionSchema = z.union(
  [
    actionListString,
    z
      .array(
        z
          .string()
          .max(128)
          .regex(/^[^,]*$/, 'must not contain ","'),
      )
      .min(1, 'must name at least one action')
      .transform((actions) => actions.join(','))
      .pipe(actionListString),
  ],
  { error: 'must be an action, a prefix (secret.*), or a list of them' },
);

const actorList = z
  .array(filterValue(256))
  .min(1, 'must name at least one actor')
  .max(MAX_ACTOR_LIST, `at most ${MAX_ACTOR_LIST} actors`);

/** An IANA zone name (not a bare offset such as `+01:00`, which Intl also takes), in its canonical case. */
const IANA_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
const canonicalTimeZone = (tz: string): string | undefined => {
  if (!IANA_ZONE_NAME.test(tz)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
};

const CLOCK = /^(?:([01][0-9]|2[0-3]):([0-5][0-9])|24:00)$/;
const minutesOf = (clock: string): number => {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

export const outsideHoursSchema = z
  .strictObject({
    tz: z
      .string()
      .max(64)
      .transform((tz, ctx) => {
        const canonical = canonicalTimeZone(tz);
        if (canonical === undefined)
          ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone, e.g. Europe/Berlin' });
        return canonical ?? tz;
      }),
    from: z.string().regex(CLOCK, 'must be HH:MM (00:00–23:59)'),
    to: z.string().regex(CLOCK, 'must be HH:MM (00:00–24:00)'),
    days: z
      .array(z.enum(WEEKDAYS, { error: 'must be one of mon, tue, wed, thu, fri, sat, sun' }))
      .min(1, 'must name at least one business day')
      .max(7)
      .refine((days) => new Set(days).size === days.length, 'must not repeat a day')
      .default(BUSINESS_DAYS),
  })
  .superRefine((hours, ctx) => {
    if (CLOCK.test(hours.from) && hours.from === '24:00')
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be HH:MM (00:00–23:59)' });
    else if (CLOCK.test(hours.from) && CLOCK.test(hours.to) && minutesOf(hours.from) >= minutesOf(hours.to))
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'must be after `from` (hours never span midnight)',
      });
  });

export type OutsideHours = z.output<typeof outsideHoursSchema>;

export const alertMatchSchema = z
  .strictObject({
    action: actionSchema,
    /** One actor id, or a list: the event's actor is one of them. */
    actor_id: z.union([filterValue(256).transform((id) => [id]), actorList]).optional(),
    /** "Anyone other than": the event's actor is none of them. */
    actor_id_not: actorList.optional(),
    actor_type: z.enum(ACTOR_TYPES).optional(),
    target_type: filterValue(128).optional(),
    target_id: filterValue(256).optional(),
    team_id: filterValue(256).optional(),
    status: z
      .union([z.enum(['success', 'failure']), z.int().min(100).max(599)], {
        error: 'must be success, failure or an HTTP status (100–599)',
      })
      .optional(),
    impersonated: z.boolean().optional(),
    outside_hours: outsideHoursSchema.optional(),
  })
  .superRefine((match, ctx) => {
    if (match.actor_id !== undefined && match.actor_id_not !== undefined)
      ctx.addIssue({ code: 'custom', path: ['actor_id_not'], message: 'must not be combined with actor_id' });
  });

export type AlertMatch = z.output<typeof alertMatchSchema>;

/**
 * `slack_url`/`webhook_url` follow the streams' URL rules (network-policy.ts): https to a public
 * address, plain http to loopback only under the local setting. `null` skips the check (a stored
 * rule's URLs passed it when they were written).
 */
const notifyTarget = (policy: NetworkPolicy | null) => {
  const url = z.string().superRefine((raw, ctx) => {
    if (policy === null) return;
    const checked = checkDestinationUrl(raw, policy);
    if ('error' in checked) ctx.addIssue({ code: 'custom', message: checked.error });
  });
  return z
    .strictObject({
      email: z.email({ error: 'must be an email address' }).max(320).optional(),
      slack_url: url.optional(),
      webhook_url: url.optional(),
    })
    .superRefine((target, ctx) => {
      const given = Object.values(target).filter((v) => v !== undefined).length;
      if (given !== 1)
        ctx.addIssue({ code: 'custom', message: 'must hold exactly one of email, slack_url, webhook_url' });
    })
    .transform(
      (target): NotifyTarget =>
        target.email !== undefined
          ? { email: target.email }
          : target.slack_url !== undefined
            ? { slack_url: target.slack_url }
            : { webhook_url: target.webhook_url as string },
    );
};

export type NotifyTarget = { email: string } | { slack_url: string } | { webhook_url: string };

export const thresholdSchema = z.strictObject({
  count: z
    .int({ error: 'must be an integer' })
    .min(2, 'must be at least 2 (one match needs no threshold)')
    .max(MAX_THRESHOLD_COUNT, `must be at most ${MAX_THRESHOLD_COUNT}`),
  window_minutes: z
    .int({ error: 'must be an integer' })
    .min(1, 'must be at least 1')
    .max(MAX_WINDOW_MINUTES, `must be at most ${MAX_WINDOW_MINUTES}`),
});

const ruleFields = (policy: NetworkPolicy | null) => ({
  name: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(200)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
  absent_minutes: z
    .int({ error: 'must be an integer' })
    .min(1, 'must be at least 1')
    .max(MAX_ABSENT_MINUTES, `must be at most ${MAX_ABSENT_MINUTES}`),
  match: alertMatchSchema,
  threshold: thresholdSchema,
  notify: z
    .array(notifyTarget(policy))
    .min(1, 'must name at least one target')
    .max(MAX_NOTIFY, `must name at most ${MAX_NOTIFY} targets`),
  cooldown_minutes: z
    .int({ error: 'must be an integer' })
    .min(0, 'must be at least 0')
    .max(MAX_COOLDOWN_MINUTES, `must be at most ${MAX_COOLDOWN_MINUTES}`),
});

/** An absence rule fires on silence; a count of matches means nothing to it. */
const refuseThresholdWithAbsence = (
  rule: { absent_minutes?: number | null | undefined; threshold?: unknown },
  ctx: z.RefinementCtx,
) => {
  if (rule.absent_minutes != null && rule.threshold != null)
    ctx.addIssue({
      code: 'custom',
      path: ['threshold'],
      message: 'must not be combined with absent_minutes',
    });
};

/** The `POST /v1/alerts` body under the deployment's network policy (default: the strict one). */
export const makeAlertRuleSchema = (policy: NetworkPolicy | null = STRICT_POLICY) => {
  const f = ruleFields(policy);
  return z
    .strictObject({
      name: f.name,
      absent_minutes: f.absent_minutes.optional(),
      match: f.match,
      threshold: f.threshold.optional(),
      notify: f.notify,
      cooldown_minutes: f.cooldown_minutes.default(DEFAULT_COOLDOWN_MINUTES),
    })
    .superRefine(refuseThresholdWithAbsence);
};

/**
 * The `PATCH /v1/alerts/{id}` body: any field of the rule; `match` and `notify` replace the whole
 * value; `absent_minutes: null` / `threshold: null` remove them. applyAlertPatch() checks the
 * merged rule as a whole.
 */
export const makeAlertPatchSchema = (policy: NetworkPolicy = STRICT_POLICY) => {
  const f = ruleFields(policy);
  return z
    .strictObject({
      name: f.name.optional(),
      absent_minutes: f.absent_minutes.nullable().optional(),
      match: f.match.optional(),
      threshold: f.threshold.nullable().optional(),
      notify: f.notify.optional(),
      cooldown_minutes: f.cooldown_minutes.optional(),
    })
    .refine((patch) => Object.keys(patch).length > 0, 'must change at least one field');
};

export const alertRuleSchema = makeAlertRuleSchema();
export const alertPatchSchema = makeAlertPatchSchema();

export type AlertRuleInput = z.input<typeof alertRuleSchema>;
export type AlertRule = z.output<typeof alertRuleSchema>;
export type AlertPatch = z.output<typeof alertPatchSchema>;

/** A rule after a validated patch; an error names the field the merge broke (e.g. `threshold`). */
export const applyAlertPatch = (
  rule: AlertRule,
  patch: AlertPatch,
): { success: true; data: AlertRule } | { success: false; error: z.ZodError } => {
  const merged: Record<string, unknown> = { ...rule };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete merged[field];
    else if (value !== undefined) merged[field] = value;
  }
  // Re-checking the merged rule needs no URL policy again: every URL in it passed one already.
  const checked = makeAlertRuleSchema(null).safeParse(toRuleInput(merged));
  return checked.success ? { success: true, data: checked.data } : { success: false, error: checked.error };
};

/** The stored (parsed) rule back in its input form: `action` as the comma list it was parsed from. */
const toRuleInput = (rule: Record<string, unknown>): Record<string, unknown> => {
  const match = rule.match as AlertMatch | undefined;
  return match === undefined ? rule : { ...rule, match: { ...match, action: match.action.join(',') } };
};

// --- matching -----------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
const localFormatter = (tz: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(tz);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, formatter);
  }
  return formatter;
};

/** Weekday and minute of the day of an instant on the wall clock of `tz`. */
export const localWallClock = (instant: string | number, tz: string): { day: Weekday; minute: number } => {
  const parts = localFormatter(tz).formatToParts(new Date(instant));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').slice(0, 3).toLowerCase() as Weekday;
  return { day, minute: Number(part('hour')) * 60 + Number(part('minute')) };
};

/** True when `instant` lies outside the business hours (see the module comment). */
export const isOutsideHours = (hours: OutsideHours, instant: string | number): boolean => {
  const { day, minute } = localWallClock(instant, hours.tz);
  if (!hours.days.includes(day)) return true;
  return minute < minutesOf(hours.from) || minute >= minutesOf(hours.to);
};

/**
 * The rule's filters, meaning what the event filters mean (query.ts: the same action syntax, the
 * status as text), compared value by value (a rule's ids are values, never comma lists).
 */
const matchesRuleFilters = (match: AlertMatch, event: StoredEvent): boolean =>
  actionMatches(event.action, match.action) &&
  (match.actor_id === undefined || match.actor_id.includes(event.actor.id)) &&
  (match.target_type === undefined || event.target?.type === match.target_type) &&
  (match.target_id === undefined || event.target?.id === match.target_id) &&
  (match.team_id === undefined || event.team_id === match.team_id) &&
  (match.status === undefined ||
    (event.status !== undefined && String(event.status) === String(match.status))) &&
  (match.impersonated === undefined || (event.impersonated === true) === match.impersonated);

/** Does `event` match `rule`? Never for the service's own `trailkeeper.alert.*` events. */
export const matches = (rule: Pick<AlertRule, 'match'>, event: StoredEvent): boolean => {
  if (event.action.startsWith(OWN_ALERT_ACTION_PREFIX)) return false;
  const { match } = rule;
  if (!matchesRuleFilters(match, event)) return false;
  if (match.actor_id_not?.includes(event.actor.id)) return false;
  if (match.actor_type !== undefined && event.actor.type !== match.actor_type) return false;
  if (match.outside_hours !== undefined && !isOutsideHours(match.outside_hours, event.occurred_at))
    return false;
  return true;
};

// --- threshold, cooldown, absence -----------------------------------------------------------

/**
 * One rule's evaluation state (stored beside the rule, updated by the pipeline). Times are
 * RFC 3339, window times epoch milliseconds (compact). Bounded: `window` holds fewer than
 * `threshold.count` entries (reaching it consumes them), `window_ids` at most MAX_FIRED_EVENTS.
 */
export interface AlertState {
  /** When the rule was created (absence is measured from here until a first match). */
  armed_at: string;
  /** `occurred_at` (ms) of the matches counted toward the threshold, ascending. */
  window: number[];
  /** The newest of those matches by `occurred_at`, ascending, for the fire to name. */
  window_ids: { id: string; at: number }[];
  last_fired_at?: string;
  /** Matches held back during cooldown since the last fire, reported with the next one. */
  suppressed: number;
  /** The earliest `occurred_at` of the held-back matches (so a console link can cover them). */
  suppressed_from?: string;
  /** When the last match arrived (`now` of its evaluation): absence is measured from here. */
  last_match_at?: string;
  /** The current absence period has fired; the next match re-arms it. */
  absence_fired: boolean;
}

export interface AlertFire {
  /** `held`: only matches the cooldown held back, reported once it ended (see flushSuppressed). */
  kind: 'match' | 'absence' | 'held';
  /** Ids of the matching events behind this fire, newest last, at most MAX_FIRED_EVENTS. */
  events: string[];
  /** Matches held back during cooldown since the previous fire. */
  suppressed: number;
  suppressed_from?: string;
  /** For an absence: since when no matching event arrived. */
  absent_since?: string;
}

export interface Evaluation {
  state: AlertState;
  fire?: AlertFire;
}

export const initialAlertState = (now: number): AlertState => ({
  armed_at: new Date(now).toISOString(),
  window: [],
  window_ids: [],
  suppressed: 0,
  absence_fired: false,
});

const inCooldown = (state: AlertState, rule: Pick<AlertRule, 'cooldown_minutes'>, now: number): boolean =>
  state.last_fired_at !== undefined && now < Date.parse(state.last_fired_at) + rule.cooldown_minutes * 60_000;

const insertSorted = <T>(list: readonly T[], item: T, at: (x: T) => number): T[] => {
  const copy = [...list];
  let i = copy.length;
  while (i > 0 && at(copy[i - 1] as T) > at(item)) i--;
  copy.splice(i, 0, item);
  return copy;
};

const earlier = (a: string | undefined, b: string): string =>
  a === undefined || Date.parse(b) < Date.parse(a) ? b : a;

/**
 * Feeds one matching event to the rule's state. A match (or, with a threshold, `count` matches
 * whose `occurred_at` lie within `window_minutes` of the newest: a half-open window, so matches
 * exactly `window_minutes` apart are not within it) is a trigger and consumes them. A trigger
 * outside the cooldown fires, naming its events and the matches held back since the last fire;
 * inside the cooldown its matches are held back (counted in `suppressed`). A match older than the
 * window ending at the newest counted match counts for nothing. An absence rule only records the
 * match (it re-arms the absence) and never fires on one. An event that does not match changes
 * nothing.
 */
export const evaluate = (state: AlertState, rule: AlertRule, event: StoredEvent, now: number): Evaluation => {
  if (!matches(rule, event)) return { state };
  const arrived: AlertState = { ...state, last_match_at: new Date(now).toISOString(), absence_fired: false };
  if (rule.absent_minutes !== undefined) return { state: arrived };

  const at = Date.parse(event.occurred_at);
  let window = [at];
  let windowIds = [{ id: event.id, at }];
  if (rule.threshold !== undefined) {
    const cutoff = Math.max(at, ...state.window) - rule.threshold.window_minutes * 60_000;
    if (at <= cutoff) return { state: arrived };
    window = insertSorted(state.window, at, (t) => t).filter((t) => t > cutoff);
    windowIds = insertSorted(state.window_ids, { id: event.id, at }, (e) => e.at)
      .filter((e) => e.at > cutoff)
      .slice(-MAX_FIRED_EVENTS);
    if (window.length < rule.threshold.count) return { state: { ...arrived, window, window_ids: windowIds } };
  }

  const consumed: AlertState = { ...arrived, window: [], window_ids: [] };
  if (inCooldown(state, rule, now)) {
    const earliest = new Date(window[0] ?? at).toISOString();
    return {
      state: {
        ...consumed,
        suppressed: state.suppressed + window.length,
        suppressed_from: earlier(state.suppressed_from, earliest),
      },
    };
  }
  const fire: AlertFire = {
    kind: 'match',
    events: windowIds.map((e) => e.id),
    suppressed: state.suppressed,
    ...(state.suppressed_from === undefined ? {} : { suppressed_from: state.suppressed_from }),
  };
  const { suppressed_from: _, ...rest } = consumed;
  return { state: { ...rest, suppressed: 0, last_fired_at: new Date(now).toISOString() }, fire };
};

/**
 * The scheduled check of an absence rule: fires when no matching event arrived for
 * `absent_minutes` (since the last match, or since the rule was armed), once per absence period;
 * the next match re-arms it. Inside a cooldown it waits (fires on the first check after it).
 */
export const checkAbsence = (state: AlertState, rule: AlertRule, now: number): Evaluation => {
  if (rule.absent_minutes === undefined || state.absence_fired) return { state };
  const since = state.last_match_at ?? state.armed_at;
  if (now - Date.parse(since) < rule.absent_minutes * 60_000) return { state };
  if (inCooldown(state, rule, now)) return { state };
  const { suppressed_from: _, ...rest } = state;
  return {
    state: { ...rest, absence_fired: true, suppressed: 0, last_fired_at: new Date(now).toISOString() },
    fire: { kind: 'absence', events: [], suppressed: state.suppressed, absent_since: since },
  };
};

/**
 * The scheduled check that reports held-back matches once the cooldown is over and no new
 * trigger has reported them: a burst that ends inside the cooldown is still notified, one
 * cooldown later, as a count (the console link covers them from `suppressed_from`).
 */
export const flushSuppressed = (state: AlertState, rule: AlertRule, now: number): Evaluation => {
  if (state.suppressed === 0 || inCooldown(state, rule, now)) return { state };
  const { suppressed_from: from, ...rest } = state;
  return {
    state: { ...rest, suppressed: 0, last_fired_at: new Date(now).toISOString() },
    fire: {
      kind: 'held',
      events: [],
      suppressed: state.suppressed,
      ...(from === undefined ? {} : { suppressed_from: from }),
    },
  };
};
