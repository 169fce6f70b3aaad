/**
 * The streams API through the local stack's HTTP API (SPEC, "Streams and alerts"): create, read,
 * list, pause and resume, change, test delivery (to the test receiver over loopback http, which
 * the test stack allows, verified with standardwebhooks), secret rotation with both signatures,
 * replay, delete; bad input naming the field, access by key and role, another tenant's stream as
 * 404, and every change in the tenant's trail. Deliveries of stored events are the pipeline's
 * (stream-deliveries tests): these streams filter on an action nobody sends, so the receiver
 * sees only the test deliveries.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type TestReceiver } from '../support/receiver.ts';
import { api, createKey, createTenant, listAll, operator, type TestTenant } from './client.ts';

let receiver: TestReceiver;
let tenant: TestTenant;

const NOTHING = { action: 'nobody.sends_this' };

const session = async (role: string): Promise<string> => {
  const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
    token: operator(),
    body: { user: { id: `user_${role}`, email: `${role}@example.com` }, role },
  });
  expect(minted.status).toBe(201);
  const exchanged = await api('POST', '/v1/sessions', { body: { code: minted.body.code } });
  expect(exchanged.status).toBe(201);
  return exchanged.body.token;
};

const createWebhook = async (name = 'SIEM') => {
  const created = await api('POST', '/v1/streams', {
    token: tenant.key,
    body: { name, type: 'webhook', url: `${receiver.url}/hook`, filter: NOTHING },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; secret: string };
};

/** The test deliveries the receiver got, from the `index`th request on. */
const testDeliveries = async (count: number) => {
  const requests = await receiver.waitForRequests(count);
  return requests.slice(count - 1);
};

beforeAll(async () => {
  receiver = await startReceiver();
  tenant = await createTenant({ plan: 'pro' });
});

afterAll(() => receiver.close());

