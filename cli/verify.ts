/**
 * `npm run verify -- …`: the auditor's offline verifier. It reads a tenant's events (an export
 * file, or the API page by page), its signed digests and the service's public key, runs every
 * check of shared/domain/verify.ts and prints a report: a summary first, then each failure and
 * warning by name, then the intervals. Exit 0 when nothing failed, 1 when tampering is detected,
 * 2 when the input cannot be verified at all (usage, unreadable file, bad JSON, not a key, API
 * errors) — so a script can tell "proven altered" from "not proven either way".
 *
 * Streaming: NDJSON, CSV and the export's JSON layout (one event per line) are read line by line,
 * and each event is reduced to its id, received_at and hash once its hash is checked. CSV is read
 * with csv-parse, a devDependency: the CLI runs from the repository with dev dependencies (tsx).
 *
 * The API key is sent only as a bearer token and never printed; prefer TRAILKEEPER_API_KEY to
 * --key, which shows in the shell history and the process list.
 *
 * `main(argv, io)` does the work and returns the exit code; output, fetch and the clock come in
 * through `io`, so tests run it without spawning a process. The API is read through the typed
 * client (client/), which retries throttling and outages; its answers are still checked here as
 * untrusted JSON.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import { parseArgs } from 'node:util';
import { parse as parseCsv } from 'csv-parse';
import { INTEGRITY } from '#shared/config/integrity.ts';
import { exportCutoff } from '#shared/domain/export.ts';
import {
  type CsvColumn,
  csvColumnsOf,
  csvHeaderProblem,
  eventFromCsvRecord,
} from '#shared/domain/export-format.ts';
import {
  buildReport,
  type ChainCheck,
  type Completeness,
  type Cutoff,
  checkChain,
  checkProof,
  type DigestReport,
  digestsFrom,
  EventLedger,
  type Exemption,
  exportRecordFrom,
  type Finding,
  failure,
  newestReceivedAt,
  type ProofResults,
  type PublicKeyInput,
  publicKeyFrom,
  type VerificationReport,
  VerifyInputError,
  type VerifyOptions,
} from '#shared/domain/verify.ts';
import {
  TrailkeeperClient,
  TrailkeeperError,
  TrailkeeperNetworkError,
  TrailkeeperResponseError,
} from '../client/index.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2, nothingVerified: 3 } as const;

/** The sealer's watermark lag in AWS: the longest any write may take to land (the verifier's margin). */
const SEAL_LAG_MS = INTEGRITY.watermarkLagSeconds * 1000;

export const API_KEY_ENV = 'TRAILKEEPER_API_KEY';

