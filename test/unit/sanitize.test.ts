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

describe('key names', () => {
  it('matches names of four characters or fewer as whole words only', () => {
    const redact = createRedactor();
    expect(
      redact({ otp_code: '1', userSSN: '2', cvv2: '3', 'x-pwd': '4', sentryDsn: '5', pin: '6', totp: '7' }),
    ).toEqual({
      otp_code: REDACTED,
      userSSN: REDACTED,
      cvv2: REDACTED,
      'x-pwd': REDACTED,
      sentryDsn: REDACTED,
      pin: REDACTED,
      totp: REDACTED,
    });
    const harmless = {
      hotspot: 'a',
      classname: 'b',
      description: 'c',
      spinner: 'd',
      shipping: 'e',
      adsName: 'f',
    };
    expect(redact(harmless)).toEqual(harmless);
  });

  it('matches longer names anywhere inside a key', () => {
    expect(
      createRedactor()({
        db_passphrase: 'a',
        clientSecretValue: 'b',
        PHPSESSID: 'c',
        'Set-Cookie': 'd',
        refreshTokens: [],
      }),
    ).toEqual({
      db_passphrase: REDACTED,
      clientSecretValue: REDACTED,
      PHPSESSID: REDACTED,
      'Set-Cookie': REDACTED,
      refreshTokens: REDACTED,
    });
  });

  it('applies the same rule to extra names: short ones whole-word, long ones anywhere', () => {
    const redact = createRedactor(['db_pw', 'ein', 'employer_number']);
    expect(
      redact({ DB_PW: 'a', dbPw: 'b', company_ein: 'c', einstein: 'd', employerNumberHash: 'e' }),
    ).toEqual({
      DB_PW: REDACTED,
      dbPw: REDACTED,
      company_ein: REDACTED,
      einstein: 'd',
      employerNumberHash: REDACTED,
    });
  });

  it('does not treat "signature" as secret by name: it mostly names harmless fields', () => {
    const event = { signature_required: true, email_signature: 'Best, Ada', signature_algorithm: 'RS256' };
    expect(createRedactor()(event)).toEqual(event);
  });

  it('redacts the value beside a secret-looking name in name/value pairs and entry lists', () => {
    const redact = createRedactor();
    expect(
      redact({
        har: [
          { name: 'Authorization', value: 'opaque-1' },
          { name: 'Accept', value: 'text/csv' },
        ],
        postman: [{ key: 'X-Api-Key', value: 'opaque-2', type: 'text' }],
        env: [{ Name: 'DB_PASSWORD', Value: 'opaque-3' }],
        entries: [
          ['authorization', 'opaque-4'],
          ['accept', 'text/csv'],
        ],
      }),
    ).toEqual({
      har: [
        { name: 'Authorization', value: REDACTED },
        { name: 'Accept', value: 'text/csv' },
      ],
      postman: [{ key: 'X-Api-Key', value: REDACTED, type: 'text' }],
      env: [{ Name: 'DB_PASSWORD', Value: REDACTED }],
      entries: [
        ['authorization', REDACTED],
        ['accept', 'text/csv'],
      ],
    });
  });

  it('does not read a list of field names as name/value entries', () => {
    const event = { changed_fields: ['password', 'email'], field: 'password', changed_at: '2026-12-01' };
    expect(createRedactor()(event)).toEqual(event);
  });
});

