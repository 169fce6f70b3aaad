/**
 * Alerts (SPEC "Streams and alerts", alert half): the API (create, list, read, change, delete),
 * the evaluation the stream router runs on each new event, the sweeper's absence and held-back
 * checks, and the deliverer's sending of one notification.
 *
 * Design: the router evaluates (alert-rules.ts `evaluate`) and keeps each rule's state on the
 * alert item under a version check (concurrent shards retry on a conflict). A fire is written
 * into the trail as `trailkeeper.alert.triggered` and queued as one message per target on the
 * delivery queue, *before* the new state is saved: a crash in between re-fires on the retried
 * batch under the same state version, so the trail event has the same id (written once) and the
 * notification the same webhook-id — at least once, never lost. Nobody calls a receiver in the
 * router or the sweeper: the deliverer sends (guarded POST, SES), and a failure is retried by a
 * delayed message, at most MAX_NOTIFY_ATTEMPTS times, after which the alert shows `last_error`
 * and the AlertNotificationsFailed metric counts it (never silently dropped).
 */

import { type FiredAlert, renderEmail, renderSlack, renderWebhook } from '../domain/alert-messages.ts';
import {
  type AlertFire,
  type AlertRule,
  type AlertState,
  applyAlertPatch,
  checkAbsence,
  evaluate,
  flushSuppressed,
  initialAlertState,
  makeAlertPatchSchema,
  makeAlertRuleSchema,
  matches,
  type NotifyTarget,
  OWN_ALERT_ACTION_PREFIX,
} from '../domain/alert-rules.ts';
import { newWebhookSecret, signWebhook } from '../domain/deliveries.ts';
import type { StoredEvent } from '../domain/event.ts';
import { toFieldErrors } from '../domain/event.ts';
import { emailDomainAllowed } from '../domain/export.ts';
import { newAlertId } from '../domain/ids.ts';
import type { NetworkPolicy } from '../domain/network-policy.ts';
import type { Principal } from '../domain/principal.ts';
import type { Redactor } from '../domain/sanitize.ts';
import type { TenantRecord } from '../domain/tenant.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { type AdminActor, recordAdminAct } from './own-trail.ts';
import { parseInput } from './parse-input.ts';
import {
  type AlertNotification,
  type AlertNotificationQueue,
  type AlertRecord,
  type AlertStore,
  alertSecretContext,
  type StoredNotifyTarget,
  slackUrlContext,
} from './ports/alerts.ts';
import type { ControlStore } from './ports/control.ts';
import type { DestinationPoster } from './ports/deliveries.ts';
import type { EventStore } from './ports/events.ts';
import type { Mailer } from './ports/exports.ts';
import type { SecretBox } from './ports/secret-box.ts';
import { requireStreamAdmin } from './streams.ts';

const ALERT_ID = /^alr_[0-9a-z]{26}$/;
/** How the trail names the evaluator of alerts (the actor of `trailkeeper.alert.triggered`). */
export const ALERT_ACTOR: AdminActor = {
  id: 'trailkeeper-alerts',
  type: 'system',
  name: 'Trailkeeper alerts',
};
/** Attempts of one notification (backoff doubling from 2 s, then its failure is recorded). */
export const MAX_NOTIFY_ATTEMPTS = 8;
/** State writes retried on a version conflict with another shard before the batch fails. */
const MAX_STATE_CONFLICTS = 8;
/** How long the router trusts its list of a tenant's alerts (a trailkeeper.alert.* event drops it). */
export const ALERT_CACHE_MS = 5_000;

const iso = (ms: number) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// API

export interface AlertsDeps {
  alerts: AlertStore;
  control: Pick<ControlStore, 'getTenant'>;
  store: EventStore;
  redact: Redactor;
  box: SecretBox;
  policy: NetworkPolicy;
  now: () => number;
  newSecret?: () => string;
}

