/**
 * The polling feed (GET /v1/feed): a tenant's events in ascending `received_at` order, page by
 * page, under a cursor that never passes an event still being written (see shared/domain/feed.ts).
 * A feed never ends: an empty page means caught up, and its cursor is followed again later.
 *
 * Reading is audited without flooding the trail: a chain of cursors writes `audit_log.viewed`
 * when it starts (a call without a cursor) and then at most once per FEED_AUDIT_INTERVAL_MS while
 * it is followed; the time of its last record travels in the (encrypted) cursor.
 */
import type { CursorCodec } from '../domain/cursor.ts';
import type { StoredEvent } from '../domain/event.ts';
import {
  FEED_AUDIT_INTERVAL_MS,
  FEED_DEFAULT_LOOKBACK_MS,
  FEED_SPAN_MS,
  FEED_TIME_BUDGET_MS,
  feedCaughtUpKey,
  feedQuerySchema,
  feedStartKey,
  feedWatermark,
  fromCursorState,
  receivedAtOfKey,
  toCursorState,
} from '../domain/feed.ts';
import { BadRequestError, ValidationError } from '../errors.ts';
import type { KeyPrincipal } from './events.ts';
import { parseInput } from './parse-input.ts';
import type { FeedPage, FeedSource } from './ports/feed.ts';
import { retentionFloor } from './read-window.ts';

export interface FeedDeps {
  feed: FeedSource;
  cursors: CursorCodec;
  now: () => number;
  /** How far behind now the feed stops (default FEED_WATERMARK_LAG_MS, the sealer's lag). */
  watermarkLagMs?: number;
}

export interface FeedAnswer {
  data: StoredEvent[];
  next_cursor: string;
  /** Every event received at or before it is in this page or an earlier one of the chain. */
  watermark: string;
  /** Set when this call must write `audit_log.viewed`: why, and the window it started from. */
  audit: { feed: 'started' | 'continued'; from?: string } | null;
}

const earlier = (a: string, b: string): string => (a < b ? a : b);

export const readFeed = async (
  deps: FeedDeps,
  reader: KeyPrincipal,
  rawQuery: Record<string, string>,
): Promise<FeedAnswer> => {
  const query = parseInput(feedQuerySchema, rawQuery);
  const nowMs = deps.now();
  const now = new Date(nowMs).toISOString();
  const floor = retentionFloor(reader.retentionDays, nowMs);
  let after: string;
  let auditedAt: string;
  let audit: FeedAnswer['audit'] = null;
  if (query.cursor !== undefined) {
    if (query.from !== undefined)
      throw new ValidationError([
        { field: 'from', message: 'applies to the first call only; a cursor carries its own position' },
      ]);
    const state = deps.cursors.decode(reader.tenantId, query.cursor);
    const position = state === null ? null : fromCursorState(state);
    if (position === null)
      throw new BadRequestError('The cursor is invalid, or belongs to another query.', 'invalid-cursor');
    after = position.after;
    auditedAt = position.auditedAt;
    if (!(Date.parse(auditedAt) > nowMs - FEED_AUDIT_INTERVAL_MS)) {
      audit = { feed: 'continued' };
      auditedAt = now;
    }
  } else {
    const asked =
      query.from === undefined
        ? new Date(nowMs - FEED_DEFAULT_LOOKBACK_MS).toISOString()
        : new Date(query.from).toISOString();
    // Never older than the tenant's retention keeps (older events are expiring, as in GET /v1/events).
    const from = floor > asked ? floor : asked;
    after = feedStartKey(from);
    auditedAt = now;
    audit = { feed: 'started', from };
  }

  const watermark = feedWatermark(nowMs, deps.watermarkLagMs);
  // A cursor kept past the retention moves up to it: what lies below is expiring, and is not read.
  if (floor !== '' && after < feedStartKey(floor)) after = feedStartKey(floor);
  // The index is partitioned by the hour received: a page walks at most FEED_SPAN_MS of hours per
  // read, and reads the next span only while it has found nothing and has time left, so a cursor
  // far behind (an old `from`, a quiet tenant) costs a bounded request and always moves on.
  let position = after;
  let page: FeedPage = { keys: [], events: [] };
  for (;;) {
    const spanEnd = earlier(
      watermark,
      new Date(Date.parse(receivedAtOfKey(position)) + FEED_SPAN_MS).toISOString(),
    );
    page = await deps.feed.after(reader.tenantId, reader.shards, position, spanEnd, query.limit);
    const lastRead = page.keys.at(-1);
    // A short page read everything up to its span's end: the next read starts past it (so a
    // caught-up poller reads only what arrived since, never an empty stretch again).
    const reached = page.keys.length < query.limit ? feedCaughtUpKey(spanEnd) : (lastRead ?? position);
    if (reached > position) position = reached;
    if (page.keys.length > 0 || spanEnd === watermark || deps.now() - nowMs > FEED_TIME_BUDGET_MS) break;
  }
  return {
    data: page.events.filter((event) => event.occurred_at >= floor),
    next_cursor: deps.cursors.encode(reader.tenantId, toCursorState({ after: position, auditedAt })),
    watermark,
    audit,
  };
};
