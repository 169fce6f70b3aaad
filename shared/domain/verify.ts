/**
 * Offline verification of a tenant's events against its signed, chained digests: what an auditor
 * runs (through `npm run verify`) to convince themself, without trusting the service, that no event
 * was edited, removed or inserted after it was sealed. Pure: events, digests and the public key
 * come in, a structured report comes out; reading files and calling the API is the CLI's job.
 *
 * The checks, in the order a report lists them:
 * 1. each event's hash is recomputed from its content (an edited field);
 * 2. each digest's signature verifies under the public key (a forged or replaced digest);
 * 3. the digests, sorted by sequence, form one chain (a removed, reordered or replaced digest);
 * 4. per digest, the input's events received in its interval, in leaf order, match its event count
 *    and Merkle root (a removed, inserted, or edited-and-rehashed event);
 * 5. every event falls in some digest's interval (inserted), or after the last one (not sealed yet);
 * 6. optionally, each event's inclusion proof leads to the root of a digest of the verified chain.
 *
 * Which intervals must be complete is a policy (`Completeness`): an export selects events by
 * `occurred_at` while digests seal them by `received_at`, so a filtered export legitimately holds
 * only part of some intervals, and nothing in the file says which. An export is also a snapshot:
 * events received after its cut-off (`as_of`) are legitimately missing from it, so an interval
 * sealed after the export and ending past its cut-off is never required complete; nor is one that
 * begins before the export's window.
 *
 * The verdict is honest both ways: FAILED only on evidence of tampering, PASSED only when some
 * events were actually proven — held in an interval whose count and Merkle root match a validly
 * signed digest of the chain, or carrying a valid inclusion proof. Hashes alone prove nothing
 * (whoever edits an event can recompute its hash), so an input that proves no event is
 * NOTHING VERIFIED, not PASSED.
 *
 * Scale: an event is reduced to its `{id, received_at, hash}` as soon as its hash is checked, and
 * events are grouped by interval before they are sorted, so a million events fit in a few hundred MB.
 */
import { createHash, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import {
  chainProblems,
  covers,
  DIGEST_VERSION,
  digestHash,
  eventLeaf,
  inLeafOrder,
  isHexHash,
  publicKeyFromPem,
  rootOf,
  type SealedEvent,
  SIGNATURE_ALGORITHM,
  type SignedDigest,
  verifyDigestSignature,
} from './digest.ts';
import { hashEvent, type StoredEvent } from './event.ts';
import { verifyInclusion } from './merkle.ts';

/** Input that cannot be verified at all (not a digest, not a P-256 key): a usage error, not tampering. */
export class VerifyInputError extends Error {
  override readonly name = 'VerifyInputError';
}

export type Severity = 'failure' | 'warning';

export type CheckName =
  | 'event_format'
  | 'event_hash'
  | 'event_tenant'
  | 'signature'
  | 'chain'
  | 'interval'
  | 'coverage'
  | 'proof'
  | 'export_record';

export interface Finding {
  severity: Severity;
  check: CheckName;
  /** `event <id>`, `digest <sequence>`, or where in the input for what has no id. */
  subject: string;
  message: string;
  /** Where the event was read (file and line), when known. */
  location?: string;
}

export const failure = (check: CheckName, subject: string, message: string, location?: string): Finding => ({
  severity: 'failure',
  check,
  subject,
  message,
  ...(location === undefined ? {} : { location }),
});

const warning = (check: CheckName, subject: string, message: string): Finding => ({
  severity: 'warning',
  check,
  subject,
  message,
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// Inputs: digests and the public key.

const eventRefSchema = z.object({ id: z.string(), received_at: z.string() }).nullable();

/**
 * The fields the checks read. Validation only: the digest used afterwards is the value as given,
 * because zod's output would drop or reorder fields the signature covers.
 */
const signedDigestShape = z.object({
  version: z.literal(DIGEST_VERSION, { error: `only digest version ${DIGEST_VERSION} is known` }),
  tenant_id: z.string().min(1),
  sequence: z.int().min(1),
  interval: z.object({ start: z.string(), end: z.string() }),
  event_count: z.int().min(0),
  first_event: eventRefSchema,
  last_event: eventRefSchema,
  merkle_root: z.string(),
  previous_digest_hash: z.string().nullable(),
  sealed_at: z.string(),
  signing_key_id: z.string(),
  signature_algorithm: z.string(),
  signature: z.string(),
});

/**
 * The digests in JSON values as saved from `GET /v1/integrity/digests`: pages (`{data: [...]}`),
 * arrays of digests or of pages, or single digests, in any order and with overlaps.
 */
export const digestsFrom = (values: readonly unknown[]): SignedDigest[] => {
  const digests: SignedDigest[] = [];
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        visit(item, `${path}[${i}]`);
      });
    } else if (isRecord(value) && Array.isArray(value.data)) {
      visit(value.data, `${path}.data`);
    } else {
      const parsed = signedDigestShape.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join('.') ?? '';
        throw new VerifyInputError(
          `${path} is not a signed digest${field === '' ? '' : ` (${field}: ${issue?.message})`}`,
        );
      }
      digests.push(value as SignedDigest);
    }
  };
  values.forEach((value, i) => {
    visit(value, values.length === 1 ? 'the digests' : `digests value ${i + 1}`);
  });
  return digests;
};

