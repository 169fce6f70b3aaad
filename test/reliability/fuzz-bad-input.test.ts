/**
 * Hostile and malformed input, generated with fast-check and sent through the HTTP API of a real
 * local stack: broken JSON, wrong types, huge strings, deep nesting, oversized bodies, unicode edge
 * cases, header abuse, weird paths and ids, bad query parameters, forged cursors, bad admin bodies.
 *
 * Every answer must be a 4xx `application/problem+json` problem document without a stack trace
 * (API-Gateway-level answers included: the local gateway's own 404/405/413/401 are problem+json
 * too), and afterwards nothing may be stored: the tenant's trail holds only the
 * `audit_log.viewed` events of the reads that succeeded, and no tenant or key was created.
 *
 * Each category is one fast-check property over batches of CONCURRENCY requests sent at once.
 * Violations are collected rather than thrown, so one bug does not hide the others in its
 * category; each category then asserts it found none. Replay a run with TRAILKEEPER_FUZZ_SEED.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countBy,
  createHttpClient,
  createKey,
  createTenant,
  fmt,
  formatCounts,
  type HttpClient,
  type HttpReply,
  jsonRequest,
  printSummary,
  type RawRequest,
  RELIABILITY_OPERATOR_KEY,
  type ReliabilityTenant,
  scanControlTable,
  scanStoredEvents,
  startTestStack,
  type TestStack,
} from './support.ts';

const CONCURRENCY = 8;
const SEED = Number(process.env.TRAILKEEPER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STACK_TRACE = /at .+:\d+:\d+/;
const MiB = 1024 * 1024;
const OP = RELIABILITY_OPERATOR_KEY;

// ---------------------------------------------------------------------------------------------
// Cases

interface FuzzCase {
  readonly category: string;
  readonly variant: string;
  readonly request: RawRequest;
  /** When the answer is pinned down exactly (e.g. 413 for a body over 1 MiB); otherwise any 4xx. */
  readonly expectStatus?: number;
}

const preview = (body: Buffer | string | undefined): string => {
  if (body === undefined) return 'no body';
  const text = typeof body === 'string' ? body : body.toString('latin1');
  return `${Buffer.byteLength(body)} bytes ${JSON.stringify(text.slice(0, 100))}${text.length > 100 ? '…' : ''}`;
};

const describeCase = (c: FuzzCase): string => {
  const headers = Object.entries(c.request.headers ?? {})
    .map(([name, value]) => {
      const shown = (Array.isArray(value) ? value : [value]).map((v: string) =>
        v.length > 60 ? `${v.slice(0, 60)}…(${v.length})` : v,
      );
      return `${name}: ${shown.join(' | ')}`;
    })
    .join('; ');
  const path =
    c.request.path.length > 140
      ? `${c.request.path.slice(0, 140)}…(${c.request.path.length})`
      : c.request.path;
  return `[${c.variant}] ${c.request.method} ${path} {${headers}} ${preview(c.request.body)}`;
};

const fuzzCase = (
  category: string,
  variant: string,
  request: RawRequest,
  expectStatus?: number,
): FuzzCase => {
  const value: FuzzCase = {
    category,
    variant,
    request,
    ...(expectStatus === undefined ? {} : { expectStatus }),
  };
  // fast-check prints cases with this: compact, never a multi-megabyte body.
  Object.defineProperty(value, fc.toStringMethod, { value: () => describeCase(value) });
  return value;
};

const headersFor = (token: string | undefined, contentType: string | null = 'application/json') => ({
  ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  ...(contentType === null ? {} : { 'content-type': contentType }),
});

const raw = (
  method: string,
  path: string,
  token: string | undefined,
  body?: Buffer | string,
): RawRequest => ({
  method,
  path,
  headers: headersFor(token, body === undefined ? null : 'application/json'),
  ...(body === undefined ? {} : { body }),
});

// ---------------------------------------------------------------------------------------------
// Generators of valid and invalid values

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const fieldKey = fc.stringMatching(/^[a-z][a-z_]{0,9}$/);

/** A valid event (checked against the schema's rules by hand, not by importing it). */
const validEvent: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    id: word.map((w) => `fz_${w}`),
    action: fc.constantFrom(
      'auth.login',
      'member.role_changed',
      'secret.key.rotated',
      'billing.plan_changed',
    ),
    actor: fc.record(
      {
        id: word,
        type: fc.constantFrom('user', 'service', 'system'),
        email: fc.constantFrom('ada@example.com', 'bob@example.org'),
        name: word,
      },
      { requiredKeys: ['id'] },
    ),
    target: fc.record({ type: word, id: word, name: word }, { requiredKeys: [] }),
    team_id: word,
    area: fc.constantFrom('billing', 'security'),
    method: fc.constantFrom('POST', 'update'),
    status: fc.constantFrom('success', 'failure', 200, 404),
    duration_ms: fc.nat({ max: 100_000 }),
    context: fc.record(
      { ip: fc.constantFrom('203.0.113.9', '2001:db8::1'), user_agent: word },
      { requiredKeys: [] },
    ),
    metadata: fc.dictionary(fieldKey, fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.boolean()), {
      maxKeys: 4,
    }),
  },
  { requiredKeys: ['action', 'actor'] },
);

const CONTROL_CHARS = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009b',
  '\n',
  '\t',
];
const nonString = fc.constantFrom<unknown>(0, 42, -1, 1.5, true, false, null, [], ['x'], {}, { a: 1 });
const nonObject = fc.constantFrom<unknown>(0, 42, 1.5, true, null, 'x', '', [], [{}], ['a', 'b']);
const blank = fc.constantFrom('', ' ', '   ', '\u00a0', '\u3000 ', '\t ');
// Inside the value: at either end, the whitespace ones (\n, \t) are trimmed away, legitimately.
const withControl = fc
  .tuple(
    fc.stringMatching(/^[a-z]{1,5}$/),
    fc.constantFrom(...CONTROL_CHARS),
    fc.stringMatching(/^[a-z]{1,5}$/),
  )
  .map(([a, c, b]) => `${a}${c}${b}`);
const longer = (max: number, extra = 300) =>
  fc.integer({ min: max + 1, max: max + extra }).map((n) => 'x'.repeat(n));
const badIdentifier = (max: number) => fc.oneof(nonString, blank, withControl, longer(max));
const badText = (max: number) => fc.oneof(nonString, blank, longer(max));
const badEmail = fc.oneof(
  nonString,
  fc.constantFrom('x', 'a@', '@example.com', 'a b@example.com', 'a@@example.com', '', 'a@b'),
  longer(320).map((s) => `${s}@example.com`),
);
const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const DAY = 86_400_000;
const badOccurredAt = fc.oneof(
  nonString,
  fc.constantFrom('now', '', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '1700000000', 'tomorrow'),
  fc.constantFrom(
    'Mon, 01 Jan 2024 00:00:00 GMT',
    '2024-01-01',
    '2026-11-21T00:00:00',
    '2026-11-21 00:00:00Z',
  ),
  // More than 5 minutes ahead, or before the pro plan's 90-day window.
  fc.integer({ min: 10 * 60_000, max: 3650 * DAY }).map((ms) => new Date(Date.now() + ms).toISOString()),
  fc.integer({ min: 92 * DAY, max: 7300 * DAY }).map((ms) => new Date(Date.now() - ms).toISOString()),
);
/** Replaced by `1e999` in the JSON text: it parses to Infinity, which JSON.stringify cannot write. */
const INFINITY_MARKER = 'INFINITY_MARKER_3f9a';
const badPayload = fc.oneof(
  nonObject,
  fc.integer({ min: 21, max: 40 }).map((depth) => nested(depth)),
  fc.integer({ min: 33 * 1024, max: 64 * 1024 }).map((n) => ({ blob: 'x'.repeat(n) })),
  fc.constant({ n: INFINITY_MARKER }),
);

