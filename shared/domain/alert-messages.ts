/**
 * What a fired alert says on each channel (SPEC "Streams and alerts"): an email (subject, text,
 * HTML), a Slack incoming-webhook message and the signed webhook's body. Each names the rule, the
 * matching events (action, actor, target, time), what the cooldown held back, and a console link
 * to the events. Event fields are the tenant's users' input: escaped for the channel (HTML
 * entities in email HTML; Slack's `&`, `<`, `>` so `<!channel>`, `<@U123>` or `<url|label>` arrive
 * as text), control and bidirectional-text characters spelled out (`[U+202E]`) in every channel
 * read by people, long values cut. Pure.
 */
import type { AlertFire, AlertMatch } from './alert-rules.ts';
import { consolePath } from './console-shell.ts';
import { presentEvent, type StoredEvent } from './event.ts';

/** Events listed one by one in an email or Slack message (the console link shows them all). */
export const MAX_LISTED_EVENTS = 10;
/** A value longer than this is cut (with `…`) in messages read by people. */
export const MAX_VALUE_CHARS = 200;
/** The webhook body stays within a stream delivery's limit: events that would exceed it are left out. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export interface FiredAlert {
  alert: { id: string; name: string; match: AlertMatch };
  fire: AlertFire;
  /** The events `fire.events` names, as stored (any order; missing ones are left out). */
  events: StoredEvent[];
  /** When it fired (RFC 3339). */
  fired_at: string;
}

export interface MessageContext {
  tenantId: string;
  /** The service's public origin, e.g. `https://audit.example.com` (no trailing slash needed). */
  baseUrl: string;
}

export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Slack's control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export const escapeSlack = (text: string): string =>
  text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);

/** Control and bidirectional-text characters shown, not obeyed (as the console shows them). */
export const showControls = (text: string): string =>
  text.replace(
    /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `[U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`,
  );

/** A value as people read it: controls spelled out, then cut (escaping comes after, per channel). */
const shown = (value: string): string => {
  const text = showControls(value);
  const chars = [...text];
  return chars.length <= MAX_VALUE_CHARS ? text : `${chars.slice(0, MAX_VALUE_CHARS - 1).join('')}…`;
};

const sortedEvents = (alert: FiredAlert): StoredEvent[] =>
  [...alert.events].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.id.localeCompare(b.id));

/** One event's parts, each already `shown` (plain text, not yet escaped for a channel). */
interface EventLine {
  time: string;
  action: string;
  actor: string;
  target: string;
}

