/**
 * The console's in-browser Verify (console/src/verify.ts, WebCrypto only), against digests and
 * proofs built by the shared domain code the sealer and the API use (buildStoredEvent,
 * buildDigestBody, inclusionProof, a P-256 key signing with node:crypto): it accepts what the
 * service produces and names the step that fails for each kind of tampering. A property test
 * holds its Merkle walk to shared/domain/merkle.ts over random trees.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INTEGRITY } from '#shared/config/integrity.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import {
  buildDigestBody,
  type DigestBody,
  eventLeaf as domainEventLeaf,
  inLeafOrder,
  type SignedDigest,
  signingPayload,
} from '#shared/domain/digest.ts';
import { buildStoredEvent, hashEvent as domainHashEvent, type StoredEvent } from '#shared/domain/event.ts';
import {
  rootFromInclusionProof as domainRoot,
  inclusionProof,
  leafHash,
  merkleRoot,
} from '#shared/domain/merkle.ts';
import { publicKeyFrom } from '#shared/domain/verify.ts';
import type { InclusionProof, PublicKey } from '../../client/types.ts';
import {
  DEFAULT_SEALING,
  derToP1363,
  eventLeaf,
  hashEvent,
  importPublicKey,
  pendingResult,
  rootFromInclusionProof,
  type VerifyInput,
  type VerifyResult,
  verifyEvent,
} from '../../console/src/verify.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const INTERVAL_MS = 5 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SERVICE_KEY = keyPair();
const OTHER_KEY = keyPair();
const pemOf = (key: KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString();
const derFingerprint = (key: KeyObject) =>
  createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
const KEY_ID = `local:${derFingerprint(SERVICE_KEY.publicKey).slice(0, 16)}`;
const PUBLISHED: PublicKey = {
  key_id: KEY_ID,
  algorithm: 'ECDSA_SHA_256',
  curve: 'P-256',
  public_key_pem: pemOf(SERVICE_KEY.publicKey),
};

const makeEvent = (n: number, receivedMs: number): StoredEvent => {
  const built = buildStoredEvent(
    {
      id: `evt-${String(n).padStart(4, '0')}`,
      action: n % 2 ? 'member.role_changed' : 'doc.shared',
      actor: { id: `u${n % 3}`, type: 'user', name: 'Zoë Ünal', email: 'zoe@example.com' },
      target: { type: 'member', id: `m${n}` },
      context: { ip: '203.0.113.7', user_agent: 'Mozilla/5.0' },
      metadata: { from: 'member', to: 'admin', n, note: '€ 𝄞 "quoted" \u2028', ratio: 0.1 + 0.2 },
    },
    { tenantId: TENANT, retentionDays: 365 },
    receivedMs,
    (value) => value,
  );
  if (!built.ok) throw new Error(JSON.stringify(built.errors));
  return built.event;
};

const signDigest = (body: DigestBody, key: KeyObject = SERVICE_KEY.privateKey): SignedDigest => ({
  ...body,
  signature: sign('sha256', signingPayload(body), { key, dsaEncoding: 'der' }).toString('base64'),
});

interface Sealed {
  events: StoredEvent[];
  digest: SignedDigest;
  /** The proof as `GET /v1/events/{id}/proof` answers it (shared/usecases/integrity.ts). */
  proofOf(event: StoredEvent): InclusionProof;
}

/** `count` events received in one interval, sealed and signed as the sealer does. */
const seal = (count: number, signingKeyId = KEY_ID): Sealed => {
  const events = inLeafOrder(
    Array.from({ length: count }, (_, j) => makeEvent(j, T0 + Math.round(((j + 1) * INTERVAL_MS) / count))),
  );
  const digest = signDigest(
    buildDigestBody({
      tenantId: TENANT,
      sequence: 7,
      start: iso(T0),
      end: iso(T0 + INTERVAL_MS),
      events,
      previousDigestHash: 'ab'.repeat(32),
      sealedAt: iso(T0 + INTERVAL_MS + 16 * 60_000),
      signingKeyId,
    }),
  );
  const leaves = events.map((e) => domainEventLeaf(e.hash));
  return {
    events,
    digest,
    proofOf: (event) => {
      const index = events.findIndex((e) => e.id === event.id);
      return {
        event_id: event.id,
        event_hash: event.hash,
        leaf_index: index,
        tree_size: events.length,
        audit_path: inclusionProof(leaves, index).map((h) => h.toString('hex')),
        digest,
      };
    },
  };
};

const at = <T>(list: readonly T[], i: number): T => {
  const item = list[i];
  if (item === undefined) throw new Error(`nothing at ${i}`);
  return item;
};

