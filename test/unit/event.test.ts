import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  buildStoredEvent,
  contentHash,
  hashEvent,
  isSameSubmission,
  parseSubmission,
  type StoredEvent,
  toFieldErrors,
} from '#shared/domain/event.ts';
import { serviceEventId } from '#shared/domain/ids.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { MAX_LISTED_ERRORS, ValidationError } from '#shared/errors.ts';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const tenant = { tenantId: 'tnt_a', retentionDays: 90 };
const redact = createRedactor();
const minimal = { action: 'member.role_changed', actor: { id: 'user_1' } };

const build = (input: unknown) => {
  const parsed = parseSubmission(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const [first] = parsed.value.events;
  if (first === undefined) throw new Error('no event');
  return buildStoredEvent(first, tenant, NOW, redact);
};

describe('event schema', () => {
  it('accepts a minimal event and fills the server fields', () => {
    const result = build(minimal);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({
      tenant_id: 'tnt_a',
      action: 'member.role_changed',
      occurred_at: '2026-11-21T12:00:00.000Z',
      received_at: '2026-11-21T12:00:00.000Z',
      impersonated: false,
      expires_at: '2027-02-19T12:00:00.000Z',
    });
    expect(result.event.id).toMatch(/^[0-9a-z]{26}$/);
    expect(result.event.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(result.expiresAt).toBe(Date.parse('2027-02-19T12:00:00.000Z') / 1000);
  });

  it.each([
    [{ ...minimal, action: 'Member.Changed' }, 'action'],
    [{ ...minimal, action: 'login' }, 'action'],
    [{ action: 'a.b' }, 'actor'],
    [{ ...minimal, actor: { id: '' } }, 'actor.id'],
    [{ ...minimal, actor: { id: 'u', type: 'robot' } }, 'actor.type'],
    [{ ...minimal, actor: { id: 'u', email: 'not-an-email' } }, 'actor.email'],
    [{ ...minimal, context: { ip: '999.1.1.1' } }, 'context.ip'],
    [{ ...minimal, occurred_at: 'yesterday' }, 'occurred_at'],
    [{ ...minimal, duration_ms: -1 }, 'duration_ms'],
    [{ ...minimal, status: 'maybe' }, 'status'],
    [{ ...minimal, metadata: 'text' }, 'metadata'],
    [{ ...minimal, metadata: { big: 'x'.repeat(33 * 1024) } }, 'metadata'],
    [{ ...minimal, id: 'a#b' }, 'id'],
    [{ ...minimal, colour: 'red' }, 'colour'],
  ])('rejects %j naming %s', (input, field) => {
    const parsed = parseSubmission(input);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.field)).toContain(field);
  });

  it('accepts IPv6 addresses and HTTP status codes', () => {
    const parsed = parseSubmission({ ...minimal, context: { ip: '2001:db8::1' }, status: 403 });
    expect(parsed.ok).toBe(true);
  });

  it('names the batch index of every bad event and rejects duplicates within a batch', () => {
    const parsed = parseSubmission({
      events: [minimal, { action: 'bad' }, { ...minimal, id: 'x' }, { ...minimal, id: 'x' }],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'events[1].action', index: 1 }),
        expect.objectContaining({ field: 'events[1].actor', index: 1 }),
        expect.objectContaining({ field: 'events[3].id', index: 3 }),
      ]),
    );
  });

  it('rejects batches over 100 and empty batches', () => {
    const over = parseSubmission({ events: Array.from({ length: 101 }, () => minimal) });
    const empty = parseSubmission({ events: [] });
    expect(over.ok || empty.ok).toBe(false);
  });
});