/** For each field (dotted path), values that make an otherwise valid event invalid. */
const FIELD_MUTATIONS: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.oneof(badIdentifier(128), fc.stringMatching(/^[a-z]{0,5}#[a-z]{0,5}$/)),
  action: fc.oneof(
    nonString,
    fc.string({ maxLength: 40 }).filter((s) => !/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(s)),
    fc.integer({ min: 127, max: 400 }).map((n) => `a.${'b'.repeat(n)}`),
  ),
  occurred_at: badOccurredAt,
  actor: fc.oneof(
    nonObject,
    fc.constant({}),
    fc.constant({ type: 'user' }),
    badIdentifier(256).map((id) => ({ id })),
  ),
  'actor.id': badIdentifier(256),
  'actor.type': fc.oneof(nonString, fc.constantFrom('robot', 'USER', '', 'admin', 'users')),
  'actor.email': badEmail,
  'actor.name': badText(256),
  'actor.role': badText(128),
  impersonator: fc.oneof(nonObject, fc.constant({}), fc.constant({ email: 'ada@example.com' })),
  'impersonator.id': badIdentifier(256),
  'impersonator.email': badEmail,
  target: nonObject,
  'target.id': badIdentifier(256),
  'target.type': badIdentifier(128),
  'target.name': badText(256),
  team_id: badIdentifier(256),
  context: nonObject,
  'context.ip': fc.oneof(
    nonString,
    fc.constantFrom('999.1.1.1', '1.2.3', 'abc', '::g', '1.2.3.4.5', '', '1.2.3.4/24', 'localhost'),
  ),
  'context.user_agent': badText(1024),
  'context.request_id': badIdentifier(256),
  'context.location': badText(256),
  area: badIdentifier(128),
  method: badIdentifier(64),
  status: fc.oneof(
    fc.constantFrom<unknown>('ok', '', 'SUCCESS', 'succeeded', '200', 200.5, true, null, [200], {}),
    fc.integer({ min: -1000, max: 99 }),
    fc.integer({ min: 600, max: 100_000 }),
  ),
  duration_ms: fc.constantFrom<unknown>(-1, -1000, 1.5, '5', 2_147_483_648, true, null, [], {}),
  request: badPayload,
  metadata: badPayload,
};
const NESTED_OBJECTS = ['actor', 'target', 'context', 'impersonator'];

const DELETE = Symbol('delete');
const setPath = (target: Record<string, any>, path: string, value: unknown): void => {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object' || Array.isArray(node[part])) node[part] = {};
    node = node[part];
  }
  const last = parts.at(-1) as string;
  if (value === DELETE) delete node[last];
  else node[last] = value;
};

/** A mutation that makes a valid event invalid, with a name for the report. */
const eventMutation: fc.Arbitrary<{ name: string; apply: (event: Record<string, any>) => void }> = fc.oneof(
  fc.constantFrom(...Object.keys(FIELD_MUTATIONS)).chain((path) =>
    (FIELD_MUTATIONS[path] as fc.Arbitrary<unknown>).map((value) => ({
      name: path,
      apply: (event: Record<string, any>) => setPath(event, path, value),
    })),
  ),
  fc
    .tuple(fc.constantFrom('', ...NESTED_OBJECTS.map((o) => `${o}.`)), fc.stringMatching(/^x_[a-z]{1,8}$/))
    .map(([prefix, key]) => ({
      name: 'unknown field',
      apply: (event: Record<string, any>) => setPath(event, `${prefix}${key}`, 1),
    })),
  fc.constantFrom('action', 'actor').map((field) => ({
    name: `missing ${field}`,
    apply: (event: Record<string, any>) => setPath(event, field, DELETE),
  })),
);

const eventJson = (value: unknown): string =>
  JSON.stringify(value).replaceAll(`"${INFINITY_MARKER}"`, '1e999');

/** An invalid event on its own. */
const invalidEvent = fc.tuple(validEvent, eventMutation).map(([event, mutation]) => {
  const copy = structuredClone(event) as Record<string, any>;
  mutation.apply(copy);
  return { name: mutation.name, event: copy };
});

/** A batch of valid events with unique ids and one invalid event somewhere: nothing may be stored. */
const batchWithInvalid = fc
  .tuple(fc.array(validEvent, { minLength: 0, maxLength: 99 }), invalidEvent, fc.nat())
  .map(([valid, bad, position]) => {
    const events: unknown[] = valid.map((e, i) => ({ ...e, id: `fz_batch_${i}` }));
    events.splice(position % (events.length + 1), 0, bad.event);
    return { name: `batch: ${bad.name}`, body: { events } };
  });

const invalidEnvelope = fc.oneof(
  nonObject.map((events) => ({ name: 'events not an array', body: { events } })),
  fc.constant({ name: 'empty batch', body: { events: [] } }),
  fc.integer({ min: 101, max: 130 }).map((n) => ({
    name: 'batch over 100',
    body: {
      events: Array.from({ length: n }, (_, i) => ({ id: `fz_${i}`, action: 'a.b', actor: { id: 'x' } })),
    },
  })),
  validEvent.map((e) => ({ name: 'unknown envelope field', body: { events: [e], x_extra: true } })),
  validEvent.map((e) => ({
    name: 'duplicate ids in batch',
    body: { events: [e, { ...e }].map((x) => ({ ...x, id: 'fz_dup' })) },
  })),
  fc
    .constantFrom<unknown>(null, [], 'x', 1)
    .map((item) => ({ name: 'batch item not an object', body: { events: [item] } })),
  fc.constantFrom<unknown>([], 'str', 1, true, null, [{ action: 'a.b', actor: { id: 'x' } }]).map((body) => ({
    name: 'body not an object',
    body,
  })),
);

// ---------------------------------------------------------------------------------------------
// The categories

interface FuzzContext {
  tenant: ReliabilityTenant;
  readKey: string;
  writeKey: string;
  revokedKey: string;
  /** Real cursors of this tenant, with the query that made them. */
  cursors: { query: Record<string, string>; cursor: string }[];
}

interface Category {
  readonly name: string;
  readonly runs: number;
  readonly cases: (ctx: FuzzContext) => fc.Arbitrary<FuzzCase>;
}

const EVENTS = '/v1/events';
const randomId = (prefix: string) =>
  fc.stringMatching(/^[0-9a-hjkmnp-tv-z]{26}$/).map((s) => `${prefix}_${s}`);

/** Ways to turn JSON text into something JSON.parse must refuse. */
const NOT_JSON: [string, (text: string) => string][] = [
  ['single quotes', (t) => t.replaceAll('"', "'")],
  ['trailing comma', (t) => `${t.slice(0, -1)},}`],
  ['comment', (t) => `/* c */${t}`],
  ['unquoted key', (t) => t.replace('"action"', 'action')],
  ['NaN', (t) => t.replace(/}$/, ',"n":NaN}')],
  ['hex number', (t) => t.replace(/}$/, ',"n":0x10}')],
  ['undefined', (t) => t.replace(/}$/, ',"n":undefined}')],
  ['leading dot', (t) => t.replace(/}$/, ',"n":.5}')],
  ['plus sign', (t) => t.replace(/}$/, ',"n":+1}')],
  ['raw tab in string', (t) => t.replace(/}$/, ',"s":"a\tb"}')],
  ['bad escape', (t) => t.replace(/}$/, ',"s":"\\x41"}')],
];

