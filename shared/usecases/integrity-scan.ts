/**
 * Continuous verification: each tenant's digests are re-checked against the hot store, one after
 * the other from where the last run stopped: the digest's signature and its link to the previous
 * digest, the seal index's events of its interval against its count and Merkle root, and every
 * one of those events' stored document against its hash. A run verifies what sealing produced
 * since the previous run, well before any event of it can expire (hot retention is at least a
 * day; TTL-expired events would otherwise look missing). Any difference is a finding.
 */
import {
  chainProblems,
  eventLeaf,
  publicKeyFromPem,
  type SignedDigest,
  verifyDigestSignature,
} from '../domain/digest.ts';
import { merkleRoot } from '../domain/merkle.ts';
import type { ControlStore } from './ports/control.ts';
import type { DigestStore, SealStore, Signer } from './ports/integrity.ts';

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
  /** Sealed events no longer in the hot store (TTL, or a deletion the archiver flagged). */
  missing: number;
  findings: ScanFinding[];
}

/**
 * Verifies one digest against what is stored. Problems (tampering) as readable sentences — ids,
 * never content: a bad signature or chain link; sealed leaves that no longer hash to the signed
 * root; a stored event of the interval that is not among its leaves in order (inserted or
 * altered); an event whose stored document does not hash to its hash. Sealed events no longer
 * stored are only counted as `missing`: TTL removes events on their own schedule (an event that
 * occurred long ago expires soon after it was sealed), and a deletion by anyone else is flagged
 * from the stream by the archiver.
 */
export const verifyDigestAgainstStore = async (
  deps: ScanDeps,
  digest: SignedDigest,
  previous: SignedDigest | undefined,
  shards: number,
  publicKeyPem: string,
): Promise<{ problems: string[]; events: number; missing: number }> => {
  const problems: string[] = [];
  if (!verifyDigestSignature(digest, publicKeyFromPem(publicKeyPem))) problems.push('signature invalid');
  if (previous !== undefined) problems.push(...chainProblems([previous, digest]));
  const sealed = await deps.digests.leaves(digest.tenant_id, digest.sequence);
  if (
    sealed.length !== digest.event_count ||
    merkleRoot(sealed.map(eventLeaf)).toString('hex') !== digest.merkle_root
  ) {
    problems.push('the sealed leaves do not match the signed Merkle root');
  }
  const events = await deps.seals.receivedBetween(
    digest.tenant_id,
    shards,
    digest.interval.start,
    digest.interval.end,
    digest.event_count + 1,
  );
  // Stored events must be the sealed leaves, in order, with gaps only where events are gone.
  let next = 0;
  for (const event of events) {
    const at = sealed.indexOf(event.hash, next);
    if (at < 0)
      problems.push(`event ${event.id}: stored but not sealed in this interval (inserted or altered)`);
    else next = at + 1;
  }
  const stored = await deps.seals.storedHashes(
    digest.tenant_id,
    events.map((e) => e.id),
  );
  for (const event of events) {
    const item = stored.get(event.id);
    if (item !== undefined && (item.hash !== event.hash || item.documentHash !== event.hash)) {
      problems.push(`event ${event.id}: stored content does not match its sealed hash`);
    }
  }
  return { problems, events: events.length, missing: Math.max(0, sealed.length - events.length) };
};

export const scanTenant = async (
  deps: ScanDeps,
  tenantId: string,
  remainingMs: () => number,
  reserveMs: number,
  batch = 20,
): Promise<ScanResult> => {
  const result: ScanResult = { digests: 0, events: 0, missing: 0, findings: [] };
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
      const { problems, events, missing } = await verifyDigestAgainstStore(
        deps,
        digest,
        previous,
        tenant.shards,
        publicKeyPem,
      );
      result.findings.push(...problems.map((problem) => ({ tenantId, sequence: digest.sequence, problem })));
      result.digests += 1;
      result.events += events;
      result.missing += missing;
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
  const total: ScanResult = { digests: 0, events: 0, missing: 0, findings: [] };
  for (const tenantId of await deps.control.listTenantIds()) {
    if (remainingMs() < reserveMs) break;
    const result = await scanTenant(deps, tenantId, remainingMs, reserveMs);
    total.digests += result.digests;
    total.events += result.events;
    total.missing += result.missing;
    total.findings.push(...result.findings);
  }
  return total;
};