describe('streams API', () => {
  it('creates a webhook stream, shows its secret once, and never again', async () => {
    const created = await createWebhook();
    expect(created).toMatchObject({
      id: expect.stringMatching(/^str_[0-9a-z]{26}$/),
      type: 'webhook',
      status: 'active',
      url: `${receiver.url}/hook`,
      filter: NOTHING,
      last_delivered_at: null,
      last_error: null,
      lag_seconds: null,
      secret: expect.stringMatching(/^whsec_/),
    });
    const shown = await api('GET', `/v1/streams/${created.id}`, { token: tenant.key });
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('secret');
    expect(JSON.stringify(shown.body)).not.toContain(created.secret.slice('whsec_'.length));
    const listed = await api('GET', '/v1/streams', { token: tenant.key });
    expect(listed.body.data.map((s: { id: string }) => s.id)).toContain(created.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.secret.slice('whsec_'.length));
  });

  it('sends a signed test event that standardwebhooks verifies; after a rotation, with both secrets', async () => {
    const stream = await createWebhook('rotating');
    const before = receiver.requests.length;
    const tested = await api('POST', `/v1/streams/${stream.id}/test`, { token: tenant.key });
    expect(tested.status).toBe(200);
    expect(tested.body).toEqual({ receiver_status: 200, error: null });
    const [first] = await testDeliveries(before + 1);
    const headers = first?.headers as Record<string, string>;
    const payload = new Webhook(stream.secret).verify(first?.body.toString('utf8') ?? '', headers) as {
      type: string;
      data: { action: string; tenant_id: string; target: { id: string } }[];
    };
    expect(payload.type).toBe('audit_events');
    expect(payload.data).toMatchObject([
      { action: 'trailkeeper.stream.test', tenant_id: tenant.id, target: { id: stream.id } },
    ]);

    const rotated = await api('POST', `/v1/streams/${stream.id}/rotate-secret`, { token: tenant.key });
    expect(rotated.status).toBe(201);
    expect(rotated.body.secret).not.toBe(stream.secret);
    const overlap = await api('GET', `/v1/streams/${stream.id}`, { token: tenant.key });
    expect(overlap.body.previous_secret_valid_until).toBe(rotated.body.previous_secret_valid_until);

    await api('POST', `/v1/streams/${stream.id}/test`, { token: tenant.key });
    const [second] = await testDeliveries(before + 2);
    const body = second?.body.toString('utf8') ?? '';
    const signed = second?.headers as Record<string, string>;
    expect(signed['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.body.secret).verify(body, signed)).toMatchObject({ type: 'audit_events' });
    expect(new Webhook(stream.secret).verify(body, signed)).toMatchObject({ type: 'audit_events' });
  });

  it('reports a receiver error or an unresolvable host as the test result', async () => {
    const stream = await createWebhook('failing receiver');
    receiver.respond({ status: 500, body: 'boom' });
    const failed = await api('POST', `/v1/streams/${stream.id}/test`, { token: tenant.key });
    expect(failed.body).toEqual({ receiver_status: 500, error: 'the receiver answered 500: boom' });

    const nowhere = await api('POST', '/v1/streams', {
      token: tenant.key,
      body: { name: 'nowhere', type: 'webhook', url: 'https://siem.invalid/hook', filter: NOTHING },
    });
    expect(nowhere.status).toBe(201);
    const unresolved = await api('POST', `/v1/streams/${nowhere.body.id}/test`, { token: tenant.key });
    expect(unresolved.status).toBe(200);
    expect(unresolved.body).toEqual({ receiver_status: null, error: expect.stringMatching(/^dns: /) });
  });

  it('pauses, resumes and changes a stream', async () => {
    const stream = await createWebhook('pausable');
    const paused = await api('PATCH', `/v1/streams/${stream.id}`, {
      token: tenant.key,
      body: { status: 'paused' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    const resumed = await api('PATCH', `/v1/streams/${stream.id}`, {
      token: tenant.key,
      body: { status: 'active', name: 'renamed', filter: { action: 'nobody.*', actor_type: 'user' } },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({
      status: 'active',
      name: 'renamed',
      filter: { action: 'nobody.*', actor_type: 'user' },
    });
    const failed = await api('PATCH', `/v1/streams/${stream.id}`, {
      token: tenant.key,
      body: { status: 'disabled' },
    });
    expect(failed.status).toBe(400);
    expect(failed.body.errors.map((e: { field: string }) => e.field)).toEqual(['status']);
  });

  it.each([
    ['an unknown type', { name: 'x', type: 'syslog', url: 'https://siem.example.com/' }, 'type'],
    ['plain http to a public host', { name: 'x', type: 'webhook', url: 'http://siem.example.com/' }, 'url'],
    ['a private address', { name: 'x', type: 'webhook', url: 'https://10.1.2.3/hook' }, 'url'],
    ['the metadata address', { name: 'x', type: 'webhook', url: 'https://169.254.169.254/latest/' }, 'url'],
    ['a unique-local IPv6 address', { name: 'x', type: 'webhook', url: 'https://[fd00::1]/hook' }, 'url'],
    [
      'an oversized filter',
      {
        name: 'x',
        type: 'webhook',
        url: 'https://siem.example.com/',
        filter: { action: Array.from({ length: 30 }, (_, i) => `a.b${i}`).join(',') },
      },
      'filter.action',
    ],
    [
      'a Splunk stream without its token',
      { name: 'x', type: 'splunk_hec', url: 'https://s.example.com/' },
      'token',
    ],
  ])('refuses %s with a 400 naming the field', async (_, body, field) => {
    const refused = await api('POST', '/v1/streams', { token: tenant.key, body });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('replays a window within the hot retention; an older one is a 400 naming from', async () => {
    const stream = await createWebhook('replayed');
    const to = new Date().toISOString();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const accepted = await api('POST', `/v1/streams/${stream.id}/replay`, {
      token: tenant.key,
      body: { from, to },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ id: stream.id, replay: { from, to }, status: 'active' });
    // The tenant is on `pro`: 90 days of hot retention.
    const tooOld = await api('POST', `/v1/streams/${stream.id}/replay`, {
      token: tenant.key,
      body: { from: new Date(Date.now() - 120 * 86_400_000).toISOString(), to },
    });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.errors).toEqual([
      { field: 'from', message: expect.stringContaining('hot retention') },
    ]);
  });

  it('admits admin keys and owner/admin people; refuses other keys and roles; hides other tenants’ streams', async () => {
    const stream = await createWebhook('guarded');
    const reader = await createKey(tenant.id, ['events:read', 'exports:write']);
    expect((await api('GET', '/v1/streams', { token: reader.key })).status).toBe(403);
    expect((await api('GET', '/v1/streams', { token: operator() })).status).toBe(403);
    expect((await api('GET', '/v1/streams', {})).status).toBe(401);
    expect((await api('GET', `/v1/streams/${stream.id}`, { token: await session('owner') })).status).toBe(
      200,
    );
    expect((await api('GET', `/v1/streams/${stream.id}`, { token: await session('admin') })).status).toBe(
      200,
    );
    const auditor = await api('GET', '/v1/streams', { token: await session('auditor') });
    expect(auditor.status).toBe(403);

    const other = await createTenant();
    for (const [method, path] of [
      ['GET', `/v1/streams/${stream.id}`],
      ['DELETE', `/v1/streams/${stream.id}`],
      ['POST', `/v1/streams/${stream.id}/test`],
      ['POST', `/v1/streams/${stream.id}/rotate-secret`],
    ] as const)
      expect((await api(method, path, { token: other.key })).status, `${method} ${path}`).toBe(404);
  });

  it('a person whose role the policy does not let export gets role-not-permitted', async () => {
    const own = await createTenant();
    const patched = await api('PATCH', `/v1/tenants/${own.id}`, {
      token: operator(),
      body: { access: { view: ['owner', 'admin', 'auditor'], export: ['owner'] } },
    });
    expect(patched.status).toBe(200);
    const minted = await api('POST', `/v1/tenants/${own.id}/viewer-sessions`, {
      token: own.key,
      body: { user: { id: 'user_admin' }, role: 'admin' },
    });
    const token = (await api('POST', '/v1/sessions', { body: { code: minted.body.code } })).body.token;
    const refused = await api('GET', '/v1/streams', { token });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('/problems/role-not-permitted');
  });

  it('deletes a stream, and every change is in the tenant’s trail', async () => {
    const stream = await createWebhook('short-lived');
    await api('PATCH', `/v1/streams/${stream.id}`, { token: tenant.key, body: { status: 'paused' } });
    await api('POST', `/v1/streams/${stream.id}/rotate-secret`, { token: tenant.key });
    const deleted = await api('DELETE', `/v1/streams/${stream.id}`, { token: tenant.key });
    expect(deleted.status).toBe(204);
    expect((await api('GET', `/v1/streams/${stream.id}`, { token: tenant.key })).status).toBe(404);
    expect((await api('DELETE', `/v1/streams/${stream.id}`, { token: tenant.key })).status).toBe(404);

    const { events } = await listAll(tenant.key, { action: 'trailkeeper.stream.*' });
    const mine = events.filter((e) => e.target?.id === stream.id);
    expect(mine.map((e) => e.action).sort()).toEqual([
      'trailkeeper.stream.created',
      'trailkeeper.stream.deleted',
      'trailkeeper.stream.updated',
      'trailkeeper.stream.updated',
    ]);
    expect(mine.find((e) => e.metadata?.rotated)?.metadata.rotated.previous_valid_until).toEqual(
      expect.any(String),
    );
    expect(JSON.stringify(mine)).not.toContain(stream.secret.slice('whsec_'.length));
  });

  it("runs the README's receiver verification snippet as printed: it accepts a test delivery and refuses a forgery", async () => {
    const markdown = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = markdown.slice(markdown.indexOf('#### Verifying a webhook delivery'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    expect(snippet).toContain("from 'standardwebhooks'");
    const port = await freePort();
    const stream = await api('POST', '/v1/streams', {
      token: tenant.key,
      body: { name: 'README receiver', type: 'webhook', url: `http://127.0.0.1:${port}/`, filter: NOTHING },
    });
    expect(stream.status).toBe(201);

    const dir = await mkdtemp(join(tmpdir(), 'tk-receiver-'));
    let child: ChildProcess | undefined;
    try {
      const file = join(dir, 'receiver.mts');
      await writeFile(
        file,
        snippet.replace("'standardwebhooks'", JSON.stringify(import.meta.resolve('standardwebhooks'))),
      );
      const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
      child = spawn(tsx, [file], {
        env: { ...process.env, PORT: String(port), TRAILKEEPER_WEBHOOK_SECRET: stream.body.secret },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      while (!output.includes('listening')) await once(child.stdout as NodeJS.ReadableStream, 'data');

      const tested = await api('POST', `/v1/streams/${stream.body.id}/test`, { token: tenant.key });
      expect(tested.body).toEqual({ receiver_status: 204, error: null });
      while (!output.includes('trailkeeper.stream.test'))
        await once(child.stdout as NodeJS.ReadableStream, 'data');

      const forged = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_forged',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
        },
        body: JSON.stringify({
          type: 'audit_events',
          data: [{ id: 'evt_forged', action: 'member.removed' }],
        }),
      });
      expect(forged.status).toBe(401);
      expect(output).not.toContain('evt_forged');
    } finally {
      child?.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A port nothing listens on right now. */
const freePort = async (): Promise<number> => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
};