export const USAGE = `Usage: npm run verify -- [options]

Verifies a tenant's audit events against its signed, chained digests, without trusting the
service: every event's hash is recomputed, every digest's signature and chain link checked, and
the events of each sealed interval compared with its event count and Merkle root.

From files:
  --events <file>          the events: an export (.csv, .json, .ndjson) or a saved GET /v1/events page
  --format <csv|json|ndjson>  the events' format when the extension does not say it
  --record <file>          the export's record, saved from POST /v1/exports or GET /v1/exports/{id}:
                           its cut-off (as_of), window and row count (recommended)
  --digests <file>         the JSON of GET /v1/integrity/digests: a page ({"data": [...]}), an
                           array of digests, or several pages one after the other
  --public-key <file>      the signing public key: a PEM, or the JSON of GET /v1/integrity/public-key

From the API (a key with events:read):
  --api <base url>         e.g. https://…execute-api….amazonaws.com/prod or http://localhost:3000
  --from <time> [--to <time>]  the window of events (occurred_at, RFC 3339; --to defaults to now),
                           fetched page by page; the digests covering their receipt and the public
                           key are fetched too
  --key <api key>          the API key (default: env ${API_KEY_ENV}, which keeps it out of the
                           shell history); it is never printed
  --public-key <file>      pin the public key instead of trusting the one the API serves
  --proofs                 also fetch and check every event's inclusion proof (one request each)

The cut-off: an export holds the events received up to the moment it read them (its as_of, in its
record); events received later are legitimately missing, so intervals that end after the cut-off
are never required complete. It comes from --record, or --as-of, or else is inferred as the newest
received_at in the input less the sealing lag (${SEAL_LAG_MS / 60_000} minutes), which leaves the
input's newest end unchecked. From the API it is the time of the fetch less that lag.
  --as-of <time>           the cut-off, when you have it without the record

Which intervals must be complete (an export or window selects events by occurred_at, digests seal
them by received_at, so a filtered input holds only part of some intervals):
  (default)                every interval from the first to the last one the input has events in,
                           up to the cut-off, and (with --record) none that begins before the
                           export's window: for a complete, unfiltered export
  --complete               every interval of the digests given, even those the input has no event
                           in, whatever the cut-off
  --partial                none: missing events are warnings; extra events still fail (a filtered
                           export with --record is verified this way)
Events past their retention (expires_at) are gone from later exports: verify such a period from an
export taken before they expired, or with --partial.

Output:
  --json                   the report as JSON instead of text
  --strict                 every warning is a failure (events not sealed yet, events before the
                           first digest given, missing events under --partial or past the cut-off)
  -h, --help               print this text

Checks and how their failures read:
  event <id>: hash mismatch (field edited?)
  event <id>: column(s) … differ from its event_json (CSV cell edited outside event_json)
  digest <n>: signature invalid
  digest <n>: previous_digest_hash does not match digest <n-1>: the chain is broken
  digest <n>: follows digest <m> (expected <m+1>): missing or reordered
  digest <n>: 2 of 3 events present (missing …)
  digest <n>: the 3 events of its interval do not match its Merkle root: inserted, removed or altered
  event <id>: received at …, in no digest's interval (inserted, or its digest is missing)
  export <id>: the record says 120 rows, the file holds 119
  warning: events received after the last digest are not sealed yet (verify again later)
The digests given are sorted by sequence (duplicates from overlapping pages are dropped). The
first digest given anchors the chain unless it is sequence 1: the report prints its hash and the
head's, to compare with hashes recorded at an earlier verification.

Exit codes:
  0  PASSED: no check failed, and events were proven (in an interval matching its signed digest,
     or by a valid inclusion proof); warnings possible
  1  FAILED: a check failed (tampering detected)
  2  the input could not be verified (usage, unreadable or malformed file, not a P-256 public key,
     API error)
  3  NOTHING VERIFIED: no check failed, but no event was proven (no events, no digests, or no
     event in a sealed interval the input holds completely); a hash alone proves nothing

Examples:
  npm run verify -- --events export.ndjson --record export-record.json --digests digests.json \\
      --public-key public-key.json
  ${API_KEY_ENV}=… npm run verify -- --api http://localhost:3000 --from 2026-01-01T00:00:00Z --partial --proofs
`;

export interface CliIo {
  /** The report; may return a promise to apply back-pressure. */
  stdout(text: string): void | Promise<void>;
  /** Progress and errors. */
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof fetch;
  now(): Date;
  /** Waits before retrying an API call. */
  sleep(ms: number): Promise<void>;
}

class UsageError extends Error {}
/** The input cannot be read: a file, its JSON, or the API. */
class InputError extends Error {}
/** The API answered with an error status. */
class ApiError extends InputError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const OPTIONS = {
  events: { type: 'string' },
  format: { type: 'string' },
  digests: { type: 'string' },
  'public-key': { type: 'string' },
  api: { type: 'string' },
  key: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  record: { type: 'string' },
  'as-of': { type: 'string' },
  proofs: { type: 'boolean' },
  partial: { type: 'boolean' },
  complete: { type: 'boolean' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const EVENT_FORMATS = ['csv', 'json', 'ndjson'] as const;
type EventFormat = (typeof EVENT_FORMATS)[number];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const PROGRESS_EVERY = 100_000;
const PAGE_LIMIT = 1000;
const PROOF_CONCURRENCY = 8;

interface RawEvent {
  event?: unknown;
  where: string;
  /** A problem the reader found (a CSV cell that disagrees with event_json, …). */
  problem?: string;
}

// ---------------------------------------------------------------------------------------------
// Reading files.

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const readText = async (path: string, what: string): Promise<string> => {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the ${what} file ${path}: ${errorText(error)}`);
  }
};

const parseJson = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${errorText(error)}`);
  }
};

