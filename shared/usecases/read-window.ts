/**
 * The time window a read may cover: what the caller asked for, never older than the tenant's
 * CURRENT retention. Every read path (event lists, event reads, exports — sync, queued, and each
 * resumed invocation of a long one) clamps with it, so a shortened retention hides older events at
 * once, before the backfill has re-timed their TTL. Pure.
 */
import type { TimeWindow } from '../domain/query.ts';
import { retentionWindowStartMs } from '../domain/retention.ts';

/** Oldest occurred_at (ISO) the retention keeps at `nowMs`; '' when retention is unlimited. */
export const retentionFloor = (retentionDays: number | null, nowMs: number): string => {
  const start = retentionWindowStartMs(nowMs, retentionDays);
  return Number.isFinite(start) ? new Date(start).toISOString() : '';
};

/**
 * `window` with its start raised to the retention floor; null when nothing of it is left (the
 * whole window is older than the retention keeps).
 */
export const clampToRetention = (
  window: TimeWindow,
  retentionDays: number | null,
  nowMs: number,
): TimeWindow | null => {
  const floor = retentionFloor(retentionDays, nowMs);
  const from = floor > window.from ? floor : window.from;
  return from > window.to ? null : { from, to: window.to };
};
