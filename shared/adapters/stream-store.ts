/**
 * Stream records in the control table (`TENANT#<tenant>` / `STREAM#<stream id>`, keys from
 * shared/domain/control-keys.ts), each listed in the sparse `streams` index for the sweeper.
 * Changes are UpdateItems of the named fields only (a null clears a delivery-state field), so
 * the API's edits and the deliverer's delivery state (status, lease, last error) never overwrite
 * each other. The CRUD is the control table's one for tenant records (tenant-items.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STREAM_SK_PREFIX, streamKey, streamListing } from '../domain/control-keys.ts';
import type { StreamChanges, StreamRecord, StreamStore } from '../usecases/ports/streams.ts';
import { TenantItems } from './tenant-items.ts';

export class DynamoStreamStore implements StreamStore {
  readonly #items: TenantItems<StreamRecord>;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.#items = new TenantItems(client, tableName, {
      key: streamKey,
      skPrefix: STREAM_SK_PREFIX,
      listing: streamListing,
      placeholder: 's',
    });
  }

  create(record: StreamRecord): Promise<void> {
    return this.#items.create(record);
  }

  get(tenantId: string, streamId: string): Promise<StreamRecord | null> {
    return this.#items.get(tenantId, streamId);
  }

  list(tenantId: string): Promise<StreamRecord[]> {
    return this.#items.list(tenantId);
  }

  update(tenantId: string, streamId: string, changes: StreamChanges): Promise<StreamRecord | null> {
    return this.#items.update(tenantId, streamId, changes);
  }

  delete(tenantId: string, streamId: string): Promise<boolean> {
    return this.#items.delete(tenantId, streamId);
  }
}
