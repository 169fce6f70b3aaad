/**
 * Alerts end to end through the local stack: the API (secrets shown once, bad input naming the
 * field, email domains, trail events), and the two examples of reference 002 — an API key created
 * by someone not on a list, a super-admin impersonation outside business hours (an `occurred_at`
 * outside them, not the clock) — each firing exactly once per cooldown and staying quiet
 * otherwise: a signed webhook verified with `standardwebhooks`, a Slack message whose event text
 * arrives escaped, an email in the local SES outbox. Alerts never match their own
 * `trailkeeper.alert.*` events. Receivers are plain http on 127.0.0.1 (allowHttpLoopback).
 *
 * "Quiet" is shown without sleeping: after the events that must not fire, a sentinel event fires
 * a second rule; once its notification arrived, the router had evaluated the earlier events.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { api, createTenant, type TestTenant } from './client.ts';

const receivers: TestReceiver[] = [];
const receiver = async (): Promise<TestReceiver> => {
  const started = await startReceiver();
  receivers.push(started);
  return started;
};
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTenant();
  const domains = await api('PATCH', `/v1/tenants/${tenant.id}`, {
    token: tenant.key,
    body: { email_domains: ['example.com'] },
  });
  expect(domains.status, JSON.stringify(domains.body)).toBe(200);
});

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

const createAlert = async (body: Record<string, unknown>) => {
  const res = await api('POST', '/v1/alerts', { token: tenant.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret?: string; notify: unknown[] };
};

const postEvents = async (events: unknown[]) => {
  const res = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
};

const triggeredFor = async (alertId: string) => {
  const res = await api('GET', '/v1/events?action=trailkeeper.alert.triggered&limit=100', {
    token: tenant.key,
  });
  expect(res.status).toBe(200);
  return (res.body.data as Array<{ target?: { id: string }; metadata: Record<string, unknown> }>).filter(
    (e) => e.target?.id === alertId,
  );
};

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms),
    ),
  ]);

/** A sentinel rule on its own receiver: once it was notified, every earlier event was evaluated. */
const sentinel = async (family: string) => {
  const r = await receiver();
  await createAlert({
    name: 'sentinel',
    match: { action: `${family}.sentinel` },
    notify: [{ webhook_url: r.url }],
    cooldown_minutes: 0,
  });
  let fired = 0;
  return {
    fire: async () => {
      fired += 1;
      await postEvents([{ action: `${family}.sentinel`, actor: { id: 'sentinel' } }]);
      await within(r.waitForRequests(fired), 20_000, 'sentinel notification');
    },
  };
};

