/**
 * The console's Verify, in the browser: from the event as the page shows it, its inclusion proof
 * (`GET /v1/events/{id}/proof`) and the published key (`GET /v1/integrity/public-key`), checks
 * that the event is unchanged since it was sealed, that the proof leads to the digest's signed
 * Merkle root, and that the digest's signature is valid under that key. The same rules as
 * shared/domain (event.ts hashEvent, merkle.ts, digest.ts), re-done with WebCrypto because those
 * use node:crypto: RFC 8785 canonical JSON, SHA-256, RFC 9162 leaves and nodes, ECDSA P-256.
 * The proof's own `event_hash` is never trusted: the leaf is built from the recomputed hash.
 */
import canonicalize from 'canonicalize';
import type { InclusionProof, PublicKey, SignedDigest, StoredEvent } from '../../client/types.ts';
import { INTEGRITY } from '../../shared/config/integrity.ts';
import { MANIFEST } from '../../shared/config/manifest.ts';

/** The checks, in the order they run. */
export type VerifyStepName = 'event-hash' | 'inclusion' | 'signature' | 'key';

export interface VerifyStep {
  readonly step: VerifyStepName;
  readonly ok: boolean;
  /** What was checked and what was found, for people. */
  readonly message: string;
}

/** What a verification found: every step, and the first that failed. */
export interface VerifyResult {
  readonly status: 'verified' | 'failed';
  readonly steps: readonly VerifyStep[];
  /** The first step that failed; null when verified. */
  readonly failedStep: VerifyStepName | null;
  readonly digest: { readonly sequence: number; readonly sealedAt: string; readonly signingKeyId: string };
  /** SHA-256 (hex) of the published key's DER SubjectPublicKeyInfo, as the offline verifier prints it. */
  readonly fingerprint: string | null;
  /** The event's hash as recomputed here. */
  readonly eventHash: string;
}

/** An event received but not yet in any digest: when it should be. */
export interface PendingResult {
  readonly status: 'pending';
  readonly message: string;
  /** When a digest should cover the event (RFC 3339). */
  readonly retryAfter: string;
  readonly sealEveryMinutes: number;
}

export interface VerifyInput {
  readonly event: StoredEvent;
  readonly proof: InclusionProof;
  /** The digest the proof names (default: `proof.digest`). */
  readonly digest?: SignedDigest;
  readonly publicKey: Pick<PublicKey, 'key_id' | 'public_key_pem'>;
}

/** The headline of each failing step. */
export const FAILURE_HEADLINES: Record<VerifyStepName, string> = {
  'event-hash': 'The event changed since it was sealed',
  inclusion: 'The proof does not lead to the signed root',
  signature: "The digest's signature is invalid",
  key: 'The digest was not signed with the published key',
};

/** How sealing is paced: the sealer's schedule and how long an interval waits before it is sealed. */
export interface SealingPace {
  readonly everyMinutes: number;
  readonly watermarkLagSeconds: number;
}

/** The defaults of a deployment (manifest and shared/config/integrity.ts). */
export const DEFAULT_SEALING: SealingPace = {
  everyMinutes: MANIFEST.sealer.schedule.rateMinutes,
  watermarkLagSeconds: INTEGRITY.watermarkLagSeconds,
};

// Named from the global so the module type-checks under both the DOM lib and Node's globals.
type Subtle = typeof globalThis.crypto.subtle;
type VerifyKey = Awaited<ReturnType<Subtle['importKey']>>;

const subtle = (): Subtle => {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) throw new Error('WebCrypto is not available (the console needs a secure context)');
  return api;
};

const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const isHexHash = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

const fromHex = (hex: string): Uint8Array<ArrayBuffer> => {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
};

const fromBase64 = (base64: string): Uint8Array<ArrayBuffer> => {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
};

const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

