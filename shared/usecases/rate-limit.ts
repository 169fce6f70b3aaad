/**
 * The per-tenant request rate limiter of one authorizer instance (see shared/domain/rate-limit.ts
 * for the scheme). It decides from what it knows at once and brings its knowledge up to date with
 * the shared counter only every `syncEveryMs`, or sooner when a burst has used a tenth of the
 * limit locally: at most a few counter writes per second per instance and tenant, whatever the
 * request rate. A counter that cannot be written fails open (the limit is a guard rail, not a
 * security boundary) and is retried with the next sync.
 */
import { admit, type RateDecision, type WindowCount, windowOf } from '../domain/rate-limit.ts';
import type { RateCounterStore } from './ports/rate-limit.ts';

export interface RateLimiterOptions {
  syncEveryMs?: number;
  /** Called when the shared counter could not be written (the request is admitted anyway). */
  onSyncError?: (error: unknown) => void;
  /** Tenants tracked at once before stale windows are dropped. */
  maxTenants?: number;
}

/**
 * An instance syncs early once it has admitted this share of the limit on its own: the most
 * each instance can over-admit before it learns the others' counts (10 %).
 */
const BURST_SHARE = 10;

interface TenantWindow extends WindowCount {
  lastSyncMs: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, TenantWindow>();
  private readonly syncEveryMs: number;
  private readonly maxTenants: number;

  constructor(
    private readonly store: RateCounterStore,
    private readonly options: RateLimiterOptions = {},
  ) {
    this.syncEveryMs = options.syncEveryMs ?? 250;
    this.maxTenants = options.maxTenants ?? 10_000;
  }

  async check(tenantId: string, limitRps: number, nowMs: number): Promise<RateDecision> {
    const state = this.windowFor(tenantId, nowMs);
    const burst = Math.max(1, Math.floor(limitRps / BURST_SHARE));
    if (state.unsynced > 0 && (nowMs - state.lastSyncMs >= this.syncEveryMs || state.unsynced >= burst)) {
      await this.sync(tenantId, state, nowMs);
    }
    return admit(state, limitRps, nowMs);
  }

  private windowFor(tenantId: string, nowMs: number): TenantWindow {
    const window = windowOf(nowMs);
    const current = this.windows.get(tenantId);
    if (current !== undefined && current.window === window) return current;
    if (this.windows.size >= this.maxTenants) {
      for (const [id, w] of this.windows) if (w.window !== window) this.windows.delete(id);
    }
    // The last sync of the previous window tells nothing about this one; counts start afresh.
    const fresh: TenantWindow = { window, shared: 0, unsynced: 0, lastSyncMs: nowMs };
    this.windows.set(tenantId, fresh);
    return fresh;
  }

  private async sync(tenantId: string, state: TenantWindow, nowMs: number): Promise<void> {
    const count = state.unsynced;
    // Requests admitted while the write is in flight (concurrent callers) stay unsynced.
    state.unsynced -= count;
    state.lastSyncMs = nowMs;
    try {
      const total = await this.store.add(tenantId, state.window, count);
      state.shared = Math.max(state.shared + count, total);
    } catch (error) {
      state.unsynced += count;
      this.options.onSyncError?.(error);
    }
  }
}