/** A target as the API shows it: a Slack URL is a credential, shown as its host only. */
const presentTarget = (target: StoredNotifyTarget) =>
  'email' in target
    ? { email: target.email }
    : 'webhook_url' in target
      ? { webhook_url: target.webhook_url }
      : { slack_url: `https://${target.slack_host}/…` };

const presentMatch = (match: AlertRule['match']) => ({ ...match, action: match.action.join(',') });

export const presentAlert = (record: AlertRecord) => ({
  id: record.id,
  name: record.name,
  match: presentMatch(record.rule.match),
  ...(record.rule.absent_minutes === undefined ? {} : { absent_minutes: record.rule.absent_minutes }),
  threshold: record.rule.threshold ?? null,
  notify: record.notify.map(presentTarget),
  cooldown_minutes: record.rule.cooldown_minutes,
  created_at: record.created_at,
  updated_at: record.updated_at,
  last_fired_at: record.state.last_fired_at ?? null,
  suppressed: record.state.suppressed,
  last_error: record.last_error ?? null,
});

const loadTenant = async (deps: Pick<AlertsDeps, 'control'>, tenantId: string): Promise<TenantRecord> => {
  const tenant = await deps.control.getTenant(tenantId);
  if (tenant === null) throw new NotFoundError('No tenant with this id.');
  return tenant;
};

const loadAlert = async (deps: AlertsDeps, tenantId: string, alertId: string): Promise<AlertRecord> => {
  const alert = ALERT_ID.test(alertId) ? await deps.alerts.get(tenantId, alertId) : null;
  if (alert === null) throw new NotFoundError('No alert with this id.');
  return alert;
};

const checkEmailDomains = (notify: readonly NotifyTarget[], tenant: TenantRecord) => {
  const domains = tenant.email_domains ?? [];
  const errors = notify.flatMap((target, i) =>
    'email' in target && !emailDomainAllowed(target.email, domains)
      ? [
          {
            field: `notify[${i}].email`,
            message: `must be an address at one of the workspace's allowed email domains (${domains.join(', ')})`,
          },
        ]
      : [],
  );
  if (errors.length > 0) throw new ValidationError(errors);
};

/** The targets as stored: Slack URLs sealed under the alert's id. */
const storeTargets = async (
  deps: AlertsDeps,
  tenantId: string,
  alertId: string,
  notify: readonly NotifyTarget[],
): Promise<StoredNotifyTarget[]> =>
  Promise.all(
    notify.map(async (target): Promise<StoredNotifyTarget> => {
      if (!('slack_url' in target)) return target;
      return {
        slack_url_sealed: await deps.box.seal(target.slack_url, slackUrlContext(tenantId, alertId)),
        slack_host: new URL(target.slack_url).host,
      };
    }),
  );

const ruleOf = ({ name: _n, notify: _t, ...rule }: AlertRule): AlertRecord['rule'] => rule;

/** The trail's view of a rule: its configuration, never a Slack URL or secret. */
const configOf = (record: Pick<AlertRecord, 'name' | 'rule' | 'notify'>) => ({
  name: record.name,
  match: presentMatch(record.rule.match),
  absent_minutes: record.rule.absent_minutes ?? null,
  threshold: record.rule.threshold ?? null,
  notify: record.notify.map(presentTarget),
  cooldown_minutes: record.rule.cooldown_minutes,
});

const targetOf = (record: Pick<AlertRecord, 'id' | 'name'>) => ({
  type: 'alert',
  id: record.id,
  name: record.name,
});