const flipHex = (hex: string, position = 0): string =>
  `${hex.slice(0, position)}${hex[position] === '0' ? '1' : '0'}${hex.slice(position + 1)}`;

const stepsOk = (result: VerifyResult) => Object.fromEntries(result.steps.map((s) => [s.step, s.ok]));

describe('console verify: the building blocks agree with shared/domain', () => {
  it('recomputes the hash hashEvent stored, from the event as the API shows it', async () => {
    const event = makeEvent(3, T0 + 1000);

    expect(await hashEvent(event)).toBe(domainHashEvent(event));
    expect(await hashEvent(event)).toBe(event.hash);
  });

  it('builds the leaf eventLeaf builds: SHA-256(0x00 ‖ the 32 hash bytes)', async () => {
    const hash = makeEvent(1, T0).hash;

    expect(Buffer.from(await eventLeaf(hash)).equals(domainEventLeaf(hash))).toBe(true);
    await expect(async () => eventLeaf('XYZ')).rejects.toThrow(/64 lower-case hex/);
  });

  it('fingerprints the key as the offline verifier does (SHA-256 of the SPKI DER)', async () => {
    const { fingerprint } = await importPublicKey(PUBLISHED.public_key_pem);

    expect(fingerprint).toBe(publicKeyFrom(PUBLISHED.public_key_pem).fingerprint);
    expect(fingerprint).toBe(derFingerprint(SERVICE_KEY.publicKey));
  });

  it('turns DER signatures into r ‖ s, short integers padded and sign bytes dropped', () => {
    // SEQUENCE { INTEGER 0x00ff… (33 bytes, sign byte), INTEGER 0x01 (1 byte) }
    const r = [0x00, ...Array.from({ length: 32 }, () => 0xff)];
    const der = Uint8Array.from([0x30, 2 + r.length + 3, 0x02, r.length, ...r, 0x02, 0x01, 0x01]);
    const p1363 = derToP1363(der);

    expect(p1363).not.toBeNull();
    expect(Buffer.from(p1363 ?? []).toString('hex')).toBe(`${'ff'.repeat(32)}${'00'.repeat(31)}01`);
    expect(derToP1363(der.subarray(0, der.length - 1))).toBeNull();
    expect(derToP1363(Uint8Array.from([0x31, 0x00]))).toBeNull();
    // Bytes after s inside the SEQUENCE: not a signature.
    expect(derToP1363(Uint8Array.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]))).toBeNull();
    expect(derToP1363(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))).not.toBeNull();
  });

  it('walks the same root as shared/domain/merkle.ts for any tree size and index', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 70 })
          .chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: size - 1 }))),
        fc.integer(),
        async ([size, index], seed) => {
          const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${seed} ${i}`)));
          const path = inclusionProof(leaves, index);
          const ours = await rootFromInclusionProof(at(leaves, index), index, size, path);

          expect(ours).not.toBeNull();
          expect(Buffer.from(ours ?? []).equals(merkleRoot(leaves))).toBe(true);
          // A neighbouring index or a shorter path: both implementations agree, both refuse.
          const other = (index + 1) % size;
          const theirs = domainRoot(at(leaves, index), other, size, path);
          const oursOther = await rootFromInclusionProof(at(leaves, index), other, size, path);
          expect(oursOther === null ? null : Buffer.from(oursOther).toString('hex')).toBe(
            theirs === null ? null : theirs.toString('hex'),
          );
          const cut = path.slice(0, -1);
          const theirsCut = domainRoot(at(leaves, index), index, size, cut);
          const oursCut = await rootFromInclusionProof(at(leaves, index), index, size, cut);
          expect(oursCut === null ? null : Buffer.from(oursCut).toString('hex')).toBe(
            theirsCut === null ? null : theirsCut.toString('hex'),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses an index outside the tree', async () => {
    const leaf = leafHash(Buffer.from('x'));

    expect(await rootFromInclusionProof(leaf, 1, 1, [])).toBeNull();
    expect(await rootFromInclusionProof(leaf, -1, 4, [])).toBeNull();
  });
});

describe('console verify: an event, its proof and the signed digest', () => {
  const sealed = seal(5);
  const event = at(sealed.events, 2);
  const input = (edit: Partial<VerifyInput> = {}): VerifyInput => ({
    event,
    proof: sealed.proofOf(event),
    publicKey: PUBLISHED,
    ...edit,
  });

  it('verifies every event of a sealed interval, naming the digest, its time and the key fingerprint', async () => {
    for (const each of sealed.events) {
      const result = await verifyEvent({ event: each, proof: sealed.proofOf(each), publicKey: PUBLISHED });

      expect(result.steps.filter((s) => !s.ok)).toEqual([]);
      expect(result).toMatchObject({
        status: 'verified',
        failedStep: null,
        digest: { sequence: 7, sealedAt: sealed.digest.sealed_at, signingKeyId: KEY_ID },
        fingerprint: derFingerprint(SERVICE_KEY.publicKey),
        eventHash: each.hash,
      });
    }
  });

  it('verifies a one-event digest (empty path) and an event as the API orders its fields', async () => {
    const single = seal(1);
    const only = at(single.events, 0);
    const reordered = Object.fromEntries(Object.entries(only).reverse()) as unknown as StoredEvent;

    const result = await verifyEvent({ event: reordered, proof: single.proofOf(only), publicKey: PUBLISHED });

    expect(result.status).toBe('verified');
  });

  it('fails at the event hash when a field of the event was altered, whatever the proof claims', async () => {
    const altered = { ...event, actor: { ...event.actor, email: 'mallory@example.com' } };

    const result = await verifyEvent(input({ event: altered }));

    expect(result.status).toBe('failed');
    expect(result.failedStep).toBe('event-hash');
    expect(stepsOk(result)).toMatchObject({
      'event-hash': false,
      inclusion: false,
      signature: true,
      key: true,
    });
    expect(result.steps[0]?.message).toMatch(
      /^The event as shown hashes to [0-9a-f]{12}…, but [0-9a-f]{12}… was sealed for it\.$/,
    );
  });

  it('fails at the event hash when the event and its shown hash were altered together', async () => {
    const altered = { ...event, metadata: { to: 'owner' } };
    const rehashed = { ...altered, hash: domainHashEvent(altered) };

    const result = await verifyEvent(input({ event: rehashed }));

    expect(result.failedStep).toBe('event-hash');
    expect(stepsOk(result).inclusion).toBe(false);
  });

  it('never trusts the proof’s event_hash: a proof claiming the altered event’s hash still fails the root', async () => {
    const altered = { ...event, action: 'member.removed' };
    const alteredHash = domainHashEvent(altered);
    const proof = { ...sealed.proofOf(event), event_hash: alteredHash };

    const result = await verifyEvent(input({ event: { ...altered, hash: alteredHash }, proof }));

    expect(stepsOk(result)).toMatchObject({ 'event-hash': true, inclusion: false });
    expect(result.failedStep).toBe('inclusion');
  });

  it('fails at the inclusion step when one hash of the proof path was altered', async () => {
    const proof = sealed.proofOf(event);
    for (let i = 0; i < proof.audit_path.length; i++) {
      const path = proof.audit_path.map((h, j) => (j === i ? flipHex(h, 63) : h));

      const result = await verifyEvent(input({ proof: { ...proof, audit_path: path } }));

      expect(result.failedStep).toBe('inclusion');
      expect(result.steps.find((s) => s.step === 'inclusion')?.message).toMatch(
        /not to [0-9a-f]{12}…, digest 7's signed root\.$/,
      );
    }
  });

  it('fails at the inclusion step when the leaf index was swapped', async () => {
    const proof = sealed.proofOf(event);

    for (const leafIndex of [proof.leaf_index - 1, proof.leaf_index + 1, 7, -1]) {
      const result = await verifyEvent(input({ proof: { ...proof, leaf_index: leafIndex } }));

      expect(result.failedStep).toBe('inclusion');
    }
  });

  it('fails at the inclusion step when a path hash is dropped, or the tree size is not the digest’s count', async () => {
    const proof = sealed.proofOf(event);

    const cut = await verifyEvent(input({ proof: { ...proof, audit_path: proof.audit_path.slice(1) } }));
    const resized = await verifyEvent(input({ proof: { ...proof, tree_size: 6 } }));

    expect(cut.failedStep).toBe('inclusion');
    expect(resized.failedStep).toBe('inclusion');
    expect(resized.steps[1]?.message).toMatch(/tree of 6 events; digest 7 sealed 5/);
  });

  it('fails when the digest does not cover the event: another interval or another tenant', async () => {
    const later = {
      ...sealed.digest,
      interval: { start: iso(T0 + INTERVAL_MS), end: iso(T0 + 2 * INTERVAL_MS) },
    };
    const foreign = { ...sealed.digest, tenant_id: 'tnt_01jd0000000000000000000001' };

    expect((await verifyEvent(input({ digest: later }))).failedStep).toBe('inclusion');
    expect((await verifyEvent(input({ digest: foreign }))).failedStep).toBe('inclusion');
  });

  it('fails at the inclusion step when the digest’s root does not match (the proof leads elsewhere)', async () => {
    const digest = { ...sealed.digest, merkle_root: flipHex(sealed.digest.merkle_root, 10) };

    const result = await verifyEvent(input({ proof: { ...sealed.proofOf(event), digest } }));

    expect(result.failedStep).toBe('inclusion');
    // The edited root is also no longer what was signed.
    expect(stepsOk(result).signature).toBe(false);
  });

  it('fails at the signature step when the signature was altered, or is not DER at all', async () => {
    const der = Buffer.from(sealed.digest.signature, 'base64');
    const flipped = Buffer.from(der);
    flipped[der.length - 1] = (flipped[der.length - 1] ?? 0) ^ 0x01;
    const signatures = [flipped.toString('base64'), Buffer.from('not a signature').toString('base64'), '!!!'];

    for (const signature of signatures) {
      const digest = { ...sealed.digest, signature };

      const result = await verifyEvent(input({ proof: { ...sealed.proofOf(event), digest } }));

      expect(result.failedStep).toBe('signature');
      expect(stepsOk(result)).toMatchObject({ 'event-hash': true, inclusion: true, signature: false });
    }
  });

  it('fails at the signature step when a signed field of the digest was edited (sealed_at)', async () => {
    const digest = { ...sealed.digest, sealed_at: iso(T0) };

    const result = await verifyEvent(input({ digest }));

    expect(result.failedStep).toBe('signature');
  });

  it('fails at the signature step under a wrong key (another P-256 key published under the same id)', async () => {
    const wrong = { ...PUBLISHED, public_key_pem: pemOf(OTHER_KEY.publicKey) };

    const result = await verifyEvent(input({ publicKey: wrong }));

    expect(result.failedStep).toBe('signature');
    expect(result.fingerprint).toBe(derFingerprint(OTHER_KEY.publicKey));
  });

  it('fails when the digest was signed by another key than the published one, even validly', async () => {
    const other = seal(5, 'local:ffffffffffffffff');
    const { signature: _s, ...body } = other.digest;
    const digest = signDigest(body, OTHER_KEY.privateKey);
    const otherKey = { ...PUBLISHED, public_key_pem: pemOf(OTHER_KEY.publicKey) };

    const result = await verifyEvent({
      event: at(other.events, 0),
      proof: { ...other.proofOf(at(other.events, 0)), digest },
      publicKey: otherKey,
    });

    expect(result.failedStep).toBe('key');
    expect(result.steps.at(-1)?.message).toMatch(/names the signing key local:ffffffffffffffff/);
  });

  it('fails at the signature step when the published key is not a usable P-256 key', async () => {
    const result = await verifyEvent(input({ publicKey: { key_id: KEY_ID, public_key_pem: 'garbage' } }));

    expect(result.failedStep).toBe('signature');
    expect(result.fingerprint).toBeNull();
  });

  it('fails when the proof is for another event', async () => {
    const result = await verifyEvent(input({ proof: sealed.proofOf(at(sealed.events, 0)) }));

    expect(result.failedStep).toBe('event-hash');
  });
});

describe('console verify: an event not sealed yet', () => {
  it('expects it one watermark lag and one sealing interval after it was received', () => {
    const receivedMs = Date.parse('2026-03-01T10:00:00.000Z');

    const result = pendingResult({ received_at: iso(receivedMs) }, receivedMs + 1000);

    expect(result.status).toBe('pending');
    expect(result.sealEveryMinutes).toBe(MANIFEST.sealer.schedule.rateMinutes);
    expect(Date.parse(result.retryAfter)).toBe(
      receivedMs + (INTEGRITY.watermarkLagSeconds + MANIFEST.sealer.schedule.rateMinutes * 60) * 1000,
    );
    expect(result.message).toBe(
      `An interval of events is sealed once no write can still land in it, ${INTEGRITY.watermarkLagSeconds / 60} minutes after it ends.`,
    );
  });

  it('when that time has passed, says to try again after the next run', () => {
    const receivedMs = Date.parse('2026-03-01T10:00:00.000Z');
    const nowMs = receivedMs + 3 * 3_600_000;

    const result = pendingResult({ received_at: iso(receivedMs) }, nowMs, {
      ...DEFAULT_SEALING,
      everyMinutes: 2,
    });

    expect(result.retryAfter).toBe(iso(nowMs + 2 * 60_000));
    expect(result.sealEveryMinutes).toBe(2);
  });
});
