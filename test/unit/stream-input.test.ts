import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { toFieldErrors } from '#shared/domain/event.ts';
import { type NetworkPolicy, STRICT_POLICY } from '#shared/domain/network-policy.ts';
import {
  createStreamSchemaFor,
  replayStreamSchema,
  replayWindowProblem,
  streamFilterMatches,
  streamFilterSchema,
  tokenProblem,
  updateStreamSchemaFor,
} from '#shared/domain/stream-input.ts';

const LOCAL_POLICY: NetworkPolicy = { allowHttpLoopback: true, allowPrivate: [] };
const create = createStreamSchemaFor(STRICT_POLICY);
const update = updateStreamSchemaFor(STRICT_POLICY);

/** The field errors of a refused input (fails the test if the input was accepted). */
const errorsOf = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : toFieldErrors(result.error);
};
const fieldsOf = (schema: z.ZodType, input: unknown) => errorsOf(schema, input).map((e) => e.field);

const WEBHOOK = { name: 'SIEM', type: 'webhook', url: 'https://siem.example.com/ingest' };
const SPLUNK = {
  name: 'Splunk',
  type: 'splunk_hec',
  url: 'https://splunk.example.com:8088/services/collector/event',
  token: '0b5a6c3e-9f4d-4c2b-8e1a-7d6f5e4c3b2a',
};

describe('creating a stream', () => {
  it('takes a webhook with no token and a filter, normalising the filter', () => {
    const parsed = create.parse({
      ...WEBHOOK,
      name: '  SIEM  ',
      filter: { action: 'secret.*, member.role_changed', actor_type: 'user,api_key,user' },
    });

    expect(parsed).toEqual({
      name: 'SIEM',
      type: 'webhook',
      url: 'https://siem.example.com/ingest',
      filter: { action: ['secret.*', 'member.role_changed'], actor_type: ['user', 'api_key'] },
    });
  });

  it.each([
    ['splunk_hec', SPLUNK],
    [
      'datadog',
      {
        name: 'DD',
        type: 'datadog',
        url: 'https://http-intake.logs.datadoghq.eu/api/v2/logs',
        token: 'a'.repeat(32),
      },
    ],
  ])('takes a %s stream with its token', (_, input) => {
    expect(create.parse(input)).toMatchObject({ token: input.token });
  });

  it.each([
    ['splunk_hec', 'is required for splunk_hec streams'],
    ['datadog', 'is required for datadog streams'],
  ])('refuses a %s stream without a token, naming token', (type, message) => {
    expect(errorsOf(create, { ...SPLUNK, type, token: undefined })).toEqual([{ field: 'token', message }]);
  });

  it('refuses a token on a webhook stream, naming token', () => {
    expect(errorsOf(create, { ...WEBHOOK, token: 'mine' })).toEqual([
      {
        field: 'token',
        message: 'is not taken by webhook streams: their signing secret is generated and shown once',
      },
    ]);
  });

  it.each([
    ['a space', 'abc def'],
    ['a header injection', 'abc\r\nX-Evil: 1'],
    ['an empty token', ''],
    ['an oversized token', 'a'.repeat(513)],
  ])('refuses a token with %s', (_, token) => {
    expect(fieldsOf(create, { ...SPLUNK, token })).toEqual(['token']);
  });

  it('refuses an unknown type, naming type (and no token rule for it)', () => {
    expect(errorsOf(create, { ...SPLUNK, type: 'kafka' })).toEqual([
      { field: 'type', message: 'must be one of webhook, splunk_hec, datadog' },
    ]);
  });

  it.each([
    ['an empty name', ''],
    ['a blank name', '   '],
    ['a name over 100 characters', 'n'.repeat(101)],
    ['a name that is not a string', 7],
  ])('refuses %s, naming name', (_, name) => {
    expect(fieldsOf(create, { ...WEBHOOK, name })).toEqual(['name']);
  });

  it('takes a name of exactly 100 characters', () => {
    expect(create.parse({ ...WEBHOOK, name: 'n'.repeat(100) }).name).toHaveLength(100);
  });

  it.each([
    ['plain http', 'http://siem.example.com/ingest', 'must use https'],
    ['a private address', 'https://10.0.0.5/ingest', 'must point to a public address'],
    ['the metadata address', 'https://169.254.169.254/latest', 'metadata'],
    ['a loopback name', 'https://localhost:8443/', 'loopback'],
    ['not a URL', 'siem', 'absolute https URL'],
    ['an oversized URL', `https://siem.example.com/${'a'.repeat(2048)}`, 'at most 2048'],
  ])('refuses %s as url, naming url', (_, url, message) => {
    const errors = errorsOf(create, { ...WEBHOOK, url });
    expect(errors.map((e) => e.field)).toEqual(['url']);
    expect(errors[0]?.message).toContain(message);
  });

  it('names every bad field at once: a refused url and a missing token', () => {
    expect(fieldsOf(create, { ...SPLUNK, url: 'http://splunk.example.com', token: undefined })).toEqual([
      'url',
      'token',
    ]);
  });

  it('follows the policy: plain http to loopback only under the local setting', () => {
    const input = { ...WEBHOOK, url: 'http://127.0.0.1:9000/hook' };

    expect(fieldsOf(create, input)).toEqual(['url']);
    expect(createStreamSchemaFor(LOCAL_POLICY).parse(input).url).toBe('http://127.0.0.1:9000/hook');
  });

  it('refuses unknown fields and missing required ones by name', () => {
    expect(fieldsOf(create, { ...WEBHOOK, secret: 'whsec_x' })).toEqual(['secret']);
    expect(fieldsOf(create, { type: 'webhook' }).sort()).toEqual(['name', 'url']);
  });
});