/** `POST /v1/alerts`: 201 with the alert and, when it notifies a webhook_url, the signing secret (once). */
export const createAlert = async (
  deps: AlertsDeps,
  principal: Principal | null,
  body: unknown,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const input = parseInput(makeAlertRuleSchema(deps.policy), body);
  const tenant = await loadTenant(deps, admin.tenantId);
  checkEmailDomains(input.notify, tenant);
  const nowMs = deps.now();
  const id = newAlertId();
  const secret = input.notify.some((t) => 'webhook_url' in t)
    ? (deps.newSecret ?? newWebhookSecret)()
    : undefined;
  const record: AlertRecord = {
    id,
    tenant_id: tenant.id,
    name: input.name,
    rule: ruleOf(input),
    notify: await storeTargets(deps, tenant.id, id, input.notify),
    created_at: iso(nowMs),
    updated_at: iso(nowMs),
    state: initialAlertState(nowMs),
    state_version: 0,
    last_error: null,
  };
  if (secret !== undefined)
    record.secret_sealed = await deps.box.seal(secret, alertSecretContext(tenant.id, id));
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.alert.created',
      target: targetOf(record),
      metadata: configOf(record),
      eventKey: `alert-created-${id}`,
    },
    requestId,
  );
  await deps.alerts.create(record);
  return { ...presentAlert(record), ...(secret === undefined ? {} : { secret }) };
};

export const listAlerts = async (deps: AlertsDeps, principal: Principal | null) => {
  const admin = requireStreamAdmin(principal);
  return { data: (await deps.alerts.list(admin.tenantId)).map(presentAlert) };
};

export const getAlert = async (deps: AlertsDeps, principal: Principal | null, alertId: string) => {
  const admin = requireStreamAdmin(principal);
  return presentAlert(await loadAlert(deps, admin.tenantId, alertId));
};

/** The stored rule back as a whole AlertRule (Slack targets as a placeholder; they pass through). */
const storedRule = (record: AlertRecord): AlertRule => ({
  ...record.rule,
  name: record.name,
  notify: record.notify.map((t) =>
    'slack_url_sealed' in t ? { slack_url: `https://${t.slack_host}/` } : (t as NotifyTarget),
  ),
});

/**
 * `PATCH /v1/alerts/{id}`: any field; `match` and `notify` replace the whole value. A change that
 * adds the first webhook_url target answers with its new signing secret (once). The evaluation
 * state is kept (a changed rule continues its cooldown).
 */
export const updateAlert = async (
  deps: AlertsDeps,
  principal: Principal | null,
  alertId: string,
  body: unknown,
  requestId?: string,
) => {
  const admin = requireStreamAdmin(principal);
  const patch = parseInput(makeAlertPatchSchema(deps.policy), body);
  const alert = await loadAlert(deps, admin.tenantId, alertId);
  const merged = applyAlertPatch(storedRule(alert), patch);
  if (!merged.success) throw new ValidationError(toFieldErrors(merged.error));
  const tenant = await loadTenant(deps, admin.tenantId);
  if (patch.notify !== undefined) checkEmailDomains(patch.notify, tenant);
  const notify =
    patch.notify === undefined ? alert.notify : await storeTargets(deps, tenant.id, alert.id, patch.notify);
  const needsSecret = alert.secret_sealed === undefined && notify.some((t) => 'webhook_url' in t);
  const secret = needsSecret ? (deps.newSecret ?? newWebhookSecret)() : undefined;
  const after = { name: merged.data.name, rule: ruleOf(merged.data), notify };
  const before = configOf(alert);
  const now = configOf(after);
  const fields = (Object.keys(before) as (keyof typeof before)[]).filter(
    (f) => JSON.stringify(before[f]) !== JSON.stringify(now[f]),
  );
  const slackReplaced = patch.notify?.some((t) => 'slack_url' in t) === true;
  if (fields.length === 0 && !slackReplaced) return presentAlert(alert);
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.alert.updated',
      target: targetOf(after.name === alert.name ? alert : { id: alert.id, name: after.name }),
      metadata: {
        from: Object.fromEntries(fields.map((f) => [f, before[f]])),
        to: Object.fromEntries(fields.map((f) => [f, now[f]])),
      },
    },
    requestId,
  );
  const updated = await deps.alerts.update(alert.tenant_id, alert.id, {
    ...after,
    updated_at: iso(deps.now()),
    ...(secret === undefined
      ? {}
      : { secret_sealed: await deps.box.seal(secret, alertSecretContext(alert.tenant_id, alert.id)) }),
  });
  if (updated === null) throw new NotFoundError('No alert with this id.');
  return { ...presentAlert(updated), ...(secret === undefined ? {} : { secret }) };
};

