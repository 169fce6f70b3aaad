/**
 * The verifier CLI's contract, run in-process: each export format written by the real formatter
 * verifies (exit 0), tampering exits 1 with a message naming what failed, unreadable input exits 2,
 * and API mode pages through a stubbed service, sends the key only as a bearer token and never
 * prints it.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDigestBody,
  covers,
  type DigestBody,
  digestHash,
  eventLeaf,
  inLeafOrder,
  type SignedDigest,
  signingPayload,
} from '#shared/domain/digest.ts';
import { buildStoredEvent, type StoredEvent } from '#shared/domain/event.ts';
import { csvFormatter, type ExportFormat, FORMATTERS } from '#shared/domain/export-format.ts';
import { inclusionProof } from '#shared/domain/merkle.ts';
import { type CliIo, EXIT, main, USAGE } from '../../cli/verify.ts';

const TENANT = 'tnt_01jd0000000000000000000000';
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const INTERVAL_MS = 5 * 60_000;
const API_KEY = 'tk_live_secret-do-not-print';
const iso = (ms: number) => new Date(ms).toISOString();

const SERVICE_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const OTHER_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_PEM = SERVICE_KEY.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const PUBLIC_KEY_JSON = {
  key_id: 'local:0123456789abcdef',
  algorithm: 'ECDSA_SHA_256',
  curve: 'P-256',
  public_key_pem: PUBLIC_PEM,
};

const makeEvent = (n: number, receivedMs: number): StoredEvent => {
  const built = buildStoredEvent(
    {
      id: `evt-${String(n).padStart(4, '0')}`,
      action: 'member.role_changed',
      // A hostile cell: it must be neutralised in the CSV and still verify.
      actor: { id: n === 1 ? '=HYPERLINK("http://evil")' : `u${n % 3}`, type: 'user', name: 'Smith, "Al"' },
      target: { type: 'member', id: `m${n}` },
      context: { user_agent: ' Mozilla/5.0 ' },
      metadata: { note: n === 2 ? 'line one\nline two' : `+${n}` },
    },
    { tenantId: TENANT, retentionDays: null },
    receivedMs,
    (value) => value,
  );
  if (!built.ok) throw new Error(JSON.stringify(built.errors));
  return built.event;
};

const signDigest = (body: DigestBody): SignedDigest => ({
  ...body,
  signature: sign('sha256', signingPayload(body), {
    key: SERVICE_KEY.privateKey,
    dsaEncoding: 'der',
  }).toString('base64'),
});

/** Events received over four sealed five-minute intervals (newest first, as exported), and the digests. */
const buildLog = (perInterval = [3, 2, 0, 4]) => {
  const events: StoredEvent[] = [];
  const digests: SignedDigest[] = [];
  let n = 0;
  perInterval.forEach((count, k) => {
    const start = T0 + k * INTERVAL_MS;
    const sealed = Array.from({ length: count }, (_, j) => makeEvent(n++, start + (j + 1) * 60_000));
    events.push(...sealed);
    const previous = digests.at(-1);
    digests.push(
      signDigest(
        buildDigestBody({
          tenantId: TENANT,
          sequence: k + 1,
          start: iso(start),
          end: iso(start + INTERVAL_MS),
          events: inLeafOrder(sealed),
          previousDigestHash: previous === undefined ? null : digestHash(previous),
          sealedAt: iso(start + INTERVAL_MS + 6 * 60_000),
          signingKeyId: PUBLIC_KEY_JSON.key_id,
        }),
      ),
    );
  });
  return { events: events.reverse(), digests };
};

/** A file as the export job writes it, in chunks across pages. */
const exportFile = (format: ExportFormat, events: readonly StoredEvent[]): string => {
  const f = FORMATTERS[format];
  let out = f.begin();
  for (let i = 0; i < events.length; i += 4) out += f.rows(events.slice(i, i + 4), i);
  return out + f.end(events.length);
};