export interface PublicKeyInput {
  key: KeyObject;
  /** The id the service gives the key (`GET /v1/integrity/public-key`), when known. */
  keyId: string | null;
  /** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: what an auditor compares out of band. */
  fingerprint: string;
}

const publicKeyDocument = z.object({
  key_id: z.string().min(1),
  algorithm: z.literal(SIGNATURE_ALGORITHM),
  public_key_pem: z.string().min(1),
});

/** A PEM public key, or the JSON of `GET /v1/integrity/public-key`; throws VerifyInputError. */
export const publicKeyFrom = (text: string): PublicKeyInput => {
  let pem = text;
  let keyId: string | null = null;
  if (text.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VerifyInputError('the public key is neither a PEM nor valid JSON');
    }
    const parsed = publicKeyDocument.safeParse(json);
    if (!parsed.success) {
      throw new VerifyInputError(
        `the public key JSON is not the public-key endpoint's (key_id, algorithm ${SIGNATURE_ALGORITHM}, public_key_pem)`,
      );
    }
    pem = parsed.data.public_key_pem;
    keyId = parsed.data.key_id;
  } else if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new VerifyInputError('the public key is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  let key: KeyObject;
  try {
    key = publicKeyFromPem(pem);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new VerifyInputError(`the public key cannot be read: ${reason}`);
  }
  const der = key.export({ format: 'der', type: 'spki' });
  return { key, keyId, fingerprint: createHash('sha256').update(der).digest('hex') };
};

// ---------------------------------------------------------------------------------------------
// The export record: what the service says of the export the input is.

/** What the verifier takes from an export's record (`POST /v1/exports`, `GET /v1/exports/{id}`). */
export interface ExportRecordInput {
  id: string;
  /** Rows the service wrote into the file. */
  rows: number;
  /** The export's cut-off. */
  asOf: string;
  /** Start of its window (occurred_at). */
  windowStart: string;
  /** Its filters other than the window (a filtered export holds only part of any interval). */
  filteredBy: string[];
}

const exportRecordShape = z.object({
  id: z.string().min(1),
  status: z.string(),
  rows: z.int().min(0),
  as_of: z.iso.datetime({ offset: true }).nullable().optional(),
  filters: z.record(z.string(), z.unknown()).and(z.object({ from: z.iso.datetime({ offset: true }) })),
});

