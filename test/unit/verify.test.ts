/**
 * The offline verifier's checks, each proven by the tampering it must catch, on a realistic log:
 * events built by the ingest path (buildStoredEvent), sealed into digests over five-minute
 * intervals, signed with a fresh P-256 key and chained — as the sealer does. A property test then
 * applies random tampering and requires that the report always fails.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDigestBody,
  type DigestBody,
  digestHash,
  eventLeaf,
  inLeafOrder,
  type SignedDigest,
  signingPayload,
} from '#shared/domain/digest.ts';
import { buildStoredEvent, hashEvent, type StoredEvent } from '#shared/domain/event.ts';
import { inclusionProof } from '#shared/domain/merkle.ts';
import {
  buildReport,
  checkChain,
  checkProof,
  digestsFrom,
  EventLedger,
  type Finding,
  publicKeyFrom,
  type VerificationReport,
  VerifyInputError,
  type VerifyOptions,
  verifyIntegrity,
} from '#shared/domain/verify.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const OTHER_TENANT = 'tnt_01jd0000000000000000000001';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const INTERVAL_MS = 5 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SERVICE_KEY = keyPair();
const ATTACKER_KEY = keyPair();
const pemOf = (key: KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString();
const PUBLIC_KEY = publicKeyFrom(pemOf(SERVICE_KEY.publicKey));

const makeEvent = (n: number, receivedMs: number, tenantId = TENANT): StoredEvent => {
  const built = buildStoredEvent(
    {
      id: `evt-${String(n).padStart(4, '0')}`,
      action: n % 2 ? 'member.role_changed' : 'doc.shared',
      actor: { id: `u${n % 3}`, type: 'user', name: 'Ada Lovelace', email: 'ada@example.com' },
      target: { type: 'member', id: `m${n}` },
      context: { ip: '203.0.113.7', user_agent: 'Mozilla/5.0' },
      metadata: { from: 'member', to: 'admin', n },
    },
    { tenantId, retentionDays: 365 },
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

/** Re-signs an edited digest as an attacker would have to: with a key that is not the service's. */
const forge = (digest: SignedDigest, edit: Partial<DigestBody>): SignedDigest => {
  const { signature: _signature, ...body } = digest;
  return signDigest({ ...body, ...edit }, ATTACKER_KEY.privateKey);
};

interface Log {
  /** Newest first, as an export lists them. */
  events: StoredEvent[];
  digests: SignedDigest[];
}

/**
 * A tenant's log: `perInterval[k]` events received in interval k+1, (T0 + k·5 min, T0 + (k+1)·5 min]
 * — the last one exactly at the interval's end — each interval sealed and chained to the previous.
 */
const buildLog = (perInterval: readonly number[] = [3, 2, 0, 4, 3]): Log => {
  const events: StoredEvent[] = [];
  const digests: SignedDigest[] = [];
  let n = 0;
  perInterval.forEach((count, k) => {
    const start = T0 + k * INTERVAL_MS;
    const end = start + INTERVAL_MS;
    const sealed = Array.from({ length: count }, (_, j) =>
      makeEvent(n++, start + Math.round(((j + 1) * INTERVAL_MS) / count)),
    );
    events.push(...sealed);
    const previous = digests.at(-1);
    digests.push(
      signDigest(
        buildDigestBody({
          tenantId: TENANT,
          sequence: k + 1,
          start: iso(start),
          end: iso(end),
          events: inLeafOrder(sealed),
          previousDigestHash: previous === undefined ? null : digestHash(previous),
          sealedAt: iso(end + 6 * 60_000),
          signingKeyId: 'local:0123456789abcdef',
        }),
      ),
    );
  });
  return { events: events.reverse(), digests };
};

const verify = (log: Log, options: Partial<VerifyOptions> = {}, publicKey = PUBLIC_KEY) =>
  verifyIntegrity({ events: log.events, digests: log.digests, publicKey, options });