/**
 * The JSON values of a file holding one or more (pages saved one after the other): each top-level
 * object or array is cut out by tracking nesting and strings, then parsed.
 */
export const jsonValues = (text: string, name: string): unknown[] => {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return [JSON.parse(body)];
  } catch {
    // Not a single value: try several.
  }
  const values: unknown[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && /\s/.test(body[i] as string)) i++;
    if (i >= body.length) break;
    const start = i;
    if (body[i] !== '{' && body[i] !== '[')
      throw new InputError(`${name} is not valid JSON (at offset ${i})`);
    let depth = 0;
    let inString = false;
    for (; i < body.length; i++) {
      const c = body[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    values.push(parseJson(body.slice(start, i), `${name} (value ${values.length + 1})`));
  }
  return values;
};

const lines = (path: string) =>
  createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });

async function* ndjsonEvents(path: string): AsyncGenerator<RawEvent> {
  const name = basename(path);
  let n = 0;
  for await (const line of lines(path)) {
    n++;
    const text = n === 1 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() === '') continue;
    const where = `${name} line ${n}`;
    yield { event: parseJson(text, where), where };
  }
}

/** An event line of the export's JSON layout: `{…}` or `{…},`. */
const eventLine = (line: string): unknown => {
  const text = line.trim().replace(/,$/, '');
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * A JSON array of events. The export writes `[`, one event per line, `]`: read that line by line
 * (a million events exceed the longest string JSON.parse takes); anything else is parsed whole.
 */
async function* jsonEvents(path: string): AsyncGenerator<RawEvent> {
  const name = basename(path);
  const reader = lines(path);
  const iterator = reader[Symbol.asyncIterator]();
  const head: string[] = [];
  for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
    if (result.value.trim() !== '') head.push(result.value);
    if (head.length === 2) break;
  }
  const [first, second] = head;
  const exportLayout =
    first?.replace(/^\uFEFF/, '').trim() === '[' &&
    (second?.trim() === ']' || eventLine(second ?? '') !== undefined);
  if (exportLayout) {
    let n = 0;
    let ended = false;
    for await (const line of lines(path)) {
      n++;
      const text = line.trim();
      if (n === 1 || text === '') continue;
      if (ended) throw new InputError(`${name} line ${n}: text after the closing ]`);
      if (text === ']') {
        ended = true;
        continue;
      }
      const event = eventLine(text);
      if (event === undefined) throw new InputError(`${name} line ${n} is not an event of the JSON array`);
      yield { event, where: `${name} line ${n}` };
    }
    if (!ended) throw new InputError(`${name} ends before its closing ] (truncated?)`);
    reader.close();
    return;
  }
  reader.close();
  const whole = parseJson((await readText(path, 'events')).replace(/^\uFEFF/, ''), name);
  const events =
    whole !== null && typeof whole === 'object' && 'data' in whole
      ? (whole as { data: unknown }).data
      : whole;
  if (!Array.isArray(events))
    throw new InputError(`${name} is neither an array of events nor a page of them`);
  for (const [i, event] of events.entries()) yield { event, where: `${name} [${i}]` };
}

