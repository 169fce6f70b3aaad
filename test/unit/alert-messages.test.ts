import { describe, expect, it } from 'vitest';
import {
  consoleLink,
  type FiredAlert,
  MAX_LISTED_EVENTS,
  MAX_WEBHOOK_BODY_BYTES,
  renderEmail,
  renderSlack,
  renderWebhook,
} from '#shared/domain/alert-messages.ts';
import { alertRuleSchema } from '#shared/domain/alert-rules.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { apiQuery, filtersFromSearch } from '../../console/src/filters.ts';

const event = (overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  id: 'evt_1',
  tenant_id: 'tnt_a',
  action: 'api_key.created',
  occurred_at: '2026-12-07T10:00:00.000Z',
  received_at: '2026-12-07T10:00:01.000Z',
  actor: { id: 'usr_mallory', type: 'user', name: 'Mallory' },
  target: { type: 'api_key', id: 'key_1', name: 'ci' },
  impersonated: false,
  expires_at: null,
  hash: 'h',
  ...overrides,
});

const match = alertRuleSchema.parse({
  name: 'x',
  match: { action: 'api_key.created', actor_id_not: ['usr_alice'] },
  notify: [{ email: 'a@b.co' }],
}).match;

const fired = (overrides: Partial<FiredAlert> = {}): FiredAlert => ({
  alert: { id: 'alr_1', name: 'API key by an unknown actor', match },
  fire: { kind: 'match', events: ['evt_1'], suppressed: 0 },
  events: [event()],
  fired_at: '2026-12-07T10:00:30.000Z',
  ...overrides,
});

const context = { tenantId: 'tnt_a', baseUrl: 'https://audit.example.com/' };

const hostile = event({
  id: 'evt_evil',
  actor: { id: 'usr_<script>alert(1)</script>', type: 'user', name: '<!channel> & <@U123>' },
  target: { type: 'doc', id: 'd&1', name: '<https://evil.example|click me>' },
});

