/**
 * Signed, chained digests (the way CloudTrail digest files chain, with a Certificate Transparency
 * Merkle root inside). A digest covers the events a tenant's service received in an interval
 * (start, end] of `received_at`, as RFC 6962 leaves SHA-256(0x00 ‖ event hash) in `<received_at>#<id>`
 * order. Its signature covers the RFC 8785 canonical JSON of every other field; the next digest
 * carries the SHA-256 of this one (signature included), so a digest cannot be removed, replaced,
 * reordered or edited without breaking a signature or a link. Pure: shared by the sealer, the
 * API, the integrity scan and the offline verifier.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { sealSortKey } from './keys.ts';
import { type Hash, leafHash, merkleRoot } from './merkle.ts';

export const DIGEST_VERSION = 1;
export const SIGNATURE_ALGORITHM = 'ECDSA_SHA_256';

export interface EventRef {
  id: string;
  received_at: string;
}

export interface DigestBody {
  version: typeof DIGEST_VERSION;
  tenant_id: string;
  /** 1, 2, 3, … per tenant, without gaps. */
  sequence: number;
  /** The events received in (start, end]; the first digest starts at the tenant's creation. */
  interval: { start: string; end: string };
  event_count: number;
  first_event: EventRef | null;
  last_event: EventRef | null;
  /** Hex RFC 6962 root over the interval's events (SHA-256 of nothing when there are none). */
  merkle_root: string;
  /** Hex SHA-256 of the previous digest (signature included); null for the first. */
  previous_digest_hash: string | null;
  sealed_at: string;
  /** The signing key: a KMS key ARN in AWS, `local:<fingerprint>` locally. */
  signing_key_id: string;
  signature_algorithm: typeof SIGNATURE_ALGORITHM;
}

export interface SignedDigest extends DigestBody {
  /** Base64 DER ECDSA P-256 signature over `signingPayload(body)`. */
  signature: string;
}

/** The fields an event contributes to a digest. */
export interface SealedEvent {
  id: string;
  received_at: string;
  /** Hex SHA-256 of the event's canonical JSON. */
  hash: string;
}

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What is signed: the canonical JSON of the digest without its signature. */
export const signingPayload = (body: DigestBody): Buffer => {
  const { signature: _signature, ...unsigned } = body as DigestBody & { signature?: string };
  return Buffer.from(canonicalize(unsigned) ?? '', 'utf8');
};

/** The chain link: SHA-256 of the canonical JSON of the whole signed digest. */
export const digestHash = (digest: SignedDigest): string => sha256Hex(canonicalize(digest) ?? '');

export const isHexHash = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

/** The leaf of an event: RFC 6962 leaf hash of the 32 bytes of its SHA-256. */
export const eventLeaf = (eventHash: string): Hash => {
  if (!isHexHash(eventHash)) throw new Error('an event hash is 64 lower-case hex digits');
  return leafHash(Buffer.from(eventHash, 'hex'));
};

/** Events in leaf order: by received_at, then id. */
export const inLeafOrder = <T extends SealedEvent>(events: readonly T[]): T[] =>
  [...events].sort((a, b) => {
    const x = sealSortKey(a.received_at, a.id);
    const y = sealSortKey(b.received_at, b.id);
    return x < y ? -1 : x > y ? 1 : 0;
  });

/** The Merkle root (hex) of events, already in leaf order. */
export const rootOf = (ordered: readonly SealedEvent[]): string =>
  merkleRoot(ordered.map((event) => eventLeaf(event.hash))).toString('hex');

/** Whether an event received at `receivedAt` belongs to the digest's interval (start, end]. */
export const covers = (digest: Pick<DigestBody, 'interval'>, receivedAt: string): boolean =>
  receivedAt > digest.interval.start && receivedAt <= digest.interval.end;

/** The unsigned digest of `ordered` events (leaf order) for an interval. */
export const buildDigestBody = (input: {
  tenantId: string;
  sequence: number;
  start: string;
  end: string;
  events: readonly SealedEvent[];
  previousDigestHash: string | null;
  sealedAt: string;
  signingKeyId: string;
}): DigestBody => {
  const first = input.events[0];
  const last = input.events.at(-1);
  return {
    version: DIGEST_VERSION,
    tenant_id: input.tenantId,
    sequence: input.sequence,
    interval: { start: input.start, end: input.end },
    event_count: input.events.length,
    first_event: first === undefined ? null : { id: first.id, received_at: first.received_at },
    last_event: last === undefined ? null : { id: last.id, received_at: last.received_at },
    merkle_root: rootOf(input.events),
    previous_digest_hash: input.previousDigestHash,
    sealed_at: input.sealedAt,
    signing_key_id: input.signingKeyId,
    signature_algorithm: SIGNATURE_ALGORITHM,
  };
};

export const publicKeyFromPem = (pem: string): KeyObject => {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the public key is not an ECDSA P-256 key');
  }
  return key;
};

/** Whether the digest's signature is valid under `publicKey` (never throws on bad input). */
export const verifyDigestSignature = (digest: SignedDigest, publicKey: KeyObject): boolean => {
  try {
    if (digest.signature_algorithm !== SIGNATURE_ALGORITHM || typeof digest.signature !== 'string')
      return false;
    return verify(
      'sha256',
      signingPayload(digest),
      { key: publicKey, dsaEncoding: 'der' },
      Buffer.from(digest.signature, 'base64'),
    );
  } catch {
    return false;
  }
};

/**
 * Problems in a tenant's chain of digests (as given, expected in sequence order): a gap or a
 * reordering in the sequence, a previous-digest hash that does not match, an interval that does
 * not start where the previous one ended, a digest of another tenant. The first digest given is
 * trusted as the anchor unless it is sequence 1 (then it must have no predecessor).
 */
export const chainProblems = (digests: readonly SignedDigest[]): string[] => {
  const problems: string[] = [];
  digests.forEach((digest, i) => {
    const previous = digests[i - 1];
    const label = `digest ${digest.sequence}`;
    if (previous === undefined) {
      if (digest.sequence === 1 && digest.previous_digest_hash !== null) {
        problems.push(`${label}: the first digest names a previous digest`);
      }
      return;
    }
    if (digest.tenant_id !== previous.tenant_id) problems.push(`${label}: belongs to another tenant`);
    if (digest.sequence !== previous.sequence + 1) {
      problems.push(
        `${label}: follows digest ${previous.sequence} (expected ${previous.sequence + 1}): missing or reordered`,
      );
    }
    if (digest.previous_digest_hash !== digestHash(previous)) {
      problems.push(
        `${label}: previous_digest_hash does not match digest ${previous.sequence}: the chain is broken`,
      );
    }
    if (digest.interval.start !== previous.interval.end) {
      problems.push(
        `${label}: its interval starts at ${digest.interval.start}, not where digest ${previous.sequence} ended`,
      );
    }
  });
  return problems;
};
