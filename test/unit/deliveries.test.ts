import fc from 'fast-check';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  batchesOf,
  buildDelivery,
  DATADOG_MAX_TIMESTAMP_AGE_MS,
  DELIVERY_LIMITS,
  type DeliveryUnit,
  InvalidWebhookSecretError,
  MissingCredentialError,
  newWebhookSecret,
  webhookKey,
  webhookMessageId,
} from '#shared/domain/deliveries.ts';
import { presentEvent, type StoredEvent } from '#shared/domain/event.ts';
import { STREAM_TYPES, type StreamType } from '#shared/domain/stream-input.ts';

const NOW = Date.parse('2026-12-07T10:00:05Z');
const NOW_SECONDS = '1796637605';
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

const storedEvent = (n: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  id: `01jevent${String(n).padStart(6, '0')}`,
  tenant_id: 'tnt_acme',
  action: 'member.role_changed',
  occurred_at: '2026-12-07T10:00:00.250Z',
  received_at: '2026-12-07T10:00:01.000Z',
  actor: { id: 'usr_1', type: 'user' },
  impersonated: false,
  expires_at: null,
  hash: 'ab'.repeat(32),
  ...extra,
});

/** An event whose metadata holds `size` copies of `char` (multi-byte characters included). */
const sizedEvent = (n: number, size: number, char = 'a'): StoredEvent =>
  storedEvent(n, { metadata: { note: char.repeat(size) } });

const credentials = { streamId: 'str_1', now: NOW, secrets: [SECRET], token: 'tok-123' };
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const eventsOf = (units: DeliveryUnit[]) => units.flatMap((u) => (u.kind === 'batch' ? u.events : [u.event]));

describe('webhook delivery format', () => {
  it('posts {"type":"audit_events","data":[events]} with the Standard Webhooks headers', () => {
    const events = [storedEvent(1), storedEvent(2, { action: 'key.created' })];

    const { headers, body } = buildDelivery('webhook', events, credentials);

    expect(Object.keys(headers).sort()).toEqual([
      'content-type',
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-timestamp']).toBe(NOW_SECONDS);
    expect(headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(body).toBe(
      `{"type":"audit_events","data":[${JSON.stringify(presentEvent(events[0] as StoredEvent))},${JSON.stringify(presentEvent(events[1] as StoredEvent))}]}`,
    );
    expect(JSON.parse(body)).toEqual({ type: 'audit_events', data: events });
  });

  it('keeps webhook-id across retries of a batch and changes it for any other batch', () => {
    const batch = [storedEvent(1), storedEvent(2), storedEvent(3)];

    const first = buildDelivery('webhook', batch, credentials).headers['webhook-id'];
    const retry = buildDelivery('webhook', batch, { ...credentials, now: NOW + 3_600_000 }).headers[
      'webhook-id'
    ];

    expect(retry).toBe(first);
    expect(first).toBe(webhookMessageId('str_1', batch));
    expect(webhookMessageId('str_2', batch)).not.toBe(first);
    // Same first and last event, another one between (a late arrival): receivers must not dedupe it away.
    expect(webhookMessageId('str_1', [storedEvent(1), storedEvent(9), storedEvent(3)])).not.toBe(first);
    expect(webhookMessageId('str_1', [storedEvent(1), storedEvent(3)])).not.toBe(first);
  });

  it('refuses to build an unsigned webhook delivery', () => {
    expect(() => buildDelivery('webhook', [storedEvent(1)], { streamId: 's', now: NOW })).toThrow(
      MissingCredentialError,
    );
    expect(() =>
      buildDelivery('webhook', [storedEvent(1)], { streamId: 's', now: NOW, secrets: [] }),
    ).toThrow('a webhook delivery needs a signing secret');
  });
});

describe('webhook signatures, checked by the standardwebhooks reference verifier', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('verifies a delivery and yields the same payload', () => {
    const events = [storedEvent(1), storedEvent(2, { metadata: { note: 'héllo "quoted" ✓ 😀' } })];
    const { headers, body } = buildDelivery('webhook', events, credentials);

    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ type: 'audit_events', data: events });
  });

  it('during a rotation carries both signatures, each secret verifying on its own', () => {
    const { headers, body } = buildDelivery('webhook', [storedEvent(1)], {
      ...credentials,
      secrets: [SECRET, OLD_SECRET],
    });

    const signatures = headers['webhook-signature']?.split(' ') ?? [];
    expect(signatures).toHaveLength(2);
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({
      type: 'audit_events',
      data: [storedEvent(1)],
    });
    expect(new Webhook(OLD_SECRET).verify(body, headers)).toEqual({
      type: 'audit_events',
      data: [storedEvent(1)],
    });
    // The new one comes first; each is checked alone.
    const [newest, previous] = signatures;
    expect(() =>
      new Webhook(SECRET).verify(body, { ...headers, 'webhook-signature': newest ?? '' }),
    ).not.toThrow();
    expect(() =>
      new Webhook(OLD_SECRET).verify(body, { ...headers, 'webhook-signature': previous ?? '' }),
    ).not.toThrow();
    expect(() =>
      new Webhook(SECRET).verify(body, { ...headers, 'webhook-signature': previous ?? '' }),
    ).toThrow(WebhookVerificationError);
  });

  it('is refused with another secret', () => {
    const { headers, body } = buildDelivery('webhook', [storedEvent(1)], credentials);

    expect(() => new Webhook(OLD_SECRET).verify(body, headers)).toThrow('No matching signature found');
  });

  it('is refused when the body was tampered with', () => {
    const { headers, body } = buildDelivery('webhook', [storedEvent(1)], credentials);
    const tampered = body.replace('member.role_changed', 'member.role_removed');

    expect(tampered).not.toBe(body);
    expect(() => new Webhook(SECRET).verify(tampered, headers)).toThrow('No matching signature found');
  });

  it('is refused when the timestamp is older than the verifier tolerates (replay)', () => {
    const { headers, body } = buildDelivery('webhook', [storedEvent(1)], credentials);
    vi.setSystemTime(NOW + 6 * 60_000);

    expect(() => new Webhook(SECRET).verify(body, headers)).toThrow('Message timestamp too old');
  });

  it('makes secrets the verifier accepts', () => {
    const secret = newWebhookSecret();
    const { headers, body } = buildDelivery('webhook', [storedEvent(1)], {
      ...credentials,
      secrets: [secret],
    });

    expect(new Webhook(secret).verify(body, headers)).toEqual({
      type: 'audit_events',
      data: [storedEvent(1)],
    });
  });
});