/** The record of a completed export, as saved from the API; throws VerifyInputError. */
export const exportRecordFrom = (value: unknown): ExportRecordInput => {
  const parsed = exportRecordShape.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VerifyInputError(
      `the record is not an export's (GET /v1/exports/{id})${issue === undefined ? '' : ` (${issue.path.join('.')}: ${issue.message})`}`,
    );
  }
  const record = parsed.data;
  if (record.status !== 'completed')
    throw new VerifyInputError(`export ${record.id} is ${record.status}: wait until it is completed`);
  if (record.as_of === undefined || record.as_of === null) {
    throw new VerifyInputError(
      `export ${record.id}'s record has no as_of (taken before exports recorded their cut-off): verify without --record`,
    );
  }
  return {
    id: record.id,
    rows: record.rows,
    asOf: new Date(record.as_of).toISOString(),
    windowStart: new Date(record.filters.from).toISOString(),
    filteredBy: Object.entries(record.filters)
      .filter(([name, v]) => name !== 'from' && name !== 'to' && v !== undefined && v !== null)
      .map(([name]) => name)
      .sort(),
  };
};

// ---------------------------------------------------------------------------------------------
// Check 1: event hashes, streaming.

/**
 * Takes events one at a time, checks each hash, and keeps only what the digests need of it.
 * Events are kept per tenant: a digest chain is one tenant's, and an event of another tenant in
 * the input is itself a finding.
 */
export class EventLedger {
  readonly byTenant = new Map<string, SealedEvent[]>();
  readonly findings: Finding[] = [];
  checked = 0;
  hashesMatching = 0;

  /** Checks one event as read (`where`: file and line, for messages); returns what is kept of it. */
  add(raw: unknown, where: string): SealedEvent | undefined {
    this.checked += 1;
    if (!isRecord(raw)) {
      this.findings.push(failure('event_format', where, 'not an event object'));
      return undefined;
    }
    const { id, received_at: receivedAt, tenant_id: tenantId, hash } = raw;
    if (typeof id !== 'string' || typeof receivedAt !== 'string' || typeof tenantId !== 'string') {
      const subject = typeof id === 'string' ? `event ${id}` : where;
      this.findings.push(
        failure('event_format', subject, 'has no id, tenant_id or received_at: cannot be verified', where),
      );
      return undefined;
    }
    const subject = `event ${id}`;
    if (!isHexHash(hash)) {
      this.findings.push(
        failure('event_format', subject, 'has no hash (64 lower-case hex digits): cannot be verified', where),
      );
      return undefined;
    }
    let recomputed: string;
    try {
      recomputed = hashEvent(raw as unknown as StoredEvent);
    } catch {
      this.findings.push(failure('event_format', subject, 'cannot be serialised to canonical JSON', where));
      return undefined;
    }
    if (recomputed === hash) this.hashesMatching += 1;
    else this.findings.push(failure('event_hash', subject, 'hash mismatch (field edited?)', where));
    // The claimed hash goes on: it is what the digest's root covers, so a hash recomputed after an
    // edit is caught there.
    const sealed: SealedEvent = { id, received_at: receivedAt, hash };
    const list = this.byTenant.get(tenantId);
    if (list === undefined) this.byTenant.set(tenantId, [sealed]);
    else list.push(sealed);
    return sealed;
  }

  /** Records a problem found while reading an event (e.g. a CSV cell that disagrees with event_json). */
  reject(finding: Finding): void {
    this.findings.push(finding);
  }

  /** Counts an event whose content could not be read at all, with the reason. */
  unreadable(finding: Finding): void {
    this.checked += 1;
    this.findings.push(finding);
  }
}

/** The newest received_at of the events read (null for none): what an inferred cut-off starts from. */
export const newestReceivedAt = (ledger: EventLedger): string | null => {
  let newest: string | null = null;
  for (const events of ledger.byTenant.values())
    for (const event of events) if (newest === null || event.received_at > newest) newest = event.received_at;
  return newest;
};

// ---------------------------------------------------------------------------------------------
// Checks 2 and 3: signatures and the chain.

export interface ChainCheck {
  /** Sorted by sequence, exact duplicates (overlapping pages) dropped. */
  digests: SignedDigest[];
  /** Parallel to `digests`. */
  signatureValid: boolean[];
  /** Parallel to `digests`: each digest's chain hash. */
  hashes: string[];
  findings: Finding[];
}

const subjectOfChainProblem = (problem: string): [string, string] => {
  const at = problem.indexOf(': ');
  return at === -1 ? ['chain', problem] : [problem.slice(0, at), problem.slice(at + 2)];
};