describe('stream filter', () => {
  it('takes the events list action syntax: exact, prefix and comma list', () => {
    expect(streamFilterSchema.parse({ action: 'member.role_changed' })).toEqual({
      action: ['member.role_changed'],
    });
    expect(streamFilterSchema.parse({ action: 'secret.*,api_key.created' })).toEqual({
      action: ['secret.*', 'api_key.created'],
    });
    expect(streamFilterSchema.parse({})).toEqual({});
  });

  it.each([
    ['an action that is not dotted lower case', { action: 'Login' }, 'filter.action[0]'],
    ['a bare wildcard', { action: '*' }, 'filter.action[0]'],
    ['an empty entry', { action: 'a.b,' }, 'filter.action[1]'],
    ['an unknown actor type', { actor_type: 'robot' }, 'filter.actor_type[0]'],
    ['an unknown filter field', { team_id: 't1' }, 'filter.team_id'],
  ])('refuses %s, naming it', (_, filter, field) => {
    expect(fieldsOf(create, { ...WEBHOOK, filter })).toEqual([field]);
  });

  it('refuses an oversized filter, naming the field', () => {
    const tooMany = Array.from({ length: 21 }, (_, i) => `app.action_${i}`).join(',');
    const tooLong = `app.${'a'.repeat(2048)}`;
    const tooLongTypes = Array.from({ length: 10 }, () => 'api_key').join(',');

    expect(errorsOf(create, { ...WEBHOOK, filter: { action: tooMany } })).toEqual([
      { field: 'filter.action', message: 'at most 20 actions' },
    ]);
    expect(fieldsOf(create, { ...WEBHOOK, filter: { action: tooLong } })).toEqual(['filter.action']);
    expect(fieldsOf(create, { ...WEBHOOK, filter: { actor_type: tooLongTypes } })).toEqual([
      'filter.actor_type',
    ]);
  });

  it('refuses a filter that is not an object', () => {
    expect(fieldsOf(create, { ...WEBHOOK, filter: 'secret.*' })).toEqual(['filter']);
  });
});

describe('changing a stream', () => {
  it.each([
    [{ status: 'paused' }, { status: 'paused' }],
    [{ status: 'active' }, { status: 'active' }],
    [{ name: ' Renamed ' }, { name: 'Renamed' }],
    [{ token: 'new-token' }, { token: 'new-token' }],
    [{ filter: { actor_type: 'user' } }, { filter: { actor_type: ['user'] } }],
  ])('takes %j', (input, expected) => {
    expect(update.parse(input)).toEqual(expected);
  });

  it('takes a null filter (send every event) and a url the policy allows, normalised', () => {
    expect(update.parse({ filter: null, url: 'https://SIEM.example.com' })).toEqual({
      filter: null,
      url: 'https://siem.example.com/',
    });
  });

  it.each(['failing', 'disabled', 'deleted'])('refuses status %s, naming status', (status) => {
    expect(errorsOf(update, { status })).toEqual([
      { field: 'status', message: 'must be active or paused (failing and disabled are set by delivery)' },
    ]);
  });

  it('refuses an empty change', () => {
    expect(errorsOf(update, {})).toEqual([{ field: 'body', message: 'must change at least one field' }]);
  });

  it('refuses a url, filter, token or name that creating would refuse, by name', () => {
    expect(fieldsOf(update, { url: 'http://siem.example.com' })).toEqual(['url']);
    expect(fieldsOf(update, { filter: { action: 'x' } })).toEqual(['filter.action[0]']);
    expect(fieldsOf(update, { token: 'a b' })).toEqual(['token']);
    expect(fieldsOf(update, { name: '' })).toEqual(['name']);
  });

  it('refuses fields a PATCH cannot change', () => {
    expect(fieldsOf(update, { type: 'datadog' })).toEqual(['type']);
  });
});