describe('webhook secrets', () => {
  it('are whsec_ and the base64 of 32 bytes from the random source', () => {
    const secret = newWebhookSecret((size) => Buffer.alloc(size, 1));

    expect(secret).toBe(`whsec_${Buffer.alloc(32, 1).toString('base64')}`);
    expect(webhookKey(secret)).toEqual(Buffer.alloc(32, 1));
  });

  it('differ between calls with the default random source', () => {
    const [a, b] = [newWebhookSecret(), newWebhookSecret()];

    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
  });

  it('refuse a random source that gives fewer bytes than asked', () => {
    expect(() => newWebhookSecret(() => Buffer.alloc(8))).toThrow('random source gave 8 bytes');
  });

  it.each([
    ['no prefix', Buffer.alloc(32).toString('base64')],
    ['not base64', 'whsec_not base64!'],
    ['empty key', 'whsec_'],
  ])('reject a secret with %s', (_case, secret) => {
    expect(() => webhookKey(secret)).toThrow(InvalidWebhookSecretError);
  });
});

describe('splunk_hec delivery format', () => {
  it('sends Authorization: Splunk <token> and one HEC event object per line', () => {
    const events = [storedEvent(1), storedEvent(2, { occurred_at: '2026-12-07T09:59:59.000Z' })];

    const { headers, body } = buildDelivery('splunk_hec', events, credentials);

    expect(headers).toEqual({ Authorization: 'Splunk tok-123', 'Content-Type': 'application/json' });
    const lines = body.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `{"time":1796637600.25,"sourcetype":"trailkeeper:audit","source":"trailkeeper","event":${JSON.stringify(presentEvent(events[0] as StoredEvent))}}`,
    );
    expect(JSON.parse(lines[1] as string)).toEqual({
      time: 1796637599,
      sourcetype: 'trailkeeper:audit',
      source: 'trailkeeper',
      event: events[1],
    });
  });

  it('needs a token', () => {
    expect(() => buildDelivery('splunk_hec', [storedEvent(1)], { streamId: 's', now: NOW })).toThrow(
      'a splunk_hec delivery needs a HEC token',
    );
  });
});