/** Verifies every signature and the chain of `digests` (given in any order). */
export const checkChain = (given: readonly SignedDigest[], publicKey: PublicKeyInput): ChainCheck => {
  const findings: Finding[] = [];
  const bySequence = new Map<number, { digest: SignedDigest; hash: string; valid: boolean }[]>();
  for (const digest of given) {
    const hash = digestHash(digest);
    const same = bySequence.get(digest.sequence) ?? [];
    if (same.some((d) => d.hash === hash)) continue;
    same.push({ digest, hash, valid: verifyDigestSignature(digest, publicKey.key) });
    bySequence.set(digest.sequence, same);
  }
  const chosen = [...bySequence.entries()]
    .sort(([a], [b]) => a - b)
    .map(([sequence, candidates]) => {
      if (candidates.length > 1) {
        findings.push(
          failure(
            'chain',
            `digest ${sequence}`,
            `given ${candidates.length} times with different content: one was replaced`,
          ),
        );
      }
      // Of several versions, the checks that follow use a validly signed one: the genuine digest.
      return candidates.find((c) => c.valid) ?? (candidates[0] as (typeof candidates)[number]);
    });
  const digests = chosen.map((c) => c.digest);
  const signatureValid = chosen.map((c) => c.valid);
  chosen.forEach(({ digest, valid }) => {
    if (valid) return;
    const signer =
      publicKey.keyId !== null && digest.signing_key_id !== publicKey.keyId
        ? ` (it names signing key ${digest.signing_key_id}; the public key given is ${publicKey.keyId})`
        : '';
    findings.push(failure('signature', `digest ${digest.sequence}`, `signature invalid${signer}`));
  });
  if (chosen.length > 1 && chosen.every((c) => !c.valid)) {
    findings.push(
      failure('signature', 'public key', "no digest verifies under it: is it the service's signing key?"),
    );
  }
  for (const problem of chainProblems(digests)) {
    const [subject, message] = subjectOfChainProblem(problem);
    findings.push(failure('chain', subject, message));
  }
  return { digests, signatureValid, hashes: chosen.map((c) => c.hash), findings };
};

// ---------------------------------------------------------------------------------------------
// Check 6: inclusion proofs.

const proofShape = z.object({
  event_id: z.string(),
  event_hash: z.string(),
  leaf_index: z.int().min(0),
  tree_size: z.int().min(1),
  audit_path: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  digest: z.unknown(),
});

/**
 * Checks an event's inclusion proof (`GET /v1/events/{id}/proof`, or null when the service has
 * none): it must be for this event and hash, lead to the root of its digest, and that digest must
 * be the verified chain's digest of that sequence. Returns the failure, or null.
 */
export const checkProof = (chain: ChainCheck, event: SealedEvent, proof: unknown): Finding | null => {
  const subject = `event ${event.id}`;
  const last = chain.digests.at(-1);
  if (proof === null) {
    // No proof is expected for an event received after the last seal (reported as not yet sealed).
    return last !== undefined && event.received_at <= last.interval.end
      ? failure('proof', subject, 'the service has no inclusion proof, yet its interval is sealed')
      : null;
  }
  const parsed = proofShape.safeParse(proof);
  if (!parsed.success) return failure('proof', subject, 'the inclusion proof is malformed');
  const { event_id: eventId, event_hash: eventHash, leaf_index, tree_size, audit_path } = parsed.data;
  if (eventId !== event.id || eventHash !== event.hash) {
    return failure('proof', subject, 'the inclusion proof is for another event or another hash');
  }
  const given = parsed.data.digest;
  const index = isRecord(given) ? chain.digests.findIndex((d) => d.sequence === given.sequence) : -1;
  const digest = chain.digests[index];
  if (digest === undefined || chain.hashes[index] !== digestHash(given as SignedDigest)) {
    return failure('proof', subject, "the proof's digest is not one of the verified chain");
  }
  if (!covers(digest, event.received_at)) {
    return failure('proof', subject, `digest ${digest.sequence}'s interval does not cover its received_at`);
  }
  const included =
    tree_size === digest.event_count &&
    verifyInclusion(
      eventLeaf(event.hash),
      leaf_index,
      tree_size,
      audit_path.map((h) => Buffer.from(h, 'hex')),
      Buffer.from(digest.merkle_root, 'hex'),
    );
  return included
    ? null
    : failure('proof', subject, `the inclusion proof does not lead to digest ${digest.sequence}'s root`);
};

