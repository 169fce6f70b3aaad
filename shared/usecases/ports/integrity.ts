/**
 * Ports of sealing, the integrity scan and the integrity API: the events table by time of
 * receipt, the digests and the signing key. Implemented by DynamoSealStore, S3DynamoDigestStore,
 * KmsSigner and LocalSigner (shared/adapters/).
 */
import type { SealedEvent, SIGNATURE_ALGORITHM, SignedDigest } from '../../domain/digest.ts';
import type { SealState } from '../../domain/tenant.ts';

/** What the scan learns of one stored event: whether its document still hashes to its hash. */
export interface StoredHash {
  /** The stored `hash`. */
  hash: string;
  /** SHA-256 of the stored document (the canonical JSON that was hashed at ingest). */
  documentHash: string;
}

export interface SealStore {
  /**
   * Events received in (start, end], in leaf order, at most `limit` (the first ones), over every
   * one of the tenant's `shards`.
   */
  receivedBetween(
    tenantId: string,
    shards: number,
    start: string,
    end: string,
    limit: number,
  ): Promise<SealedEvent[]>;
  /** The stored hashes of events by id (absent ids are missing from the table). */
  storedHashes(tenantId: string, ids: readonly string[]): Promise<Map<string, StoredHash>>;
}

/** The tenant's chain moved while sealing (another sealer ran): nothing of this digest's record was written. */
export class ChainMovedError extends Error {
  constructor() {
    super("The tenant's digest chain moved while sealing (another sealer ran).");
    this.name = 'ChainMovedError';
  }
}

export interface DigestStore {
  /**
   * Stores the event hashes, then the digest (or, when one exists for this sequence already — a
   * run that died after writing it — returns that one, which then wins), then the record and the
   * chain state, conditioned on the chain still standing at `previous`: ChainMovedError otherwise.
   */
  save(
    digest: SignedDigest,
    eventHashes: readonly string[],
    previous: SealState | undefined,
  ): Promise<SignedDigest>;
  /** The event hashes (hex) of a digest, in leaf order, as sealed. */
  leaves(tenantId: string, sequence: number): Promise<string[]>;
  /** Digests whose interval ends in [from, to], ascending, at most `limit`. */
  list(tenantId: string, from: string, to: string, limit: number): Promise<SignedDigest[]>;
  /** The digest whose interval holds `receivedAt`, if sealed. */
  covering(tenantId: string, receivedAt: string): Promise<SignedDigest | null>;
  /** Digests ending strictly after `after` ('' = from the first), ascending, at most `limit`. */
  after(tenantId: string, after: string, limit: number): Promise<SignedDigest[]>;
}

export interface PublicKeyInfo {
  key_id: string;
  algorithm: typeof SIGNATURE_ALGORITHM;
  curve: 'P-256';
  public_key_pem: string;
}

export interface Signer {
  /** The id digests name as their `signing_key_id`. */
  keyId(): Promise<string>;
  /** DER ECDSA P-256 signature over SHA-256(payload). */
  sign(payload: Buffer): Promise<Buffer>;
  publicKey(): Promise<PublicKeyInfo>;
}
