/**
 * In-memory fakes of the delivery pipeline's ports (shared/usecases/ports/deliveries.ts and the
 * stream records of ports/streams.ts), behaving as the DynamoDB adapters do: outbox entries sorted
 * by `<received_at>#<id>`, conditional leases, status writes that a pause wins over.
 */
import type { StoredEvent } from '#shared/domain/event.ts';
import type {
  DeliveryMessage,
  DeliveryStateFields,
  OutboxEntry,
  OutboxStore,
  StreamListing,
  StreamStateStore,
} from '#shared/usecases/ports/deliveries.ts';
import type { StreamRecord, StreamRef } from '#shared/usecases/ports/streams.ts';

const dest = (ref: StreamRef) => `${ref.tenant_id}#${ref.stream_id}`;

export class MemoryOutbox implements OutboxStore {
  readonly items = new Map<string, Map<string, StoredEvent>>();

  entries(ref: StreamRef): OutboxEntry[] {
    const items = this.items.get(dest(ref)) ?? new Map();
    return [...items.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, event]) => ({ key, event: structuredClone(event) }));
  }

  async put(ref: StreamRef, events: readonly StoredEvent[]): Promise<void> {
    const items = this.items.get(dest(ref)) ?? new Map();
    for (const event of events) items.set(`${event.received_at}#${event.id}`, structuredClone(event));
    this.items.set(dest(ref), items);
  }
  async oldest(ref: StreamRef, limit: number): Promise<OutboxEntry[]> {
    return this.entries(ref).slice(0, limit);
  }
  async remove(ref: StreamRef, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.items.get(dest(ref))?.delete(key);
  }
  async hasEntries(ref: StreamRef): Promise<boolean> {
    return (this.items.get(dest(ref))?.size ?? 0) > 0;
  }
  async purge(ref: StreamRef): Promise<number> {
    const size = this.items.get(dest(ref))?.size ?? 0;
    this.items.delete(dest(ref));
    return size;
  }
}

/** Stream records and their delivery state in one map, as they share one control-table item. */
export class MemoryStreams implements StreamStateStore {
  readonly records = new Map<string, StreamRecord>();

  add(record: StreamRecord): void {
    this.records.set(`${record.tenant_id}#${record.id}`, structuredClone(record));
  }
  of(ref: StreamRef): StreamRecord | undefined {
    return this.records.get(dest(ref));
  }

  async get(tenantId: string, streamId: string): Promise<StreamRecord | null> {
    const record = this.records.get(`${tenantId}#${streamId}`);
    return record === undefined ? null : structuredClone(record);
  }
  async list(tenantId: string): Promise<StreamRecord[]> {
    return [...this.records.values()].filter((r) => r.tenant_id === tenantId).map((r) => structuredClone(r));
  }

  async acquireLease(ref: StreamRef, nowMs: number, untilMs: number): Promise<boolean> {
    const record = this.of(ref);
    if (record === undefined || (record.lease_until !== undefined && record.lease_until > nowMs))
      return false;
    record.lease_until = untilMs;
    return true;
  }
  async releaseLease(ref: StreamRef, heldUntilMs: number): Promise<void> {
    const record = this.of(ref);
    if (record?.lease_until === heldUntilMs) delete record.lease_until;
  }
  async record(ref: StreamRef, state: Partial<DeliveryStateFields>): Promise<void> {
    const record = this.of(ref);
    if (record === undefined) return;
    const { status, ...fields } = state;
    Object.assign(record, fields);
    if (status === 'disabled' || (status !== undefined && ['active', 'failing'].includes(record.status)))
      record.status = status;
  }
  async *listAll(): AsyncIterable<StreamListing> {
    for (const record of this.records.values())
      yield {
        tenant_id: record.tenant_id,
        stream_id: record.id,
        status: record.status,
        ...(record.lease_until === undefined ? {} : { lease_until: record.lease_until }),
        ...(record.next_attempt_at ? { next_attempt_at: record.next_attempt_at } : {}),
      };
  }
}

export class MemoryQueue {
  readonly sent: Array<{ message: DeliveryMessage; delaySeconds: number }> = [];
  async send(message: DeliveryMessage, delaySeconds = 0): Promise<void> {
    this.sent.push({ message, delaySeconds });
  }
}