/** A CSV export: the header must be the verifiable one; every record yields its event_json. */
async function* csvEvents(path: string): AsyncGenerator<RawEvent> {
  const name = basename(path);
  const records = parseCsv({ bom: true, relax_column_count: true });
  // pipeline, not pipe: a read error (missing file, EIO) must destroy the parser and end the loop.
  pipeline(createReadStream(path), records, () => {});
  let n = 0;
  // The file's own columns (an export may choose them); the verification columns follow them.
  let columns: CsvColumn[] = [];
  try {
    for await (const record of records as AsyncIterable<string[]>) {
      if (n++ === 0) {
        const problem = csvHeaderProblem(record);
        if (problem !== null) throw new InputError(`${name}: ${problem}`);
        columns = csvColumnsOf(record) ?? [];
        continue;
      }
      const where = `${name} row ${n - 1}`;
      const reading = eventFromCsvRecord(record, columns);
      yield reading.ok
        ? { event: reading.event, where }
        : {
            ...(reading.event === undefined ? {} : { event: reading.event }),
            where,
            problem: reading.problem,
          };
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    // csv-parse's own errors have CSV_* codes; anything else comes from reading the file.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !code.startsWith('CSV_'))
      throw new InputError(`cannot read the events file ${path}: ${errorText(error)}`);
    throw new InputError(`${name} is not valid CSV: ${errorText(error)}`);
  }
}

const formatOf = (path: string, given: unknown): EventFormat => {
  if (given !== undefined) {
    if (!EVENT_FORMATS.includes(given as EventFormat))
      throw new UsageError(`--format must be one of ${EVENT_FORMATS.join(', ')}`);
    return given as EventFormat;
  }
  const extension = extname(path).toLowerCase().slice(1);
  if (extension === 'jsonl') return 'ndjson';
  if (EVENT_FORMATS.includes(extension as EventFormat)) return extension as EventFormat;
  throw new UsageError(`cannot tell the format of ${basename(path)} from its extension: pass --format`);
};

const READERS: Record<EventFormat, (path: string) => AsyncGenerator<RawEvent>> = {
  csv: csvEvents,
  json: jsonEvents,
  ndjson: ndjsonEvents,
};

/** Feeds raw events to the ledger, with progress on stderr for long inputs. */
const ingest = (ledger: EventLedger, raw: RawEvent, io: CliIo): void => {
  if (raw.problem !== undefined) {
    const id = (raw.event as { id?: unknown } | undefined)?.id;
    const problem = failure(
      'event_format',
      typeof id === 'string' ? `event ${id}` : raw.where,
      raw.problem,
      raw.where,
    );
    if (raw.event === undefined) ledger.unreadable(problem);
    else ledger.reject(problem);
  }
  if (raw.event !== undefined) ledger.add(raw.event, raw.where);
  if (ledger.checked % PROGRESS_EVERY === 0) io.stderr(`verify: ${ledger.checked} events read\n`);
};

// ---------------------------------------------------------------------------------------------
// The API.

/** Attempts per API request (the first included), and the bound of each. */
const API_RETRY = { maxAttempts: 4, baseDelayMs: 1000 };
const API_TIMEOUT_MS = 60_000;

/**
 * Runs one call of the API client (which retries throttling, unavailability and lost answers)
 * and turns its errors into the verifier's: the request with its query string (so the auditor
 * sees which window failed) and the service's problem, never the key.
 */
const api = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    const label = (e: { method: string; url: URL }) => `${e.method} ${e.url.pathname}${e.url.search}`;
    if (error instanceof TrailkeeperError) {
      const detail = [error.problem?.title, error.problem?.detail]
        .filter((s) => typeof s === 'string')
        .join(': ');
      throw new ApiError(
        `${label(error)}: HTTP ${error.status}${detail === '' ? '' : ` (${detail})`}`,
        error.status,
      );
    }
    if (error instanceof TrailkeeperNetworkError)
      throw new InputError(`${label(error)}: ${errorText(error.cause ?? error)}`);
    if (error instanceof TrailkeeperResponseError) throw new InputError(`the answer to ${error.message}`);
    throw error;
  }
};

/** Every event of the window, page by page, into the ledger; returns the received_at range. */
const fetchEvents = async (
  io: CliIo,
  client: TrailkeeperClient,
  from: string,
  to: string,
  ledger: EventLedger,
) => {
  let pages = 0;
  let earliest: string | undefined;
  let latest: string | undefined;
  const iterator = client.events.pages({ from, to, limit: PAGE_LIMIT });
  for (;;) {
    const next = await api(() => iterator.next());
    if (next.done === true) return { earliest, latest };
    pages++;
    // Each event is checked as the JSON the API sent: the verifier takes no type on trust.
    const events: unknown[] = next.value.data;
    events.forEach((event, i) => {
      const sealed = ledger.add(event, `events page ${pages} [${i}]`);
      if (sealed === undefined) return;
      if (earliest === undefined || sealed.received_at < earliest) earliest = sealed.received_at;
      if (latest === undefined || sealed.received_at > latest) latest = sealed.received_at;
      if (ledger.checked % PROGRESS_EVERY === 0) io.stderr(`verify: ${ledger.checked} events fetched\n`);
    });
  }
};