const eventLine = (event: StoredEvent): EventLine => {
  const actor = [
    event.actor.name ?? event.actor.email,
    `(${event.actor.id}${event.actor.type === undefined ? '' : `, ${event.actor.type}`})`,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
  const impersonation = event.impersonator === undefined ? '' : ` impersonated by ${event.impersonator.id}`;
  const target =
    event.target === undefined
      ? ''
      : [
          event.target.type,
          event.target.id,
          event.target.name === undefined ? undefined : `"${event.target.name}"`,
        ]
          .filter((part) => part !== undefined)
          .join(' ');
  return {
    time: event.occurred_at,
    action: shown(event.action),
    actor: shown(`${actor}${impersonation}`),
    target: shown(target),
  };
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The one-sentence summary (plain text, before channel escaping). */
const summaryOf = (alert: FiredAlert): string => {
  if (alert.fire.kind === 'absence')
    return `No matching event since ${alert.fire.absent_since ?? 'the rule was created'}.`;
  if (alert.fire.kind === 'held')
    return 'The cooldown held back matching events since the last notification.';
  return `${plural(alert.fire.events.length, 'matching event', 'matching events')}.`;
};

const suppressedNote = (alert: FiredAlert): string | undefined =>
  alert.fire.suppressed === 0
    ? undefined
    : `${plural(alert.fire.suppressed, 'further match was', 'further matches were')} held back during the cooldown.`;

const maxIso = (times: string[]): string | undefined =>
  times.reduce<string | undefined>(
    (a, b) => (a === undefined || Date.parse(b) > Date.parse(a) ? b : a),
    undefined,
  );
const minIso = (times: string[]): string | undefined =>
  times.reduce<string | undefined>(
    (a, b) => (a === undefined || Date.parse(b) < Date.parse(a) ? b : a),
    undefined,
  );

/**
 * The console showing the alert's events: the console's own query format (console/src/filters.ts:
 * `range=custom&from&to`, `action`, `actor`, `target_type`, `target_id`, `team`, `status`,
 * `impersonated`) with the rule's filters the console has and the time range from the earliest to
 * the latest event (held-back matches included; for an absence, the silent period). `from`/`to`
 * are UTC instants with milliseconds, which the console passes to the API as they are (its
 * window is inclusive). `actor_id_not` and `outside_hours` have no console filter, so the view
 * may also hold events of the same action that the rule did not match.
 */
export const consoleLink = (alert: FiredAlert, context: MessageContext): string => {
  const { match } = alert.alert;
  const times = alert.events.map((e) => e.occurred_at);
  if (alert.fire.suppressed_from !== undefined) times.push(alert.fire.suppressed_from);
  const from = alert.fire.kind === 'absence' ? alert.fire.absent_since : minIso(times);
  const to = alert.fire.kind === 'match' ? maxIso(times) : alert.fired_at;
  const params = new URLSearchParams();
  if (from !== undefined && to !== undefined) {
    params.set('range', 'custom');
    params.set('from', new Date(from).toISOString());
    params.set('to', new Date(to).toISOString());
  }
  params.set('action', match.action.join(','));
  // The console reads `actor` as an email when it holds `@`: only an id without one is usable.
  const actors = new Set(match.actor_id ?? alert.events.map((e) => e.actor.id));
  const [actor] = actors;
  if (actors.size === 1 && actor !== undefined && !actor.includes('@')) params.set('actor', actor);
  if (match.target_type !== undefined) params.set('target_type', match.target_type);
  if (match.target_id !== undefined) params.set('target_id', match.target_id);
  if (match.team_id !== undefined) params.set('team', match.team_id);
  if (match.status !== undefined) params.set('status', String(match.status));
  if (match.impersonated !== undefined) params.set('impersonated', String(match.impersonated));
  return `${context.baseUrl.replace(/\/+$/, '')}${consolePath(context.tenantId)}?${params.toString()}`;
};

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

export const renderEmail = (alert: FiredAlert, context: MessageContext): AlertEmail => {
  const name = shown(alert.alert.name);
  const events = sortedEvents(alert);
  const listed = events.slice(-MAX_LISTED_EVENTS).map(eventLine);
  const more = events.length - listed.length;
  const link = consoleLink(alert, context);
  const summary = summaryOf(alert);
  const held = suppressedNote(alert);

  const subject = `Trailkeeper alert: ${name}`;
  const text = [
    `Alert "${name}" fired at ${alert.fired_at}.`,
    summary,
    ...(held === undefined ? [] : [held]),
    '',
    ...listed.map(
      (e) => `- ${e.time}  ${e.action}  by ${e.actor}${e.target === '' ? '' : `  on ${e.target}`}`,
    ),
    ...(more > 0 ? [`  and ${more} more`] : []),
    '',
    `Open in the console: ${link}`,
    '',
  ].join('\n');

  const rows = listed
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.time)}</td><td>${escapeHtml(e.action)}</td><td>${escapeHtml(e.actor)}</td><td>${escapeHtml(e.target)}</td></tr>`,
    )
    .join('\n');
  const html = [
    '<!doctype html>',
    '<html><body>',
    `<h1>Alert: ${escapeHtml(name)}</h1>`,
    `<p>Fired at ${escapeHtml(alert.fired_at)}. ${escapeHtml(summary)}</p>`,
    ...(held === undefined ? [] : [`<p>${escapeHtml(held)}</p>`]),
    ...(listed.length === 0
      ? []
      : [
          '<table>',
          '<tr><th>Time</th><th>Action</th><th>Actor</th><th>Target</th></tr>',
          rows,
          '</table>',
          ...(more > 0 ? [`<p>and ${more} more</p>`] : []),
        ]),
    `<p><a href="${escapeHtml(link)}">Open these events in the console</a></p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
};

export interface SlackMessage {
  text: string;
  blocks: { type: 'section' | 'context'; text?: { type: 'mrkdwn'; text: string }; elements?: unknown[] }[];
}

export const renderSlack = (alert: FiredAlert, context: MessageContext): SlackMessage => {
  const name = escapeSlack(shown(alert.alert.name));
  const events = sortedEvents(alert);
  const listed = events.slice(-MAX_LISTED_EVENTS).map(eventLine);
  const more = events.length - listed.length;
  const link = `<${escapeSlack(consoleLink(alert, context))}|Open these events in the console>`;
  const summary = escapeSlack(summaryOf(alert));
  const held = suppressedNote(alert);
  const blocks: SlackMessage['blocks'] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*Trailkeeper alert: ${name}*\n${summary}` } },
    ...listed.map((e) => ({
      type: 'section' as const,
      text: {
        type: 'mrkdwn' as const,
        text: [
          `*${escapeSlack(e.action)}* at ${escapeSlack(e.time)}`,
          `by ${escapeSlack(e.actor)}`,
          ...(e.target === '' ? [] : [`on ${escapeSlack(e.target)}`]),
        ].join('\n'),
      },
    })),
  ];
  const notes = [
    ...(more > 0 ? [`and ${more} more`] : []),
    ...(held === undefined ? [] : [escapeSlack(held)]),
  ];
  if (notes.length > 0)
    blocks.push({ type: 'context', elements: notes.map((n) => ({ type: 'mrkdwn', text: n })) });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: link } });
  return { text: `Trailkeeper alert: ${name}. ${summary} ${link}`, blocks };
};

export interface AlertWebhookBody {
  type: 'alert';
  alert: { id: string; name: string };
  events: StoredEvent[];
  suppressed: number;
}

/**
 * The signed webhook's body (SPEC): the events as the API shows them, oldest first; events that
 * would take the body past MAX_WEBHOOK_BODY_BYTES are left out (the newest are kept).
 */
export const renderWebhook = (alert: FiredAlert): AlertWebhookBody => {
  const body: AlertWebhookBody = {
    type: 'alert',
    alert: { id: alert.alert.id, name: alert.alert.name },
    events: sortedEvents(alert).map(presentEvent),
    suppressed: alert.fire.suppressed,
  };
  while (body.events.length > 0 && Buffer.byteLength(JSON.stringify(body), 'utf8') > MAX_WEBHOOK_BODY_BYTES)
    body.events.shift();
  return body;
};
