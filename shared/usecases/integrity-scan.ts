/**
 * Continuous verification: each tenant's digests are re-checked against the hot store, one after
 * the other from where the last run stopped: the digest's signature and its link to the previous
 * digest, the seal index's events of its interval against its count and Merkle root, and every
 * one of those events' stored document against its hash. A run verifies what sealing produced
 * since the previous run, well before any event of it can expire (hot retention is at least a
 * day; TTL-expired events would otherwise look missing). Any difference is a finding.
 */
import type { ControlStore } from '../adapters/control-store.ts';
import type { DigestStore } from '../adapters/digest-store.ts';
import type { SealStore } from '../adapters/seal-store.ts';
import type { Signer } from '../adapters/signer.ts';
import {
  chainProblems,
  publicKeyFromPem,
  rootOf,
  type SignedDigest,
  verifyDigestSignature,
} from '../domain/digest.ts';

export interface ScanDeps {
  control: ControlStore;
  seals: SealStore;
  digests: DigestStore;
  signer: Signer;
}

export interface ScanFinding {
  tenantId: string;
  sequence: number;
  problem: string;
}

export interface ScanResult {
  digests: number;
  events: number;
  findings: ScanFinding[];
}

/** Verifies one digest against the store; problems as readable sentences (ids, never content). */
export const verifyDigestAgainstStore = async (
  deps: ScanDeps,
  digest: SignedDigest,
  previous: SignedDigest | undefined,
  shards: number,
  publicKeyPem: string,
): Promise<{ problems: string[]; events: number }> => {
  const problems: string[] = [];
  if (!verifyDigestSignature(digest, publicKeyFromPem(publicKeyPem))) problems.push('signature invalid');
  if (previous !== undefined) problems.push(...chainProblems([previous, digest]));
  const events = await deps.seals.receivedBetween(
    digest.tenant_id,
    shards,
    digest.interval.start,
    digest.interval.end,
    digest.event_count + 1,
  );
  if (events.length !== digest.event_count) {
    problems.push(`${events.length} events stored for the interval, ${digest.event_count} sealed`);
  } else if (rootOf(events) !== digest.merkle_root) {
    problems.push('the stored events do not hash to the sealed Merkle root');
  }
  const stored = await deps.seals.storedHashes(
    digest.tenant_id,
    events.map((e) => e.id),
  );
  for (const event of events) {
    const item = stored.get(event.id);
    if (item === undefined) problems.push(`event ${event.id}: missing from the table`);
    else if (item.hash !== event.hash || item.documentHash !== event.hash) {
      problems.push(`event ${event.id}: stored content does not match its sealed hash`);
    }
  }
  return { problems, events: events.length };
};

export const scanTenant = async (
  deps: ScanDeps,
  tenantId: string,
  remainingMs: () => number,
  reserveMs: number,
  batch = 20,
): Promise<ScanResult> => {
  const result: ScanResult = { digests: 0, events: 0, findings: [] };
  const tenant = await deps.control.getTenant(tenantId, true);
  if (tenant?.seal === undefined) return result;
  const publicKeyPem = (await deps.signer.publicKey()).public_key_pem;
  let through = tenant.scanned_through ?? '';
  let previous: SignedDigest | undefined;
  if (through !== '') [previous] = await deps.digests.list(tenantId, through, through, 1);
  while (remainingMs() >= reserveMs) {
    const digests = await deps.digests.after(tenantId, through, batch);
    if (digests.length === 0) break;
    for (const digest of digests) {
      if (remainingMs() < reserveMs) break;
      const { problems, events } = await verifyDigestAgainstStore(
        deps,
        digest,
        previous,
        tenant.shards,
        publicKeyPem,
      );
      result.findings.push(...problems.map((problem) => ({ tenantId, sequence: digest.sequence, problem })));
      result.digests += 1;
      result.events += events;
      previous = digest;
      through = digest.interval.end;
      await deps.control.updateTenant(tenantId, {
        scanned_through: through,
        scanned_sequence: digest.sequence,
      });
    }
  }
  return result;
};

export const scanAll = async (
  deps: ScanDeps,
  remainingMs: () => number,
  reserveMs: number,
): Promise<ScanResult> => {
  const total: ScanResult = { digests: 0, events: 0, findings: [] };
  for (const tenantId of await deps.control.listTenantIds()) {
    if (remainingMs() < reserveMs) break;
    const result = await scanTenant(deps, tenantId, remainingMs, reserveMs);
    total.digests += result.digests;
    total.events += result.events;
    total.findings.push(...result.findings);
  }
  return total;
};