const EXPORT_ID = 'exp_01jd0000000000000000000000';

/** An export's record as GET /v1/exports/{id} shows it. */
const exportRecord = (fields: {
  rows: number;
  as_of: string | null;
  from?: string;
  status?: string;
  action?: string[];
}) => ({
  id: EXPORT_ID,
  status: fields.status ?? 'completed',
  format: 'ndjson',
  filters: {
    ...(fields.action === undefined ? {} : { action: fields.action }),
    from: fields.from ?? iso(T0 - 86_400_000),
    to: iso(T0 + 30 * 60_000),
  },
  rows: fields.rows,
  bytes: 1,
  progress: 1,
  error: null,
  notify_email: null,
  email_error: null,
  as_of: fields.as_of,
  created_at: iso(T0),
  started_at: iso(T0),
  completed_at: iso(T0),
  expires_at: iso(T0 + 7 * 86_400_000),
  download_url: `/v1/exports/${EXPORT_ID}/download`,
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  requests: { url: URL; headers: Record<string, string> }[];
}

type Route = (url: URL, headers: Record<string, string>) => { status: number; body?: unknown };

const run = async (argv: string[], route?: Route, env: Record<string, string> = {}): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  const requests: Run['requests'] = [];
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    now: () => new Date(T0 + 60 * INTERVAL_MS),
    sleep: async () => {},
    fetch: (async (input: URL | string, init?: RequestInit) => {
      const url = new URL(String(input));
      const headers = { ...(init?.headers as Record<string, string>) };
      requests.push({ url, headers });
      if (route === undefined) throw new Error('no network in this test');
      const { status, body } = route(url, headers);
      return new Response(body === undefined ? null : JSON.stringify(body), { status });
    }) as typeof fetch,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, requests };
};

let dir: string;
const file = async (name: string, content: string): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailkeeper-verify-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verify CLI: arguments', () => {
  it('prints the usage on --help and exits 0', async () => {
    const result = await run(['--help']);
    expect(result).toMatchObject({ code: EXIT.ok, stdout: USAGE, stderr: '' });
  });

  it('documents every exit code in the help', () => {
    expect(EXIT).toEqual({ ok: 0, failure: 1, usage: 2, nothingVerified: 3 });
    expect(USAGE).toMatch(/^ {2}0 {2}PASSED: /m);
    expect(USAGE).toMatch(/^ {2}1 {2}FAILED: /m);
    expect(USAGE).toMatch(/^ {2}2 {2}the input could not be verified/m);
    expect(USAGE).toMatch(/^ {2}3 {2}NOTHING VERIFIED: /m);
  });

  it.each([
    [[], 'nothing to verify'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--events', 'x.ndjson'], 'pass --events, --digests and --public-key (or --api …)'],
    [['--events', 'x.txt', '--digests', 'd', '--public-key', 'k'], 'cannot tell the format of x.txt'],
    [
      ['--api', 'http://localhost:3000', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z'],
      '--api needs --key or TRAILKEEPER_API_KEY',
    ],
    [
      ['--api', 'http://x', '--key', 'k', '--from', 'yesterday', '--to', '2026-01-02T00:00:00Z'],
      '--from must be an RFC 3339 time',
    ],
    [
      ['--events', 'e.ndjson', '--digests', 'd', '--public-key', 'k', '--proofs'],
      '--proofs is for --api mode',
    ],
    [
      ['--events', 'e.ndjson', '--digests', 'd', '--public-key', 'k', '--partial', '--complete'],
      'exclude each other',
    ],
  ])('exits 2 with a usage hint for %j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('npm run verify -- --help');
    expect(result.stdout).toBe('');
  });
});