describe('token rule by type', () => {
  it('requires a token for Splunk and Datadog and refuses one for webhooks', () => {
    expect(tokenProblem('splunk_hec', true)).toBeUndefined();
    expect(tokenProblem('datadog', true)).toBeUndefined();
    expect(tokenProblem('webhook', false)).toBeUndefined();
    expect(tokenProblem('datadog', false)).toBe('is required for datadog streams');
    expect(tokenProblem('webhook', true)).toMatch(/^is not taken by webhook streams/);
  });
});

describe('replay window', () => {
  it('takes RFC 3339 from < to, with offsets', () => {
    const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-01T02:00:00+01:00' };

    expect(replayStreamSchema.parse(window)).toEqual(window);
  });

  it.each([
    ['from equal to to', { from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }],
    ['from after to', { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }],
    ['from after to across offsets', { from: '2026-12-01T01:30:00Z', to: '2026-12-01T02:00:00+01:00' }],
  ])('refuses %s, naming to', (_, window) => {
    expect(errorsOf(replayStreamSchema, window)).toEqual([{ field: 'to', message: 'must be after from' }]);
  });

  it.each([
    ['a date without time', { from: '2026-12-01', to: '2026-12-02T00:00:00Z' }, ['from']],
    ['a time without offset', { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00' }, ['to']],
    ['a missing to', { from: '2026-12-01T00:00:00Z' }, ['to']],
    ['an epoch number', { from: 0, to: '2026-12-02T00:00:00Z' }, ['from']],
    ['an unknown field', { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', limit: 5 }, ['limit']],
  ])('refuses %s, naming it', (_, window, fields) => {
    expect(fieldsOf(replayStreamSchema, window)).toEqual(fields);
  });

  it('names from when the window starts before the hot retention', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    const window = { from: '2026-11-06T23:59:59Z', to: '2026-12-01T00:00:00Z' };

    expect(replayWindowProblem(window, now, 30)).toEqual({
      field: 'from',
      message:
        'must be within the hot retention (30 days): events before 2026-11-07T00:00:00.000Z are only in the archive',
    });
    expect(replayWindowProblem({ ...window, from: '2026-11-07T00:00:00Z' }, now, 30)).toBeUndefined();
    expect(replayWindowProblem(window, now, null)).toBeUndefined();
  });
});

describe('stream filter match', () => {
  const event = (action: string, type?: string) => ({ action, actor: type === undefined ? {} : { type } });

  it('sends every event without a filter, or with an empty one', () => {
    expect(streamFilterMatches(undefined, event('member.invited'))).toBe(true);
    expect(streamFilterMatches(null, event('member.invited'))).toBe(true);
    expect(streamFilterMatches({}, event('member.invited'))).toBe(true);
  });

  it('matches exact actions and dotted prefixes only', () => {
    const filter = streamFilterSchema.parse({ action: 'secret.*,member.role_changed' });

    expect(streamFilterMatches(filter, event('secret.created'))).toBe(true);
    expect(streamFilterMatches(filter, event('secret.key.rotated'))).toBe(true);
    expect(streamFilterMatches(filter, event('member.role_changed'))).toBe(true);
    expect(streamFilterMatches(filter, event('secrets.created'))).toBe(false);
    expect(streamFilterMatches(filter, event('member.role_changed_twice'))).toBe(false);
    expect(streamFilterMatches(filter, event('member.invited'))).toBe(false);
  });

  it('matches actor types, and not an event without one', () => {
    const filter = streamFilterSchema.parse({ actor_type: 'user,support' });

    expect(streamFilterMatches(filter, event('a.b', 'support'))).toBe(true);
    expect(streamFilterMatches(filter, event('a.b', 'api_key'))).toBe(false);
    expect(streamFilterMatches(filter, event('a.b'))).toBe(false);
  });

  it('needs both action and actor type when both are given', () => {
    const filter = streamFilterSchema.parse({ action: 'api_key.*', actor_type: 'user' });

    expect(streamFilterMatches(filter, event('api_key.created', 'user'))).toBe(true);
    expect(streamFilterMatches(filter, event('api_key.created', 'service'))).toBe(false);
    expect(streamFilterMatches(filter, event('member.invited', 'user'))).toBe(false);
  });
});
