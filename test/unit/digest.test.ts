import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildDigestBody,
  chainProblems,
  covers,
  digestHash,
  inLeafOrder,
  publicKeyFromPem,
  rootOf,
  type SignedDigest,
  signingPayload,
  verifyDigestSignature,
} from '#shared/domain/digest.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const publicKey = publicKeyFromPem(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString());
const TENANT = 'tnt_01jd0000000000000000000000';
const h = (i: number) => i.toString(16).padStart(64, '0');

const chain = (n: number): SignedDigest[] => {
  const digests: SignedDigest[] = [];
  for (let i = 0; i < n; i++) {
    const previous = digests[i - 1];
    const body = buildDigestBody({
      tenantId: TENANT,
      sequence: i + 1,
      start: previous?.interval.end ?? '2026-01-01T00:00:00.000Z',
      end: `2026-01-01T0${i + 1}:00:00.000Z`,
      events: [{ id: `e${i}`, received_at: `2026-01-01T0${i}:30:00.000Z`, hash: h(i) }],
      previousDigestHash: previous === undefined ? null : digestHash(previous),
      sealedAt: '2026-01-02T00:00:00.000Z',
      signingKeyId: 'local:test',
    });
    const signature = sign('sha256', signingPayload(body), { key: pair.privateKey, dsaEncoding: 'der' });
    digests.push({ ...body, signature: signature.toString('base64') });
  }
  return digests;
};

describe('digests', () => {
  it('orders leaves by received_at then id, whatever the input order', () => {
    const events = [
      { id: 'b', received_at: '2026-01-01T00:00:00.000Z', hash: h(1) },
      { id: 'a', received_at: '2026-01-01T00:00:00.000Z', hash: h(2) },
      { id: 'c', received_at: '2025-12-31T23:59:59.999Z', hash: h(3) },
    ];
    expect(inLeafOrder(events).map((e) => e.id)).toEqual(['c', 'a', 'b']);
    expect(rootOf(inLeafOrder(events))).not.toBe(rootOf(events));
  });

  it('covers (start, end] of received_at', () => {
    const digest = { interval: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z' } };
    expect(covers(digest, '2026-01-01T00:00:00.000Z')).toBe(false);
    expect(covers(digest, '2026-01-01T00:00:00.001Z')).toBe(true);
    expect(covers(digest, '2026-01-01T01:00:00.000Z')).toBe(true);
  });

  it('verifies a signature over every field but the signature', () => {
    const [digest] = chain(1) as [SignedDigest];
    expect(verifyDigestSignature(digest, publicKey)).toBe(true);
    for (const edit of [
      { event_count: 2 },
      { merkle_root: h(9) },
      { interval: { ...digest.interval, end: '2026-01-01T02:00:00.000Z' } },
      { signature_algorithm: 'RSA' },
      { signature: 'AAAA' },
    ]) {
      expect(
        verifyDigestSignature({ ...digest, ...edit } as SignedDigest, publicKey),
        JSON.stringify(edit),
      ).toBe(false);
    }
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    expect(verifyDigestSignature(digest, other)).toBe(false);
  });

  it('accepts an intact chain and names each kind of break', () => {
    const digests = chain(4);
    expect(chainProblems(digests)).toEqual([]);
    expect(chainProblems([digests[0], digests[2], digests[3]] as SignedDigest[])).toEqual([
      'digest 3: follows digest 1 (expected 2): missing or reordered',
      'digest 3: previous_digest_hash does not match digest 1: the chain is broken',
      'digest 3: its interval starts at 2026-01-01T02:00:00.000Z, not where digest 1 ended',
    ]);
    const swapped = [digests[0], digests[2], digests[1], digests[3]] as SignedDigest[];
    expect(chainProblems(swapped).length).toBeGreaterThan(0);
    const edited = [...digests];
    edited[1] = { ...(digests[1] as SignedDigest), event_count: 0 };
    expect(chainProblems(edited)).toEqual([
      'digest 3: previous_digest_hash does not match digest 2: the chain is broken',
    ]);
    const genesis = { ...(digests[0] as SignedDigest), previous_digest_hash: h(0) };
    expect(chainProblems([genesis])).toEqual(['digest 1: the first digest names a previous digest']);
  });

  it('refuses a public key that is not ECDSA P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(() => publicKeyFromPem(rsa.toString())).toThrow(/P-256/);
  });
});