describe('time rules', () => {
  it('rejects occurred_at more than 5 minutes in the future', () => {
    const result = build({ ...minimal, occurred_at: '2026-11-21T12:06:00Z' });
    expect(result.ok).toBe(false);
  });

  it('accepts small clock skew and normalises offsets to UTC', () => {
    const result = build({ ...minimal, occurred_at: '2026-11-21T13:04:00+01:00' });
    expect(result.ok && result.event.occurred_at).toBe('2026-11-21T12:04:00.000Z');
  });

  it('rejects occurred_at older than the retention window', () => {
    expect(build({ ...minimal, occurred_at: '2026-08-01T00:00:00Z' }).ok).toBe(false);
    expect(build({ ...minimal, occurred_at: '2026-09-01T00:00:00Z' }).ok).toBe(true);
  });
});

describe('event hash', () => {
  it('is stable under key order and ignores expires_at', () => {
    const result = build({ ...minimal, id: 'e1', metadata: { b: 1, a: [1, 2] } });
    if (!result.ok) throw new Error('expected ok');
    const reordered = Object.fromEntries(Object.entries(result.event).reverse()) as typeof result.event;
    expect(hashEvent(reordered)).toBe(result.event.hash);
    expect(hashEvent({ ...result.event, expires_at: null })).toBe(result.event.hash);
  });

  it('changes when any covered field changes', () => {
    const result = build({ ...minimal, id: 'e1' });
    if (!result.ok) throw new Error('expected ok');
    expect(hashEvent({ ...result.event, action: 'member.removed' })).not.toBe(result.event.hash);
  });
});

describe('impersonation', () => {
  it('flags events taken through an impersonation session', () => {
    const result = build({ ...minimal, impersonator: { id: 'support_7', email: 'help@vendor.test' } });
    expect(result.ok && result.event.impersonated).toBe(true);
  });
});

describe("the service's own actions and ids", () => {
  it.each([
    [{ ...minimal, action: 'audit_log.viewed' }, 'action'],
    [{ ...minimal, action: 'audit_log.export_downloaded' }, 'action'],
    [{ ...minimal, action: 'trailkeeper.api_key.created' }, 'action'],
    [{ ...minimal, id: 'tk_audit-export-exp_01' }, 'id'],
    [{ events: [minimal, { ...minimal, action: 'trailkeeper.alert.triggered' }] }, 'events[1].action'],
  ])('refuses %j from a client, naming %s', (input, field) => {
    const parsed = parseSubmission(input);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual([
      expect.objectContaining({ field, message: expect.stringMatching(/reserved/) }),
    ]);
  });

  it.each([
    ['an action that only looks alike', { ...minimal, action: 'audit_logs.viewed' }],
    ['an action with the word inside', { ...minimal, action: 'member.trailkeeper.x' }],
    ['an id with the prefix in other case', { ...minimal, id: 'TK_1' }],
  ])('accepts %s', (_name, input) => {
    expect(parseSubmission(input).ok).toBe(true);
  });

  it("builds the service's own events, which no client may send", () => {
    const result = buildStoredEvent(
      { id: serviceEventId('audit-export', 'exp_1'), action: 'audit_log.exported', actor: { id: 'key_1' } },
      tenant,
      NOW,
      redact,
    );
    expect(result.ok && result.event.id).toBe('tk_audit-export-exp_1');
  });
});