describe('datadog delivery format', () => {
  it('sends DD-API-KEY and a JSON array of logs with the event as a JSON message', () => {
    const events = [storedEvent(1), storedEvent(2, { tenant_id: 'tnt_ACME,x y', action: 'key.created' })];

    const { headers, body } = buildDelivery('datadog', events, credentials);

    expect(headers).toEqual({ 'DD-API-KEY': 'tok-123', 'Content-Type': 'application/json' });
    expect(
      body.startsWith('[{"ddsource":"trailkeeper","service":"trailkeeper","ddtags":"tenant:tnt_acme,'),
    ).toBe(true);
    const logs = JSON.parse(body) as Record<string, unknown>[];
    expect(logs).toEqual([
      {
        ddsource: 'trailkeeper',
        service: 'trailkeeper',
        ddtags: 'tenant:tnt_acme,action:member.role_changed',
        message: JSON.stringify(presentEvent(events[0] as StoredEvent)),
        timestamp: Date.parse('2026-12-07T10:00:00.250Z'),
      },
      {
        ddsource: 'trailkeeper',
        service: 'trailkeeper',
        ddtags: 'tenant:tnt_acme_x_y,action:key.created',
        message: JSON.stringify(presentEvent(events[1] as StoredEvent)),
        timestamp: Date.parse('2026-12-07T10:00:00.250Z'),
      },
    ]);
    expect(JSON.parse(logs[0]?.message as string)).toEqual(events[0]);
  });

  it('leaves out a timestamp Datadog would drop (older than its window), keeping the times in the message', () => {
    const edge = new Date(NOW - DATADOG_MAX_TIMESTAMP_AGE_MS).toISOString();
    const stale = new Date(NOW - DATADOG_MAX_TIMESTAMP_AGE_MS - 1).toISOString();

    const { body } = buildDelivery(
      'datadog',
      [storedEvent(1, { occurred_at: edge }), storedEvent(2, { occurred_at: stale })],
      credentials,
    );

    const [fresh, old] = JSON.parse(body) as Record<string, unknown>[];
    expect(fresh?.timestamp).toBe(Date.parse(edge));
    expect(old).not.toHaveProperty('timestamp');
    expect(JSON.parse(old?.message as string).occurred_at).toBe(stale);
  });

  it('needs an API key', () => {
    expect(() => buildDelivery('datadog', [storedEvent(1)], { streamId: 's', now: NOW, token: '' })).toThrow(
      MissingCredentialError,
    );
  });
});

