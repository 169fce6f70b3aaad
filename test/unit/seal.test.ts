/**
 * Sealing logic with in-memory stores: intervals are contiguous, digests hold at most maxLeaves
 * events without splitting a millisecond, and every event lands in exactly one digest whatever
 * the order and timing of writes and runs.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainProblems,
  covers,
  digestHash,
  inLeafOrder,
  rootOf,
  type SealedEvent,
  type SignedDigest,
} from '#shared/domain/digest.ts';
import type { SealState, TenantRecord } from '#shared/domain/tenant.ts';
import type { ControlStore } from '#shared/usecases/ports/control.ts';
import type { DigestStore, SealStore, Signer } from '#shared/usecases/ports/integrity.ts';
import { sealTenant } from '#shared/usecases/seal.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

const world = () => {
  const events: SealedEvent[] = [];
  const digests: SignedDigest[] = [];
  const tenant: TenantRecord = {
    id: TENANT,
    name: 'T',
    plan: 'pro',
    custom_retention_days: null,
    shards: 1,
    created_at: iso(T0),
    updated_at: iso(T0),
  };
  let now = T0;
  const seals: SealStore = {
    receivedBetween: async (_t, _s, start, end, limit) =>
      inLeafOrder(events.filter((e) => e.received_at > start && e.received_at <= end)).slice(0, limit),
    storedHashes: async () => new Map(),
  };
  const store: DigestStore = {
    save: async (digest, hashes, previous: SealState | undefined) => {
      expect(previous?.sequence).toBe(tenant.seal?.sequence);
      expect(hashes.length).toBe(digest.event_count);
      digests.push(digest);
      tenant.seal = { sequence: digest.sequence, end: digest.interval.end, digest_hash: digestHash(digest) };
      return digest;
    },
    leaves: async () => [],
    list: async () => digests,
    covering: async () => null,
    after: async () => [],
  };
  const signer: Signer = {
    keyId: async () => 'local:test',
    sign: async (payload) => sign('sha256', payload, { key: pair.privateKey, dsaEncoding: 'der' }),
    publicKey: async () => ({
      key_id: 'local:test',
      algorithm: 'ECDSA_SHA_256',
      curve: 'P-256',
      public_key_pem: '',
    }),
  };
  const control = { getTenant: async () => tenant } as unknown as ControlStore;
  const deps = (maxLeaves: number) => ({
    control,
    events: seals,
    digests: store,
    signer,
    now: () => now,
    watermarkLagMs: 1000,
    maxLeaves,
    heartbeatMs: 3_600_000,
  });
  return {
    events,
    digests,
    write: (id: string, receivedMs: number) =>
      events.push({
        id,
        received_at: iso(receivedMs),
        hash: id
          .padStart(64, '0')
          .slice(-64)
          .replace(/[^0-9a-f]/g, 'a'),
      }),
    at: (ms: number) => {
      now = ms;
    },
    seal: (maxLeaves = 1000) => sealTenant(deps(maxLeaves), TENANT, () => 60_000, 0),
  };
};

const assertSealedOnce = (w: ReturnType<typeof world>, upTo: string) => {
  expect(chainProblems(w.digests)).toEqual([]);
  for (const digest of w.digests) {
    const inside = inLeafOrder(w.events.filter((e) => covers(digest, e.received_at)));
    expect(inside.length).toBe(digest.event_count);
    expect(rootOf(inside)).toBe(digest.merkle_root);
  }
  for (const event of w.events.filter((e) => e.received_at <= upTo)) {
    expect(w.digests.filter((d) => covers(d, event.received_at))).toHaveLength(1);
  }
};

describe('sealing', () => {
  it('cuts full digests at maxLeaves without splitting a millisecond', async () => {
    const w = world();
    for (let i = 0; i < 25; i++) w.write(`e${i}`, T0 + 100 + Math.floor(i / 3)); // 3 events per ms
    w.at(T0 + 10_000);
    const result = await w.seal(7);
    expect(w.digests.map((d) => d.event_count)).toEqual([6, 6, 6, 7]);
    expect(result).toEqual({ digests: 4, events: 25 });
    assertSealedOnce(w, iso(T0 + 9_000));
  });

  it('seals a millisecond holding more than maxLeaves events whole', async () => {
    const w = world();
    for (let i = 0; i < 10; i++) w.write(`same${i}`, T0 + 500);
    w.write('later', T0 + 600);
    w.at(T0 + 10_000);
    await w.seal(4);
    expect(w.digests.map((d) => d.event_count)).toEqual([10, 1]);
    assertSealedOnce(w, iso(T0 + 9_000));
  });

  it('leaves events inside the watermark for the next run, and writes nothing when there is nothing new', async () => {
    const w = world();
    w.write('a', T0 + 100);
    w.at(T0 + 1_050); // watermark T0 + 50: `a` is too recent
    expect(await w.seal()).toEqual({ digests: 0, events: 0 });
    w.at(T0 + 5_000);
    expect(await w.seal()).toEqual({ digests: 1, events: 1 });
    w.at(T0 + 9_000);
    expect(await w.seal()).toEqual({ digests: 0, events: 0 });
    assertSealedOnce(w, iso(T0 + 8_000));
  });

  it('puts every event in exactly one digest, whatever the writes and runs (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(2_000), fc.boolean()), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        async (writes, maxLeaves) => {
          const w = world();
          let clock = T0 + 10;
          for (const [i, [gap, runSealer]] of writes.entries()) {
            clock += gap;
            w.at(clock);
            // A write is stamped when its function starts and lands within the watermark lag.
            w.write(`w${i}`, clock - (gap % 900));
            if (runSealer) await w.seal(maxLeaves);
          }
          w.at(clock + 5_000);
          await w.seal(maxLeaves);
          assertSealedOnce(w, iso(clock));
          expect(w.digests.reduce((n, d) => n + d.event_count, 0)).toBe(w.events.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
