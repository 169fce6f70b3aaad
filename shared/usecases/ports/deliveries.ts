/**
 * Ports of the stream delivery pipeline (shared/usecases/deliveries.ts): the per-stream outbox
 * (DynamoDB OUTBOX_TABLE, shared/adapters/outbox-store.ts), the delivery state a deliverer writes
 * on a stream record (control table, shared/adapters/stream-state-store.ts), the delivery queue's
 * messages (SQS, shared/adapters/delivery-queue.ts) and the outbound POST (postGuarded). The
 * stream records themselves are the streams API's port (./streams.ts StreamStore).
 */
import type { DeliveryState } from '../../domain/delivery-state.ts';
import type { StoredEvent } from '../../domain/event.ts';
import type { StreamStatus } from '../../domain/stream-input.ts';
import type { AlertNotification } from './alerts.ts';
import type { DeliveryQueue, StreamRef } from './streams.ts';

/** One event waiting for one stream, in received_at order. */
export interface OutboxEntry {
  /** The item's sort key (`<received_at>#<event id>`), for deleting it once delivered. */
  key: string;
  event: StoredEvent;
}

export interface OutboxStore {
  /** Adds events to the stream's outbox; idempotent (the same event rewrites the same item). */
  put(ref: StreamRef, events: readonly StoredEvent[]): Promise<void>;
  /** The stream's oldest waiting events, at most `limit`, oldest first. */
  oldest(ref: StreamRef, limit: number): Promise<OutboxEntry[]>;
  /** Removes delivered (or dropped) entries. */
  remove(ref: StreamRef, keys: readonly string[]): Promise<void>;
  /** Whether anything waits for the stream (one key read). */
  hasEntries(ref: StreamRef): Promise<boolean>;
  /** Drops everything waiting for the stream (a disabled stream keeps no backlog); how many. */
  purge(ref: StreamRef): Promise<number>;
}

/** A message on the delivery queue (DELIVERY_QUEUE). */
export type DeliveryMessage =
  | ({ kind: 'wake' } & StreamRef)
  | ({
      kind: 'replay';
      /** The window of `received_at`, ISO, [from, to). */
      from: string;
      to: string;
      /** Where the previous page of the replay stopped (opaque to everyone but the use case). */
      cursor?: string;
    } & StreamRef);

/** A message on the delivery queue: a stream's turn, or one alert notification (./alerts.ts). */
export type DeliveryQueueMessage = DeliveryMessage | AlertNotification;

/** The delivery queue as the pipeline uses it: the streams API's port plus raw, delayed sends. */
export interface DeliveryMessageQueue extends DeliveryQueue {
  /** Sends `message`, visible after `delaySeconds` (0–900). */
  send(message: DeliveryQueueMessage, delaySeconds?: number): Promise<void>;
}

/** A stream as the sweeper sees it in the sparse `streams` index. */
export interface StreamListing extends StreamRef {
  status: StreamStatus;
  lease_until?: number;
  next_attempt_at?: string | null;
}

/** The delivery-state fields a deliverer writes (never the API's configuration fields). */
export type DeliveryStateFields = Omit<DeliveryState, 'status'> & {
  status: StreamStatus;
  lag_seconds: number;
};

export interface StreamStateStore {
  /**
   * Takes the stream's delivery lease until `untilMs` when nobody holds one (`lease_until` absent
   * or ≤ `nowMs`); false when another deliverer does, or the stream is gone.
   */
  acquireLease(ref: StreamRef, nowMs: number, untilMs: number): Promise<boolean>;
  /** Gives the lease up (only if still ours: `heldUntilMs` is what acquireLease set). */
  releaseLease(ref: StreamRef, heldUntilMs: number): Promise<void>;
  /**
   * Writes the delivery state. The status is written only while the stored one is `active` or
   * `failing` (a pause or a disable by the API in the meantime wins), except `disabled`, which
   * always is. Nothing is written for a stream deleted meanwhile.
   */
  record(ref: StreamRef, state: Partial<DeliveryStateFields>): Promise<void>;
  /** Every stream of every tenant (the sparse index), page by page. */
  listAll(): AsyncIterable<StreamListing>;
}

/** The outbound POST (postGuarded with the deployment's network policy). */
export interface DestinationPoster {
  post(request: {
    url: string;
    headers: Record<string, string>;
    body: string;
  }): Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

/** Aggregate metrics (no per-destination dimension: destinations are created at run time). */
export interface DeliveryMetrics {
  succeeded(events: number): void;
  failed(): void;
  disabled(): void;
  lag(seconds: number): void;
  written(entries: number): void;
}