describe('batching', () => {
  it.each([
    ['webhook', 100],
    ['splunk_hec', 100],
    ['datadog', 1_000],
  ] as const)('closes a %s batch at %i events', (type, max) => {
    const events = Array.from({ length: 2 * max + 1 }, (_, n) => storedEvent(n));

    const units = batchesOf(events, type, { now: NOW });

    expect(units.map((u) => (u.kind === 'batch' ? u.events.length : -1))).toEqual([max, max, 1]);
    expect(eventsOf(units)).toEqual(events);
  });

  it('closes a webhook batch at exactly 1 MiB of body', () => {
    // Find the metadata size that makes two events fill 1 MiB to the byte.
    const probe = batchesOf([sizedEvent(1, 0), sizedEvent(2, 0)], 'webhook');
    const twoEmptyBytes = probe[0]?.kind === 'batch' ? probe[0].bodyBytes : 0;
    const fill = DELIVERY_LIMITS.webhook.maxBodyBytes - twoEmptyBytes;
    const exact = [sizedEvent(1, Math.floor(fill / 2)), sizedEvent(2, Math.ceil(fill / 2))];
    const over = [sizedEvent(1, Math.floor(fill / 2)), sizedEvent(2, Math.ceil(fill / 2) + 1)];

    const exactUnits = batchesOf(exact, 'webhook');
    const overUnits = batchesOf(over, 'webhook');

    expect(exactUnits).toHaveLength(1);
    expect(exactUnits[0]?.kind === 'batch' && exactUnits[0].bodyBytes).toBe(1024 * 1024);
    expect(bytes(buildDelivery('webhook', exact, credentials).body)).toBe(1024 * 1024);
    expect(overUnits.map((u) => u.kind === 'batch' && u.events.length)).toEqual([1, 1]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 3-byte characters: 300,000 of them are ~900 KB, so two such events cannot share 1 MiB.
    const events = [sizedEvent(1, 300_000, '€'), sizedEvent(2, 300_000, '€')];

    const units = batchesOf(events, 'splunk_hec');

    expect(units.map((u) => u.kind === 'batch' && u.events.length)).toEqual([1, 1]);
  });

  it('marks a Datadog log over 1 MB undeliverable and keeps the events around it in order', () => {
    const events = [storedEvent(1), sizedEvent(2, 1_000_001), storedEvent(3)];

    const units = batchesOf(events, 'datadog', { now: NOW });

    expect(units.map((u) => u.kind)).toEqual(['batch', 'undeliverable', 'batch']);
    const refused = units[1];
    expect(refused?.kind === 'undeliverable' && refused.event.id).toBe(events[1]?.id);
    expect(refused?.kind === 'undeliverable' && refused.reason).toMatch(
      /^event 01jevent000002 is \d+ bytes as a datadog entry, over the 1000000-byte limit$/,
    );
    expect(eventsOf(units)).toEqual(events);
  });

  it('marks a webhook event too large for any body undeliverable', () => {
    const units = batchesOf([sizedEvent(1, 1024 * 1024)], 'webhook');

    expect(units).toHaveLength(1);
    expect(units[0]?.kind).toBe('undeliverable');
  });

  it('returns nothing for no events', () => {
    expect(batchesOf([], 'webhook')).toEqual([]);
  });

  it('counts the Datadog timestamp in when no send time is given (an upper bound)', () => {
    const stale = storedEvent(1, { occurred_at: '2026-12-01T00:00:00.000Z' });

    const withoutNow = batchesOf([stale], 'datadog');
    const withNow = batchesOf([stale], 'datadog', { now: NOW });
    const sent = bytes(buildDelivery('datadog', [stale], credentials).body);

    expect(withNow[0]?.kind === 'batch' && withNow[0].bodyBytes).toBe(sent);
    expect(withoutNow[0]?.kind === 'batch' && withoutNow[0].bodyBytes).toBe(
      sent + ',"timestamp":1796083200000'.length,
    );
  });

  // Per type, enough events of mixed sizes (tiny to large, multi-byte and escaped characters, each
  // under Datadog's per-log limit even at 4 bytes a character) that runs close batches at the
  // count limit and at the byte limit; the test checks that both happened.
  const eventsArbitrary = (type: StreamType) =>
    fc
      .constantFrom(1, 100)
      .chain((smallWeight) =>
        fc.array(
          fc.record({
            size: fc.oneof(
              { arbitrary: fc.nat(200), weight: smallWeight },
              { arbitrary: fc.nat(type === 'datadog' ? 200_000 : 60_000), weight: 1 },
            ),
            char: fc.constantFrom('a', 'é', '€', '😀', '"', '\n', '\u2028'),
            ageHours: fc.nat(40),
          }),
          { maxLength: type === 'datadog' ? 60 : 250, size: 'max' },
        ),
      )
      .map((specs) =>
        specs.map(({ size, char, ageHours }, n) =>
          storedEvent(n, {
            metadata: { note: char.repeat(size) },
            occurred_at: new Date(NOW - ageHours * 3_600_000).toISOString(),
          }),
        ),
      );

  it.each(STREAM_TYPES)(
    '%s: batches concatenate to the input, in order, each within the limits and full',
    (type) => {
      const closedAt = { count: 0, bytes: 0 };
      fc.assert(
        fc.property(eventsArbitrary(type), (events) => {
          const units = batchesOf(events, type, { now: NOW });
          const limits = DELIVERY_LIMITS[type];

          expect(eventsOf(units).map((e) => e.id)).toEqual(events.map((e) => e.id));
          units.forEach((unit, index) => {
            // Every generated event fits a body on its own, so none may be passed over.
            expect(unit.kind).toBe('batch');
            if (unit.kind !== 'batch') return;
            const body = buildDelivery(type, unit.events, credentials).body;
            expect(unit.events.length).toBeGreaterThan(0);
            expect(unit.events.length).toBeLessThanOrEqual(limits.maxEvents);
            expect(bytes(body)).toBe(unit.bodyBytes);
            expect(unit.bodyBytes).toBeLessThanOrEqual(limits.maxBodyBytes);
            // Greedy: the next batch's first event would not have fitted.
            const next = units[index + 1];
            if (next?.kind === 'batch') {
              const widened = buildDelivery(
                type,
                [...unit.events, next.events[0] as StoredEvent],
                credentials,
              ).body;
              const full = unit.events.length === limits.maxEvents;
              const tooBig = bytes(widened) > limits.maxBodyBytes;
              expect(full || tooBig).toBe(true);
              if (full) closedAt.count += 1;
              if (tooBig) closedAt.bytes += 1;
            }
          });
        }),
        { numRuns: 30, seed: 14 },
      );
      // The runs did reach the limits (Datadog's 1,000-log limit is checked above, not here).
      expect(closedAt.bytes).toBeGreaterThan(0);
      if (type !== 'datadog') expect(closedAt.count).toBeGreaterThan(0);
    },
  );
});
