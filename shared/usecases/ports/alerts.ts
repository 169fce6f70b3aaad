/**
 * Ports of the alerts: the alert records (control table, `TENANT#<tenant>` / `ALERT#<id>`,
 * shared/adapters/alert-store.ts), each carrying its rule (configuration, written by the alerts
 * API) and its evaluation state (written by the stream router and the sweeper, under a version
 * check so concurrent shards never overwrite each other's counts), and the notification messages
 * the router and sweeper queue for the deliverer.
 */
import type { AlertFire, AlertRule, AlertState } from '../../domain/alert-rules.ts';
import type { DestinationSecretContext } from './secret-box.ts';

/** A notify target as stored: a Slack URL is a credential (sealed); email and webhook URL are not. */
export type StoredNotifyTarget =
  | { email: string }
  | { slack_url_sealed: string; slack_host: string }
  | { webhook_url: string };

export interface AlertRecord {
  id: string;
  tenant_id: string;
  name: string;
  /** The rule as parsed (alert-rules.ts), without its notify targets (see `notify`). */
  rule: Omit<AlertRule, 'notify' | 'name'>;
  notify: StoredNotifyTarget[];
  /** The signing secret of its webhook_url targets, sealed (alertSecretContext). */
  secret_sealed?: string;
  created_at: string;
  updated_at: string;
  state: AlertState;
  /** Incremented by every state write (the router's and sweeper's conditional updates). */
  state_version: number;
  /** The last notification that could not be delivered after its retries (≤ 1 KiB), and when. */
  last_error?: string | null;
  last_error_at?: string | null;
  last_fired_at?: string | null;
}

export type AlertChanges = Partial<
  Pick<
    AlertRecord,
    'name' | 'rule' | 'notify' | 'secret_sealed' | 'updated_at' | 'last_error' | 'last_error_at'
  >
>;

export interface AlertStore {
  /** Stores a new alert; throws when its id exists. */
  create(record: AlertRecord): Promise<void>;
  get(tenantId: string, alertId: string): Promise<AlertRecord | null>;
  /** Every alert of the tenant, in id (creation) order. */
  list(tenantId: string): Promise<AlertRecord[]>;
  /** Sets configuration fields only (never the state); the alert after it, or null when absent. */
  update(tenantId: string, alertId: string, changes: AlertChanges): Promise<AlertRecord | null>;
  delete(tenantId: string, alertId: string): Promise<boolean>;
  /**
   * Writes the state when the stored `state_version` is still `expectedVersion` (then it becomes
   * expectedVersion + 1); false when another writer came first or the alert is gone.
   */
  saveState(tenantId: string, alertId: string, expectedVersion: number, state: AlertState): Promise<boolean>;
}

/** One notification of one fire to one target, queued for the deliverer. */
export interface AlertNotification {
  kind: 'alert';
  tenant_id: string;
  alert_id: string;
  /** Index into the alert's `notify` at fire time. */
  target: number;
  /** Stable per fire: the webhook-id of a webhook target, the same on every retry. */
  fire_id: string;
  fired_at: string;
  fire: AlertFire;
  /** 0 for the first attempt. */
  attempt: number;
}

export interface AlertNotificationQueue {
  send(message: AlertNotification, delaySeconds?: number): Promise<void>;
}

export const alertSecretContext = (tenantId: string, alertId: string): DestinationSecretContext => ({
  tenant_id: tenantId,
  destination_id: alertId,
  purpose: 'alert_webhook_secret',
});

export const slackUrlContext = (tenantId: string, alertId: string): DestinationSecretContext => ({
  tenant_id: tenantId,
  destination_id: alertId,
  purpose: 'slack_webhook_url',
});