const failures = (report: VerificationReport): string[] =>
  report.findings.filter((f) => f.severity === 'failure').map((f) => `${f.subject}: ${f.message}`);
const warnings = (report: VerificationReport): string[] =>
  report.findings.filter((f) => f.severity === 'warning').map((f) => `${f.subject}: ${f.message}`);

const byId = (log: Log, id: string): StoredEvent => {
  const event = log.events.find((e) => e.id === id);
  if (event === undefined) throw new Error(`no ${id}`);
  return event;
};

describe('verifying a log against its signed digests', () => {
  it('passes an untouched log: every hash, signature, chain link and interval root checks out', () => {
    const log = buildLog();
    const report = verify(log);

    expect(failures(report)).toEqual([]);
    expect(warnings(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({
      events_checked: 12,
      event_hashes_valid: 12,
      events_sealed: 12,
      events_not_yet_sealed: 0,
      digests_checked: 5,
      signatures_valid: 5,
      chain_problems: 0,
      intervals_complete: 5,
      failures: 0,
    });
    expect(report.digests.map((d) => [d.sequence, d.event_count, d.events_present, d.status])).toEqual([
      [1, 3, 3, 'complete'],
      [2, 2, 2, 'complete'],
      [3, 0, 0, 'complete'],
      [4, 4, 4, 'complete'],
      [5, 3, 3, 'complete'],
    ]);
    expect(report.chain).toEqual({
      anchor: { sequence: 1, hash: digestHash(log.digests[0] as SignedDigest) },
      head: { sequence: 5, hash: digestHash(log.digests[4] as SignedDigest) },
    });
    expect(report.public_key).toEqual({ key_id: null, fingerprint: PUBLIC_KEY.fingerprint });
  });

  it('places an event received exactly at an interval end in that interval, not the next', () => {
    const log = buildLog([1, 1]);
    expect(log.events.map((e) => e.received_at).sort()).toEqual([
      iso(T0 + INTERVAL_MS),
      iso(T0 + 2 * INTERVAL_MS),
    ]);
    expect(verify(log).digests.map((d) => d.status)).toEqual(['complete', 'complete']);
  });

  it('fails an event whose field was edited with its hash kept: hash mismatch', () => {
    const log = buildLog();
    const event = byId(log, 'evt-0004');
    event.actor = { ...event.actor, name: 'Mallory' };

    const report = verify(log);

    expect(report.ok).toBe(false);
    expect(failures(report)).toEqual(['event evt-0004: hash mismatch (field edited?)']);
    expect(report.findings[0]?.location).toBe('event #8');
  });

  it('fails an event edited with its hash recomputed: its interval no longer matches the Merkle root', () => {
    const log = buildLog();
    const event = byId(log, 'evt-0004');
    event.metadata = { ...event.metadata, to: 'owner' };
    event.hash = hashEvent(event);

    const report = verify(log);

    expect(report.summary.event_hashes_valid).toBe(12);
    expect(failures(report)).toEqual([
      'digest 2: the 2 events of its interval do not match its Merkle root: inserted, removed or altered events',
    ]);
    expect(report.digests[1]?.status).toBe('mismatch');
  });

  it('fails a removed event, naming it when the digest names it (its first or last event)', () => {
    const log = buildLog();
    log.events = log.events.filter((e) => e.id !== 'evt-0005');

    const report = verify(log);

    expect(failures(report)).toEqual([
      'digest 4: 3 of 4 events present (missing: its first event evt-0005); if the input is a filtered ' +
        'export or window, not the complete log, verify with --partial',
    ]);
    expect(report.digests[3]).toMatchObject({ status: 'incomplete', events_present: 3, event_count: 4 });
  });

  it('fails a removed event in the middle of an interval, saying it cannot be named', () => {
    const log = buildLog();
    log.events = log.events.filter((e) => e.id !== 'evt-0006');

    expect(failures(verify(log))).toEqual([
      expect.stringMatching(
        /^digest 4: 3 of 4 events present \(missing: not identifiable, a digest names only its first and last events\)/,
      ),
    ]);
  });

  it('fails an event inserted in a sealed interval, even with a valid hash', () => {
    const log = buildLog();
    log.events.push(makeEvent(900, T0 + 3 * INTERVAL_MS + 1234));

    const report = verify(log);

    expect(report.summary.event_hashes_valid).toBe(13);
    expect(failures(report)).toEqual([
      'digest 4: 5 events received in its interval, 4 sealed: inserted or altered events',
    ]);
  });

  it('fails an event inserted in an interval sealed empty', () => {
    const log = buildLog();
    log.events.push(makeEvent(901, T0 + 2 * INTERVAL_MS + 1));

    expect(failures(verify(log))).toEqual([
      'digest 3: 1 events received in its interval, 0 sealed: inserted or altered events',
    ]);
  });

  it('fails an event that appears twice', () => {
    const log = buildLog();
    log.events.push(structuredClone(byId(log, 'evt-0000')));

    expect(failures(verify(log))).toEqual([
      'event evt-0000: appears more than once in the input',
      'digest 1: 4 events received in its interval, 3 sealed: inserted or altered events',
    ]);
  });

  it('fails events of another tenant mixed into the input', () => {
    const log = buildLog();
    log.events.push(makeEvent(902, T0 + 1000, OTHER_TENANT));

    expect(failures(verify(log))).toEqual([
      `tenant ${OTHER_TENANT}: 1 event(s) belong to another tenant than the digests' ${TENANT} (evt-0902)`,
    ]);
  });

  it('fails events that are not events, or carry no valid hash', () => {
    const log = buildLog([2]);
    const noHash: Partial<StoredEvent> = { ...byId(log, 'evt-0000') };
    delete noHash.hash;

    const intact = byId(log, 'evt-0001');

    const report = verifyIntegrity({
      events: ['nope', noHash, intact],
      digests: log.digests,
      publicKey: PUBLIC_KEY,
    });

    expect(report.summary.events_checked).toBe(3);
    expect(failures(report)).toEqual([
      'event #1: not an event object',
      'event evt-0000: has no hash (64 lower-case hex digits): cannot be verified',
      expect.stringMatching(/^digest 1: 1 of 2 events present \(missing: its first event evt-0000\)/),
    ]);
  });
});

describe('the chain of digests', () => {
  it('sorts a reordered digest list, and drops the exact duplicates of overlapping pages', () => {
    const log = buildLog();
    const [d1, d2, d3, d4, d5] = log.digests as [SignedDigest, ...SignedDigest[]];
    log.digests = [d4, d2, d1, d5, d3, d2, d4].filter((d): d is SignedDigest => d !== undefined);

    const report = verify(log);

    expect(failures(report)).toEqual([]);
    expect(report.digests.map((d) => d.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails digests whose sequence numbers were swapped', () => {
    const log = buildLog();
    const [, d2, d3] = log.digests as SignedDigest[];
    if (d2 === undefined || d3 === undefined) throw new Error('fixture');
    log.digests[1] = { ...d2, sequence: 3 };
    log.digests[2] = { ...d3, sequence: 2 };

    const report = verify(log);

    expect(failures(report)).toEqual(
      expect.arrayContaining([
        'digest 2: signature invalid',
        'digest 3: signature invalid',
        'digest 2: previous_digest_hash does not match digest 1: the chain is broken',
      ]),
    );
  });

  it('fails a digest replaced by one re-signed with another key: its signature and the next link', () => {
    const log = buildLog();
    log.digests[1] = forge(log.digests[1] as SignedDigest, { event_count: 1 });

    expect(failures(verify(log))).toEqual(
      expect.arrayContaining([
        'digest 2: signature invalid',
        'digest 3: previous_digest_hash does not match digest 2: the chain is broken',
      ]),
    );
  });

  it('names the signing key when the public key given is another one', () => {
    const log = buildLog([1]);
    const json = JSON.stringify({
      key_id: 'local:fedcba9876543210',
      algorithm: 'ECDSA_SHA_256',
      curve: 'P-256',
      public_key_pem: pemOf(SERVICE_KEY.publicKey),
    });
    log.digests[0] = forge(log.digests[0] as SignedDigest, {});

    expect(failures(verify(log, {}, publicKeyFrom(json)))).toEqual([
      'digest 1: signature invalid (it names signing key local:0123456789abcdef; the public key given is local:fedcba9876543210)',
    ]);
  });

  it('fails a digest given twice with different content, keeping the validly signed one', () => {
    const log = buildLog();
    log.digests.push(forge(log.digests[3] as SignedDigest, { event_count: 3 }));

    const report = verify(log);

    expect(failures(report)).toEqual(['digest 4: given 2 times with different content: one was replaced']);
    expect(report.digests[3]).toMatchObject({ signature_valid: true, status: 'complete' });
  });

  it('fails a broken chain: an edited previous_digest_hash', () => {
    const log = buildLog();
    log.digests[2] = { ...(log.digests[2] as SignedDigest), previous_digest_hash: 'ab'.repeat(32) };

    expect(failures(verify(log))).toEqual([
      'digest 3: signature invalid',
      'digest 3: previous_digest_hash does not match digest 2: the chain is broken',
      'digest 4: previous_digest_hash does not match digest 3: the chain is broken',
    ]);
  });

  it('fails a broken chain: a digest removed from the middle, whose events then lie in no interval', () => {
    const log = buildLog();
    log.digests.splice(1, 1);

    const report = verify(log);

    expect(failures(report)).toEqual([
      'digest 3: follows digest 1 (expected 2): missing or reordered',
      'digest 3: previous_digest_hash does not match digest 1: the chain is broken',
      `digest 3: its interval starts at ${iso(T0 + 2 * INTERVAL_MS)}, not where digest 1 ended`,
      `event evt-0004: received at ${iso(T0 + 2 * INTERVAL_MS)}, in no digest's interval (inserted, or its digest is missing)`,
      `event evt-0003: received at ${iso(T0 + INTERVAL_MS + 150_000)}, in no digest's interval (inserted, or its digest is missing)`,
    ]);
  });

  it('fails every digest under a wrong public key, and says the key may be the wrong one', () => {
    const report = verify(buildLog(), {}, publicKeyFrom(pemOf(ATTACKER_KEY.publicKey)));

    expect(report.summary.signatures_valid).toBe(0);
    expect(failures(report)).toContain(
      "public key: no digest verifies under it: is it the service's signing key?",
    );
    expect(failures(report)).toHaveLength(6);
  });

  it('anchors a chain that does not start at sequence 1 and only warns about events before it', () => {
    const log = buildLog();
    log.digests = log.digests.slice(2);

    const report = verify(log);

    expect(failures(report)).toEqual([]);
    expect(warnings(report)).toEqual([
      '5 event(s): received before digest 3, the first given: not checked, add the earlier digests ' +
        '(evt-0004, evt-0003, evt-0002, evt-0001, evt-0000)',
    ]);
    expect(report.chain?.anchor.sequence).toBe(3);
    expect(verify(log, { strict: true }).ok).toBe(false);
  });

  it("fails an event received before the tenant's first digest began", () => {
    const log = buildLog();
    log.events.push(makeEvent(903, T0 - 1000));

    expect(failures(verify(log))).toEqual([
      `event evt-0903: received at ${iso(T0 - 1000)}, before the tenant's first digest began (inserted?)`,
    ]);
  });
});

describe('events not sealed yet and completeness', () => {
  it('warns about events received after the last digest; --strict makes that a failure', () => {
    const log = buildLog();
    log.events.unshift(makeEvent(904, T0 + 5 * INTERVAL_MS + 1));

    const report = verify(log);
    const strict = verify(log, { strict: true });

    expect(report.ok).toBe(true);
    expect(report.summary.events_not_yet_sealed).toBe(1);
    expect(warnings(report)).toEqual([
      `1 event(s): received after digest 5 ended (${iso(T0 + 5 * INTERVAL_MS)}): not sealed yet, verify again after the next seal (evt-0904)`,
    ]);
    expect(strict.ok).toBe(false);
    expect(strict.summary.failures).toBe(1);
  });

  it('requires complete intervals only from the first to the last the input has events in (default)', () => {
    const log = buildLog();
    // A window holding only intervals 2 and 4 partly: 1 and 5 are outside it, 2..4 must be complete.
    log.events = log.events.filter((e) => ['evt-0003', 'evt-0005'].includes(e.id));

    const report = verify(log);

    expect(report.digests.map((d) => [d.sequence, d.status, d.must_be_complete])).toEqual([
      [1, 'outside_input', false],
      [2, 'incomplete', true],
      [3, 'complete', true],
      [4, 'incomplete', true],
      [5, 'outside_input', false],
    ]);
    expect(failures(report)).toHaveLength(2);
  });

  it('downgrades missing events to warnings with --partial, but still fails inserted or altered ones', () => {
    const log = buildLog();
    log.events = log.events.filter((e) => e.id !== 'evt-0005');
    const partial = verify(log, { completeness: 'none' });
    expect(partial.ok).toBe(true);
    expect(warnings(partial)).toEqual([
      expect.stringMatching(/^digest 4: 3 of 4 events present .*--partial/),
    ]);

    log.events.push(makeEvent(905, T0 + 1000), makeEvent(906, T0 + 2000));
    expect(failures(verify(log, { completeness: 'none' }))).toEqual([
      'digest 1: 5 events received in its interval, 3 sealed: inserted or altered events',
    ]);
  });

  it('requires every digest given to be complete with --complete, even those the input has no event in', () => {
    const log = buildLog();
    log.events = log.events.filter((e) => e.received_at > iso(T0 + INTERVAL_MS));

    expect(verify(log).ok).toBe(true);
    expect(failures(verify(log, { completeness: 'all' }))).toEqual([
      expect.stringMatching(
        /^digest 1: 0 of 3 events present \(missing include its first event evt-0000 and its last event evt-0002\)/,
      ),
    ]);
  });
});

describe('cut-off, window and verdict', () => {
  it('does not require an interval that ends after the cut-off, and does not count its events proven', () => {
    const log = buildLog();
    // Exported with its cut-off at T0 + 22 min: the two newest events of interval 5 arrived later.
    log.events = log.events.filter((e) => !['evt-0010', 'evt-0011'].includes(e.id));
    const cutoff = { at: iso(T0 + 22 * 60_000), source: 'export_record' as const };

    const report = verify(log, { cutoff });
    const without = verify(log);

    expect(report).toMatchObject({ ok: true, verdict: 'passed', nothing_verified: null });
    expect(report.summary.events_proven).toBe(9);
    expect(report.digests.map((d) => [d.sequence, d.status, d.exemption])).toEqual([
      [1, 'complete', null],
      [2, 'complete', null],
      [3, 'complete', null],
      [4, 'complete', null],
      [5, 'incomplete', 'after_cutoff'],
    ]);
    expect(warnings(report)).toEqual([
      expect.stringMatching(
        /^digest 5: 1 of 3 events present .*; it ends after the input's cut-off \(2026-03-01T00:22:00.000Z\)/,
      ),
    ]);
    expect(without.verdict).toBe('failed');
  });

  it('still fails events inserted into an interval past the cut-off', () => {
    const log = buildLog();
    log.events.push(makeEvent(990, T0 + 24 * 60_000), makeEvent(991, T0 + 24 * 60_000 + 1));
    const report = verify(log, { cutoff: { at: iso(T0 + 21 * 60_000), source: 'as_of' } });
    expect(failures(report)).toEqual([
      'digest 5: 5 events received in its interval, 3 sealed: inserted or altered events',
    ]);
  });

  it("does not require an interval that begins before the export's window", () => {
    const log = buildLog();
    log.events = log.events.filter((e) => e.received_at > iso(T0 + 2 * 60_000));
    const report = verify(log, { windowStart: iso(T0 + 2 * 60_000) });
    expect(report.verdict).toBe('passed');
    expect(report.digests[0]).toMatchObject({ status: 'incomplete', exemption: 'before_window' });
    expect(warnings(report)).toEqual([
      expect.stringMatching(/^digest 1: .*begins before the export's window/),
    ]);
  });

  it('is NOTHING VERIFIED, not PASSED, when no event is proven', () => {
    const log = buildLog();

    const noEvents = verify({ events: [], digests: log.digests });
    const noDigests = verify({ events: log.events, digests: [] });
    const nothingComplete = verify(
      {
        events: log.events.filter((e) => !['evt-0000', 'evt-0003', 'evt-0005', 'evt-0009'].includes(e.id)),
        digests: log.digests,
      },
      { completeness: 'none' },
    );

    expect(noEvents).toMatchObject({
      ok: false,
      verdict: 'nothing_verified',
      nothing_verified: 'the input holds no events',
    });
    expect(noDigests).toMatchObject({
      ok: false,
      verdict: 'nothing_verified',
      nothing_verified: 'no digest was given: nothing links the events to a signature',
    });
    expect(noDigests.summary.failures).toBe(0);
    expect(nothingComplete.verdict).toBe('nothing_verified');
    expect(nothingComplete.summary).toMatchObject({ failures: 0, events_checked: 8, events_proven: 0 });
    expect(nothingComplete.nothing_verified).toMatch(
      /^none of the 8 event\(s\) lies in a sealed interval that the input holds completely, and a hash alone proves nothing/,
    );
  });

  it('is FAILED, not NOTHING VERIFIED, when a check fails', () => {
    const log = buildLog();
    const edited = { ...byId(log, 'evt-0001'), action: 'doc.deleted' };
    const report = verify({ events: [edited], digests: log.digests }, { completeness: 'none' });
    expect(report).toMatchObject({ ok: false, verdict: 'failed', nothing_verified: null });
  });
});

describe('inclusion proofs', () => {
  const log = buildLog();
  const chain = checkChain(log.digests, PUBLIC_KEY);
  const digest = log.digests[3] as SignedDigest;
  const ordered = inLeafOrder(
    log.events.filter((e) => e.received_at > digest.interval.start && e.received_at <= digest.interval.end),
  );
  const leaves = ordered.map((e) => eventLeaf(e.hash));
  const proofFor = (index: number, over: Record<string, unknown> = {}) => ({
    event_id: ordered[index]?.id,
    event_hash: ordered[index]?.hash,
    leaf_index: index,
    tree_size: leaves.length,
    audit_path: inclusionProof(leaves, index).map((h) => h.toString('hex')),
    digest,
    ...over,
  });
  const event = (index: number) => ordered[index] as StoredEvent;

  it('accepts the proof of each event of a sealed interval', () => {
    expect(ordered.map((_, i) => checkProof(chain, event(i), proofFor(i)))).toEqual([null, null, null, null]);
  });

  it.each([
    ['a path to another leaf', { leaf_index: 0 }, "the inclusion proof does not lead to digest 4's root"],
    [
      'a digest outside the chain',
      { digest: forge(digest, {}) },
      "the proof's digest is not one of the verified chain",
    ],
    ['another event', { event_id: 'evt-0000' }, 'the inclusion proof is for another event or another hash'],
    ['a malformed path', { audit_path: ['zz'] }, 'the inclusion proof is malformed'],
  ])('rejects a proof with %s', (_name, over, message) => {
    expect(checkProof(chain, event(2), proofFor(2, over))).toEqual<Finding>({
      severity: 'failure',
      check: 'proof',
      subject: `event ${event(2).id}`,
      message,
    });
  });

  it('fails a sealed event the service has no proof for, but not an event received after the last seal', () => {
    expect(checkProof(chain, event(0), null)?.message).toBe(
      'the service has no inclusion proof, yet its interval is sealed',
    );
    const late = makeEvent(907, T0 + 6 * INTERVAL_MS);
    expect(checkProof(chain, late, null)).toBeNull();
  });

  it('counts proof failures in the report', () => {
    const ledger = new EventLedger();
    for (const e of log.events) ledger.add(e, e.id);
    const bad = checkProof(chain, event(1), proofFor(1, { leaf_index: 3 }));
    const report = buildReport({
      ledger,
      chain,
      publicKey: PUBLIC_KEY,
      proofs: { checked: 12, proven: new Set(), findings: bad === null ? [] : [bad] },
      options: { completeness: 'span', strict: false },
    });
    expect(report.summary.proofs_checked).toBe(12);
    expect(failures(report)).toEqual([
      `event ${event(1).id}: the inclusion proof does not lead to digest 4's root`,
    ]);
  });
});

describe('verifier inputs', () => {
  it('reads digests from a page, an array, several pages, and single digests', () => {
    const { digests } = buildLog([1, 1, 1]);
    const [a, b, c] = digests;
    expect(digestsFrom([{ data: [a, b], next: 'x' }, [{ data: [c] }]])).toEqual([a, b, c]);
    expect(digestsFrom([[a, b, c]])).toEqual(digests);
    expect(digestsFrom([a])).toEqual([a]);
  });

  it('keeps a digest exactly as given (fields it does not know included), so a signature covers them', () => {
    const { digests } = buildLog([1]);
    const padded = { ...(digests[0] as SignedDigest), note: 'added later' };
    const [kept] = digestsFrom([[padded]]);
    expect(kept).toBe(padded);
    expect(checkChain([kept as SignedDigest], PUBLIC_KEY).signatureValid).toEqual([false]);
  });

  it('rejects what is not a digest as an input error naming the field', () => {
    expect(() => digestsFrom([{ data: [{ sequence: 1 }] }])).toThrow(VerifyInputError);
    expect(() => digestsFrom([{ data: [{ ...buildLog([1]).digests[0], sequence: '1' }] }])).toThrow(
      /the digests\.data\[0\] is not a signed digest \(sequence: /,
    );
  });

  it("reads a PEM or the public-key endpoint's JSON, and rejects anything else as an input error", () => {
    const pem = pemOf(SERVICE_KEY.publicKey);
    const json = JSON.stringify({
      key_id: 'arn:aws:kms:…',
      algorithm: 'ECDSA_SHA_256',
      curve: 'P-256',
      public_key_pem: pem,
    });
    expect(publicKeyFrom(json)).toMatchObject({
      keyId: 'arn:aws:kms:…',
      fingerprint: PUBLIC_KEY.fingerprint,
    });
    expect(() => publicKeyFrom('hello')).toThrow(/not a PEM public key/);
    expect(() => publicKeyFrom('{"key_id": 1}')).toThrow(/not the public-key endpoint's/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => publicKeyFrom(pemOf(rsa))).toThrow(/not an ECDSA P-256 key/);
  });
});

type Tampering =
  | {
      kind: 'edit';
      index: number;
      field: 'action' | 'actor' | 'metadata' | 'occurred_at' | 'received_at' | 'target';
      rehash: boolean;
      shiftMs: number;
    }
  | { kind: 'remove'; index: number }
  | { kind: 'insert'; interval: number; offsetMs: number }
  | { kind: 'duplicate'; index: number }
  | {
      kind: 'digest';
      index: number;
      field:
        | 'event_count'
        | 'merkle_root'
        | 'interval'
        | 'previous_digest_hash'
        | 'sealed_at'
        | 'first_event'
        | 'sequence'
        | 'resign';
    }
  | { kind: 'drop-digest'; index: number };

const PER_INTERVAL = [3, 2, 0, 4, 3];

const tamperings: fc.Arbitrary<Tampering> = fc.oneof(
  fc.record({
    kind: fc.constant('edit' as const),
    index: fc.nat(),
    field: fc.constantFrom('action', 'actor', 'metadata', 'occurred_at', 'received_at', 'target'),
    rehash: fc.boolean(),
    shiftMs: fc.integer({ min: -3 * INTERVAL_MS, max: 3 * INTERVAL_MS }).filter((n) => n !== 0),
  }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    interval: fc.nat({ max: PER_INTERVAL.length - 1 }),
    offsetMs: fc.integer({ min: 1, max: INTERVAL_MS }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), index: fc.nat() }),
  fc.record({
    kind: fc.constant('digest' as const),
    index: fc.nat({ max: PER_INTERVAL.length - 1 }),
    field: fc.constantFrom(
      'event_count',
      'merkle_root',
      'interval',
      'previous_digest_hash',
      'sealed_at',
      'first_event',
      'sequence',
      'resign',
    ),
  }),
  // The chain's ends are the anchor and the head: only dropping a digest between them is detectable.
  fc.record({
    kind: fc.constant('drop-digest' as const),
    index: fc.integer({ min: 1, max: PER_INTERVAL.length - 2 }),
  }),
);

const tamper = (log: Log, t: Tampering): void => {
  const { events, digests } = log;
  const pick = <T>(list: T[], index: number): T => list[index % list.length] as T;
  switch (t.kind) {
    case 'edit': {
      const event = pick(events, t.index);
      if (t.field === 'action') event.action = event.action === 'doc.shared' ? 'doc.deleted' : 'doc.shared';
      if (t.field === 'actor') event.actor = { ...event.actor, id: `${event.actor.id}x` };
      if (t.field === 'metadata') event.metadata = { ...event.metadata, n: -1 };
      if (t.field === 'target') event.target = undefined;
      if (t.field === 'occurred_at') event.occurred_at = iso(Date.parse(event.occurred_at) + t.shiftMs);
      if (t.field === 'received_at') event.received_at = iso(Date.parse(event.received_at) + t.shiftMs);
      if (t.rehash) event.hash = hashEvent(event);
      return;
    }
    case 'remove':
      events.splice(t.index % events.length, 1);
      return;
    case 'insert':
      events.push(makeEvent(5000 + t.offsetMs, T0 + t.interval * INTERVAL_MS + t.offsetMs));
      return;
    case 'duplicate':
      events.push(structuredClone(pick(events, t.index)));
      return;
    case 'digest': {
      const i = t.index;
      const d = digests[i] as SignedDigest;
      const edits: Record<typeof t.field, () => SignedDigest> = {
        event_count: () => ({ ...d, event_count: d.event_count + 1 }),
        merkle_root: () => ({
          ...d,
          merkle_root: d.merkle_root.replace(/^./, (c) => (c === '0' ? '1' : '0')),
        }),
        interval: () => ({ ...d, interval: { ...d.interval, end: iso(Date.parse(d.interval.end) + 1) } }),
        previous_digest_hash: () => ({ ...d, previous_digest_hash: 'cd'.repeat(32) }),
        sealed_at: () => ({ ...d, sealed_at: iso(Date.parse(d.sealed_at) - 1) }),
        first_event: () => ({ ...d, first_event: { id: 'evt-9999', received_at: d.interval.end } }),
        sequence: () => ({ ...d, sequence: d.sequence + 10 }),
        resign: () => forge(d, {}),
      };
      digests[i] = edits[t.field]();
      return;
    }
    case 'drop-digest':
      digests.splice(t.index, 1);
      return;
  }
};

describe('random tampering', () => {
  it('is always detected', () => {
    const pristine = buildLog(PER_INTERVAL);
    expect(verify(pristine).ok).toBe(true);
    fc.assert(
      fc.property(tamperings, (t) => {
        const log = structuredClone(pristine);
        tamper(log, t);
        const report = verify(log);
        expect(report.ok, JSON.stringify(t)).toBe(false);
        expect(report.summary.failures).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