describe('submission fingerprint', () => {
  const built = (input: unknown, nowMs = NOW) => {
    const parsed = parseSubmission(input);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const result = buildStoredEvent(parsed.value.events[0] as never, tenant, nowMs, redact);
    if (!result.ok) throw new Error('expected ok');
    return result;
  };
  const event = { ...minimal, id: 'e1', metadata: { token: 'abc', n: 1 } };

  it('is the same for the same submission received at another time, occurred_at defaulted', () => {
    const first = built(event);
    const later = built(event, NOW + 60_000);
    expect(later.event.hash).not.toBe(first.event.hash);
    expect(later.submission.contentHash).toBe(first.submission.contentHash);
    expect(isSameSubmission(later.submission, first.event, first.submission.contentHash)).toBe(true);
  });

  it('counts content after sanitizing: another secret under a redacted key is the same content', () => {
    const first = built(event);
    const other = built({ ...event, metadata: { token: 'xyz', n: 1 } });
    expect(other.submission.contentHash).toBe(first.submission.contentHash);
  });

  it.each([
    ['a changed field', { ...event, metadata: { token: 'abc', n: 2 } }],
    ['an added field', { ...event, team_id: 'team_a' }],
    ['an occurred_at the first submission left out', { ...event, occurred_at: '2026-11-21T12:00:00Z' }],
  ])('differs for %s', (_name, input) => {
    const first = built(event);
    const other = built(input);
    expect(isSameSubmission(other.submission, first.event, first.submission.contentHash)).toBe(false);
  });

  it('compares occurred_at as an instant when it was sent', () => {
    const first = built({ ...event, occurred_at: '2026-11-21T13:00:00+01:00' });
    const again = built({ ...event, occurred_at: '2026-11-21T12:00:00.000Z' }, NOW + 5_000);
    expect(again.submission.contentHash).toBe(first.submission.contentHash);
  });

  it('leaves out every field the server fills', () => {
    const { event: stored } = built(event);
    const changed: StoredEvent = {
      ...stored,
      tenant_id: 'tnt_other',
      received_at: '2030-01-01T00:00:00.000Z',
      expires_at: null,
      hash: '0'.repeat(64),
      impersonated: true,
    };
    expect(contentHash(changed, true)).toBe(contentHash(stored, true));
  });

  it('fingerprints events stored before fingerprints from the stored event, occurred_at only when the replay sends it', () => {
    const withoutTime = built(event);
    expect(isSameSubmission(built(event, NOW + 1_000).submission, withoutTime.event, undefined)).toBe(true);
    expect(isSameSubmission(built({ ...event, team_id: 't' }).submission, withoutTime.event, undefined)).toBe(
      false,
    );
    const sent = built({ ...event, occurred_at: '2026-11-21T11:00:00Z' });
    expect(
      isSameSubmission(
        built({ ...event, occurred_at: '2026-11-21T11:00:00Z' }).submission,
        sent.event,
        undefined,
      ),
    ).toBe(true);
    expect(
      isSameSubmission(
        built({ ...event, occurred_at: '2026-11-21T11:30:00Z' }).submission,
        sent.event,
        undefined,
      ),
    ).toBe(false);
  });
});

describe('validation answers', () => {
  it('names each unknown key on its own', () => {
    const parsed = parseSubmission({ ...minimal, a: 1, b: 2 });
    expect(parsed.ok || parsed.errors).toEqual([
      { field: 'a', message: 'unknown field' },
      { field: 'b', message: 'unknown field' },
    ]);
    const nested = z.strictObject({ x: z.strictObject({}) }).safeParse({ x: { c: 1 } });
    expect(nested.success || toFieldErrors(nested.error, 4)).toEqual([
      { field: 'events[4].x.c', message: 'unknown field', index: 4 },
    ]);
  });

  it(`lists at most ${MAX_LISTED_ERRORS} errors, counts all of them and cuts long names`, () => {
    const errors = Array.from({ length: 250 }, (_, i) => ({
      field: `f${i}${'x'.repeat(i === 0 ? 10_000 : 0)}`,
      message: 'bad',
    }));
    const error = new ValidationError(errors);
    const listed = error.extra.errors as { field: string }[];
    expect(listed).toHaveLength(MAX_LISTED_ERRORS);
    expect(listed[0]?.field.length).toBeLessThanOrEqual(256);
    expect(error.extra.error_count).toBe(250);
    expect(error.message).toMatch(/the first 100 of 250 are listed/);
    expect(error.message.length).toBeLessThan(2_000);
  });

  it('gives no count when every error is listed', () => {
    const error = new ValidationError([{ field: 'a', message: 'bad' }]);
    expect(error.extra).toEqual({ errors: [{ field: 'a', message: 'bad' }] });
    expect(error.message).toBe('1 invalid field: a');
  });
});