const brokenJson: Category = {
  name: 'broken-json',
  runs: 200,
  cases: (ctx) => {
    const post = (
      variant: string,
      body: Buffer | string,
      path = EVENTS,
      token = ctx.tenant.key,
      method = 'POST',
    ) => fuzzCase('broken-json', variant, raw(method, path, token, body), 400);
    const validText = fc.oneof(
      validEvent.map((e) => JSON.stringify(e)),
      fc.array(validEvent, { minLength: 1, maxLength: 5 }).map((events) => JSON.stringify({ events })),
    );
    const INVALID_UTF8 = [
      [0xff],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
    ];
    return fc.oneof(
      fc.tuple(validText, fc.nat()).map(([text, cut]) => post('truncated', text.slice(0, cut % text.length))),
      fc
        .uint8Array({ minLength: 1, maxLength: 2000 })
        .map((bytes) => post('garbage bytes', Buffer.from(bytes))),
      fc
        .tuple(
          validEvent,
          fc.constantFrom(...INVALID_UTF8),
          fc.constantFrom('actor.id', 'metadata.note', 'actor.name'),
        )
        .map(([event, bytes, field]) => {
          const copy = structuredClone(event) as Record<string, any>;
          setPath(copy, field, 'MARK');
          const [before, after] = JSON.stringify(copy).split('MARK') as [string, string];
          return post(
            `invalid UTF-8 in ${field}`,
            Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]),
          );
        }),
      fc
        .tuple(fc.constantFrom('\uFEFF', '\uFEFF\uFEFF'), invalidEvent)
        .map(([bom, bad]) => post('BOM + invalid event', `${bom}${eventJson(bad.event)}`)),
      validText.map((text) =>
        post('UTF-16LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
      ),
      fc
        .tuple(validText, fc.constantFrom('}', ']', ',', 'x', '{}', '\u0000', 'null', '"', '//'))
        .map(([text, tail]) => post('trailing garbage', `${text}${tail}`)),
      fc
        .tuple(validEvent, fc.constantFrom(...NOT_JSON))
        .map(([event, [name, spoil]]) => post(`not JSON: ${name}`, spoil(JSON.stringify(event)))),
      validEvent.map((e) =>
        post('duplicate key, last invalid', `${JSON.stringify(e).slice(0, -1)},"action":"NOT VALID"}`),
      ),
      fc
        .constantFrom('{', '}', '[', '"', 'undefined', 'NaN', "{'a':1}", '{"events":[', '\u0000', '\r\n')
        .map((text) => post('fragment', text)),
      fc
        .tuple(
          fc.constantFrom<[string, string]>(
            ['POST', '/v1/tenants'],
            ['PATCH', `/v1/tenants/${ctx.tenant.id}`],
            ['POST', `/v1/tenants/${ctx.tenant.id}/keys`],
          ),
          fc.nat(),
        )
        .map(([[method, path], cut]) => {
          const text = JSON.stringify({ name: 'Acme', scopes: ['events:read'], plan: 'pro' });
          const body = text.slice(0, Math.max(1, cut % text.length));
          const route = `${method} ${path.replace(ctx.tenant.id, '{id}')}`;
          return post(`admin: truncated (${route})`, body, path, OP, method);
        }),
    );
  },
};

const wrongTypes: Category = {
  name: 'wrong-types',
  runs: 250,
  cases: (ctx) =>
    fc
      .oneof(
        { weight: 5, arbitrary: invalidEvent.map((bad) => ({ name: bad.name, body: bad.event as unknown })) },
        { weight: 2, arbitrary: batchWithInvalid },
        { weight: 1, arbitrary: invalidEnvelope },
      )
      .map(({ name, body }) =>
        fuzzCase('wrong-types', name, raw('POST', EVENTS, ctx.tenant.key, eventJson(body)), 400),
      ),
};

const hugeStrings: Category = {
  name: 'huge-strings',
  runs: 50,
  cases: (ctx) => {
    // Over every field's limit, the 32 KiB of metadata included; under the 1 MiB body limit.
    const size = fc.integer({ min: 40_000, max: 600_000 });
    const huge = size.map((n) => 'x'.repeat(n));
    const inEvent = (field: string) =>
      fc.tuple(validEvent, huge).map(([event, value]) => {
        const copy = structuredClone(event) as Record<string, any>;
        setPath(copy, field, field === 'action' ? `a.${value}` : value);
        return fuzzCase(
          'huge-strings',
          `huge ${field}`,
          raw('POST', EVENTS, ctx.tenant.key, JSON.stringify(copy)),
          400,
        );
      });
    return fc.oneof(
      ...[
        'action',
        'id',
        'actor.id',
        'actor.name',
        'actor.email',
        'team_id',
        'area',
        'metadata.blob',
        'request.blob',
      ]
        .concat(['context.user_agent', 'target.id', 'impersonator.id'])
        .map(inEvent),
      fc
        .tuple(validEvent, size)
        .map(([event, n]) =>
          fuzzCase(
            'huge-strings',
            'huge metadata key',
            raw(
              'POST',
              EVENTS,
              ctx.tenant.key,
              JSON.stringify({ ...event, metadata: { ['k'.repeat(n)]: 1 } }),
            ),
            400,
          ),
        ),
      huge.map((name) =>
        fuzzCase(
          'huge-strings',
          'huge tenant name',
          raw('POST', '/v1/tenants', OP, JSON.stringify({ name })),
          400,
        ),
      ),
      huge.map((name) =>
        fuzzCase(
          'huge-strings',
          'huge key name',
          raw('POST', `/v1/tenants/${ctx.tenant.id}/keys`, OP, JSON.stringify({ name, scopes: ['admin'] })),
          400,
        ),
      ),
      fc
        .tuple(
          fc.constantFrom('actor_id', 'actor_email', 'target_id', 'team_id', 'action', 'status'),
          fc.integer({ min: 2_100, max: 9_000 }),
        )
        .map(([param, n]) =>
          fuzzCase(
            'huge-strings',
            `huge query ${param}`,
            jsonRequest('GET', `${EVENTS}?${param}=${'x'.repeat(n)}`, ctx.tenant.key),
            400,
          ),
        ),
      fc
        .integer({ min: 129, max: 9_000 })
        .map((n) =>
          fuzzCase(
            'huge-strings',
            'huge event id in path',
            jsonRequest('GET', `${EVENTS}/${'x'.repeat(n)}`, ctx.tenant.key),
            404,
          ),
        ),
    );
  },
};

const deepNesting: Category = {
  name: 'deep-nesting',
  runs: 40,
  cases: (ctx) => {
    const depth = fc.integer({ min: 1_000, max: 60_000 });
    const arrays = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;
    const objects = (d: number) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
    const mixed = (d: number) => `${'[{"a":'.repeat(d)}1${'}]'.repeat(d)}`;
    const shapes = { arrays, objects, mixed };
    const base = '{"action":"auth.login","actor":{"id":"u1"}';
    const at = {
      metadata: (v: string) => `${base},"metadata":{"deep":${v}}}`,
      request: (v: string) => `${base},"request":{"deep":${v}}}`,
      'metadata itself': (v: string) => `${base},"metadata":${v}}`,
      'actor.id': (v: string) => `{"action":"auth.login","actor":{"id":${v}}}`,
      'unknown field': (v: string) => `${base},"x_deep":${v}}`,
      'batch item': (v: string) => `{"events":[${v}]}`,
      'whole body': (v: string) => v,
    };
    return fc.oneof(
      fc
        .tuple(
          depth,
          fc.constantFrom(...(Object.keys(shapes) as (keyof typeof shapes)[])),
          fc.constantFrom(...(Object.keys(at) as (keyof typeof at)[])),
        )
        .map(([d, shape, where]) =>
          fuzzCase(
            'deep-nesting',
            `${shape} in ${where}`,
            raw('POST', EVENTS, ctx.tenant.key, at[where](shapes[shape](d))),
            400,
          ),
        ),
      fc
        .tuple(depth, fc.constantFrom('tenant name', 'key scopes'))
        .map(([d, where]) =>
          where === 'tenant name'
            ? fuzzCase('deep-nesting', where, raw('POST', '/v1/tenants', OP, `{"name":${objects(d)}}`), 400)
            : fuzzCase(
                'deep-nesting',
                where,
                raw('POST', `/v1/tenants/${ctx.tenant.id}/keys`, OP, `{"name":"k","scopes":${arrays(d)}}`),
                400,
              ),
        ),
    );
  },
};