/**
 * The digests whose intervals hold the events' receipt: from the one ending at or after the
 * earliest received_at, until one ends at or after the latest (or the chain's head).
 */
const fetchDigests = async (
  io: CliIo,
  client: TrailkeeperClient,
  range: { earliest: string | undefined; latest: string | undefined },
  window: { from: string; to: string },
): Promise<unknown[]> => {
  const pages: unknown[] = [];
  const from = range.earliest ?? window.from;
  const to = range.earliest === undefined ? window.to : io.now().toISOString();
  const iterator = client.integrity.digestPages({ from, to });
  for (;;) {
    const next = await api(() => iterator.next());
    if (next.done === true) return pages;
    const digests: unknown[] = next.value.data;
    pages.push(digests);
    const ends = digests.map((d) => (d as { interval?: { end?: unknown } } | null)?.interval?.end);
    const latest = range.latest;
    if (latest !== undefined && ends.some((end) => typeof end === 'string' && end >= latest)) {
      await iterator.return(undefined);
      return pages;
    }
  }
};

/** Checks every event's inclusion proof, a few requests at a time; keeps only the failures. */
const fetchProofs = async (
  io: CliIo,
  client: TrailkeeperClient,
  ledger: EventLedger,
  tenantId: string | undefined,
  chain: ChainCheck,
): Promise<ProofResults> => {
  const events = tenantId === undefined ? [] : (ledger.byTenant.get(tenantId) ?? []);
  const findings: Finding[] = [];
  const proven = new Set<string>();
  let next = 0;
  let checked = 0;
  // 404: not sealed yet, which checkProof reports; the proof is checked as the JSON sent.
  const proofOf = (id: string): Promise<unknown> =>
    client.events.proof(id).catch((error: unknown) => {
      if (error instanceof TrailkeeperError && error.status === 404) return null;
      throw error;
    });
  const worker = async (): Promise<void> => {
    while (next < events.length) {
      const event = events[next++];
      if (event === undefined) return;
      let problem: Finding | null;
      try {
        const proof = await api(() => proofOf(event.id));
        problem = checkProof(chain, event, proof);
        if (proof !== null && problem === null) proven.add(event.id);
      } catch (error) {
        // 409: the service itself finds the stored event no longer matches what was sealed.
        if (!(error instanceof ApiError) || error.status !== 409) throw error;
        problem = failure('proof', `event ${event.id}`, `the service refuses its proof: ${error.message}`);
      }
      if (problem !== null) findings.push(problem);
      checked++;
      if (checked % 10_000 === 0) io.stderr(`verify: ${checked} proofs checked\n`);
    }
  };
  await Promise.all(Array.from({ length: PROOF_CONCURRENCY }, worker));
  return { checked, proven, findings };
};

// ---------------------------------------------------------------------------------------------
// The report.

const MAX_LISTED = 50;

const findingLine = (f: Finding): string =>
  `  ${f.subject}${f.location !== undefined && !f.subject.includes(f.location) ? ` (${f.location})` : ''}: ${f.message}\n`;

const listFindings = (title: string, findings: readonly Finding[]): string => {
  if (findings.length === 0) return '';
  const shown = findings.slice(0, MAX_LISTED).map(findingLine).join('');
  const more =
    findings.length > MAX_LISTED
      ? `  … and ${findings.length - MAX_LISTED} more (--json lists them all)\n`
      : '';
  return `\n${title} (${findings.length}):\n${shown}${more}`;
};

const pad = (text: string | number, width: number, right = false) =>
  right ? String(text).padStart(width) : String(text).padEnd(width);