export const deleteAlert = async (
  deps: AlertsDeps,
  principal: Principal | null,
  alertId: string,
  requestId?: string,
): Promise<void> => {
  const admin = requireStreamAdmin(principal);
  const alert = await loadAlert(deps, admin.tenantId, alertId);
  const tenant = await loadTenant(deps, admin.tenantId);
  await recordAdminAct(
    deps,
    tenant,
    admin,
    {
      action: 'trailkeeper.alert.deleted',
      target: targetOf(alert),
      metadata: configOf(alert),
      eventKey: `alert-deleted-${alert.id}`,
    },
    requestId,
  );
  if (!(await deps.alerts.delete(alert.tenant_id, alert.id)))
    throw new NotFoundError('No alert with this id.');
};

// ---------------------------------------------------------------------------------------------
// Evaluation (router) and scheduled checks (sweeper)

export interface AlertEvaluationDeps {
  alerts: Pick<AlertStore, 'list' | 'get' | 'saveState'>;
  control: Pick<ControlStore, 'getTenant'>;
  store: EventStore;
  redact: Redactor;
  queue: AlertNotificationQueue;
  now: () => number;
  cache?: Map<string, { at: number; alerts: AlertRecord[]; tenant: TenantRecord | null }>;
  cacheMs?: number;
}

const evaluatedRule = (record: AlertRecord): AlertRule => ({ ...record.rule, name: record.name, notify: [] });

/**
 * Writes each fire into the trail (`trailkeeper.alert.triggered`, its id derived from the alert,
 * its state version and the fire's place, so a retry writes it once) and queues one notification
 * per target. Returns how many fires.
 */
const emitFires = async (
  deps: AlertEvaluationDeps,
  tenant: TenantRecord,
  alert: AlertRecord,
  fires: readonly AlertFire[],
  nowMs: number,
): Promise<number> => {
  for (const [i, fire] of fires.entries()) {
    const fireId = `${alert.id}-${alert.state_version}-${i}`;
    const firedAt = iso(nowMs);
    await recordAdminAct({ store: deps.store, redact: deps.redact, now: deps.now }, tenant, ALERT_ACTOR, {
      action: 'trailkeeper.alert.triggered',
      target: targetOf(alert),
      metadata: {
        alert: { id: alert.id, name: alert.name },
        kind: fire.kind,
        event_ids: fire.events,
        suppressed: fire.suppressed,
        ...(fire.suppressed_from === undefined ? {} : { suppressed_from: fire.suppressed_from }),
        ...(fire.absent_since === undefined ? {} : { absent_since: fire.absent_since }),
      },
      eventKey: `alert-triggered-${fireId}`,
    });
    for (const target of alert.notify.keys())
      await deps.queue.send({
        kind: 'alert',
        tenant_id: alert.tenant_id,
        alert_id: alert.id,
        target,
        fire_id: fireId,
        fired_at: firedAt,
        fire,
        attempt: 0,
      });
  }
  return fires.length;
};

/** Runs `step` on the alert's fresh state and saves it under the version check, emitting its fires first. */
const advance = async (
  deps: AlertEvaluationDeps,
  tenant: TenantRecord,
  tenantId: string,
  alertId: string,
  step: (state: AlertState, rule: AlertRule, now: number) => { state: AlertState; fires: AlertFire[] },
): Promise<number> => {
  for (let conflict = 0; conflict < MAX_STATE_CONFLICTS; conflict++) {
    const alert = await deps.alerts.get(tenantId, alertId);
    if (alert === null) return 0;
    const now = deps.now();
    const { state, fires } = step(alert.state, evaluatedRule(alert), now);
    if (fires.length === 0 && JSON.stringify(state) === JSON.stringify(alert.state)) return 0;
    const fired = await emitFires(deps, tenant, alert, fires, now);
    if (await deps.alerts.saveState(tenantId, alertId, alert.state_version, state)) return fired;
  }
  throw new Error(`alert ${alertId}: state kept changing under ${MAX_STATE_CONFLICTS} attempts`);
};

