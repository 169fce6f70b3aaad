/**
 * The integrity API: the public key digests are signed with, a tenant's digests for a time range,
 * and an event's inclusion proof (the digest that covers it and the RFC 6962 audit path from its
 * leaf to that digest's signed root). All tenant-scoped by the reader's tenant; a proof is of an
 * event the reader may see (getEvent: a team admin's teams only).
 */
import * as z from 'zod';
import { eventLeaf, type SignedDigest } from '../domain/digest.ts';
import { inclusionProof, merkleRoot } from '../domain/merkle.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { getEvent, type Reader, readerScope } from './events.ts';
import { parseInput } from './parse-input.ts';
import type { EventStore } from './ports/events.ts';
import type { DigestStore, PublicKeyInfo, Signer } from './ports/integrity.ts';

export interface IntegrityDeps {
  store: EventStore;
  digests: DigestStore;
  signer: Signer;
  now: () => number;
}

export const MAX_DIGESTS_PER_PAGE = 1000;

const isoTime = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp' });
/** Query of `GET /v1/integrity/digests` (the contract documents it from this schema). */
export const digestsQuerySchema = z.strictObject({ from: isoTime.optional(), to: isoTime.optional() });

export const publicKey = (deps: Pick<IntegrityDeps, 'signer'>): Promise<PublicKeyInfo> =>
  deps.signer.publicKey();

/** Digests whose interval ends in [from, to] (default: the last 24 hours), oldest first. */
export const listDigests = async (
  deps: IntegrityDeps,
  principal: Reader,
  query: Record<string, string>,
): Promise<{ data: SignedDigest[]; next: string | null }> => {
  // Digests reveal each interval's event count across every team: not for a team admin.
  if (readerScope(principal) !== null)
    throw new ForbiddenError(
      'Digests are for roles that see the whole workspace; verify your own events with their proofs.',
    );
  const window = parseInput(digestsQuerySchema, query);
  const to = new Date(window.to ?? new Date(deps.now()).toISOString()).toISOString();
  const from = new Date(window.from ?? new Date(Date.parse(to) - 86_400_000).toISOString()).toISOString();
  if (from > to) throw new ValidationError([{ field: 'from', message: 'must not be after `to`' }]);
  const page = await deps.digests.list(principal.tenantId, from, to, MAX_DIGESTS_PER_PAGE + 1);
  const data = page.slice(0, MAX_DIGESTS_PER_PAGE);
  const last = data.at(-1);
  // The next page starts just after the last digest's end.
  const next =
    page.length > MAX_DIGESTS_PER_PAGE && last !== undefined
      ? new Date(Date.parse(last.interval.end) + 1).toISOString()
      : null;
  return { data, next };
};

export interface InclusionProof {
  event_id: string;
  event_hash: string;
  leaf_index: number;
  tree_size: number;
  /** Hex sibling hashes, from the leaf up. */
  audit_path: string[];
  digest: SignedDigest;
}

export const proveEvent = async (
  deps: IntegrityDeps,
  principal: Reader,
  eventId: string,
): Promise<InclusionProof> => {
  const event = await getEvent(deps, principal, eventId);
  const digest = await deps.digests.covering(principal.tenantId, event.received_at);
  if (digest === null) {
    throw new NotFoundError(
      'This event is not sealed yet: digests are made every few minutes, once no write can still land in their interval.',
    );
  }
  // The leaves as sealed (kept with the digest): the proof does not depend on which of the
  // interval's other events are still in the hot store.
  const hashes = await deps.digests.leaves(principal.tenantId, digest.sequence);
  const leaves = hashes.map(eventLeaf);
  const index = hashes.indexOf(event.hash);
  if (
    index < 0 ||
    hashes.length !== digest.event_count ||
    merkleRoot(leaves).toString('hex') !== digest.merkle_root
  ) {
    // The stored event no longer matches what was sealed: the integrity scan alarms on it.
    throw new ConflictError('This event no longer matches the hash that was sealed for it.');
  }
  return {
    event_id: event.id,
    event_hash: event.hash,
    leaf_index: index,
    tree_size: hashes.length,
    audit_path: inclusionProof(leaves, index).map((hash) => hash.toString('hex')),
    digest,
  };
};
