import { describe, expect, it } from 'vitest';
import { feedWatermarkLagMs } from '#shared/adapters/feed-source.ts';
import { INTEGRITY } from '#shared/config/integrity.ts';
import {
  FEED_WATERMARK_LAG_MS,
  feedCaughtUpKey,
  feedStartKey,
  feedWatermark,
  fromCursorState,
  toCursorState,
} from '#shared/domain/feed.ts';
import { sealSortKey } from '#shared/domain/keys.ts';

describe('feed positions', () => {
  it('starts below every event of the `from` millisecond and above every earlier one', () => {
    const start = feedStartKey('2026-12-07T11:00:00.000Z');

    expect(sealSortKey('2026-12-07T11:00:00.000Z', 'a') > start).toBe(true);
    expect(sealSortKey('2026-12-07T10:59:59.999Z', 'zzzz') < start).toBe(true);
  });

  it('a caught-up position is above every event of the watermark millisecond and below the next', () => {
    const caughtUp = feedCaughtUpKey('2026-12-07T12:14:00.000Z');

    expect(sealSortKey('2026-12-07T12:14:00.000Z', 'zzzz') < caughtUp).toBe(true);
    expect(sealSortKey('2026-12-07T12:14:00.001Z', 'a') > caughtUp).toBe(true);
  });

  it('stays behind now by the sealer’s watermark lag', () => {
    expect(FEED_WATERMARK_LAG_MS).toBe(INTEGRITY.watermarkLagSeconds * 1000);
    expect(feedWatermark(Date.parse('2026-12-07T12:30:00.000Z'), 60_000)).toBe('2026-12-07T12:29:00.000Z');
  });

  it('takes the local runtime’s shortened lag only when it is set, else the sealer’s', () => {
    expect(feedWatermarkLagMs({ TRAILKEEPER_SEAL_WATERMARK_LAG_MS: '1500' })).toBe(1500);
    expect(feedWatermarkLagMs({})).toBe(FEED_WATERMARK_LAG_MS);
    expect(feedWatermarkLagMs({ TRAILKEEPER_SEAL_WATERMARK_LAG_MS: 'soon' })).toBe(FEED_WATERMARK_LAG_MS);
  });
});

describe('feed cursor state', () => {
  it('round-trips a feed position', () => {
    const position = {
      after: sealSortKey('2026-12-07T11:00:00.000Z', 'e1'),
      auditedAt: '2026-12-07T11:00:00.000Z',
    };

    expect(fromCursorState(toCursorState(position))).toEqual(position);
  });

  it('refuses the state of an events-list cursor', () => {
    const listState = {
      position: '2026-12-07T11:00:00.000Z#e1',
      from: 'a',
      to: 'b',
      filters: 'AbCdEfGhIjKlMnOpQrStUv',
    };

    expect(fromCursorState(listState)).toBeNull();
  });
});