describe('console link', () => {
  it('opens the rule’s action over the events’ time range, in the console’s own query format', () => {
    const link = consoleLink(
      fired({
        events: [event({ id: 'e2', occurred_at: '2026-12-07T10:05:00.000Z' }), event()],
        fire: { kind: 'match', events: ['evt_1', 'e2'], suppressed: 0 },
      }),
      context,
    );
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}`).toBe('https://audit.example.com/console/t/tnt_a/');
    const filters = filtersFromSearch(url.search);
    expect(filters).toMatchObject({
      range: 'custom',
      from: '2026-12-07T10:00:00.000Z',
      to: '2026-12-07T10:05:00.000Z',
      action: 'api_key.created',
      actor: 'usr_mallory',
    });
    expect(apiQuery(filters, Date.parse('2026-12-08T00:00:00Z'))).toMatchObject({
      from: '2026-12-07T10:00:00.000Z',
      to: '2026-12-07T10:05:00.000Z',
      action: 'api_key.created',
      actor_id: 'usr_mallory',
    });
  });

  it('covers the matches held back during the cooldown', () => {
    const link = consoleLink(
      fired({
        fire: {
          kind: 'match',
          events: ['evt_1'],
          suppressed: 4,
          suppressed_from: '2026-12-07T09:51:00.000Z',
        },
      }),
      context,
    );
    expect(filtersFromSearch(new URL(link).search).from).toBe('2026-12-07T09:51:00.000Z');
  });

  it('passes the rule’s other console filters and leaves out a mixed set of actors', () => {
    const rich = alertRuleSchema.parse({
      name: 'x',
      match: { action: 'a.b,c.*', target_type: 'doc', team_id: 'team 1', status: 403, impersonated: true },
      notify: [{ email: 'a@b.co' }],
    }).match;
    const link = consoleLink(
      fired({
        alert: { id: 'alr_1', name: 'n', match: rich },
        events: [event(), event({ id: 'e2', actor: { id: 'usr_other' } })],
      }),
      context,
    );
    expect(filtersFromSearch(new URL(link).search)).toMatchObject({
      action: 'a.b,c.*',
      actor: '',
      target_type: 'doc',
      team: 'team 1',
      status: '403',
      impersonated: 'true',
    });
  });

  it('for an absence, spans the silent period', () => {
    const link = consoleLink(
      fired({
        events: [],
        fire: { kind: 'absence', events: [], suppressed: 0, absent_since: '2026-12-07T09:00:00.000Z' },
      }),
      context,
    );
    expect(filtersFromSearch(new URL(link).search)).toMatchObject({
      from: '2026-12-07T09:00:00.000Z',
      to: '2026-12-07T10:00:30.000Z',
    });
  });
});

describe('held-back matches', () => {
  const held = fired({
    events: [],
    fire: { kind: 'held', events: [], suppressed: 12, suppressed_from: '2026-12-07T09:58:00.000Z' },
  });

  it('are linked from the first held-back match to the time it fired', () => {
    expect(filtersFromSearch(new URL(consoleLink(held, context)).search)).toMatchObject({
      from: '2026-12-07T09:58:00.000Z',
      to: '2026-12-07T10:00:30.000Z',
    });
  });

  it('are counted in every channel', () => {
    expect(renderEmail(held, context).text).toContain(
      '12 further matches were held back during the cooldown.',
    );
    expect(JSON.stringify(renderSlack(held, context).blocks)).toContain('12 further matches were held back');
    expect(renderWebhook(held)).toMatchObject({ events: [], suppressed: 12 });
  });
});

describe('alert email', () => {
  it('names the rule, the event (action, actor, target, time) and links to the console', () => {
    const email = renderEmail(fired(), context);
    expect(email.subject).toBe('Trailkeeper alert: API key by an unknown actor');
    expect(email.text).toContain('api_key.created');
    expect(email.text).toContain('Mallory (usr_mallory, user)');
    expect(email.text).toContain('api_key key_1 "ci"');
    expect(email.text).toContain('2026-12-07T10:00:00.000Z');
    expect(email.text).toContain(consoleLink(fired(), context));
    expect(email.html).toContain(`href="${consoleLink(fired(), context).replaceAll('&', '&amp;')}"`);
  });

  it('HTML-escapes every event field', () => {
    const { html } = renderEmail(fired({ events: [hostile] }), context);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<!channel>');
    expect(html).toContain('usr_&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
    expect(html).toContain('d&amp;1');
    expect(html).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
  });

  it('escapes the rule name and spells out control and bidi characters', () => {
    const email = renderEmail(
      fired({
        alert: { id: 'alr_1', name: '<b>x</b>', match },
        events: [event({ actor: { id: 'usr_1', name: 'evil\u202Efdp.exe\nSubject: x' } })],
      }),
      context,
    );
    expect(email.html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(email.text).toContain('evil[U+202E]fdp.exe[U+000A]Subject: x');
    expect(email.html).not.toContain('\u202E');
  });

  it('reports the held-back matches and lists at most MAX_LISTED_EVENTS events', () => {
    const many = Array.from({ length: MAX_LISTED_EVENTS + 3 }, (_, i) =>
      event({
        id: `e${i}`,
        occurred_at: new Date(Date.parse('2026-12-07T10:00:00Z') + i * 1000).toISOString(),
      }),
    );
    const email = renderEmail(
      fired({ events: many, fire: { kind: 'match', events: many.map((e) => e.id), suppressed: 7 } }),
      context,
    );
    expect(email.text).toContain('7 further matches were held back during the cooldown.');
    expect(email.text).toContain('and 3 more');
    expect(email.text.match(/^- /gm)).toHaveLength(MAX_LISTED_EVENTS);
  });

  it('says what an absence alert means', () => {
    const email = renderEmail(
      fired({
        events: [],
        fire: { kind: 'absence', events: [], suppressed: 0, absent_since: '2026-12-07T09:00:00.000Z' },
      }),
      context,
    );
    expect(email.text).toContain('No matching event since 2026-12-07T09:00:00.000Z.');
    expect(email.html).not.toContain('<table>');
  });
});

describe('alert Slack message', () => {
  it('escapes &, < and > so mentions and links in event fields arrive as text', () => {
    const message = renderSlack(fired({ events: [hostile] }), context);
    const all = JSON.stringify(message);
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<@U123>');
    expect(all).not.toContain('<https://evil.example');
    expect(all).not.toContain('<script>');
    const eventBlock = message.blocks[1]?.text?.text ?? '';
    expect(eventBlock).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
    expect(eventBlock).toContain('&lt;https://evil.example|click me&gt;');
    expect(eventBlock).toContain('usr_&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('names the rule and links to the console with Slack’s link syntax', () => {
    const message = renderSlack(
      fired({ fire: { kind: 'match', events: ['evt_1'], suppressed: 2 } }),
      context,
    );
    const link = consoleLink(fired(), context).replaceAll('&', '&amp;');
    expect(message.text).toContain('Trailkeeper alert: API key by an unknown actor');
    expect(message.blocks.at(-1)?.text?.text).toBe(`<${link}|Open these events in the console>`);
    expect(JSON.stringify(message.blocks)).toContain('2 further matches were held back');
    expect(message.blocks[1]?.text?.text).toContain('*api_key.created* at 2026-12-07T10:00:00.000Z');
  });

  it('escapes a rule name holding Slack control sequences', () => {
    const message = renderSlack(fired({ alert: { id: 'alr_1', name: 'ping <!here>', match } }), context);
    expect(message.text).toContain('ping &lt;!here&gt;');
    expect(message.blocks[0]?.text?.text).not.toContain('<!here>');
  });
});

describe('alert webhook body', () => {
  it('has the SPEC shape with the events as stored, untouched', () => {
    const body = renderWebhook(
      fired({ events: [hostile], fire: { kind: 'match', events: ['evt_evil'], suppressed: 3 } }),
    );
    expect(body).toEqual({
      type: 'alert',
      alert: { id: 'alr_1', name: 'API key by an unknown actor' },
      events: [hostile],
      suppressed: 3,
    });
    expect(JSON.parse(JSON.stringify(body)).events[0].actor.name).toBe('<!channel> & <@U123>');
  });

  it('keeps the newest events within the body limit', () => {
    const big = 'x'.repeat(30_000);
    const events = Array.from({ length: 40 }, (_, i) =>
      event({
        id: `e${String(i).padStart(2, '0')}`,
        occurred_at: new Date(Date.parse('2026-12-07T10:00:00Z') + i * 1000).toISOString(),
        metadata: { a: big },
      }),
    );
    const body = renderWebhook(fired({ events }));
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(MAX_WEBHOOK_BODY_BYTES);
    expect(body.events.length).toBeLessThan(40);
    expect(body.events.at(-1)?.id).toBe('e39');
  });
});