const oversized: Category = {
  name: 'oversized',
  runs: 8,
  cases: (ctx) => {
    const size = fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: MiB + 1, max: 3 * MiB }) },
      { weight: 1, arbitrary: fc.integer({ min: 10 * MiB + 1, max: 11 * MiB }) },
    );
    const event = '{"action":"auth.login","actor":{"id":"u1"}}';
    const bodies = {
      'valid event padded with spaces': (n: number) => `${event}${' '.repeat(n - event.length)}`,
      'valid event with a huge metadata string': (n: number) =>
        `{"action":"auth.login","actor":{"id":"u1"},"metadata":{"blob":"${'x'.repeat(n)}"}}`,
      'batch of 100 big events': (n: number) =>
        JSON.stringify({
          events: Array.from({ length: 100 }, (_, i) => ({
            id: `fz_${i}`,
            action: 'a.b',
            actor: { id: 'x' },
            metadata: { b: 'x'.repeat(Math.ceil(n / 100)) },
          })),
        }),
      garbage: (n: number) => Buffer.alloc(n, 0x41),
    };
    return fc
      .tuple(
        size,
        fc.constantFrom(...(Object.keys(bodies) as (keyof typeof bodies)[])),
        fc.constantFrom('json', 'chunked', 'text/plain', 'tenants'),
      )
      .map(([n, kind, how]) => {
        const body = bodies[kind](n);
        const variant = `${kind} (${how})`;
        if (how === 'tenants')
          return fuzzCase('oversized', variant, raw('POST', '/v1/tenants', OP, body), 413);
        const headers: Record<string, string> = {
          authorization: `Bearer ${ctx.tenant.key}`,
          'content-type': how === 'text/plain' ? 'text/plain' : 'application/json',
          ...(how === 'chunked' ? { 'transfer-encoding': 'chunked' } : {}),
        };
        return fuzzCase(
          'oversized',
          variant,
          { method: 'POST', path: EVENTS, headers, body, timeoutMs: 120_000 },
          413,
        );
      });
  },
};

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', 'a\ud800b', '\udc00\ud800', 'x\ud83d'];
const INVISIBLE = [
  '\u202e',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u2066',
  '\u0000',
  '\u00ad',
  '\u0301',
  '\u2028',
  '\u180e',
];

const unicode: Category = {
  name: 'unicode',
  runs: 150,
  cases: (ctx) => {
    const K = ctx.tenant.key;
    const lone = fc.constantFrom(...LONE_SURROGATES);
    const loneIn = fc
      .tuple(
        validEvent,
        lone,
        fc.constantFrom(
          'actor.id',
          'actor.name',
          'id',
          'metadata.note',
          'target.name',
          'team_id',
          'context.user_agent',
          'area',
          'request.q',
          'actor.role',
        ),
      )
      .map(([event, s, field]) => {
        const copy = structuredClone(event) as Record<string, any>;
        setPath(copy, field, `v${s}`);
        // JSON.stringify writes a lone surrogate as a \udXXX escape: valid JSON syntax, not valid Unicode.
        return fuzzCase(
          'unicode',
          `lone surrogate in ${field}`,
          raw('POST', EVENTS, K, JSON.stringify(copy)),
          400,
        );
      });
    const loneKey = fc
      .tuple(validEvent, lone)
      .map(([event, s]) =>
        fuzzCase(
          'unicode',
          'lone surrogate in a metadata key',
          raw('POST', EVENTS, K, JSON.stringify({ ...event, metadata: { [`k${s}`]: 1 } })),
          400,
        ),
      );
    const loneAdmin = fc
      .tuple(lone, fc.constantFrom('tenant name', 'key name'))
      .map(([s, where]) =>
        where === 'tenant name'
          ? fuzzCase(
              'unicode',
              'lone surrogate in a tenant name',
              raw('POST', '/v1/tenants', OP, JSON.stringify({ name: `Acme${s}` })),
              400,
            )
          : fuzzCase(
              'unicode',
              'lone surrogate in a key name',
              raw(
                'POST',
                `/v1/tenants/${ctx.tenant.id}/keys`,
                OP,
                JSON.stringify({ name: `svc${s}`, scopes: ['events:read'] }),
              ),
              400,
            ),
      );
    const invisibleInAction = fc
      .tuple(validEvent, fc.constantFrom(...INVISIBLE), fc.nat())
      .map(([event, ch, at]) => {
        const action = String(event.action);
        const i = at % (action.length + 1);
        return fuzzCase(
          'unicode',
          `U+${ch.codePointAt(0)?.toString(16).padStart(4, '0')} in action`,
          raw(
            'POST',
            EVENTS,
            K,
            JSON.stringify({ ...event, action: `${action.slice(0, i)}${ch}${action.slice(i)}` }),
          ),
          400,
        );
      });
    const controlInIds = fc
      .tuple(
        validEvent,
        fc.constantFrom('\u0000', '\u0085', '\u009b', '\u001b', '\u0008'),
        fc.constantFrom('id', 'actor.id', 'target.id', 'team_id', 'context.request_id', 'impersonator.id'),
      )
      .map(([event, ch, field]) => {
        const copy = structuredClone(event) as Record<string, any>;
        setPath(copy, field, `a${ch}b`);
        return fuzzCase(
          'unicode',
          `control character in ${field}`,
          raw('POST', EVENTS, K, JSON.stringify(copy)),
          400,
        );
      });
    const homoglyphs = fc
      .tuple(
        validEvent,
        fc.constantFrom<[string, unknown]>(
          ['actor.type', 'us\u0435r'],
          ['status', 'succ\u0435ss'],
          ['context.ip', '\uff11.\uff12.\uff13.\uff14'],
          ['context.ip', '203.0.113.\u0669'],
          ['duration_ms', '\uff15'],
          ['actor.email', 'ada@\u0435xample.com\u202e'],
        ),
      )
      .map(([event, [field, value]]) => {
        const copy = structuredClone(event) as Record<string, any>;
        setPath(copy, field, value);
        return fuzzCase('unicode', `look-alike ${field}`, raw('POST', EVENTS, K, JSON.stringify(copy)), 400);
      });
    const queries = fc
      .constantFrom(
        'limit=%D9%A3',
        'limit=%EF%BC%91%EF%BC%90',
        'impersonated=%EF%BD%94rue',
        'from=%EF%BC%92024-01-01T00:00:00Z',
        'action=%EF%BD%81uth.login',
        'action=auth.login%E2%80%8B',
        'action=auth%E2%80%AE.login',
        '%EF%BD%81ction=auth.login',
        'limit=1%00',
        `status=${'%E2%80%AE'.repeat(17)}`,
      )
      .map((query) =>
        fuzzCase('unicode', `query ${query.split('=')[0]}`, jsonRequest('GET', `${EVENTS}?${query}`, K), 400),
      );
    const paths = fc
      .tuple(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        fc.constantFrom(...INVISIBLE.filter((c) => c !== '\u0000')),
      )
      .map(([s, ch]) =>
        fuzzCase(
          'unicode',
          'unicode event id in path',
          jsonRequest('GET', `${EVENTS}/${encodeURIComponent(`${ch}${s}`)}`, K),
          404,
        ),
      );
    const adminEnums = fc
      .constantFrom<[string, string, unknown]>(
        ['POST', '/v1/tenants', { name: 'Acme', plan: 'pr\u043e' }],
        ['POST', '/v1/tenants', { name: 'Acme', plan: '\uff50\uff52\uff4f' }],
        ['POST', 'KEYS', { name: 'k', scopes: ['\u0435vents:read'] }],
        ['POST', 'KEYS', { name: 'k', scopes: ['admin\u200b'] }],
        ['GET', '/v1/tenants/tnt_\u043e1m8016y70c7kvtvvv4s0j3m40', undefined],
      )
      .map(([method, path, body]) => {
        const target = path === 'KEYS' ? `/v1/tenants/${ctx.tenant.id}/keys` : path;
        const encoded = target
          .split('/')
          .map((segment) => encodeURIComponent(segment))
          .join('/');
        return fuzzCase(
          'unicode',
          `look-alike in admin ${method} ${path}`,
          jsonRequest(method, encoded, OP, body),
          method === 'GET' ? 404 : 400,
        );
      });
    return fc.oneof(
      loneIn,
      loneKey,
      loneAdmin,
      invisibleInAction,
      controlInIds,
      homoglyphs,
      queries,
      paths,
      adminEnums,
    );
  },
};