const COMPLETENESS_TEXT: Record<Completeness, string> = {
  span: 'every interval the input spans',
  all: 'every interval given (--complete)',
  none: 'none required (--partial)',
};

const EXEMPTION_TEXT: Record<Exemption, string> = {
  partial: 'allowed',
  outside_span: 'allowed',
  after_cutoff: 'after the cut-off',
  before_window: 'before the window',
};

const completenessText = (report: VerificationReport): string => {
  const filteredBy = report.options.filteredBy ?? [];
  return report.options.completeness === 'none' && filteredBy.length > 0
    ? `none required (a filtered export: ${filteredBy.join(', ')})`
    : COMPLETENESS_TEXT[report.options.completeness];
};

/** A failed interval in capitals, so it stands out in a long table. */
const statusText = (d: DigestReport): string => {
  if (d.status === 'mismatch') return 'MISMATCH';
  if (d.status === 'incomplete')
    return d.exemption === null ? 'INCOMPLETE' : `incomplete (${EXEMPTION_TEXT[d.exemption]})`;
  return d.status.replace('_', ' ');
};

const CUTOFF_TEXT: Record<Cutoff['source'], string> = {
  export_record: "the export record's as_of",
  as_of: '--as-of',
  inferred: `inferred: the input's newest received_at less the ${SEAL_LAG_MS / 60_000}-minute sealing lag; --record gives the export's own`,
  api: `the fetch time less the ${SEAL_LAG_MS / 60_000}-minute sealing lag`,
};

/** The report's headline: the verdict, and for NOTHING VERIFIED why. */
const headline = (report: VerificationReport): string => {
  const s = report.summary;
  const counts = `${s.failures} failure(s), ${s.warnings} warning(s)`;
  if (report.verdict === 'nothing_verified')
    return `NOTHING VERIFIED: ${report.nothing_verified} (${counts})`;
  if (report.verdict === 'failed') return `FAILED (${counts})`;
  return `PASSED (${counts}): ${s.events_proven} of ${s.events_checked} event(s) proven`;
};

/** The human report: summary first, then failures, warnings, and the intervals the input touches. */
export const formatReport = (report: VerificationReport): string => {
  const s = report.summary;
  const sequences =
    report.digests.length === 0
      ? ''
      : `, sequence ${report.digests[0]?.sequence}..${report.digests.at(-1)?.sequence}`;
  const cutoff = report.options.cutoff ?? null;
  const windowStart = report.options.windowStart ?? null;
  const out: string[] = [
    `Trailkeeper integrity verification: ${headline(report)}\n`,
    `  events checked   ${s.events_checked}: ${s.event_hashes_valid} hashes valid, ${s.events_proven} proven, ${s.events_sealed} in sealed intervals, ${s.events_not_yet_sealed} not yet sealed\n`,
    `  digests checked  ${s.digests_checked}${sequences}: ${s.signatures_valid} signatures valid, ${s.chain_problems === 0 ? 'chain intact' : `${s.chain_problems} chain problem(s)`}\n`,
    `  intervals        ${s.intervals_complete} complete, ${s.intervals_incomplete} incomplete, ${s.intervals_mismatched} not matching their digest, ${s.intervals_outside_input} outside the input\n`,
  ];
  if (s.proofs_checked !== null) out.push(`  proofs checked   ${s.proofs_checked}\n`);
  out.push(
    `  completeness     ${completenessText(report)}${report.options.strict ? '; warnings are failures (--strict)' : ''}\n`,
    ...(cutoff === null ? [] : [`  cut-off          ${cutoff.at} (${CUTOFF_TEXT[cutoff.source]})\n`]),
    ...(windowStart === null ? [] : [`  window start     ${windowStart} (the export record's)\n`]),
    `  tenant           ${report.tenant_id ?? '(none)'}\n`,
    `  public key       ${report.public_key.key_id === null ? '' : `${report.public_key.key_id}, `}SHA-256 ${report.public_key.fingerprint}\n`,
  );
  if (report.chain !== null) {
    const { anchor, head } = report.chain;
    out.push(
      `  chain anchor     digest ${anchor.sequence} ${anchor.hash}${anchor.sequence === 1 ? '' : ' (trusted as given: compare with a hash you recorded)'}\n`,
      `  chain head       digest ${head.sequence} ${head.hash} (record it for the next verification)\n`,
    );
  }
  const failures = report.findings.filter((f) => f.severity === 'failure');
  const warnings = report.findings.filter((f) => f.severity === 'warning');
  out.push(listFindings('Failures', failures), listFindings('Warnings', warnings));
  const shown = report.digests.filter((d) => d.status !== 'outside_input' || !d.signature_valid);
  if (shown.length > 0) {
    out.push(
      `\nIntervals (received_at in (start, end]):\n`,
      `  ${pad('digest', 8)}${pad('end', 26)}${pad('sealed', 9, true)}${pad('present', 9, true)}  ${pad('signature', 10)}status\n`,
    );
    for (const d of shown) {
      out.push(
        `  ${pad(d.sequence, 8)}${pad(d.interval.end, 26)}${pad(d.event_count, 9, true)}${pad(d.events_present, 9, true)}  ${pad(d.signature_valid ? 'valid' : 'INVALID', 10)}${statusText(d)}\n`,
      );
    }
  }
  const outside = report.digests.length - shown.length;
  if (outside > 0) out.push(`  (${outside} more digest(s) outside the input: signature and chain checked)\n`);
  return out.join('');
};

