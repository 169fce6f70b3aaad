/**
 * The API client (client/) against the real local stack: a batch whose answer is lost is sent
 * again and recognised as a replay (each event stored once); reused ids surface as
 * IdConflictError; the iterator follows cursors across small pages; an export is waited for and
 * downloaded; a tenant throttled to 2 requests/s gets every send through by honouring
 * Retry-After; tenants and keys round-trip; a person's viewer session is minted, exchanged,
 * used and revoked; and, on a stack of its own with a short sealing
 * watermark, an event's proof verifies against its signed digest.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '#infra/local/stack.ts';
import { eventLeaf, publicKeyFromPem, verifyDigestSignature } from '#shared/domain/digest.ts';
import { verifyInclusion } from '#shared/domain/merkle.ts';
import {
  type EventInput,
  type FetchLike,
  IdConflictError,
  type SendResult,
  TrailkeeperClient,
  TrailkeeperError,
} from '../../client/index.ts';
import { baseUrl, createTenant, operator } from './client.ts';

const clientFor = (apiKey: string, fetch?: FetchLike) =>
  new TrailkeeperClient({ baseUrl: baseUrl(), apiKey, ...(fetch === undefined ? {} : { fetch }) });

const events = (action: string, n: number): EventInput[] =>
  Array.from({ length: n }, (_, i) => ({ action, actor: { id: `user_${i}` }, metadata: { n: i } }));

describe('API client: ingest', () => {
  it('sends a batch again after its answer was lost, and the service takes it as a replay', async () => {
    const tenant = await createTenant();
    let lost = 0;
    // The request reaches the service and is stored; its answer never reaches the caller, once.
    const losesFirstAnswer: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      if (lost++ === 0) {
        await response.arrayBuffer();
        throw new TypeError('socket hang up');
      }
      return response;
    };
    const client = clientFor(tenant.key, losesFirstAnswer);
    const batch = [
      ...events('client.retried', 3),
      { id: 'own-id-1', action: 'client.retried', actor: { id: 'u' } },
    ];

    const result = await client.events.sendBatch(batch);

    expect(lost).toBe(2);
    expect(result).toMatchObject({ status: 200, replayed: true });
    const ids = result.data.map((e) => e.id);
    expect(ids[3]).toBe('own-id-1');
    expect(new Set(ids).size).toBe(4);
    const stored = [];
    for await (const event of client.events.list({ action: 'client.retried' })) stored.push(event.id);
    expect(stored.sort()).toEqual([...ids].sort());
  });

  it('answers a prepared batch 201 once and 200 ever after', async () => {
    const tenant = await createTenant();
    const client = clientFor(tenant.key);
    const prepared = client.events.prepareBatch(events('client.prepared', 2));

    const first = await client.events.sendBatch(prepared);
    const again = await client.events.sendBatch(prepared);
    const one = { id: 'single-1', action: 'client.single', actor: { id: 'u' } };
    const single = await client.events.send(one);
    const singleAgain = await client.events.send(one);

    expect(first).toMatchObject({ status: 201, replayed: false });
    expect(first.data.map((e) => e.id)).toEqual(prepared.events.map((e) => e.id));
    expect(again).toMatchObject({ status: 200, replayed: true });
    expect(again.data.map((e) => e.id)).toEqual(prepared.events.map((e) => e.id));
    expect(single).toMatchObject({ status: 201, event: { id: 'single-1', tenant_id: tenant.id } });
    expect(singleAgain).toMatchObject({ status: 200, replayed: true, event: { id: 'single-1' } });
  });

  it('names every id reused with other content, and the problem of an invalid batch', async () => {
    const tenant = await createTenant();
    const client = clientFor(tenant.key);
    await client.events.sendBatch([
      { id: 'taken-a', action: 'client.conflict', actor: { id: 'u' } },
      { id: 'taken-b', action: 'client.conflict', actor: { id: 'u' } },
    ]);

    const conflict = await client.events
      .sendBatch([
        { id: 'taken-a', action: 'client.conflict', actor: { id: 'someone else' } },
        { id: 'fresh', action: 'client.conflict', actor: { id: 'u' } },
        { id: 'taken-b', action: 'client.conflict', actor: { id: 'u' }, metadata: { changed: true } },
      ])
      .then(
        () => null,
        (error: unknown) => error,
      );
    const invalid = await client.events
      .sendBatch([
        { action: 'client.ok', actor: { id: 'u' } },
        { action: 'Not An Action', actor: { id: 'u' } },
      ])
      .then(
        () => null,
        (error: unknown) => error,
      );

    expect(conflict).toBeInstanceOf(IdConflictError);
    expect((conflict as IdConflictError).ids).toEqual(['taken-a', 'taken-b']);
    expect((conflict as IdConflictError).conflicts.map((c) => c.index)).toEqual([0, 2]);
    expect(await client.events.get('fresh')).toMatchObject({ id: 'fresh' });
    expect(invalid).toBeInstanceOf(TrailkeeperError);
    expect(invalid).toMatchObject({
      status: 400,
      type: '/problems/validation-error',
      errors: [expect.objectContaining({ field: 'events[1].action', index: 1 })],
      requestId: expect.any(String),
    });
  });

  it('gets every send through a tenant throttled to 2 requests a second, by honouring Retry-After', async () => {
    const tenant = await createTenant();
    const admin = clientFor(operator());
    await admin.tenants.update(tenant.id, { rate_limit_rps: 2 });
    const statuses: number[] = [];
    const counting: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const waits: number[] = [];
    const client = new TrailkeeperClient({
      baseUrl: baseUrl(),
      apiKey: tenant.key,
      fetch: counting,
      retry: { maxAttempts: 20 },
      onRetry: (info) => waits.push(info.delayMs),
    });

    const sent: SendResult[] = await Promise.all(
      events('client.throttled', 10).map((event, i) =>
        client.events.send({ ...event, id: `throttled-${i}` }),
      ),
    );

    expect(sent.map((s) => s.status)).toEqual(Array(10).fill(201));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    // Retry-After is whole seconds (at least 1): no retry came back sooner.
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
    await admin.tenants.update(tenant.id, { rate_limit_rps: null });
    await sleep(1100);
    const stored: string[] = [];
    for await (const event of client.events.list({ action: 'client.throttled' })) stored.push(event.id);
    expect(stored.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `throttled-${i}`).sort());
  });
});

describe('API client: reads and exports', () => {
  it('iterates every event across small pages, newest first', async () => {
    const tenant = await createTenant();
    const client = clientFor(tenant.key);
    const sent = await client.events.sendBatch(
      Array.from({ length: 7 }, (_, i) => ({
        id: `paged-${i}`,
        action: 'client.paged',
        actor: { id: 'u' },
        occurred_at: new Date(Date.now() - (7 - i) * 1000).toISOString(),
      })),
    );
    expect(sent.status).toBe(201);

    const ids: string[] = [];
    for await (const event of client.events.list({ action: 'client.paged', limit: 2 })) ids.push(event.id);
    const pages = [];
    for await (const page of client.events.pages({ action: ['client.paged'], limit: 3 })) pages.push(page);

    expect(ids).toEqual(['paged-6', 'paged-5', 'paged-4', 'paged-3', 'paged-2', 'paged-1', 'paged-0']);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.at(-1)?.next_cursor).toBeNull();
    expect(pages.flatMap((p) => p.data.map((e) => e.id))).toEqual(ids);
  });

  it('exports, waits for the export and downloads its file', async () => {
    const tenant = await createTenant();
    const client = clientFor(tenant.key);
    await client.events.sendBatch(events('client.exported', 5));

    const created = await client.exports.create({ format: 'ndjson', action: ['client.exported'] });
    const done = await client.waitForExport(created.id, { intervalMs: 200, timeoutMs: 30_000 });
    const file = await (await client.exports.download(done.id)).text();
    const link = await client.exports.downloadUrl(done.id);

    expect(done).toMatchObject({ id: created.id, status: 'completed', rows: 5, format: 'ndjson' });
    expect(done.filters.action).toEqual(['client.exported']);
    expect(
      file
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).action),
    ).toEqual(Array(5).fill('client.exported'));
    expect(link.url).toMatch(/^https?:\/\//);
  });

  it('manages tenants and keys as the operator, and a revoked key is refused', async () => {
    const admin = clientFor(operator());

    const tenant = await admin.tenants.create({ name: 'Client Co', plan: 'business' });
    const key = await admin.keys.create(tenant.id, { name: 'reader', scopes: ['events:read'] });
    const updated = await admin.tenants.update(tenant.id, { email_domains: ['example.com'] });
    const listed = await admin.keys.list(tenant.id);
    const readable = await clientFor(key.key).events.page({ limit: 1 });
    await admin.keys.revoke(tenant.id, key.id);
    const refused = await clientFor(key.key)
      .events.page({ limit: 1 })
      .then(
        () => null,
        (error: unknown) => error,
      );

    expect(tenant).toMatchObject({ name: 'Client Co', plan: 'business', retention_days: 365 });
    expect(await admin.tenants.get(tenant.id)).toEqual(updated);
    expect(updated.email_domains).toEqual(['example.com']);
    expect(listed.map((k) => k.id)).toContain(key.id);
    expect(readable.data).toEqual(expect.any(Array));
    expect(refused).toMatchObject({ status: 401, type: '/problems/unauthorized' });
    expect(await admin.health()).toEqual({ status: 'ok' });
  });
});

describe('API client: people', () => {
  it('mints a viewer session, exchanges its code once, suggests actions, and signs the person out', async () => {
    const tenant = await createTenant();
    const admin = clientFor(tenant.key);
    await admin.events.sendBatch(events('member.invited', 2));
    const minted = await admin.viewerSessions.create(tenant.id, {
      user: { id: 'user_ada', email: 'ada@example.com' },
      role: 'auditor',
      ttl_seconds: 600,
    });
    expect(minted.url).toBe(`${baseUrl()}/console/t/${tenant.id}/#code=${minted.code}`);

    const anonymous = new TrailkeeperClient({ baseUrl: baseUrl() });
    const session = await anonymous.sessions.exchange(minted.code);
    expect(session).toMatchObject({
      role: 'auditor',
      permissions: ['view', 'export'],
      user: { id: 'user_ada' },
    });
    const spent = await anonymous.sessions.exchange(minted.code).catch((error: unknown) => error);
    expect(spent).toBeInstanceOf(TrailkeeperError);
    expect((spent as TrailkeeperError).status).toBe(401);

    const person = anonymous.withApiKey(session.token);
    const suggested = await person.actions.list({ prefix: 'member.' });
    expect(suggested).toEqual({ data: [{ action: 'member.invited' }], has_more: false });

    await admin.viewerSessions.revoke(tenant.id, { userId: 'user_ada' });
    const refused = await person.actions.list().catch((error: unknown) => error);
    expect((refused as TrailkeeperError).status).toBe(401);
  });
});

describe('API client: proofs, on a stack that seals within seconds', () => {
  const OPERATOR = 'tk_op_client-integration-test-operator-key-000000';
  const LAG_MS = 1500;
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      operatorKey: OPERATOR,
      logLevel: 'ERROR',
      sealWatermarkLagMs: LAG_MS,
      scheduleEveryMs: { 'retention-worker': 0 },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('proves a sealed event into its signed digest, and answers 404 before the seal', async () => {
    const admin = new TrailkeeperClient({ baseUrl: stack.url, apiKey: OPERATOR });
    const tenant = await admin.tenants.create({ name: 'Sealed' });
    const key = await admin.keys.create(tenant.id, { name: 'k', scopes: ['events:write', 'events:read'] });
    const client = admin.withApiKey(key.key);
    const { data } = await client.events.sendBatch(events('client.sealed', 3));
    const id = data[1]?.id ?? '';

    const early = await client.events.proof(id).then(
      () => null,
      (error: unknown) => error,
    );
    await sleep(LAG_MS + 50);
    await stack.runScheduled('sealer');
    const proof = await client.events.proof(id);
    const digests = [];
    for await (const digest of client.integrity.digests({ from: '2000-01-01T00:00:00Z' }))
      digests.push(digest);
    const publicKey = publicKeyFromPem((await client.integrity.publicKey()).public_key_pem);

    expect(early).toMatchObject({ status: 404, type: '/problems/not-found' });
    expect(proof.event_id).toBe(id);
    expect(
      verifyInclusion(
        eventLeaf(proof.event_hash),
        proof.leaf_index,
        proof.tree_size,
        proof.audit_path.map((h) => Buffer.from(h, 'hex')),
        Buffer.from(proof.digest.merkle_root, 'hex'),
      ),
    ).toBe(true);
    expect(verifyDigestSignature(proof.digest, publicKey)).toBe(true);
    expect(digests.find((d) => d.sequence === proof.digest.sequence)).toEqual(proof.digest);
  });
});