/**
 * The router's part: each tenant's new events (never `trailkeeper.alert.*`) against its alert
 * rules (cached for ALERT_CACHE_MS; a `trailkeeper.alert.*` event of the tenant drops the cache).
 * Only rules with a matching event read and write their state. Returns how many fires.
 */
export const evaluateAlerts = async (
  events: readonly StoredEvent[],
  deps: AlertEvaluationDeps,
): Promise<number> => {
  const cache = deps.cache ?? new Map();
  const cacheMs = deps.cacheMs ?? ALERT_CACHE_MS;
  const byTenant = new Map<string, StoredEvent[]>();
  for (const event of events)
    byTenant.set(event.tenant_id, [...(byTenant.get(event.tenant_id) ?? []), event]);
  let fired = 0;
  for (const [tenantId, tenantEvents] of byTenant) {
    const now = deps.now();
    const changed = tenantEvents.some((e) => e.action.startsWith(OWN_ALERT_ACTION_PREFIX));
    let entry = cache.get(tenantId);
    if (entry === undefined || changed || now - entry.at > cacheMs) {
      const alerts = await deps.alerts.list(tenantId);
      entry = {
        at: now,
        alerts,
        tenant: alerts.length === 0 ? null : await deps.control.getTenant(tenantId),
      };
      cache.set(tenantId, entry);
    }
    const tenant = entry.tenant;
    if (tenant === null) continue;
    const candidates = tenantEvents.filter((e) => !e.action.startsWith(OWN_ALERT_ACTION_PREFIX));
    for (const alert of entry.alerts) {
      const matching = candidates.filter((e) => matches(alert.rule, e));
      if (matching.length === 0) continue;
      fired += await advance(deps, tenant, tenantId, alert.id, (state, rule, at) => {
        const fires: AlertFire[] = [];
        let next = state;
        for (const event of matching) {
          const result = evaluate(next, rule, event, at);
          next = result.state;
          if (result.fire !== undefined) fires.push(result.fire);
        }
        return { state: next, fires };
      });
    }
  }
  return fired;
};

export interface AlertSweepDeps extends AlertEvaluationDeps {
  control: Pick<ControlStore, 'getTenant' | 'listTenantIds'>;
}

/**
 * The sweeper's part (every minute): absence rules that went silent for `absent_minutes`, and
 * matches a cooldown held back that no later fire reported. Reads every tenant's alerts.
 */
export const sweepAlerts = async (deps: AlertSweepDeps): Promise<number> => {
  let fired = 0;
  for (const tenantId of await deps.control.listTenantIds()) {
    const alerts = await deps.alerts.list(tenantId);
    const due = alerts.filter((a) => a.rule.absent_minutes !== undefined || a.state.suppressed > 0);
    if (due.length === 0) continue;
    const tenant = await deps.control.getTenant(tenantId);
    if (tenant === null) continue;
    for (const alert of due)
      fired += await advance(deps, tenant, tenantId, alert.id, (state, rule, now) => {
        const result =
          rule.absent_minutes !== undefined
            ? checkAbsence(state, rule, now)
            : flushSuppressed(state, rule, now);
        return { state: result.state, fires: result.fire === undefined ? [] : [result.fire] };
      });
  }
  return fired;
};

// ---------------------------------------------------------------------------------------------
// Notification (deliverer)

