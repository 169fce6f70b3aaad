import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '#shared/domain/sanitize.ts';

describe('secret redaction', () => {
  it('redacts secret-looking keys at any depth, case-insensitively', () => {
    const redact = createRedactor();
    const out = redact({
      Password: 'hunter2',
      nested: { deeper: [{ access_token: 'abc', keep: 'me' }], 'X-Api-Key': 'k' },
      Authorization: 'Bearer x',
      cookie: { a: 1 },
      creditCard: '4111',
      name: 'Ada',
    });
    expect(out).toEqual({
      Password: REDACTED,
      nested: { deeper: [{ access_token: REDACTED, keep: 'me' }], 'X-Api-Key': REDACTED },
      Authorization: REDACTED,
      cookie: REDACTED,
      creditCard: REDACTED,
      name: 'Ada',
    });
  });

  it('takes extra keys from the deployment configuration', () => {
    const redact = createRedactor(['iban']);
    expect(redact({ IBAN: 'DE00', city: 'Berlin' })).toEqual({ IBAN: REDACTED, city: 'Berlin' });
  });

  it('leaves scalars and harmless keys alone', () => {
    expect(createRedactor()({ author: 'x', count: 3 })).toEqual({ author: 'x', count: 3 });
    expect(createRedactor()('plain')).toBe('plain');
  });
});