const headerAbuse: Category = {
  name: 'header-abuse',
  runs: 150,
  cases: (ctx) => {
    const K = ctx.tenant.key;
    const valid = validEvent.map((e) => JSON.stringify(e));
    const invalid = invalidEvent.map((bad) => eventJson(bad.event));
    const send = (
      variant: string,
      method: string,
      path: string,
      headers: Record<string, string | string[]>,
      body: string | undefined,
      status?: number,
    ) =>
      fuzzCase(
        'header-abuse',
        variant,
        { method, path, headers, ...(body === undefined ? {} : { body }) },
        status,
      );
    const secret = K.split('.').at(-1) as string;
    const flipped = `${K.slice(0, -secret.length)}${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
    const keyId = K.split('.')[2] as string;
    const malformedAuth = [
      'Bearer',
      'Bearer ',
      'Bearer   ',
      'Basic dXNlcjpwYXNz',
      `Token ${K}`,
      K,
      `Bearer ${K} extra`,
      `Bearer ${K.slice(0, -1)}`,
      `Bearer ${K}x`,
      `Bearer ${flipped}`,
      `Bearer tk.${ctx.tenant.id}.key_00000000000000000000000000.${secret}`,
      `Bearer tk.tnt_00000000000000000000000000.${keyId}.${secret}`,
      `Bearer ${K.replace(ctx.tenant.id, ctx.tenant.id.toUpperCase())}`,
      `Bearer ${OP}x`,
      `Bearer ${OP.toUpperCase()}`,
      `Bearer ${OP.slice(0, -1)}`,
      'Bearer null',
      'Bearer undefined',
      `Bearer ${K},Bearer ${K}`,
      'Bearer \u00e9\u00ff\u00fe',
      `Bearer "${K}"`,
    ];
    return fc.oneof(
      fc
        .tuple(
          valid,
          fc.constantFrom(
            'text/plain',
            'application/xml',
            'text/html',
            'multipart/form-data; boundary=x',
            'application/x-www-form-urlencoded',
            'application/octet-stream',
            'image/png',
            'application/javascript',
            '',
            'text/csv',
            // Only UTF-8 JSON is accepted: another charset is a media type we do not take.
            'application/json; charset=utf-16',
            'text/json',
            'application/jsonp',
          ),
        )
        .map(([body, type]) =>
          send(
            `content-type ${JSON.stringify(type)} with a valid event`,
            'POST',
            EVENTS,
            { authorization: `Bearer ${K}`, 'content-type': type },
            body,
            415,
          ),
        ),
      invalid.map((body) =>
        send(
          'duplicate content-type',
          'POST',
          EVENTS,
          { authorization: `Bearer ${K}`, 'content-type': ['application/json', 'application/json'] },
          body,
          400,
        ),
      ),
      fc
        .tuple(invalid, fc.integer({ min: 4_000, max: 14_000 }), fc.integer({ min: 1, max: 4 }))
        .map(([body, size, count]) =>
          send(
            'giant headers',
            'POST',
            EVENTS,
            {
              authorization: `Bearer ${K}`,
              'content-type': 'application/json',
              'x-pad': Array.from({ length: count }, () => 'p'.repeat(Math.floor(size / count))),
            },
            body,
            400,
          ),
        ),
      fc
        .tuple(valid, fc.integer({ min: 1_000, max: 14_000 }))
        .map(([body, size]) =>
          send(
            'giant authorization',
            'POST',
            EVENTS,
            { authorization: `Bearer ${'a'.repeat(size)}`, 'content-type': 'application/json' },
            body,
            401,
          ),
        ),
      fc
        .tuple(valid, fc.constantFrom(...malformedAuth), fc.constantFrom('POST', 'GET'))
        .map(([body, auth, method]) =>
          method === 'POST'
            ? send(
                'malformed authorization',
                'POST',
                EVENTS,
                { authorization: auth, 'content-type': 'application/json' },
                body,
                401,
              )
            : send(
                'malformed authorization',
                'GET',
                `${EVENTS}?limit=5`,
                { authorization: auth },
                undefined,
                401,
              ),
        ),
      valid.map((body) =>
        send(
          'duplicate authorization',
          'POST',
          EVENTS,
          { authorization: [`Bearer ${K}`, `Bearer ${K}`], 'content-type': 'application/json' },
          body,
          401,
        ),
      ),
      valid.map((body) =>
        send('no authorization', 'POST', EVENTS, { 'content-type': 'application/json' }, body, 401),
      ),
      valid.map((body) => send('revoked key', 'POST', EVENTS, headersFor(ctx.revokedKey), body, 401)),
      fc
        .tuple(
          valid,
          fc.constantFrom(
            'read key writes',
            'write key lists',
            'write key reads by id',
            'operator writes',
            'operator lists',
            'read key makes keys',
            'write key reads tenant',
          ),
        )
        .map(([body, what]) => {
          switch (what) {
            case 'read key writes':
              return send(what, 'POST', EVENTS, headersFor(ctx.readKey), body, 403);
            case 'write key lists':
              return send(what, 'GET', `${EVENTS}?limit=5`, headersFor(ctx.writeKey, null), undefined, 403);
            case 'write key reads by id':
              return send(what, 'GET', `${EVENTS}/anything`, headersFor(ctx.writeKey, null), undefined, 403);
            case 'operator writes':
              return send(what, 'POST', EVENTS, headersFor(OP), body, 403);
            case 'operator lists':
              return send(what, 'GET', EVENTS, headersFor(OP, null), undefined, 403);
            case 'read key makes keys':
              return send(
                what,
                'POST',
                `/v1/tenants/${ctx.tenant.id}/keys`,
                headersFor(ctx.readKey),
                JSON.stringify({ name: 'x', scopes: ['admin'] }),
                403,
              );
            default:
              return send(
                what,
                'GET',
                `/v1/tenants/${ctx.tenant.id}`,
                headersFor(ctx.writeKey, null),
                undefined,
                403,
              );
          }
        }),
      fc
        .tuple(
          invalid,
          fc.constantFrom<Record<string, string>>(
            { 'x-forwarded-host': 'evil.example' },
            { host: 'evil.example:443' },
            { 'x-forwarded-proto': 'javascript' },
            { 'content-encoding': 'gzip' },
            { 'transfer-encoding': 'chunked' },
            { 'x-amzn-trace-id': 'Root=forged' },
            { 'x-forwarded-for': '127.0.0.1, 10.0.0.1' },
            { cookie: 'session=1; token=2' },
            { 'content-type': 'APPLICATION/JSON' },
          ),
        )
        .map(([body, extra]) =>
          send(
            `odd header ${Object.keys(extra)[0]}`,
            'POST',
            EVENTS,
            { authorization: `Bearer ${K}`, 'content-type': 'application/json', ...extra },
            body,
            400,
          ),
        ),
    );
  },
};

const WEIRD_IDS = [
  '..%2F..',
  '..%2F..%2Fv1%2Ftenants',
  '%2e%2e',
  '%2e%2e%2f%2e%2e',
  '..',
  '.',
  '%00',
  'a%00b',
  '%23',
  'a%23b',
  'a#b',
  '#',
  '%2F',
  '%5C',
  '..%5C..',
  '%25',
  '%25%32%65',
  '%ZZ',
  '%E0%A4%A',
  '%C0%AE%C0%AE',
  '%ED%A0%80',
  '*',
  '%20',
  '%20x%20',
  ';',
  'a;b=c',
  '{id}',
  '%7Bid%7D',
  'null',
  'undefined',
  '[object%20Object]',
  '__proto__',
  'constructor',
  '$',
  '~',
  '%09',
  '%0d%0a',
  'x?limit=-1',
  '%3F',
  '%26',
  'tnt_00000000000000000000000000',
];

const pathsAndIds: Category = {
  name: 'paths-and-ids',
  runs: 150,
  cases: (ctx) => {
    const K = ctx.tenant.key;
    const T = ctx.tenant.id;
    const weird = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...WEIRD_IDS) },
      { weight: 1, arbitrary: fc.integer({ min: 129, max: 8_000 }).map((n) => 'i'.repeat(n)) },
      {
        weight: 2,
        arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
      },
    );
    // Ids the gateway can decode reach the route (405 for a method it lacks); the others match no route.
    const decodable = weird.filter((id) => {
      try {
        decodeURIComponent(id);
        return !id.includes('?') && !id.includes('#');
      } catch {
        return false;
      }
    });
    // Followed by more segments: a `?` would cut them off into the query string.
    const segment = weird.filter((id) => !id.includes('?'));
    const get = (variant: string, path: string, token = K, status?: number) =>
      fuzzCase('paths-and-ids', variant, jsonRequest('GET', path, token), status);
    return fc.oneof(
      weird.map((id) => get('GET event by weird id', `${EVENTS}/${id}`, K, 404)),
      fc
        .tuple(weird, fc.constantFrom('/more', '/', '/..', '/%2e%2e'))
        .map(([id, tail]) => get('extra segments', `${EVENTS}/${id}${tail}`, K, 404)),
      fc
        .constantFrom(
          '/v1//events',
          '//v1/events',
          '/V1/EVENTS',
          '/v1/events/',
          '/v1/Events',
          '/v2/events',
          '/v1/events/../tenants',
          '/v1',
          '/',
          '/v1/events%2F',
          '/v1/events/%2F',
          '/health/..',
          '/v1/tenants/',
          '/v1/tenants//keys',
        )
        .map((path) => get('unknown path', path, K, 404)),
      fc
        .tuple(decodable, fc.constantFrom('DELETE', 'PUT', 'PATCH', 'POST', 'OPTIONS', 'TRACE', 'HEAD'))
        .map(([id, method]) =>
          fuzzCase(
            'paths-and-ids',
            `${method} on an event`,
            jsonRequest(
              method,
              `${EVENTS}/${id}`,
              K,
              method === 'POST' || method === 'PUT' || method === 'PATCH'
                ? { action: 'a.b', actor: { id: 'x' } }
                : undefined,
            ),
            405,
          ),
        ),
      fc
        .constantFrom('DELETE', 'PUT', 'PATCH')
        .map((method) =>
          fuzzCase('paths-and-ids', `${method} on the trail`, jsonRequest(method, EVENTS, K), 405),
        ),
      fc
        .tuple(weird, fc.constantFrom(OP, K))
        .map(([id, token]) => get('GET tenant by weird id', `/v1/tenants/${id}`, token, 404)),
      fc
        .tuple(segment, fc.constantFrom(OP, K))
        .map(([id, token]) => get('GET keys of weird tenant', `/v1/tenants/${id}/keys`, token, 404)),
      fc
        .tuple(weird, fc.constantFrom(OP, K))
        .map(([id, token]) =>
          fuzzCase(
            'paths-and-ids',
            'DELETE weird key id',
            jsonRequest('DELETE', `/v1/tenants/${T}/keys/${id}`, token),
            404,
          ),
        ),
      fc
        .tuple(segment, randomId('key'))
        .map(([id, keyId]) =>
          fuzzCase(
            'paths-and-ids',
            'DELETE key of weird tenant',
            jsonRequest('DELETE', `/v1/tenants/${id}/keys/${keyId}`, OP),
            404,
          ),
        ),
      randomId('key').map((keyId) =>
        fuzzCase(
          'paths-and-ids',
          'DELETE unknown key',
          jsonRequest('DELETE', `/v1/tenants/${T}/keys/${keyId}`, K),
          404,
        ),
      ),
      fc
        .tuple(segment, fc.constantFrom('keys', 'patch'))
        .map(([id, what]) =>
          what === 'keys'
            ? fuzzCase(
                'paths-and-ids',
                'POST key for weird tenant',
                jsonRequest('POST', `/v1/tenants/${id}/keys`, OP, { name: 'k', scopes: ['admin'] }),
                404,
              )
            : fuzzCase(
                'paths-and-ids',
                'PATCH weird tenant',
                jsonRequest('PATCH', `/v1/tenants/${id}`, OP, { plan: 'business' }),
                404,
              ),
        ),
      randomId('tnt').map((id) =>
        fuzzCase(
          'paths-and-ids',
          'POST key for unknown tenant',
          jsonRequest('POST', `/v1/tenants/${id}/keys`, OP, { name: 'k', scopes: ['admin'] }),
          404,
        ),
      ),
    );
  },
};

const FILTER_LIMITS: Record<string, number> = {
  actor_id: 256,
  actor_email: 320,
  target_id: 256,
  target_type: 128,
  team_id: 256,
  area: 128,
  method: 64,
  status: 16,
};

const queryParams: Category = {
  name: 'query-params',
  runs: 200,
  cases: (ctx) => {
    type Pair = [string, string];
    const one = (key: string, values: fc.Arbitrary<string>) => values.map((v): Pair[] => [[key, v]]);
    const now = Date.now();
    const invalid = fc.oneof(
      one(
        'limit',
        fc.constantFrom(
          '0',
          '-1',
          '1001',
          '1.5',
          'abc',
          '',
          'NaN',
          'Infinity',
          '-Infinity',
          '1e4',
          '99999999999999999999',
          ' ',
          '1_000',
          '10px',
          '0.5',
          '-0',
          'true',
          '[]',
          '1,2',
        ),
      ),
      fc
        .constantFrom('from', 'to')
        .chain((key) =>
          one(
            key,
            fc.constantFrom(
              'yesterday',
              '2024-13-01T00:00:00Z',
              '2024-01-32T00:00:00Z',
              '2024-02-30T00:00:00Z',
              '1700000000',
              '',
              '2024-01-01',
              'now',
              '2024-01-01T00:00:00',
              '2024-01-01T00:00:00Z,2024-01-02T00:00:00Z',
            ),
          ),
        ),
      fc.integer({ min: 1, max: 1000 * DAY }).map((gap): Pair[] => [
        ['from', new Date(now).toISOString()],
        ['to', new Date(now - gap).toISOString()],
      ]),
      one(
        'action',
        fc.oneof(
          fc.constantFrom(
            'Auth.Login',
            '*',
            '.*',
            'secret.',
            'secret.**',
            'a',
            'a..b',
            '',
            ',',
            'a.b,',
            'auth.login;x',
            'AUTH.*',
            'secret.*.x',
            'auth.login, ,member.*',
            '.secret.*',
          ),
          fc
            .integer({ min: 21, max: 40 })
            .map((n) => Array.from({ length: n }, (_, i) => `a.b${i}`).join(',')),
          fc.integer({ min: 2049, max: 3000 }).map((n) => `a.${'b'.repeat(n)}`),
        ),
      ),
      fc.constantFrom(...Object.keys(FILTER_LIMITS)).chain((key) =>
        one(
          key,
          fc.oneof(
            fc.constantFrom('', ' ', '   ', '%20%20'),
            fc
              .integer({ min: (FILTER_LIMITS[key] as number) + 1, max: (FILTER_LIMITS[key] as number) + 200 })
              .map((n) => 'q'.repeat(n)),
          ),
        ),
      ),
      one('impersonated', fc.constantFrom('yes', 'TRUE', '1', '', 'true,false', 'True', 'null')),
      fc
        .tuple(
          fc.oneof(
            fc.constantFrom(
              'tenant_id',
              'tenant',
              'page',
              'offset',
              'sort',
              'order',
              'fields',
              'include',
              'format',
              'id',
              'limit%20',
              'next_cursor',
              'actor',
              'q',
            ),
            fc
              .stringMatching(/^[a-z][a-z_]{0,14}$/)
              .filter(
                (k) =>
                  ![
                    'from',
                    'to',
                    'action',
                    'limit',
                    'cursor',
                    'impersonated',
                    ...Object.keys(FILTER_LIMITS),
                  ].includes(k),
              ),
          ),
          fc.constantFrom('1', '', ctx.tenant.id, 'x'),
        )
        .map(([key, value]): Pair[] => [[key, value]]),
      one(
        'cursor',
        fc.oneof(
          fc.constant(''),
          fc.integer({ min: 4097, max: 6000 }).map((n) => 'A'.repeat(n)),
        ),
      ),
      fc.constantFrom<Pair[]>(
        [
          ['limit', '5'],
          ['limit', '6'],
        ],
        [
          ['impersonated', 'true'],
          ['impersonated', 'false'],
        ],
        [
          ['impersonated', 'true'],
          ['impersonated', 'true'],
        ],
        [
          ['from', '2026-01-01T00:00:00Z'],
          ['from', '2026-01-02T00:00:00Z'],
        ],
        [
          ['to', '2026-01-01T00:00:00Z'],
          ['to', '2026-01-01T00:00:00Z'],
        ],
      ),
    );
    const validExtras: Pair[] = [
      ['actor_id', 'u1'],
      ['limit', '10'],
      ['target_type', 'doc'],
      ['area', 'billing'],
      ['action', 'auth.login'],
      ['team_id', 'team_a'],
    ];
    return fc
      .tuple(
        fc.array(invalid, { minLength: 1, maxLength: 2 }),
        fc.subarray(validExtras),
        fc.boolean(),
        fc.nat(),
      )
      .map(([bad, extras, encode, order]) => {
        const badPairs = bad.flat();
        const used = new Set(badPairs.map(([k]) => k));
        const pairs = [...badPairs, ...extras.filter(([k]) => !used.has(k))];
        const rotated = pairs.map((_, i) => pairs[(i + order) % pairs.length] as Pair);
        // Values with `%` already hold their own encoding; the rest are encoded half of the time.
        const text = rotated
          .map(
            ([k, v]) =>
              `${k}=${encode && !v.includes('%') ? encodeURIComponent(v) : v.replaceAll(' ', '%20')}`,
          )
          .join('&');
        return fuzzCase(
          'query-params',
          `bad ${[...used].join('+')}`,
          jsonRequest('GET', `${EVENTS}?${text}`, ctx.tenant.key),
          400,
        );
      });
  },
};

const forgedCursors: Category = {
  name: 'forged-cursors',
  runs: 100,
  cases: (ctx) => {
    const source = fc.constantFrom(...ctx.cursors);
    const list = (variant: string, query: Record<string, string>, cursor: string) =>
      fuzzCase(
        'forged-cursors',
        variant,
        jsonRequest('GET', `${EVENTS}?${new URLSearchParams({ ...query, cursor })}`, ctx.tenant.key),
        400,
      );
    const b64 = fc.stringMatching(/^[A-Za-z0-9_-]{1,600}$/);
    return fc.oneof(
      fc.tuple(source, fc.nat()).map(([{ query, cursor }, bit]) => {
        const bytes = Buffer.from(cursor, 'base64url');
        const at = bit % (bytes.length * 8);
        bytes[at >> 3] = (bytes[at >> 3] as number) ^ (1 << (at & 7));
        return list('one bit flipped', query, bytes.toString('base64url'));
      }),
      fc
        .tuple(source, fc.integer({ min: 1, max: 40 }))
        .map(([{ query, cursor }, n]) =>
          list('truncated', query, cursor.slice(0, Math.max(1, cursor.length - n))),
        ),
      fc
        .tuple(source, fc.stringMatching(/^[A-Za-z0-9_-]{2,40}$/))
        .map(([{ query, cursor }, tail]) => list('extended', query, `${cursor}${tail}`)),
      fc.tuple(source, b64).map(([{ query }, cursor]) => list('random', query, cursor)),
      fc
        .tuple(source, fc.string({ minLength: 1, maxLength: 60 }))
        .map(([{ query }, cursor]) => list('random text', query, cursor)),
      fc
        .tuple(source, source)
        .filter(([a, b]) => JSON.stringify(a.query) !== JSON.stringify(b.query))
        .map(([a, b]) => list('from another query', b.query, a.cursor)),
      fc
        .tuple(
          source,
          fc.constantFrom<Record<string, string>>(
            { actor_id: 'someone' },
            { impersonated: 'true' },
            { from: '2020-01-01T00:00:00Z' },
            { action: 'secret.*' },
          ),
        )
        .map(([{ query, cursor }, more]) => list('with another filter', { ...query, ...more }, cursor)),
      fc
        .tuple(source, source)
        .filter(([a, b]) => a.cursor !== b.cursor)
        .map(([a, b]) => list('spliced', a.query, `${b.cursor.slice(0, 16)}${a.cursor.slice(16)}`)),
      fc
        .tuple(source, fc.integer({ min: 4097, max: 5000 }))
        .map(([{ query, cursor }, n]) =>
          list('overlong', query, cursor.repeat(Math.ceil(n / cursor.length)).slice(0, n)),
        ),
    );
  },
};

const adminBodies: Category = {
  name: 'admin-bodies',
  runs: 120,
  cases: (ctx) => {
    const T = ctx.tenant.id;
    const badName = fc.oneof(nonString, blank, longer(200));
    const badPlan = fc.oneof(nonString, fc.constantFrom('gold', '', 'FREE', 'Pro', 'enterprise ', 'custom'));
    const badRetention = fc.constantFrom<unknown>(0, -1, 3654, 1.5, '30', true, [], {});
    const badShards = fc.constantFrom<unknown>(0, 65, 1.5, '2', null, -1, true);
    const unknownField = fc.constantFrom('id', 'created_at', 'tenant_id', 'x_extra', 'owner', 'retention');
    const tenantBody = fc.oneof(
      badName.map((name) => ({ name })),
      badPlan.map((plan) => ({ name: 'Acme', plan })),
      fc.oneof(badRetention, fc.constant(null)).map((retention_days) => ({ name: 'Acme', retention_days })),
      badShards.map((shards) => ({ name: 'Acme', shards })),
      unknownField.map((field) => ({ name: 'Acme', [field]: 'x' })),
      fc.constant({}),
      nonObject.filter((v) => v !== null),
    );
    const patchBody = fc.oneof(
      fc.constant({}),
      badName.map((name) => ({ name })),
      badPlan.filter((p) => p !== null).map((plan) => ({ plan })),
      badRetention.map((retention_days) => ({ retention_days })),
      fc.oneof(badShards, fc.constant(1)).map((shards) => ({ shards })),
      unknownField.map((field) => ({ [field]: 'x' })),
      nonObject.filter((v) => v !== null),
    );
    const keyBody = fc.oneof(
      badName.map((name) => ({ name, scopes: ['events:read'] })),
      fc
        .constantFrom<unknown>(
          'admin',
          null,
          1,
          {},
          [],
          ['root'],
          ['admin', 'root'],
          [1],
          ['ADMIN'],
          ['events:*'],
          ['*'],
          [['admin']],
          [null],
        )
        .map((scopes) => ({ name: 'k', scopes })),
      fc.constant({ name: 'k' }),
      fc.constant({ scopes: ['admin'] }),
      fc
        .constantFrom('key', 'id', 'tenant_id', 'secret_hash', 'revoked_at', 'x_extra')
        .map((field) => ({ name: 'k', scopes: ['admin'], [field]: 'x' })),
      nonObject.filter((v) => v !== null),
    );
    const call = (
      variant: string,
      method: string,
      path: string,
      token: string,
      body: unknown,
      status: number,
    ) => fuzzCase('admin-bodies', variant, raw(method, path, token, JSON.stringify(body)), status);
    return fc.oneof(
      tenantBody.map((body) => call('create tenant: invalid', 'POST', '/v1/tenants', OP, body, 400)),
      tenantBody.map((body) =>
        call('create tenant: tenant key', 'POST', '/v1/tenants', ctx.tenant.key, body, 403),
      ),
      fc.constant(
        call(
          'create tenant: tenant key, valid body',
          'POST',
          '/v1/tenants',
          ctx.tenant.key,
          { name: 'Sneaky' },
          403,
        ),
      ),
      patchBody.map((body) => call('update tenant: invalid', 'PATCH', `/v1/tenants/${T}`, OP, body, 400)),
      fc.constant(
        call(
          'update tenant: tenant key',
          'PATCH',
          `/v1/tenants/${T}`,
          ctx.tenant.key,
          { plan: 'compliance' },
          403,
        ),
      ),
      fc
        .tuple(keyBody, fc.constantFrom(OP, ctx.tenant.key))
        .map(([body, token]) =>
          call('create key: invalid', 'POST', `/v1/tenants/${T}/keys`, token, body, 400),
        ),
      fc.constant(
        call(
          'create key: key without admin',
          'POST',
          `/v1/tenants/${T}/keys`,
          ctx.readKey,
          { name: 'k', scopes: ['admin'] },
          403,
        ),
      ),
      randomId('tnt').map((id) =>
        call(
          'create key: unknown tenant',
          'POST',
          `/v1/tenants/${id}/keys`,
          OP,
          { name: 'k', scopes: ['admin'] },
          404,
        ),
      ),
      randomId('tnt').map((id) =>
        call(
          'create key: other tenant by key',
          'POST',
          `/v1/tenants/${id}/keys`,
          ctx.tenant.key,
          { name: 'k', scopes: ['admin'] },
          404,
        ),
      ),
    );
  },
};

const CATEGORIES: readonly Category[] = [
  brokenJson,
  wrongTypes,
  hugeStrings,
  deepNesting,
  oversized,
  unicode,
  headerAbuse,
  pathsAndIds,
  queryParams,
  forgedCursors,
  adminBodies,
];

// ---------------------------------------------------------------------------------------------

/** What is wrong with an answer to a hostile request (empty: nothing). */
const check = (c: FuzzCase, reply: HttpReply): string[] => {
  const problems: string[] = [];
  if (reply.status < 400 || reply.status > 499) problems.push(`status ${reply.status}`);
  else if (c.expectStatus !== undefined && reply.status !== c.expectStatus)
    problems.push(`status ${reply.status}, expected ${c.expectStatus}`);
  const type = String(reply.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) problems.push(`content-type ${JSON.stringify(type)}`);
  if (STACK_TRACE.test(reply.text)) problems.push('stack trace in the body');
  if (c.request.method !== 'HEAD') {
    const body = reply.json;
    if (typeof body?.type !== 'string' || typeof body?.title !== 'string' || body?.status !== reply.status)
      problems.push('not a problem document');
  }
  return problems;
};

describe('hostile and malformed requests', () => {
  let ts: TestStack;
  let http: HttpClient;
  let ctx: FuzzContext;
  /** 2xx GETs of the trail: each wrote one audit_log.viewed event. */
  let successfulReads = 0;
  const requestsByCategory = new Map<string, number>();
  const statuses: string[] = [];
  const violations = new Map<string, Map<string, string[]>>();
  let storedSummary = 'not checked';

  beforeAll(async () => {
    ts = await startTestStack('fuzz');
    http = createHttpClient(ts.stack.url, CONCURRENCY);
    const tenant = await createTenant(http, { name: 'Fuzz', shards: 2 });
    const [readKey, writeKey, revoked] = [
      await createKey(http, tenant.id, ['events:read']),
      await createKey(http, tenant.id, ['events:write']),
      await createKey(http, tenant.id, ['events:write', 'events:read', 'admin']),
    ];
    const revoke = await http.send(jsonRequest('DELETE', `/v1/tenants/${tenant.id}/keys/${revoked.id}`, OP));
    if (revoke.status !== 204) throw new Error(`revoke: ${revoke.status}`);
    // A few reads make audit events to page through, and real cursors to forge from.
    const read = async (query: Record<string, string>) => {
      const reply = await http.send(
        jsonRequest('GET', `${EVENTS}?${new URLSearchParams(query)}`, tenant.key),
      );
      if (reply.status !== 200) throw new Error(`read: ${reply.status} ${reply.text}`);
      successfulReads += 1;
      return reply.json;
    };
    for (let i = 0; i < 3; i++) await read({});
    const queries: Record<string, string>[] = [
      { limit: '1' },
      { limit: '1', action: 'audit_log.viewed' },
      { limit: '2', area: 'audit_log', impersonated: 'false' },
    ];
    const cursors: FuzzContext['cursors'] = [];
    for (const query of queries) {
      const page = await read(query);
      if (typeof page.next_cursor !== 'string') throw new Error(`no cursor for ${JSON.stringify(query)}`);
      cursors.push({ query, cursor: page.next_cursor });
    }
    ctx = { tenant, readKey: readKey.key, writeKey: writeKey.key, revokedKey: revoked.key, cursors };
  });

  afterAll(async () => {
    http?.close();
    await ts?.stop();
    const total = [...requestsByCategory.values()].reduce((a, b) => a + b, 0);
    const byStatus = countBy(statuses);
    const found = [...violations.values()].reduce(
      (n, byVariant) => n + [...byVariant.values()].flat().length,
      0,
    );
    printSummary(
      'fuzz-bad-input',
      `${fmt(total)} requests (seed ${SEED}, ${CONCURRENCY} at a time): ${formatCounts(requestsByCategory)}; ` +
        `by status: ${formatCounts(byStatus)}; violations ${found}; stored afterwards: ${storedSummary}`,
    );
  });

  it.each(CATEGORIES.map((c, i) => [c.name, c, i] as const))(
    '%s: 4xx problem+json, no stack trace',
    async (_name, category, index) => {
      const arbitrary = category.cases(ctx);
      const found = new Map<string, string[]>();
      violations.set(category.name, found);
      await fc.assert(
        fc.asyncProperty(
          fc.array(arbitrary, { minLength: CONCURRENCY, maxLength: CONCURRENCY }),
          async (cases) => {
            await Promise.all(
              cases.map(async (c) => {
                requestsByCategory.set(c.category, (requestsByCategory.get(c.category) ?? 0) + 1);
                let problems: string[];
                let status: string;
                try {
                  const reply = await http.send(c.request);
                  status = String(reply.status);
                  problems = check(c, reply);
                  if (
                    reply.status >= 200 &&
                    reply.status < 300 &&
                    c.request.method === 'GET' &&
                    c.request.path.startsWith(EVENTS)
                  )
                    successfulReads += 1;
                  if (problems.length > 0)
                    problems = problems.map((p) => `${p}: ${reply.text.slice(0, 160)}`);
                } catch (error) {
                  status = 'network error';
                  problems = [
                    `network error ${(error as { code?: string }).code ?? (error as Error).message}`,
                  ];
                }
                statuses.push(status);
                for (const problem of problems) {
                  const examples = found.get(c.variant) ?? [];
                  if (examples.length < 3) examples.push(`${problem} — ${describeCase(c)}`);
                  found.set(c.variant, examples);
                }
              }),
            );
          },
        ),
        { numRuns: category.runs, seed: SEED + index },
      );
      expect(Object.fromEntries(found)).toEqual({});
    },
  );

  it('stored nothing: only the audit events of successful reads, no new tenant or key', async () => {
    const { events: stored, others } = await scanStoredEvents(ts.stack.dynamoEndpoint);
    const events = stored.map((s) => s.event);
    const control = await scanControlTable(ts.stack.dynamoEndpoint);
    const byAction = countBy(
      events.map((e) => `${e.tenant_id === ctx.tenant.id ? '' : `${e.tenant_id}:`}${e.action}`),
    );
    const tenants = control.filter((item) => item.sk === 'TENANT');
    const keys = control.filter((item) => String(item.sk).startsWith('KEY#'));
    storedSummary =
      `events by action: ${formatCounts(byAction)}; ${tenants.length} tenant(s), ${keys.length} key(s)` +
      (others.length > 0 ? `; ${others.length} other item(s) in the events table` : '');

    // Besides the reads' audit events, only the tenant's own trail of the suite's setup: one
    // trailkeeper.api_key.created per key, one trailkeeper.api_key.revoked per revoked key.
    const ownTrail = ['trailkeeper.api_key.created', 'trailkeeper.api_key.revoked'];
    expect(
      events
        .filter(
          (e) =>
            e.tenant_id !== ctx.tenant.id || !['audit_log.viewed', ...ownTrail].includes(String(e.action)),
        )
        .map((e) => `${e.tenant_id} ${e.action} ${e.id}`),
    ).toEqual([]);
    expect(events.filter((e) => e.action === 'audit_log.viewed')).toHaveLength(successfulReads);
    expect(tenants.map((t) => t.id)).toEqual([ctx.tenant.id]);
    expect(keys).toHaveLength(4);
    expect(events.filter((e) => e.action === 'trailkeeper.api_key.created')).toHaveLength(keys.length);
    expect(events.filter((e) => e.action === 'trailkeeper.api_key.revoked')).toHaveLength(
      keys.filter((k) => typeof k.revoked_at === 'string').length,
    );
    const tenant = await http.send(jsonRequest('GET', `/v1/tenants/${ctx.tenant.id}`, OP));
    expect(tenant.json).toMatchObject({ name: 'Fuzz', plan: 'pro', shards: 2, retention_days: 90 });
  });
});
