import { describe, expect, it } from 'vitest';
import { buildStoredEvent, hashEvent, parseSubmission } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';

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
