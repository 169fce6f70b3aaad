import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyChange } from '#shared/domain/stream.ts';

const record = (eventName: DynamoDBRecord['eventName'], userIdentity?: unknown): DynamoDBRecord =>
  ({
    eventName,
    userIdentity,
    dynamodb: { Keys: { pk: { S: 'tnt_a#e1' } }, SequenceNumber: '1' },
  }) as DynamoDBRecord;

const ttl = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

describe('stream change classification', () => {
  it('accepts inserts and TTL expiries and flags everything else', () => {
    expect(classifyChange(record('INSERT'))).toBe('insert');
    expect(classifyChange(record('REMOVE', ttl))).toBe('expiry');
    expect(classifyChange(record('REMOVE'))).toBe('tampering');
    expect(classifyChange(record('REMOVE', { type: 'Service', principalId: 'someone.else' }))).toBe(
      'tampering',
    );
    expect(classifyChange(record('MODIFY'))).toBe('tampering');
  });
});

describe('stream monitor handler', () => {
  let handler: typeof import('#functions/stream-monitor.ts').handler;

  beforeAll(async () => {
    // The integration stack's global setup disables metrics in this process tree; this test reads them.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    ({ handler } = await import('#functions/stream-monitor.ts'));
  });

  afterEach(() => vi.restoreAllMocks());

  it('emits the EventTampering metric and a security finding for a modification', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const event: DynamoDBStreamEvent = {
      Records: [record('INSERT'), record('MODIFY'), record('REMOVE', ttl)],
    };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const lines = [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0])).join('');
    expect(lines).toContain('SECURITY FINDING');
    const emf = lines
      .split('\n')
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    expect(emf.some((m) => m.EventTampering === 1 && m.EventsExpired === 1 && m.EventsInserted === 1)).toBe(
      true,
    );
  });
});