export interface ProofResults {
  checked: number;
  /** Ids of the events whose proof led to a digest of the verified chain. */
  proven: ReadonlySet<string>;
  findings: Finding[];
}

// ---------------------------------------------------------------------------------------------
// Checks 4 and 5, and the report.

/**
 * Which digests' intervals the input must hold completely:
 * - `span` (default): every digest from the first to the last one the input has events in;
 * - `all`: every digest given (a complete export of the digests' whole period);
 * - `none` (`--partial`): none; missing events are warnings, extra or altered ones still fail.
 */
export type Completeness = 'span' | 'all' | 'none';

/** Where an input's cut-off comes from. */
export type CutoffSource = 'export_record' | 'as_of' | 'inferred' | 'api';

export interface Cutoff {
  /** received_at (inclusive): events received later may legitimately be missing from the input. */
  at: string;
  source: CutoffSource;
}

export interface VerifyOptions {
  completeness: Completeness;
  /** Every warning becomes a failure. */
  strict: boolean;
  /**
   * The input's cut-off: under `span`, an interval ending after it is not required complete.
   * Absent or null: none (the input claims every event up to its last interval's end).
   */
  cutoff?: Cutoff | null;
  /**
   * Start of the export's window (occurred_at): under `span`, an interval beginning before it is
   * not required complete (its earlier events are outside the window).
   */
  windowStart?: string | null;
  /** The filters (other than the window) of the export the input is, when known. */
  filteredBy?: readonly string[];
}

export type IntervalStatus = 'complete' | 'incomplete' | 'mismatch' | 'outside_input';

/** Why an interval is not required complete. */
export type Exemption = 'partial' | 'outside_span' | 'after_cutoff' | 'before_window';

export type Verdict = 'passed' | 'failed' | 'nothing_verified';

export interface DigestReport {
  sequence: number;
  interval: { start: string; end: string };
  event_count: number;
  events_present: number;
  signature_valid: boolean;
  status: IntervalStatus;
  /** Whether the input must hold all of its events (see Completeness). */
  must_be_complete: boolean;
  /** Why it need not, when it need not. */
  exemption: Exemption | null;
}

export interface VerificationReport {
  /** PASSED: no failure, and at least one event proven. */
  ok: boolean;
  verdict: Verdict;
  /** Why nothing was verified (verdict `nothing_verified`). */
  nothing_verified: string | null;
  tenant_id: string | null;
  options: VerifyOptions;
  public_key: { key_id: string | null; fingerprint: string };
  summary: {
    events_checked: number;
    event_hashes_valid: number;
    /** Events in an interval matching its signed digest, or with a valid inclusion proof. */
    events_proven: number;
    events_sealed: number;
    events_not_yet_sealed: number;
    digests_checked: number;
    signatures_valid: number;
    chain_problems: number;
    intervals_complete: number;
    intervals_incomplete: number;
    intervals_mismatched: number;
    intervals_outside_input: number;
    proofs_checked: number | null;
    failures: number;
    warnings: number;
  };
  /**
   * The chain's ends with their hashes. Its first digest is trusted as given unless it is sequence
   * 1: compare the anchor's hash with one recorded earlier, and record the head's for next time.
   */
  chain: { anchor: { sequence: number; hash: string }; head: { sequence: number; hash: string } } | null;
  digests: DigestReport[];
  findings: Finding[];
}

const SAMPLE = 5;

const sampleIds = (events: readonly SealedEvent[]): string =>
  events
    .slice(0, SAMPLE)
    .map((e) => e.id)
    .join(', ') + (events.length > SAMPLE ? `, … ${events.length - SAMPLE} more` : '');