describe('alerts API', () => {
  it('creates an alert with its webhook secret shown once, never the Slack URL, and records it in the trail', async () => {
    const created = await createAlert({
      name: 'api',
      match: { action: 'nobody.sends_this' },
      notify: [
        { slack_url: 'https://hooks.slack.com/services/T1/B1/secret-part' },
        { webhook_url: 'https://siem.example.com/alerts' },
      ],
    });
    expect(created.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(created)).not.toContain('secret-part');
    const read = await api('GET', `/v1/alerts/${created.id}`, { token: tenant.key });
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.body.notify).toEqual([
      { slack_url: 'https://hooks.slack.com/…' },
      { webhook_url: 'https://siem.example.com/alerts' },
    ]);
    const patched = await api('PATCH', `/v1/alerts/${created.id}`, {
      token: tenant.key,
      body: { cooldown_minutes: 60 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.cooldown_minutes).toBe(60);
    const deleted = await api('DELETE', `/v1/alerts/${created.id}`, { token: tenant.key });
    expect(deleted.status).toBe(204);
    expect((await api('GET', `/v1/alerts/${created.id}`, { token: tenant.key })).status).toBe(404);

    const trail = await api('GET', '/v1/events?action=trailkeeper.alert.*&limit=100', { token: tenant.key });
    const actions = (trail.body.data as Array<{ action: string; target?: { id: string } }>)
      .filter((e) => e.target?.id === created.id)
      .map((e) => e.action)
      .sort();
    expect(actions).toEqual([
      'trailkeeper.alert.created',
      'trailkeeper.alert.deleted',
      'trailkeeper.alert.updated',
    ]);
    expect(JSON.stringify(trail.body)).not.toContain('secret-part');
  });

  it.each([
    [
      { match: { action: 'a.b', outside_hours: { tz: 'Mars/Olympus', from: '09:00', to: '17:00' } } },
      'match.outside_hours.tz',
    ],
    [{ notify: [{ webhook_url: 'http://siem.example.com/alerts' }] }, 'notify[0].webhook_url'],
    [{ notify: [{ email: 'someone@elsewhere.org' }] }, 'notify[0].email'],
    [{ match: { action: 'a.b', actor_id: ['x'], actor_id_not: ['y'] } }, 'match.actor_id_not'],
    [{ threshold: { count: 1, window_minutes: 5 } }, 'threshold.count'],
  ])('refuses %j naming %s', async (change, field) => {
    const res = await api('POST', '/v1/alerts', {
      token: tenant.key,
      body: { name: 'bad', match: { action: 'a.b' }, notify: [{ email: 'sec@example.com' }], ...change },
    });
    expect(res.status).toBe(400);
    expect((res.body.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
  });
});

describe('reference 002: an API key created by anyone but a known list', () => {
  it('fires once per cooldown (webhook signed, email sent), never for a listed actor or its own events', async () => {
    const family = `k${unique()}`;
    const hook = await receiver();
    const own = await receiver();
    const alert = await createAlert({
      name: `Unlisted key creation ${family}`,
      match: { action: `${family}.api_key.created`, actor_id_not: ['user_alice', 'user_bob'] },
      notify: [{ webhook_url: hook.url }, { email: `security+${family}@example.com` }],
      cooldown_minutes: 5,
    });
    // Would match every alert event of the trail, if alerts could match their own.
    const ownRule = await createAlert({
      name: 'own events',
      match: { action: 'trailkeeper.alert.*' },
      notify: [{ webhook_url: own.url }],
    });
    const quiet = await sentinel(family);

    await postEvents([
      { id: `${family}-a`, action: `${family}.api_key.created`, actor: { id: 'user_alice' } },
    ]);
    await postEvents([
      { id: `${family}-m1`, action: `${family}.api_key.created`, actor: { id: 'user_mallory' } },
    ]);
    const [first] = await within(hook.waitForRequests(1), 20_000, 'alert webhook');
    if (first === undefined) throw new Error('no request');

    const payload = new Webhook(alert.secret as string).verify(first.body.toString('utf8'), {
      'webhook-id': first.headers['webhook-id'] as string,
      'webhook-timestamp': first.headers['webhook-timestamp'] as string,
      'webhook-signature': first.headers['webhook-signature'] as string,
    }) as { type: string; alert: { id: string }; events: Array<{ id: string }>; suppressed: number };
    expect(payload.type).toBe('alert');
    expect(payload.alert.id).toBe(alert.id);
    expect(payload.events.map((e) => e.id)).toEqual([`${family}-m1`]);
    expect(payload.suppressed).toBe(0);

    // Two more within the cooldown are held back, not notified.
    await postEvents([
      { id: `${family}-m2`, action: `${family}.api_key.created`, actor: { id: 'user_mallory' } },
      { id: `${family}-m3`, action: `${family}.api_key.created`, actor: { id: 'user_eve' } },
    ]);
    await quiet.fire();
    expect(hook.requests).toHaveLength(1);
    const triggered = await triggeredFor(alert.id);
    expect(triggered).toHaveLength(1);
    expect(triggered[0]?.metadata).toMatchObject({ event_ids: [`${family}-m1`], suppressed: 0 });
    const read = await api('GET', `/v1/alerts/${alert.id}`, { token: tenant.key });
    expect(read.body.suppressed).toBe(2);

    // The email went through SES (the local outbox).
    const outbox = inject('outboxDir');
    const emails = await within(
      (async () => {
        for (;;) {
          const files = (await readdir(outbox)).filter((f) => f.endsWith('.eml'));
          const texts = await Promise.all(files.map((f) => readFile(join(outbox, f), 'utf8')));
          const mine = texts.filter((t) => t.includes(`security+${family}@example.com`));
          if (mine.length > 0) return mine;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      20_000,
      'alert email',
    );
    expect(emails).toHaveLength(1);
    expect(emails[0]).toContain('Subject: Trailkeeper alert: Unlisted key creation');

    // Alert events (created, triggered) never fed the rule on trailkeeper.alert.*.
    expect(own.requests).toHaveLength(0);
    expect(await triggeredFor(ownRule.id)).toHaveLength(0);
  });
});

describe('reference 002: a super-admin impersonation outside business hours', () => {
  /** A past Wednesday (UTC), at least a day ago. */
  const wednesday = (() => {
    const day = new Date(Date.now() - 86_400_000);
    while (day.getUTCDay() !== 3) day.setUTCDate(day.getUTCDate() - 1);
    return day.toISOString().slice(0, 10);
  })();

  it('fires once for the impersonation at night, not for one in office hours, with Slack text escaped', async () => {
    const family = `i${unique()}`;
    const slack = await receiver();
    const alert = await createAlert({
      name: `Impersonation outside hours ${family}`,
      match: {
        action: `${family}.*`,
        impersonated: true,
        outside_hours: {
          tz: 'Europe/Berlin',
          from: '08:00',
          to: '18:00',
          days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        },
      },
      notify: [{ slack_url: slack.url }],
    });
    const quiet = await sentinel(family);
    const impersonation = (id: string, occurredAt: string, impersonated = true) => ({
      id,
      action: `${family}.session.started`,
      occurred_at: occurredAt,
      actor: { id: 'cust_42', name: '<!channel> Customer' },
      ...(impersonated ? { impersonator: { id: 'superadmin_1' } } : {}),
    });

    // 11:00 UTC is 12:00 or 13:00 in Berlin: inside business hours. Not impersonated: no match.
    await postEvents([impersonation(`${family}-day`, `${wednesday}T11:00:00.000Z`)]);
    await postEvents([impersonation(`${family}-self`, `${wednesday}T02:00:00.000Z`, false)]);
    await quiet.fire();
    expect(slack.requests).toHaveLength(0);

    // 02:00 UTC is 03:00 or 04:00 in Berlin: outside.
    await postEvents([impersonation(`${family}-night`, `${wednesday}T02:00:00.000Z`)]);
    const [message] = await within(slack.waitForRequests(1), 20_000, 'slack message');
    const raw = message?.body.toString('utf8') ?? '';
    const body = JSON.parse(raw) as { text: string; blocks: unknown[] };
    expect(body.text).toContain('Trailkeeper alert: Impersonation outside hours');
    expect(raw).toContain('&lt;!channel&gt; Customer');
    expect(raw).not.toContain('<!channel>');
    // The console link points at this deployment (TRAILKEEPER_PUBLIC_URL; the local gateway here).
    expect(raw).toContain(`${inject('baseUrl').replace(/\/+$/, '')}/console/t/${tenant.id}`);

    // A second one within the cooldown is held back.
    await postEvents([impersonation(`${family}-night2`, `${wednesday}T03:00:00.000Z`)]);
    await quiet.fire();
    expect(slack.requests).toHaveLength(1);
    const triggered = await triggeredFor(alert.id);
    expect(triggered.map((e) => e.metadata.event_ids)).toEqual([[`${family}-night`]]);
  });
});