// ---------------------------------------------------------------------------------------------
// Arguments and the run.

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const parseInstant = (value: string | undefined, name: string): string => {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required with --api`);
  if (!RFC3339.test(value) || Number.isNaN(Date.parse(value)))
    throw new UsageError(`--${name} must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z`);
  return new Date(Date.parse(value)).toISOString();
};

const completenessOf = (values: Values): Completeness => {
  if (values.partial && values.complete) throw new UsageError('--partial and --complete exclude each other');
  return values.partial ? 'none' : values.complete ? 'all' : 'span';
};

const apiClient = (values: Values, io: CliIo): TrailkeeperClient => {
  let baseUrl: URL;
  try {
    baseUrl = new URL(values.api ?? '');
  } catch {
    throw new UsageError('--api must be a URL, e.g. http://localhost:3000');
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:')
    throw new UsageError('--api must be http(s)');
  const apiKey = values.key ?? io.env[API_KEY_ENV];
  if (apiKey === undefined || apiKey === '') throw new UsageError(`--api needs --key or ${API_KEY_ENV}`);
  return new TrailkeeperClient({
    baseUrl,
    apiKey,
    fetch: io.fetch,
    sleep: io.sleep,
    now: () => io.now().getTime(),
    retry: API_RETRY,
    timeoutMs: API_TIMEOUT_MS,
  });
};

const run = async (values: Values, io: CliIo): Promise<VerificationReport> => {
  const completeness = completenessOf(values);
  const options: VerifyOptions = { completeness, strict: values.strict === true };
  const asOf: Cutoff | null =
    values['as-of'] === undefined ? null : { at: parseInstant(values['as-of'], 'as-of'), source: 'as_of' };
  if (asOf !== null && values.record !== undefined)
    throw new UsageError('--as-of and --record exclude each other: the record holds the cut-off');
  const ledger = new EventLedger();
  // `npm run` runs the script from the repository root; paths are the auditor's, from where they typed it.
  const pathOf = (path: string): string => resolve(io.env.INIT_CWD ?? '.', path);
  const pinnedKey = values['public-key'] === undefined ? undefined : pathOf(values['public-key']);

  if (values.api !== undefined) {
    for (const name of ['events', 'digests', 'format', 'record'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} reads a file: not with --api`);
    }
    const client = apiClient(values, io);
    const fetchedAt = io.now();
    const from = parseInstant(values.from, 'from');
    const to = values.to === undefined ? fetchedAt.toISOString() : parseInstant(values.to, 'to');
    if (from > to) throw new UsageError('--from is after --to');
    const range = await fetchEvents(io, client, from, to, ledger);
    const digestPages = await fetchDigests(io, client, range, { from, to });
    const publicKey =
      pinnedKey === undefined
        ? publicKeyFrom(JSON.stringify(await api(() => client.integrity.publicKey())))
        : publicKeyFrom(await readText(pinnedKey, 'public key'));
    const chain = checkChain(digestsFrom(digestPages), publicKey);
    const tenant = chain.digests[0]?.tenant_id ?? [...ledger.byTenant.keys()][0];
    const proofs = values.proofs ? await fetchProofs(io, client, ledger, tenant, chain) : undefined;
    // The events were read at fetchedAt: like an export's, their cut-off trails it by the sealing lag.
    options.cutoff = asOf ?? {
      at: exportCutoff({
        readStartMs: fetchedAt.getTime(),
        window: { from, to },
        toGiven: values.to !== undefined,
        lagMs: SEAL_LAG_MS,
      }),
      source: 'api',
    };
    return buildReport({ ledger, chain, publicKey, options, ...(proofs === undefined ? {} : { proofs }) });
  }

  for (const name of ['key', 'from', 'to', 'proofs'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} is for --api mode`);
  }
  if (values.events === undefined || values.digests === undefined || pinnedKey === undefined) {
    throw new UsageError('pass --events, --digests and --public-key (or --api …)');
  }
  const eventsPath = pathOf(values.events);
  const digestsPath = pathOf(values.digests);
  const format = formatOf(eventsPath, values.format);
  // The small inputs first, so a bad key, record or digests file fails before a long read.
  const publicKey: PublicKeyInput = publicKeyFrom(await readText(pinnedKey, 'public key'));
  const record =
    values.record === undefined
      ? undefined
      : exportRecordFrom(parseJson(await readText(pathOf(values.record), 'record'), basename(values.record)));
  const digests = digestsFrom(jsonValues(await readText(digestsPath, 'digests'), basename(digestsPath)));
  try {
    for await (const raw of READERS[format](eventsPath)) ingest(ledger, raw, io);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read the events file ${eventsPath}: ${errorText(error)}`);
  }
  if (record !== undefined) {
    options.cutoff = { at: record.asOf, source: 'export_record' };
    options.windowStart = record.windowStart;
    if (record.filteredBy.length > 0) {
      options.filteredBy = record.filteredBy;
      // A filtered export holds only part of any interval: none can be required complete.
      if (completeness === 'span') options.completeness = 'none';
    }
  } else {
    const newest = newestReceivedAt(ledger);
    options.cutoff =
      asOf ??
      (newest === null
        ? null
        : { at: new Date(Date.parse(newest) - SEAL_LAG_MS).toISOString(), source: 'inferred' });
  }
  return buildReport({
    ledger,
    chain: checkChain(digests, publicKey),
    publicKey,
    options,
    ...(record === undefined ? {} : { exportRecord: record }),
  });
};

const EXIT_OF: Record<VerificationReport['verdict'], number> = {
  passed: EXIT.ok,
  failed: EXIT.failure,
  nothing_verified: EXIT.nothingVerified,
};

export const main = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      await io.stdout(USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (argv.length === 0) throw new UsageError('nothing to verify');
    const report = await run(values, io);
    await io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return EXIT_OF[report.verdict];
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      (error instanceof TypeError && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    if (usage || error instanceof InputError || error instanceof VerifyInputError) {
      io.stderr(`verify: ${(error as Error).message}\n`);
      if (usage) io.stderr('Run `npm run verify -- --help` for usage.\n');
    } else {
      // A bug, not a verdict: it must not pass for "verified" nor for "tampering detected".
      io.stderr(`verify: internal error, nothing was verified: ${errorText(error)}\n`);
    }
    return EXIT.usage;
  }
};

const processIo = (): CliIo => ({
  stdout: async (text) => {
    if (!process.stdout.write(text)) await new Promise((done) => process.stdout.once('drain', done));
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  env: process.env,
  fetch: globalThis.fetch,
  now: () => new Date(),
  sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
});

const invokedDirectly = process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