export interface AlertNotifyDeps {
  alerts: Pick<AlertStore, 'get' | 'update'>;
  /** The tenant's allowed email domains, read again at send time (they may have narrowed). */
  control: Pick<ControlStore, 'getTenant'>;
  store: Pick<EventStore, 'get'>;
  secrets: () => Promise<SecretBox>;
  poster: DestinationPoster;
  mailer: Mailer;
  emailFrom: string;
  queue: AlertNotificationQueue;
  /** The service's public origin for console links. */
  baseUrl: string;
  now: () => number;
  /** The first retry's delay (doubling, capped at 15 minutes). */
  retryBaseSeconds?: number;
  failed?: () => void;
}

export type NotifyResult = 'gone' | 'delivered' | 'retrying' | 'failed';

const sendTo = async (
  deps: AlertNotifyDeps,
  alert: AlertRecord,
  target: StoredNotifyTarget,
  message: AlertNotification,
  fired: FiredAlert,
): Promise<string | undefined> => {
  const context = { tenantId: alert.tenant_id, baseUrl: deps.baseUrl };
  if ('email' in target) {
    const tenant = await deps.control.getTenant(alert.tenant_id);
    if (tenant === null) return 'the tenant no longer exists';
    if (!emailDomainAllowed(target.email, tenant.email_domains ?? []))
      return `not sent: ${target.email} is no longer at one of the tenant's allowed email domains`;
    const email = renderEmail(fired, context);
    await deps.mailer.send({
      from: deps.emailFrom,
      to: target.email,
      subject: email.subject,
      text: email.text,
    });
    return undefined;
  }
  const box = await deps.secrets();
  let request: { url: string; headers: Record<string, string>; body: string };
  if ('slack_url_sealed' in target) {
    const url = await box.open(target.slack_url_sealed, slackUrlContext(alert.tenant_id, alert.id));
    request = {
      url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(renderSlack(fired, context)),
    };
  } else {
    if (alert.secret_sealed === undefined) return 'the alert has no signing secret';
    const secret = await box.open(alert.secret_sealed, alertSecretContext(alert.tenant_id, alert.id));
    const body = JSON.stringify(renderWebhook(fired));
    const id = `msg_${message.fire_id}-${message.target}`;
    const timestamp = Math.floor(deps.now() / 1000);
    request = {
      url: target.webhook_url,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secret, id, timestamp, body),
      },
      body,
    };
  }
  const answer = await deps.poster.post(request);
  return answer.status >= 200 && answer.status < 300
    ? undefined
    : `HTTP ${answer.status}: ${answer.body.slice(0, 512)}`;
};

/** Sends one notification; a failure is retried by a delayed message, the last one recorded on the alert. */
export const deliverAlertNotification = async (
  message: AlertNotification,
  deps: AlertNotifyDeps,
): Promise<NotifyResult> => {
  const alert = await deps.alerts.get(message.tenant_id, message.alert_id);
  const target = alert?.notify[message.target];
  if (alert === null || target === undefined) return 'gone';
  const nowMs = deps.now();
  const loaded = await Promise.all(
    message.fire.events.map((id) => deps.store.get(alert.tenant_id, id, nowMs)),
  );
  const fired: FiredAlert = {
    alert: { id: alert.id, name: alert.name, match: alert.rule.match },
    fire: message.fire,
    events: loaded.filter((e): e is StoredEvent => e !== null),
    fired_at: message.fired_at,
  };
  let error: string | undefined;
  try {
    error = await sendTo(deps, alert, target, message, fired);
  } catch (cause) {
    const kind = (cause as { kind?: string }).kind;
    error = `${kind ?? (cause instanceof Error ? cause.name : 'Error')}: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
  if (error === undefined) return 'delivered';
  if (message.attempt + 1 < MAX_NOTIFY_ATTEMPTS) {
    const delay = Math.min(900, (deps.retryBaseSeconds ?? 2) * 2 ** message.attempt);
    await deps.queue.send({ ...message, attempt: message.attempt + 1 }, delay);
    return 'retrying';
  }
  deps.failed?.();
  await deps.alerts.update(alert.tenant_id, alert.id, {
    last_error: error.slice(0, 1024),
    last_error_at: iso(nowMs),
  });
  return 'failed';
};
