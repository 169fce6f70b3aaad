/**
 * Sealing (see shared/domain/digest.ts): for each tenant, the events received since its last
 * digest and before the watermark (now − INTEGRITY.watermarkLagSeconds, after which no write can
 * still land in the interval) become the next digest of its chain: Merkle root, count, first and
 * last event, the previous digest's hash, signed. An interval holds at most maxLeavesPerDigest
 * events (a busy tenant gets several digests per run); a tenant with nothing new gets a digest
 * only every heartbeatHours, so silence is sealed too. Every event is sealed exactly once: each
 * stored event has one `received_at`, and intervals are contiguous and never reopened.
 */
import { INTEGRITY } from '../config/integrity.ts';
import { buildDigestBody, digestHash, type SignedDigest, signingPayload } from '../domain/digest.ts';
import type { ControlStore } from './ports/control.ts';
import type { DigestStore, SealStore, Signer } from './ports/integrity.ts';

export interface SealDeps {
  control: ControlStore;
  events: SealStore;
  digests: DigestStore;
  signer: Signer;
  now: () => number;
  /** Overrides for tests and the local runtime (defaults: INTEGRITY). */
  watermarkLagMs?: number;
  maxLeaves?: number;
  heartbeatMs?: number;
}

export interface TenantSealResult {
  digests: number;
  events: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Seals one tenant up to the watermark, while `remainingMs()` allows. */
export const sealTenant = async (
  deps: SealDeps,
  tenantId: string,
  remainingMs: () => number,
  reserveMs: number,
): Promise<TenantSealResult> => {
  const tenant = await deps.control.getTenant(tenantId, true);
  if (tenant === null) return { digests: 0, events: 0 };
  const lagMs = deps.watermarkLagMs ?? INTEGRITY.watermarkLagSeconds * 1000;
  const maxLeaves = deps.maxLeaves ?? INTEGRITY.maxLeavesPerDigest;
  const heartbeatMs = deps.heartbeatMs ?? INTEGRITY.heartbeatHours * 3_600_000;
  const keyId = await deps.signer.keyId();
  let state = tenant.seal;
  const result = { digests: 0, events: 0 };

  while (remainingMs() >= reserveMs) {
    const watermark = iso(deps.now() - lagMs);
    const start = state?.end ?? tenant.created_at;
    if (start >= watermark) break;
    const found = await deps.events.receivedBetween(tenantId, tenant.shards, start, watermark, maxLeaves + 1);
    let end = watermark;
    let events = found;
    if (found.length > maxLeaves) {
      // Cut before the millisecond of the first event that does not fit, so no millisecond is split.
      const overflowAt = (found[maxLeaves] as { received_at: string }).received_at;
      end = iso(Date.parse(overflowAt) - 1);
      events = found.filter((event) => event.received_at <= end);
      if (events.length === 0) {
        // The first millisecond alone holds more than maxLeaves events: seal it whole, in one
        // larger digest, rather than split it.
        end = overflowAt;
        events = await deps.events.receivedBetween(
          tenantId,
          tenant.shards,
          start,
          end,
          Number.MAX_SAFE_INTEGER,
        );
      }
    }
    if (events.length === 0 && Date.parse(watermark) - Date.parse(start) < heartbeatMs) break;
    const body = buildDigestBody({
      tenantId,
      sequence: (state?.sequence ?? 0) + 1,
      start,
      end,
      events,
      previousDigestHash: state?.digest_hash ?? null,
      sealedAt: iso(deps.now()),
      signingKeyId: keyId,
    });
    const signed: SignedDigest = {
      ...body,
      signature: (await deps.signer.sign(signingPayload(body))).toString('base64'),
    };
    const stored = await deps.digests.save(
      signed,
      events.map((event) => event.hash),
      state,
    );
    state = { sequence: stored.sequence, end: stored.interval.end, digest_hash: digestHash(stored) };
    result.digests += 1;
    result.events += stored.event_count;
    if (found.length <= maxLeaves) break; // everything up to the watermark is sealed
  }
  return result;
};

/** One scheduled run: every tenant, while time lasts. */
export const sealAll = async (
  deps: SealDeps,
  remainingMs: () => number,
  reserveMs: number,
): Promise<{ tenants: number; digests: number; events: number; pending: number }> => {
  const tenants = await deps.control.listTenantIds();
  const totals = { tenants: 0, digests: 0, events: 0, pending: 0 };
  for (const [i, tenantId] of tenants.entries()) {
    if (remainingMs() < reserveMs) {
      totals.pending = tenants.length - i;
      break;
    }
    const sealed = await sealTenant(deps, tenantId, remainingMs, reserveMs);
    totals.tenants += 1;
    totals.digests += sealed.digests;
    totals.events += sealed.events;
  }
  return totals;
};
