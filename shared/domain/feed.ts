/**
 * The polling feed (GET /v1/feed): its query, its cursor and its watermark. A feed reads a
 * tenant's events in `received_at` order (the `bySeal` index's `<received_at>#<id>`), never past
 * the watermark — the newest `received_at` no ingest can still be writing an event under — so a
 * cursor that moved past a key never has an event appear behind it later. Pure.
 */
import * as z from 'zod';
import { INTEGRITY } from '../config/integrity.ts';
import type { CursorState } from './cursor.ts';
import { sealSortKey } from './keys.ts';

export const FEED_MAX_LIMIT = 1000;
export const FEED_DEFAULT_LIMIT = 100;
/** Where a first call without `from` starts: this long before now (streams' replay covers older). */
export const FEED_DEFAULT_LOOKBACK_MS = 24 * 3_600_000;
/**
 * A chain of cursors writes `audit_log.viewed` when it starts and again at most this often while
 * it is followed: a SIEM polling every few seconds leaves one trail event an hour, not thousands.
 */
export const FEED_AUDIT_INTERVAL_MS = 3_600_000;
/**
 * How far behind now the feed stops: the sealer's watermark lag (the longest-running function
 * that writes events, plus a minute), derived from the manifest so the two cannot drift.
 */
export const FEED_WATERMARK_LAG_MS = INTEGRITY.watermarkLagSeconds * 1000;

/** Arrival time one read of a page walks at most (the index holds one partition per shard and hour). */
export const FEED_SPAN_MS = 7 * 24 * 3_600_000;
/** A page that found nothing reads further spans for at most this long (well within the route's 29 s). */
export const FEED_TIME_BUDGET_MS = 5_000;

/** Binds a cursor to the feed: an events-list cursor never opens here, nor the reverse. */
export const FEED_FINGERPRINT = 'feed:v1';

export const feedQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,7}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.int().min(1, 'must be at least 1').max(FEED_MAX_LIMIT, `must be at most ${FEED_MAX_LIMIT}`))
    .default(FEED_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(4096).optional(),
  from: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' }).optional(),
});

export type FeedQuery = z.infer<typeof feedQuerySchema>;

/** Where a feed stands: after which seal key it continues, and when its reader was last audited. */
export interface FeedPosition {
  /** `<received_at>#<id>` of the last event returned (or a bound no event can sort below). */
  after: string;
  /** ISO time of the chain's last `audit_log.viewed`. */
  auditedAt: string;
}

/** The watermark at `nowMs` (ISO): every event received at or before it is already stored. */
export const feedWatermark = (nowMs: number, lagMs: number = FEED_WATERMARK_LAG_MS): string =>
  new Date(nowMs - lagMs).toISOString();

/** A seal key below every key of `receivedAt`'s millisecond: where a feed `from` that time starts. */
export const feedStartKey = (fromIso: string): string =>
  sealSortKey(new Date(Date.parse(fromIso) - 1).toISOString(), '\uffff');

/** A seal key above every key up to and including the watermark's millisecond: a caught-up position. */
export const feedCaughtUpKey = (watermark: string): string => sealSortKey(watermark, '\uffff');

/** The `received_at` of a seal key (event ids never hold `#`). */
export const receivedAtOfKey = (key: string): string => key.slice(0, key.indexOf('#'));

/** The feed's cursor in the codec's state (the codec's `from`/`to` carry the audit time). */
export const toCursorState = (position: FeedPosition): CursorState => ({
  position: position.after,
  from: position.auditedAt,
  to: position.auditedAt,
  filters: FEED_FINGERPRINT,
});

/** The feed position of a decoded cursor; null when it is no feed cursor. */
export const fromCursorState = (state: CursorState): FeedPosition | null =>
  state.filters === FEED_FINGERPRINT && state.position.includes('#')
    ? { after: state.position, auditedAt: state.from }
    : null;