describe('verify CLI: export files', () => {
  const log = buildLog();
  let digests: string;
  let publicKey: string;

  beforeAll(async () => {
    digests = await file('digests.json', JSON.stringify({ data: log.digests, next: null }));
    publicKey = await file('public-key.pem', PUBLIC_PEM);
  });

  it.each(['csv', 'json', 'ndjson'] as const)(
    'passes an untouched %s export written by the export formatter, summary first (exit 0)',
    async (format) => {
      const events = await file(`clean.${format}`, exportFile(format, log.events));

      const result = await run(['--events', events, '--digests', digests, '--public-key', publicKey]);

      expect(result.stderr).toBe('');
      expect(result.code).toBe(EXIT.ok);
      const lines = result.stdout.split('\n');
      expect(lines[0]).toBe(
        'Trailkeeper integrity verification: PASSED (0 failure(s), 0 warning(s)): 9 of 9 event(s) proven',
      );
      expect(lines[1]).toBe(
        '  events checked   9: 9 hashes valid, 9 proven, 9 in sealed intervals, 0 not yet sealed',
      );
      expect(lines[2]).toBe('  digests checked  4, sequence 1..4: 4 signatures valid, chain intact');
      expect(lines[3]).toBe(
        '  intervals        4 complete, 0 incomplete, 0 not matching their digest, 0 outside the input',
      );
      expect(result.stdout).toContain(
        '  4       2026-03-01T00:20:00.000Z          4        4  valid     complete\n',
      );
    },
  );

  it('fails an NDJSON export with an edited field, naming the event and its line (exit 1)', async () => {
    const edited = structuredClone(log.events);
    const target = edited[3] as StoredEvent;
    target.action = 'member.removed';
    const events = await file('edited.ndjson', exportFile('ndjson', edited));

    const result = await run(['--events', events, '--digests', digests, '--public-key', publicKey]);

    expect(result.code).toBe(EXIT.failure);
    expect(result.stdout).toMatch(
      /^Trailkeeper integrity verification: FAILED \(1 failure\(s\), 0 warning\(s\)\)/,
    );
    expect(result.stdout).toContain(
      `\nFailures (1):\n  event ${target.id} (edited.ndjson line 4): hash mismatch (field edited?)\n`,
    );
  });

  it('fails a CSV export whose visible cell was edited without its event_json (exit 1)', async () => {
    const csv = exportFile('csv', log.events).replace('member.role_changed', 'member.viewed');
    const events = await file('edited.csv', csv);

    const result = await run(['--events', events, '--digests', digests, '--public-key', publicKey]);

    expect(result.code).toBe(EXIT.failure);
    expect(result.stdout).toContain(
      `  event ${log.events[0]?.id} (edited.csv row 1): column(s) action differ from its event_json (edited in the file?)\n`,
    );
  });

  it('verifies a CSV export with chosen columns, checking those cells too', async () => {
    const formatter = csvFormatter(['action', 'actor_role', 'timestamp']);
    const written = formatter.begin() + formatter.rows(log.events, 0) + formatter.end(log.events.length);
    const clean = await file('chosen.csv', written);

    const passed = await run(['--events', clean, '--digests', digests, '--public-key', publicKey]);

    expect(passed.code).toBe(EXIT.ok);
    expect(passed.stdout).toMatch(/^Trailkeeper integrity verification: PASSED/);

    const edited = await file('chosen-edited.csv', written.replace('member.role_changed', 'member.viewed'));
    const failed = await run(['--events', edited, '--digests', digests, '--public-key', publicKey]);

    expect(failed.code).toBe(EXIT.failure);
    expect(failed.stdout).toContain(
      `  event ${log.events[0]?.id} (chosen-edited.csv row 1): column(s) action differ from its event_json (edited in the file?)\n`,
    );
  });

  it('fails a JSON export with a removed event, in the JSON report too (exit 1)', async () => {
    const events = await file('removed.json', exportFile('json', log.events.slice(0, -1)));
    const asOf = iso(T0 + 30 * 60_000);

    const result = await run([
      ...['--events', events, '--digests', digests, '--public-key', publicKey],
      ...['--as-of', asOf, '--json'],
    ]);

    expect(result.code).toBe(EXIT.failure);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      ok: false,
      verdict: 'failed',
      options: { cutoff: { at: asOf, source: 'as_of' } },
    });
    expect(report.findings).toEqual([
      expect.objectContaining({
        check: 'interval',
        subject: 'digest 1',
        message: expect.stringMatching(/^2 of 3 events present/),
      }),
    ]);
  });

  it("leaves the newest end unchecked without the export's record, and catches a removal there with it", async () => {
    // The newest event removed: without --record the cut-off is inferred from the file itself
    // (its newest received_at less the sealing lag), so the last interval is out of its reach.
    const events = await file('removed-newest.ndjson', exportFile('ndjson', log.events.slice(1)));
    const args = ['--events', events, '--digests', digests, '--public-key', publicKey];
    const record = await file(
      'removed-newest-record.json',
      JSON.stringify(exportRecord({ rows: 9, as_of: iso(T0 + 4 * INTERVAL_MS) })),
    );

    const inferred = await run(args);
    const withRecord = await run([...args, '--record', record]);

    expect(inferred.code).toBe(EXIT.ok);
    expect(inferred.stdout).toContain(
      `  cut-off          ${iso(T0 + 18 * 60_000 - 960_000)} (inferred: the input's newest received_at less the 16-minute sealing lag; --record gives the export's own)\n`,
    );
    expect(inferred.stdout).toMatch(/ {2}valid {5}incomplete \(after the cut-off\)\n/);
    expect(withRecord.code).toBe(EXIT.failure);
    expect(withRecord.stdout).toContain(
      `  export ${EXPORT_ID}: the record says 9 rows, the file holds 8 (truncated, padded, or another export's file)\n`,
    );
    expect(withRecord.stdout).toContain('  digest 4: 3 of 4 events present');
  });

  it('prints the machine-readable report with --json', async () => {
    const events = await file('json-report.ndjson', exportFile('ndjson', log.events));

    const result = await run(['--events', events, '--digests', digests, '--public-key', publicKey, '--json']);

    expect(result.code).toBe(EXIT.ok);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      ok: true,
      tenant_id: TENANT,
      summary: { events_checked: 9, digests_checked: 4, failures: 0 },
      chain: {
        anchor: { sequence: 1 },
        head: { sequence: 4, hash: digestHash(log.digests[3] as SignedDigest) },
      },
    });
    expect(report.digests).toHaveLength(4);
  });

  it('reads digest pages saved one after the other, a pretty-printed JSON array, and the public-key JSON', async () => {
    const pages = await file(
      'pages.json',
      `${JSON.stringify({ data: log.digests.slice(2), next: null })}\n${JSON.stringify({ data: log.digests.slice(0, 3), next: 'x' }, null, 2)}\n`,
    );
    const key = await file('public-key.json', JSON.stringify(PUBLIC_KEY_JSON));
    const events = await file('pretty.json', JSON.stringify(log.events, null, 2));

    const result = await run(['--events', events, '--digests', pages, '--public-key', key]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('  public key       local:0123456789abcdef, SHA-256 ');
  });

  it('fails every digest under the wrong public key (exit 1)', async () => {
    const events = await file('wrong-key.ndjson', exportFile('ndjson', log.events));
    const wrong = await file(
      'wrong.pem',
      OTHER_KEY.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    );

    const result = await run(['--events', events, '--digests', digests, '--public-key', wrong]);

    expect(result.code).toBe(EXIT.failure);
    expect(result.stdout).toContain('  digest 1: signature invalid\n');
    expect(result.stdout).toContain(
      "  public key: no digest verifies under it: is it the service's signing key?\n",
    );
  });

  it('warns about events not sealed yet (exit 0), and fails them with --strict (exit 1)', async () => {
    const late = makeEvent(99, T0 + 4 * INTERVAL_MS + 1);
    const events = await file('late.ndjson', exportFile('ndjson', [late, ...log.events]));
    const args = ['--events', events, '--digests', digests, '--public-key', publicKey];

    const lenient = await run(args);
    const strict = await run([...args, '--strict']);

    expect(lenient.code).toBe(EXIT.ok);
    expect(lenient.stdout).toContain('PASSED (0 failure(s), 1 warning(s))');
    expect(lenient.stdout).toContain('\nWarnings (1):\n  1 event(s): received after digest 4 ended');
    expect(strict.code).toBe(EXIT.failure);
  });

  it('fails a filtered export by default; under --partial it proves nothing, and says so (exit 3)', async () => {
    const events = await file(
      'filtered.ndjson',
      exportFile(
        'ndjson',
        log.events.filter((_, i) => i % 2 === 0),
      ),
    );
    const args = ['--events', events, '--digests', digests, '--public-key', publicKey];
    const asOf = ['--as-of', iso(T0 + 30 * 60_000)];

    const strictByDefault = await run([...args, ...asOf]);
    const partial = await run([...args, '--partial']);

    expect(strictByDefault.code).toBe(EXIT.failure);
    expect(strictByDefault.stdout).toContain('verify with --partial');
    expect(strictByDefault.stdout).toMatch(/ {2}valid {5}INCOMPLETE\n/);
    expect(strictByDefault.stdout).toContain(`  cut-off          ${iso(T0 + 30 * 60_000)} (--as-of)\n`);
    expect(partial.code).toBe(EXIT.nothingVerified);
    expect(partial.stdout).toMatch(
      /^Trailkeeper integrity verification: NOTHING VERIFIED: none of the 5 event\(s\) lies in a sealed interval that the input holds completely, and a hash alone proves nothing/,
    );
    expect(partial.stdout).not.toContain('PASSED');
    expect(partial.stdout).toContain('  completeness     none required (--partial)');
    expect(partial.stdout).toMatch(/ {2}valid {5}incomplete \(allowed\)\n/);
  });

  it('says NOTHING VERIFIED (exit 3) for an input with no events, or no digests', async () => {
    const empty = await file('empty.ndjson', '');
    const events = await file('some.ndjson', exportFile('ndjson', log.events));
    const noDigests = await file('no-digests.json', JSON.stringify({ data: [], next: null }));

    const noEvents = await run(['--events', empty, '--digests', digests, '--public-key', publicKey]);
    const unsigned = await run(['--events', events, '--digests', noDigests, '--public-key', publicKey]);

    expect(noEvents.code).toBe(EXIT.nothingVerified);
    expect(noEvents.stdout).toMatch(
      /^Trailkeeper integrity verification: NOTHING VERIFIED: the input holds no events \(0 failure/,
    );
    expect(unsigned.code).toBe(EXIT.nothingVerified);
    expect(unsigned.stdout).toMatch(
      /^Trailkeeper integrity verification: NOTHING VERIFIED: no digest was given: nothing links the events to a signature/,
    );
  });

  it('passes an untouched export taken before a later seal: intervals past its cut-off are not required complete', async () => {
    // Exported while interval 4 was still open: its first two events are in the file, the two
    // received after the export are not — and digest 4 was sealed after the export.
    const exported = log.events.slice(2);
    const events = await file('before-seal.ndjson', exportFile('ndjson', exported));
    const record = await file(
      'before-seal-record.json',
      JSON.stringify(exportRecord({ rows: 7, as_of: iso(T0 + 17 * 60_000) })),
    );
    const args = ['--events', events, '--digests', digests, '--public-key', publicKey];

    const result = await run([...args, '--record', record]);
    const complete = await run([...args, '--record', record, '--complete']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(
      /^Trailkeeper integrity verification: PASSED \(0 failure\(s\), 1 warning\(s\)\): 5 of 7 event\(s\) proven\n/,
    );
    expect(result.stdout).toContain(
      `  cut-off          ${iso(T0 + 17 * 60_000)} (the export record's as_of)\n`,
    );
    expect(result.stdout).toContain(
      `  digest 4: 2 of 4 events present (missing include its last event evt-0008); it ends after the input's cut-off`,
    );
    expect(result.stdout).toMatch(/ {2}valid {5}incomplete \(after the cut-off\)\n/);
    // --complete demands every interval given, cut-off or not: the same file fails.
    expect(complete.code).toBe(EXIT.failure);
  });

  it("does not require the interval holding the export window's start, which also holds earlier events", async () => {
    const exported = log.events.filter((e) => e.received_at > iso(T0 + 2 * 60_000));
    const events = await file('window.ndjson', exportFile('ndjson', exported));
    const record = await file(
      'window-record.json',
      JSON.stringify(
        exportRecord({ rows: exported.length, as_of: iso(T0 + 30 * 60_000), from: iso(T0 + 2 * 60_000) }),
      ),
    );

    const result = await run([
      '--events',
      events,
      '--digests',
      digests,
      '--public-key',
      publicKey,
      '--record',
      record,
    ]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`  window start     ${iso(T0 + 2 * 60_000)} (the export record's)\n`);
    expect(result.stdout).toMatch(/ {2}valid {5}incomplete \(before the window\)\n/);
  });

  it("verifies a filtered export's record as --partial, and refuses a record that is not a completed export's", async () => {
    const events = await file('filtered-record.ndjson', exportFile('ndjson', log.events));
    const filtered = await file(
      'filtered-record.json',
      JSON.stringify(
        exportRecord({ rows: 9, as_of: iso(T0 + 30 * 60_000), action: ['member.role_changed'] }),
      ),
    );
    const running = await file(
      'running-record.json',
      JSON.stringify(exportRecord({ rows: 0, as_of: null, status: 'running' })),
    );
    const args = ['--events', events, '--digests', digests, '--public-key', publicKey];

    const partial = await run([...args, '--record', filtered]);
    const notDone = await run([...args, '--record', running]);
    const both = await run([...args, '--record', filtered, '--as-of', iso(T0)]);

    expect(partial.code).toBe(EXIT.ok);
    expect(partial.stdout).toContain('  completeness     none required (a filtered export: action)\n');
    expect(notDone.code).toBe(EXIT.usage);
    expect(notDone.stderr).toContain(`export ${EXPORT_ID} is running: wait until it is completed`);
    expect(both.code).toBe(EXIT.usage);
    expect(both.stderr).toContain('--as-of and --record exclude each other');
  });

  it('reads relative paths from where `npm run verify` was typed (INIT_CWD)', async () => {
    await file('relative.ndjson', exportFile('ndjson', log.events));

    const result = await run(
      ['--events', 'relative.ndjson', '--digests', 'digests.json', '--public-key', 'public-key.pem'],
      undefined,
      { INIT_CWD: dir },
    );

    expect(result.code).toBe(EXIT.ok);
  });

  it.each([
    [
      'an unreadable events file',
      async () => join(dir, 'missing.ndjson'),
      undefined,
      'cannot read the events file',
    ],
    [
      'an unreadable CSV file',
      async () => join(dir, 'missing.csv'),
      undefined,
      'cannot read the events file',
    ],
    [
      'a CSV with an unclosed quote',
      async () => file('quote.csv', `${exportFile('csv', log.events)}"unclosed,`),
      undefined,
      'quote.csv is not valid CSV: ',
    ],
    [
      'a line that is not JSON',
      async () => file('bad.ndjson', '{"id": "e1"\n'),
      undefined,
      'bad.ndjson line 1 is not valid JSON',
    ],
    [
      'a truncated JSON export',
      async () => file('cut.json', exportFile('json', log.events).slice(0, -3)),
      undefined,
      'cut.json ends before its closing ]',
    ],
    [
      'a CSV from before verifiable exports',
      async () =>
        file(
          'old.csv',
          'timestamp,actor_id,actor_type,actor_name,actor_email,action,target_type,target_id,team_id,ip,user_agent,status,impersonated,metadata_json\r\n',
        ),
      undefined,
      'exported before CSV exports carried id, received_at, hash and event_json',
    ],
    [
      'a public key that is not a PEM',
      async () => file('ok.ndjson', ''),
      'not-a-key',
      'the public key is not a PEM public key',
    ],
    [
      'digests that are not digests',
      async () => file('ok2.ndjson', ''),
      'bad-digests',
      'is not a signed digest',
    ],
  ])('exits 2 for %s', async (_name, events, special, message) => {
    const key = special === 'not-a-key' ? await file('key.txt', 'hello') : publicKey;
    const badDigests =
      special === 'bad-digests' ? await file('bad-digests.json', '[{"sequence": 1}]') : digests;

    const result = await run(['--events', await events(), '--digests', badDigests, '--public-key', key]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});

describe('verify CLI: from the API', () => {
  const log = buildLog();
  const late = makeEvent(50, T0 + 4 * INTERVAL_MS + 30_000);
  const all = [late, ...log.events];
  const base = 'http://api.test/prod';

  const proofOf = (event: StoredEvent) => {
    const digest = log.digests.find((d) => covers(d, event.received_at));
    if (digest === undefined) return undefined;
    const ordered = inLeafOrder(all.filter((e) => covers(digest, e.received_at)));
    const index = ordered.findIndex((e) => e.id === event.id);
    const leaves = ordered.map((e) => eventLeaf(e.hash));
    return {
      event_id: event.id,
      event_hash: event.hash,
      leaf_index: index,
      tree_size: leaves.length,
      audit_path: inclusionProof(leaves, index).map((h) => h.toString('hex')),
      digest,
    };
  };

  /** The service, three events and two digests per page; `tamper` edits what it answers. */
  const service =
    (
      tamper: {
        proof?: (proof: Record<string, unknown>) => void;
        failDigests?: number;
        conflict?: string;
      } = {},
    ): Route =>
    (url, headers) => {
      const path = url.pathname.replace(/^\/prod/, '');
      if (path === '/v1/integrity/public-key') {
        return headers.authorization === undefined ? { status: 200, body: PUBLIC_KEY_JSON } : { status: 400 };
      }
      if (headers.authorization !== `Bearer ${API_KEY}`)
        return { status: 401, body: { title: 'Unauthorized' } };
      if (path === '/v1/events') {
        const offset = Number(url.searchParams.get('cursor') ?? '0');
        const data = all.slice(offset, offset + 3);
        return {
          status: 200,
          body: { data, next_cursor: offset + 3 < all.length ? String(offset + 3) : null },
        };
      }
      if (path === '/v1/integrity/digests') {
        if (tamper.failDigests !== undefined)
          return { status: tamper.failDigests, body: { title: 'Boom', detail: 'down' } };
        const from = url.searchParams.get('from') ?? '';
        const to = url.searchParams.get('to') ?? '';
        const matching = log.digests.filter((d) => d.interval.end >= from && d.interval.end <= to);
        // As the service pages: the next page starts 1 ms after the last digest's end.
        const data = matching.slice(0, 2);
        const last = data.at(-1);
        const next = matching.length > 2 && last ? iso(Date.parse(last.interval.end) + 1) : null;
        return { status: 200, body: { data, next } };
      }
      const proofPath = /^\/v1\/events\/([^/]+)\/proof$/.exec(path);
      const event = all.find((e) => e.id === decodeURIComponent(proofPath?.[1] ?? ''));
      const proof = event === undefined ? undefined : proofOf(event);
      if (proof === undefined) return { status: 404, body: { title: 'Not Found' } };
      if (tamper.conflict === event?.id)
        return { status: 409, body: { title: 'Conflict', detail: 'no match' } };
      tamper.proof?.(proof);
      return { status: 200, body: proof };
    };

  const window = ['--from', iso(T0), '--to', iso(T0 + 60 * INTERVAL_MS)];

  it('fetches the events page by page, the digests covering them and the public key; the key never shows', async () => {
    const result = await run(['--api', base, '--key', API_KEY, ...window], service());

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(
      '  events checked   10: 10 hashes valid, 9 proven, 9 in sealed intervals, 1 not yet sealed',
    );
    // Read at `now`: the cut-off is the earlier of now less the sealing lag and --to less the skew.
    expect(result.stdout).toContain(
      `  cut-off          ${iso(T0 + 60 * INTERVAL_MS - 960_000)} (the fetch time less the 16-minute sealing lag)\n`,
    );
    expect(result.stdout).toContain('  digests checked  4, sequence 1..4: 4 signatures valid, chain intact');
    const paths = result.requests.map(
      (r) => `${r.url.pathname}${r.url.search.includes('cursor') ? ' (cursor)' : ''}`,
    );
    expect(paths.filter((p) => p.startsWith('/prod/v1/events'))).toHaveLength(4);
    expect(paths.filter((p) => p === '/prod/v1/integrity/digests')).toHaveLength(2);
    expect(
      result.requests.find((r) => r.url.pathname.endsWith('/public-key'))?.headers.authorization,
    ).toBeUndefined();
    expect(result.requests[0]?.url.searchParams.get('limit')).toBe('1000');
    expect(`${result.stdout}${result.stderr}`).not.toContain(API_KEY);
  });

  it('takes the key from TRAILKEEPER_API_KEY', async () => {
    const result = await run(['--api', base, ...window], service(), { TRAILKEEPER_API_KEY: API_KEY });
    expect(result.code).toBe(EXIT.ok);
  });

  it('checks every inclusion proof with --proofs, and fails one that does not lead to its root', async () => {
    const clean = await run(['--api', base, '--key', API_KEY, ...window, '--proofs'], service());
    const forged = await run(
      ['--api', base, '--key', API_KEY, ...window, '--proofs'],
      service({
        proof: (proof) => {
          if (proof.event_id === 'evt-0005') proof.leaf_index = ((proof.leaf_index as number) + 1) % 4;
        },
      }),
    );

    expect(clean.code).toBe(EXIT.ok);
    expect(clean.stdout).toContain('  proofs checked   10\n');
    expect(forged.code).toBe(EXIT.failure);
    expect(forged.stdout).toContain(
      "  event evt-0005: the inclusion proof does not lead to digest 4's root\n",
    );
  });

  it('fails an event whose proof the service refuses because it no longer matches its seal (409)', async () => {
    const result = await run(
      ['--api', base, '--key', API_KEY, ...window, '--proofs'],
      service({ conflict: 'evt-0002' }),
    );

    expect(result.code).toBe(EXIT.failure);
    expect(result.stdout).toContain(
      '  event evt-0002: the service refuses its proof: GET /prod/v1/events/evt-0002/proof: HTTP 409 (Conflict: no match)\n',
    );
  });

  it('retries a failing API, then exits 2 naming the request and its problem, never the key', async () => {
    const result = await run(['--api', base, '--key', API_KEY, ...window], service({ failDigests: 503 }));

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(
      /^verify: GET \/prod\/v1\/integrity\/digests\?from=.*: HTTP 503 \(Boom: down\)\n$/,
    );
    expect(result.requests.filter((r) => r.url.pathname.endsWith('/digests'))).toHaveLength(4);
    expect(result.stderr).not.toContain(API_KEY);
  });

  it('exits 2 when the key is refused', async () => {
    const result = await run(['--api', base, '--key', 'wrong', ...window], service());
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('HTTP 401 (Unauthorized)');
  });
});
