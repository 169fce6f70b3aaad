/**
 * The feed's source: the events table's `bySeal` index (partition `<tenant>#<shard>#<UTC hour
 * received>`, sorted by `<received_at>#<id>`) through the sealer's DynamoSealStore — the same
 * shard-merging reader the digests and the stream replay use — and the stored documents by key.
 */
import { ENV } from '../config/env.ts';
import { FEED_WATERMARK_LAG_MS } from '../domain/feed.ts';
import { sealSortKey } from '../domain/keys.ts';
import type { FeedSource } from '../usecases/ports/feed.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoSealStore } from './seal-store.ts';

export const feedSourceOver = (seals: DynamoSealStore): FeedSource => ({
  after: async (tenantId, shards, afterKey, until, limit) => {
    const sealed = await seals.receivedAfterKey(tenantId, shards, afterKey, until, limit);
    const stored = await seals.storedEvents(
      tenantId,
      sealed.map((leaf) => leaf.id),
    );
    return {
      keys: sealed.map((leaf) => sealSortKey(leaf.received_at, leaf.id)),
      events: sealed.flatMap((leaf) => {
        const event = stored.get(leaf.id);
        return event === undefined ? [] : [event];
      }),
    };
  },
});

export const feedSource = (): FeedSource =>
  feedSourceOver(new DynamoSealStore(dynamoDocumentClient(), requiredEnv(ENV.eventsTable)));

/**
 * The feed's watermark lag: the sealer's. The local runtime may shorten it for tests through the
 * same variable as the sealer's and the exports' cut-off; AWS never sets it (INTEGRITY's applies).
 */
export const feedWatermarkLagMs = (env: NodeJS.ProcessEnv = process.env): number => {
  const raw = env[ENV.sealWatermarkLagMs];
  const value = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(value) && value >= 0
    ? value
    : FEED_WATERMARK_LAG_MS;
};
