/**
 * Ports of the streams: the stream records (control table, `TENANT#<tenant>` / `STREAM#<id>`,
 * shared/adapters/stream-store.ts) and the delivery queue that wakes a stream's deliverer or asks
 * it to replay a window (SQS, the delivery pipeline's adapter). The streams API
 * (shared/usecases/streams.ts) writes a stream's configuration; the delivery pipeline writes its
 * delivery state (status `failing`/`disabled`, `last_*`, `attempts`, `lease_until`, …).
 */
import type { StreamFilter, StreamStatus, StreamType } from '../../domain/stream-input.ts';
import type { DestinationSecretContext, SecretPurpose } from './secret-box.ts';

/** A stream as stored. Sealed secrets and tokens never leave the service. */
export interface StreamRecord {
  id: string;
  tenant_id: string;
  name: string;
  type: StreamType;
  url: string;
  /** Normalised (stream-input.ts `streamFilterSchema` output); null sends every event. */
  filter: StreamFilter | null;
  status: StreamStatus;
  created_at: string;
  updated_at: string;
  /** Webhook: the current signing secret, sealed (streamSecretContext). */
  secret_sealed?: string;
  /** Webhook, after a rotation: the previous secret, sealed, and until when deliveries sign with it too (ISO). */
  previous_secret_sealed?: string;
  previous_secret_until?: string;
  /** Splunk HEC / Datadog: the token, sealed. */
  token_sealed?: string;
  /**
   * Events received before this instant (ISO) are not delivered: set when a `disabled` stream is
   * resumed (a disabled stream keeps no backlog, SPEC). Absent: no such floor.
   */
  deliver_from?: string;
  last_delivered_at?: string | null;
  last_error?: string | null;
  last_error_at?: string | null;
  lag_seconds?: number | null;
  failing_since?: string | null;
  disabled_at?: string | null;
  disabled_reason?: string | null;
  attempts?: number;
  next_attempt_at?: string | null;
  /** Epoch ms: a deliverer holds the stream until then. */
  lease_until?: number;
}

/**
 * Fields the API may set: the configuration, and on resume (PATCH `status: "active"`) the
 * delivery state it restarts (delivery-state.ts resumedState; a disabled stream likewise).
 * Every other field is the deliverer's.
 */
export type StreamChanges = Partial<
  Pick<
    StreamRecord,
    | 'name'
    | 'url'
    | 'filter'
    | 'status'
    | 'token_sealed'
    | 'secret_sealed'
    | 'previous_secret_sealed'
    | 'previous_secret_until'
    | 'deliver_from'
    | 'updated_at'
    | 'attempts'
    | 'failing_since'
    | 'next_attempt_at'
    | 'disabled_at'
    | 'disabled_reason'
  >
>;

export interface StreamStore {
  /** Stores a new stream; throws when its id exists, changing nothing. */
  create(record: StreamRecord): Promise<void>;
  get(tenantId: string, streamId: string): Promise<StreamRecord | null>;
  /** Every stream of the tenant (a tenant has few), in id (creation) order. */
  list(tenantId: string): Promise<StreamRecord[]>;
  /**
   * Sets `changes` on an existing stream, leaving every other field (the deliverer's) as it is;
   * the stream after the change, or null when it does not exist.
   */
  update(tenantId: string, streamId: string, changes: StreamChanges): Promise<StreamRecord | null>;
  /** Deletes the stream; false when there was none. */
  delete(tenantId: string, streamId: string): Promise<boolean>;
}

/** Which stream a delivery message is about. */
export interface StreamRef {
  tenant_id: string;
  stream_id: string;
}

export interface DeliveryQueue {
  /** Asks the deliverer to deliver the stream's outbox now (or after `delaySeconds`, ≤ 900). */
  wake(ref: StreamRef, delaySeconds?: number): Promise<void>;
  /** Asks the deliverer to deliver the events received in [from, to) again (ISO timestamps). */
  replay(ref: StreamRef, window: { from: string; to: string }): Promise<void>;
}

/** What a stream's sealed credential is, by type. */
export const streamSecretPurpose = (type: StreamType): SecretPurpose =>
  type === 'webhook'
    ? 'webhook_signing_secret'
    : type === 'splunk_hec'
      ? 'splunk_hec_token'
      : 'datadog_api_key';

/**
 * The SecretBox context of a stream's credential (current and previous webhook secret alike):
 * sealed by the API, opened by the deliverer with exactly this.
 */
export const streamSecretContext = (
  tenantId: string,
  streamId: string,
  type: StreamType,
): DestinationSecretContext => ({
  tenant_id: tenantId,
  destination_id: streamId,
  purpose: streamSecretPurpose(type),
});

/** One POST to a stream's destination (the test delivery): the receiver's answer, or why there was none. */
export type DestinationPost = (request: {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: string;
}) => Promise<{ status: number; body: string } | { error: string }>;