/** Index of the digest whose interval holds `receivedAt`, by binary search on interval ends. */
const digestFinder = (digests: readonly SignedDigest[]) => {
  const byEnd = digests
    .map((_, i) => i)
    .sort((a, b) => {
      const x = (digests[a] as SignedDigest).interval.end;
      const y = (digests[b] as SignedDigest).interval.end;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  return (receivedAt: string): number => {
    let low = 0;
    let high = byEnd.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((digests[byEnd[mid] as number] as SignedDigest).interval.end < receivedAt) low = mid + 1;
      else high = mid;
    }
    const index = byEnd[low];
    return index !== undefined && covers(digests[index] as SignedDigest, receivedAt) ? index : -1;
  };
};

/** Why the present events of a digest fall short, naming the missing first/last events when it can. */
const missingText = (digest: SignedDigest, ordered: readonly SealedEvent[]): string => {
  const ids = new Set(ordered.map((e) => e.id));
  const { first_event: firstRef, last_event: lastRef } = digest;
  const named: string[] = [];
  if (firstRef !== null && !ids.has(firstRef.id)) named.push(`first event ${firstRef.id}`);
  if (lastRef !== null && !ids.has(lastRef.id) && lastRef.id !== firstRef?.id) {
    named.push(`last event ${lastRef.id}`);
  }
  if (named.length === 0) return 'missing: not identifiable, a digest names only its first and last events';
  const all = named.length === digest.event_count - ordered.length;
  return `missing${all ? ':' : ' include'} its ${named.join(' and its ')}`;
};

/** Why a report without failures still proves nothing; null when it proves something. */
const nothingVerifiedReason = (
  read: number,
  events: number,
  digests: number,
  proven: number,
  proofs: ProofResults | undefined,
): string | null => {
  if (read === 0) return 'the input holds no events';
  if (digests === 0) return 'no digest was given: nothing links the events to a signature';
  if (events === 0) return "none of the input's events belongs to the digests' tenant";
  if (proven > 0) return null;
  return `none of the ${events} event(s) lies in a sealed interval that the input holds completely${
    proofs === undefined ? '' : ' or has a valid inclusion proof'
  }, and a hash alone proves nothing (whoever edits an event can recompute it): verify an unfiltered export taken after its events were sealed (with --record), or from the API with --proofs`;
};

/** Checks 4 and 5 over the ledger's events, and the report of every check. */
export const buildReport = (input: {
  ledger: EventLedger;
  chain: ChainCheck;
  publicKey: PublicKeyInput;
  proofs?: ProofResults;
  /** The record of the export the input is: its row count must be the file's. */
  exportRecord?: ExportRecordInput;
  options: VerifyOptions;
}): VerificationReport => {
  const { ledger, chain, options } = input;
  const { digests } = chain;
  const findings: Finding[] = [...ledger.findings, ...chain.findings];
  const record = input.exportRecord;
  if (record !== undefined && record.rows !== ledger.checked) {
    findings.push(
      failure(
        'export_record',
        `export ${record.id}`,
        `the record says ${record.rows} rows, the file holds ${ledger.checked} (truncated, padded, or another export's file)`,
      ),
    );
  }

  const onlyTenant = ledger.byTenant.size === 1 ? [...ledger.byTenant.keys()][0] : undefined;
  const tenantId: string | null = digests[0]?.tenant_id ?? onlyTenant ?? null;
  for (const [tenant, events] of ledger.byTenant) {
    if (tenant === tenantId) continue;
    findings.push(
      failure(
        'event_tenant',
        `tenant ${tenant}`,
        tenantId === null
          ? `${events.length} event(s) of several tenants in one input (${sampleIds(events)})`
          : `${events.length} event(s) belong to another tenant than the digests' ${tenantId} (${sampleIds(events)})`,
      ),
    );
  }
  const events = (tenantId === null ? undefined : ledger.byTenant.get(tenantId)) ?? [];

  // Check 5 while grouping: every event in exactly one interval, or after the last seal.
  const buckets: SealedEvent[][] = digests.map(() => []);
  const find = digestFinder(digests);
  const first = digests[0];
  const last = digests.at(-1);
  const unsealed: SealedEvent[] = [];
  const beforeAnchor: SealedEvent[] = [];
  for (const event of events) {
    const index = find(event.received_at);
    if (index !== -1) (buckets[index] as SealedEvent[]).push(event);
    else if (last === undefined || event.received_at > last.interval.end) unsealed.push(event);
    else if (first !== undefined && event.received_at <= first.interval.start && first.sequence !== 1)
      beforeAnchor.push(event);
    else {
      findings.push(
        failure(
          'coverage',
          `event ${event.id}`,
          first !== undefined && event.received_at <= first.interval.start
            ? `received at ${event.received_at}, before the tenant's first digest began (inserted?)`
            : `received at ${event.received_at}, in no digest's interval (inserted, or its digest is missing)`,
        ),
      );
    }
  }
  if (unsealed.length > 0) {
    findings.push(
      warning(
        'coverage',
        `${unsealed.length} event(s)`,
        last === undefined
          ? `no digest given: not sealed yet, or the digests are missing (${sampleIds(unsealed)})`
          : `received after digest ${last.sequence} ended (${last.interval.end}): not sealed yet, verify again after the next seal (${sampleIds(unsealed)})`,
      ),
    );
  }
  if (beforeAnchor.length > 0 && first !== undefined) {
    findings.push(
      warning(
        'coverage',
        `${beforeAnchor.length} event(s)`,
        `received before digest ${first.sequence}, the first given: not checked, add the earlier digests (${sampleIds(beforeAnchor)})`,
      ),
    );
  }

  // Check 4, per interval.
  const holding = buckets.map((b, i) => (b.length > 0 ? i : -1)).filter((i) => i !== -1);
  const spanFirst = holding[0] ?? Number.POSITIVE_INFINITY;
  const spanLast = holding.at(-1) ?? Number.NEGATIVE_INFINITY;
  const cutoff = options.cutoff ?? null;
  const windowStart = options.windowStart ?? null;
  const exemptionOf = (i: number): Exemption | null => {
    if (options.completeness === 'all') return null;
    if (options.completeness === 'none') return 'partial';
    const digest = digests[i] as SignedDigest;
    if (cutoff !== null && digest.interval.end > cutoff.at) return 'after_cutoff';
    if (windowStart !== null && digest.interval.start < windowStart) return 'before_window';
    return i >= spanFirst && i <= spanLast ? null : 'outside_span';
  };
  const exemptionText = (exemption: Exemption): string => {
    switch (exemption) {
      case 'after_cutoff':
        return `it ends after the input's cut-off (${cutoff?.at}): events received after that are legitimately missing, and those present are not proven by this digest`;
      case 'before_window':
        return `it begins before the export's window (${windowStart}): events received before that are legitimately missing, and those present are not proven by this digest`;
      default:
        return 'not required complete (--partial)';
    }
  };

  const digestReports = digests.map((digest, i): DigestReport => {
    const ordered = inLeafOrder(buckets[i] as SealedEvent[]);
    const subject = `digest ${digest.sequence}`;
    const exemption = exemptionOf(i);
    const complete = exemption === null;
    for (let j = 1; j < ordered.length; j++) {
      const previous = ordered[j - 1] as SealedEvent;
      const event = ordered[j] as SealedEvent;
      if (event.id === previous.id && event.received_at === previous.received_at) {
        findings.push(failure('interval', `event ${event.id}`, `appears more than once in the input`));
      }
    }
    const present = ordered.length;
    let status: IntervalStatus;
    if (present > digest.event_count) {
      status = 'mismatch';
      findings.push(
        failure(
          'interval',
          subject,
          `${present} events received in its interval, ${digest.event_count} sealed: inserted or altered events`,
        ),
      );
    } else if (present === digest.event_count) {
      if (rootOf(ordered) !== digest.merkle_root) {
        status = 'mismatch';
        findings.push(
          failure(
            'interval',
            subject,
            `the ${present} events of its interval do not match its Merkle root: inserted, removed or altered events`,
          ),
        );
      } else if (
        (ordered[0]?.id ?? null) !== (digest.first_event?.id ?? null) ||
        (ordered.at(-1)?.id ?? null) !== (digest.last_event?.id ?? null)
      ) {
        status = 'mismatch';
        findings.push(
          failure('interval', subject, 'its first_event or last_event does not match its events'),
        );
      } else {
        status = 'complete';
      }
    } else if (present === 0 && !complete) {
      status = 'outside_input';
    } else {
      status = 'incomplete';
      const text = `${present} of ${digest.event_count} events present (${missingText(digest, ordered)})`;
      if (complete) {
        findings.push(
          failure(
            'interval',
            subject,
            `${text}; if the input is a filtered export or window, not the complete log, verify with --partial`,
          ),
        );
      } else {
        findings.push(warning('interval', subject, `${text}; ${exemptionText(exemption ?? 'partial')}`));
      }
    }
    return {
      sequence: digest.sequence,
      interval: { start: digest.interval.start, end: digest.interval.end },
      event_count: digest.event_count,
      events_present: present,
      signature_valid: chain.signatureValid[i] ?? false,
      status,
      must_be_complete: complete,
      exemption,
    };
  });

  if (input.proofs !== undefined) findings.push(...input.proofs.findings);
  const final = options.strict
    ? findings.map((f) => (f.severity === 'warning' ? { ...f, severity: 'failure' as const } : f))
    : findings;
  const failures = final.filter((f) => f.severity === 'failure').length;
  const count = (status: IntervalStatus) => digestReports.filter((d) => d.status === status).length;
  // Proven: in an interval whose count, root and ends match its validly signed digest of the
  // chain (a failure anywhere fails the whole report), or with a valid inclusion proof.
  const provenIds = new Set(input.proofs?.proven ?? []);
  digestReports.forEach((report, i) => {
    if (report.status === 'complete' && report.signature_valid)
      for (const event of buckets[i] as SealedEvent[]) provenIds.add(event.id);
  });
  const proven = events.filter((event) => provenIds.has(event.id)).length;
  const nothingVerified =
    failures > 0
      ? null
      : nothingVerifiedReason(ledger.checked, events.length, digests.length, proven, input.proofs);
  const verdict: Verdict = failures > 0 ? 'failed' : nothingVerified !== null ? 'nothing_verified' : 'passed';
  const anchor = digests[0];
  const head = digests.at(-1);
  return {
    ok: verdict === 'passed',
    verdict,
    nothing_verified: nothingVerified,
    tenant_id: tenantId,
    options,
    public_key: { key_id: input.publicKey.keyId, fingerprint: input.publicKey.fingerprint },
    summary: {
      events_checked: ledger.checked,
      event_hashes_valid: ledger.hashesMatching,
      events_proven: proven,
      events_sealed: buckets.reduce((sum, b) => sum + b.length, 0),
      events_not_yet_sealed: unsealed.length,
      digests_checked: digests.length,
      signatures_valid: chain.signatureValid.filter(Boolean).length,
      chain_problems: chain.findings.filter((f) => f.check === 'chain').length,
      intervals_complete: count('complete'),
      intervals_incomplete: count('incomplete'),
      intervals_mismatched: count('mismatch'),
      intervals_outside_input: count('outside_input'),
      proofs_checked: input.proofs?.checked ?? null,
      failures,
      warnings: final.length - failures,
    },
    chain:
      anchor === undefined || head === undefined
        ? null
        : {
            anchor: { sequence: anchor.sequence, hash: chain.hashes[0] as string },
            head: { sequence: head.sequence, hash: chain.hashes.at(-1) as string },
          },
    digests: digestReports,
    findings: final,
  };
};

/** All checks over events already in memory: the one-call form of EventLedger + checkChain + buildReport. */
export const verifyIntegrity = (input: {
  events: Iterable<unknown>;
  digests: readonly unknown[];
  publicKey: PublicKeyInput;
  options?: Partial<VerifyOptions>;
}): VerificationReport => {
  const ledger = new EventLedger();
  let n = 0;
  for (const event of input.events) ledger.add(event, `event #${++n}`);
  const chain = checkChain(digestsFrom(input.digests), input.publicKey);
  return buildReport({
    ledger,
    chain,
    publicKey: input.publicKey,
    options: { completeness: 'span', strict: false, ...input.options },
  });
};