export const sha256 = async (data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> =>
  new Uint8Array(await subtle().digest('SHA-256', data));

const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

/** RFC 8785 canonical JSON as UTF-8 bytes. */
const canonicalBytes = (value: unknown): Uint8Array<ArrayBuffer> => {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('the value cannot be written as canonical JSON');
  return utf8(text);
};

/** shared/domain/event.ts hashEvent: SHA-256 (hex) of the canonical JSON without `expires_at` and `hash`. */
export const hashEvent = async (event: object): Promise<string> => {
  const { expires_at: _expires, hash: _hash, ...covered } = event as Record<string, unknown>;
  return toHex(await sha256(canonicalBytes(covered)));
};

/** RFC 9162 §2.1.1: SHA-256(0x00 ‖ data). */
export const leafHash = (data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> =>
  sha256(concat(Uint8Array.of(0x00), data));

/** RFC 9162 §2.1.1: SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Promise<Uint8Array<ArrayBuffer>> =>
  sha256(concat(Uint8Array.of(0x01), left, right));

/** shared/domain/digest.ts eventLeaf: the leaf of the 32 bytes of the event's SHA-256. */
export const eventLeaf = (eventHash: string): Promise<Uint8Array<ArrayBuffer>> => {
  if (!isHexHash(eventHash)) throw new Error('an event hash is 64 lower-case hex digits');
  return leafHash(fromHex(eventHash));
};

/**
 * RFC 9162 §2.1.3.2: the root the audit path leads to from `leaf` at `index` in a tree of `size`
 * leaves, or null when the path cannot belong to such a tree (wrong length, index out of range).
 */
export const rootFromInclusionProof = async (
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Promise<Uint8Array | null> => {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  // Tree sizes stay far below 2^31 (≤ 65,536 leaves a digest), so bitwise steps are exact.
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
};

/** The DER bytes of a PEM `PUBLIC KEY` (SubjectPublicKeyInfo). */
export const pemToDer = (pem: string): Uint8Array<ArrayBuffer> => {
  const match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  if (match?.[1] === undefined) throw new Error('the key is not a PEM public key');
  return fromBase64(match[1].replace(/\s+/g, ''));
};

/**
 * An ASN.1 DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }), as KMS and node:crypto write
 * it, as the IEEE P1363 r ‖ s (32 bytes each for P-256) that WebCrypto verifies; null when the
 * bytes are not such a signature.
 */
export const derToP1363 = (der: Uint8Array, size = 32): Uint8Array<ArrayBuffer> | null => {
  let offset = 0;
  const readLength = (): number | null => {
    const first = der[offset++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    if (first !== 0x81) return null; // a P-256 signature is under 256 bytes
    const length = der[offset++];
    return length === undefined || length < 0x80 ? null : length;
  };
  if (der[offset++] !== 0x30) return null;
  const total = readLength();
  if (total === null || offset + total !== der.length) return null;
  const out = new Uint8Array(2 * size);
  for (let i = 0; i < 2; i++) {
    if (der[offset++] !== 0x02) return null;
    const length = readLength();
    if (length === null || length === 0 || offset + length > der.length) return null;
    let integer = der.subarray(offset, offset + length);
    offset += length;
    if ((integer[0] ?? 0) & 0x80) return null; // negative: not a valid r or s
    while (integer.length > 1 && integer[0] === 0) integer = integer.subarray(1);
    if (integer.length > size) return null;
    out.set(integer, (i + 1) * size - integer.length);
  }
  return offset === der.length ? out : null;
};

/** shared/domain/digest.ts signingPayload: the canonical JSON of the digest without `signature`. */
export const signingPayload = (digest: SignedDigest): Uint8Array<ArrayBuffer> => {
  const { signature: _signature, ...unsigned } = digest;
  return canonicalBytes(unsigned);
};

/** The published key, imported for ECDSA P-256 verification, with its SHA-256 SPKI fingerprint. */
export const importPublicKey = async (pem: string): Promise<{ key: VerifyKey; fingerprint: string }> => {
  const key = await subtle().importKey('spki', pemToDer(pem), { name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'verify',
  ]);
  // Fingerprint of the key as re-encoded (canonical DER), as the offline verifier computes it.
  const spki = new Uint8Array(await subtle().exportKey('spki', key));
  return { key, fingerprint: toHex(await sha256(spki)) };
};

/** Whether `digest.signature` (base64 DER) is a valid ECDSA P-256 SHA-256 signature under `key`. */
export const verifyDigestSignature = async (digest: SignedDigest, key: VerifyKey): Promise<boolean> => {
  if (digest.signature_algorithm !== 'ECDSA_SHA_256' || typeof digest.signature !== 'string') return false;
  let der: Uint8Array;
  try {
    der = fromBase64(digest.signature);
  } catch {
    return false;
  }
  const signature = derToP1363(der);
  if (signature === null) return false;
  return subtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, signingPayload(digest));
};

const short = (hash: string) => `${hash.slice(0, 12)}…`;
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The event hash step: the hash recomputed from the event as shown against what was sealed. */
const checkEventHash = (event: StoredEvent, proof: InclusionProof, computed: string): VerifyStep => {
  const step = 'event-hash';
  if (proof.event_id !== event.id)
    return { step, ok: false, message: `The proof is for event ${proof.event_id}, not ${event.id}.` };
  if (computed !== event.hash || computed !== proof.event_hash)
    return {
      step,
      ok: false,
      message: `The event as shown hashes to ${short(computed)}, but ${short(proof.event_hash)} was sealed for it.`,
    };
  return {
    step,
    ok: true,
    message: `The event's content hashes to ${short(computed)}, the hash sealed for it.`,
  };
};

const checkInclusion = async (
  event: StoredEvent,
  proof: InclusionProof,
  digest: SignedDigest,
  computed: string,
): Promise<VerifyStep> => {
  const step = 'inclusion';
  const fail = (message: string): VerifyStep => ({ step, ok: false, message });
  if (digest.tenant_id !== event.tenant_id)
    return fail(`Digest ${digest.sequence} belongs to another tenant.`);
  if (!(event.received_at > digest.interval.start && event.received_at <= digest.interval.end))
    return fail(
      `Digest ${digest.sequence} covers events received in (${digest.interval.start}, ${digest.interval.end}], not this one (${event.received_at}).`,
    );
  if (proof.tree_size !== digest.event_count)
    return fail(
      `The proof is for a tree of ${proof.tree_size} events; digest ${digest.sequence} sealed ${digest.event_count}.`,
    );
  if (!proof.audit_path.every(isHexHash))
    return fail('The proof path holds a value that is not a SHA-256 hash.');
  const root = await rootFromInclusionProof(
    await eventLeaf(computed),
    proof.leaf_index,
    proof.tree_size,
    proof.audit_path.map(fromHex),
  );
  if (root === null)
    return fail(
      `The proof path (${proof.audit_path.length} hashes) cannot belong to position ${proof.leaf_index} of a tree of ${proof.tree_size}.`,
    );
  const hex = toHex(root);
  if (hex !== digest.merkle_root)
    return fail(
      `From this event, the proof path leads to ${short(hex)}, not to ${short(digest.merkle_root)}, digest ${digest.sequence}'s signed root.`,
    );
  return {
    step,
    ok: true,
    message: `From this event (position ${proof.leaf_index + 1} of ${proof.tree_size}), the proof path leads to ${short(hex)}, digest ${digest.sequence}'s signed root.`,
  };
};

/** Runs every check; the result lists each step and names the first that failed. */
export const verifyEvent = async (input: VerifyInput): Promise<VerifyResult> => {
  const { event, proof, publicKey } = input;
  const digest = input.digest ?? proof.digest;
  const computed = await hashEvent(event);
  const steps: VerifyStep[] = [checkEventHash(event, proof, computed)];
  steps.push(await checkInclusion(event, proof, digest, computed));

  let fingerprint: string | null = null;
  try {
    const imported = await importPublicKey(publicKey.public_key_pem);
    fingerprint = imported.fingerprint;
    const valid = await verifyDigestSignature(digest, imported.key);
    steps.push({
      step: 'signature',
      ok: valid,
      message: valid
        ? `Digest ${digest.sequence}'s ECDSA P-256 signature is valid under the published key.`
        : `Digest ${digest.sequence}'s signature is not a valid signature of its content under the published key.`,
    });
  } catch (error) {
    steps.push({
      step: 'signature',
      ok: false,
      message: `The published key cannot be used: ${errorText(error)}.`,
    });
  }

  const keyMatches = digest.signing_key_id === publicKey.key_id;
  steps.push({
    step: 'key',
    ok: keyMatches,
    message: keyMatches
      ? `Digest ${digest.sequence} names the published key ${publicKey.key_id}${fingerprint === null ? '' : ` (SHA-256 fingerprint ${fingerprint})`}.`
      : `Digest ${digest.sequence} names the signing key ${digest.signing_key_id}, but the published key is ${publicKey.key_id}.`,
  });

  const failed = steps.find((s) => !s.ok);
  return {
    status: failed === undefined ? 'verified' : 'failed',
    steps,
    failedStep: failed?.step ?? null,
    digest: { sequence: digest.sequence, sealedAt: digest.sealed_at, signingKeyId: digest.signing_key_id },
    fingerprint,
    eventHash: computed,
  };
};

/**
 * An event the proof route does not find sealed yet (404): an interval is sealed once no write can
 * still land in it (the watermark lag), at the sealer's next run.
 */
export const pendingResult = (
  event: Pick<StoredEvent, 'received_at'>,
  nowMs: number,
  pace: SealingPace = DEFAULT_SEALING,
): PendingResult => {
  const due = Date.parse(event.received_at) + (pace.watermarkLagSeconds + pace.everyMinutes * 60) * 1000;
  // Past the expected time (a sealer run late or failing): another run is the best estimate.
  const retryAfter = new Date(Math.max(due, nowMs + pace.everyMinutes * 60_000)).toISOString();
  return {
    status: 'pending',
    message: `An interval of events is sealed once no write can still land in it, ${Math.round(pace.watermarkLagSeconds / 60)} minutes after it ends.`,
    retryAfter,
    sealEveryMinutes: pace.everyMinutes,
  };
};