describe('secret values', () => {
  const redact = createRedactor();
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzQyIiwiaWF0IjoxNzkwMDAwMDAwfQ.c2lnbmF0dXJlLW5vdC1yZWFsLWF0LWFsbC0wMTIzNDU2Nzg5';

  it('replaces only the secret inside a longer string', () => {
    expect(redact({ note: `curl -H 'Authorization: Bearer ${jwt}' https://api.example.com` })).toEqual({
      note: `curl -H 'Authorization: Bearer ${REDACTED}' https://api.example.com`,
    });
    expect(redact(['token was ghp_0123456789abcdefghijklmnopqrstuvwxYZ, rotated'])).toEqual([
      `token was ${REDACTED}, rotated`,
    ]);
  });

  it('keeps a URL but drops the password inside it', () => {
    expect(redact('postgres://app:s3cr3t-Pa55@db.internal:5432/app?sslmode=require')).toBe(
      `postgres://app:${REDACTED}@db.internal:5432/app?sslmode=require`,
    );
    expect(redact('https://ada:p@ss@intranet.example.com/')).toBe(
      `https://ada:${REDACTED}@intranet.example.com/`,
    );
    expect(redact('https://example.com:8443/@ada/profile')).toBe('https://example.com:8443/@ada/profile');
  });

  it('keeps the tenant and key ids of a Trailkeeper API key, not its secret', () => {
    const tenant = `tnt_${'a'.repeat(26)}`;
    const key = `key_${'b'.repeat(26)}`;
    expect(redact(`leaked tk.${tenant}.${key}.${'c'.repeat(20)}_${'D'.repeat(22)} in chat`)).toBe(
      `leaked tk.${tenant}.${key}.${REDACTED} in chat`,
    );
  });

  it('redacts a private key between its BEGIN and END lines', () => {
    const body = 'MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naGVsbG8gd29ybGQ=';
    expect(redact(`-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`)).toBe(
      `-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----`,
    );
  });

  it('redacts an AWS secret key only next to an access key id', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(redact(`AKIAIOSFODNN7EXAMPLE,${secret}`)).toBe(`${REDACTED},${REDACTED}`);
    expect(redact(secret)).toBe(secret);
  });

  it('tells an assigned secret from prose', () => {
    expect(redact('user=ada password=hunter2 ok')).toBe(`user=ada password=${REDACTED} ok`);
    expect(redact('secret: s3cr3t-v4lue')).toBe(`secret: ${REDACTED}`);
    expect(redact('Password: must contain a number')).toBe('Password: must contain a number');
    expect(redact('Basic plan upgraded')).toBe('Basic plan upgraded');
  });

  it('redacts inside a string that is JSON and writes it back as JSON', () => {
    expect(redact({ body: '{"user":"ada","password":"hunter2"}' })).toEqual({
      body: `{"user":"ada","password":"${REDACTED}"}`,
    });
    expect(redact({ body: '{"otp": 123456, "channel": "sms"}' })).toEqual({
      body: `{"otp":"${REDACTED}","channel":"sms"}`,
    });
    const untouched = '{ "page": 2, "filters": { "action": "auth.login" } }';
    expect(redact({ body: untouched })).toEqual({ body: untouched });
  });

  it('leaves object keys alone, even one that holds a secret', () => {
    const key = 'ghp_0123456789abcdefghijklmnopqrstuvwxYZ';
    expect(redact({ [key]: 'x' })).toEqual({ [key]: 'x' });
  });
});

describe('redactor', () => {
  const redact = createRedactor();

  it('is idempotent', () => {
    const event = {
      note: 'Authorization: Bearer abc123def456 and https://u:pw1@h/db',
      headers: [{ name: 'Cookie', value: 'sid=1' }],
      body: '{"password":"x","token":"Bearer abc123def456"}',
    };
    const once = redact(event);
    expect(once).not.toEqual(event);
    expect(redact(once)).toEqual(once);
  });

  it('returns its input itself when there is nothing to redact', () => {
    const event = { a: ['x', { b: 'y' }], c: 1, d: null };
    expect(redact(event)).toBe(event);
  });

  it('replaces pathologically deep JSON inside strings instead of recursing into it', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const out = redact({ note: deep }) as { note: string };
    expect(out.note).toContain(REDACTED);
    expect(out.note.length).toBeLessThan(200);
  });

  it('keeps a __proto__ key a plain key', () => {
    const event = JSON.parse('{"__proto__": {"password": "x"}, "a": 1}') as Record<string, unknown>;
    const out = redact(event) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"password":"${REDACTED}"},"a":1}`);
  });
});
