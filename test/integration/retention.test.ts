/**
 * Retention through the HTTP API against the local stack: a plan or retention change re-times
 * the events a tenant already has (the retention worker runs every 2 s locally), unlimited
 * retention removes the expiry, a cut hides older events at once, and an event past its
 * expiry is never returned even while it is still stored (TTL lags in AWS and DynamoDB Local).
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { toItem } from '#shared/adapters/event-store.ts';
import { EVENTS_TABLE } from '#shared/config/tables.ts';
import { buildStoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { api, createTenant, listAll, operator } from './client.ts';

const DAY = 86_400_000;
const dynamo = new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint')));
afterAll(() => dynamo.destroy());

const storedExpiry = async (tenantId: string, eventId: string): Promise<number | undefined> => {
  const out = await dynamo.send(
    new GetItemCommand({
      TableName: EVENTS_TABLE.localName,
      Key: { pk: { S: `${tenantId}#${eventId}` } },
      ConsistentRead: true,
    }),
  );
  const value = out.Item?.expires_at?.N;
  return value === undefined ? undefined : Number(value);
};

/** PATCHes the tenant and waits for the retention job it starts to complete. */
const changeRetention = async (tenantId: string, body: Record<string, unknown>) => {
  const patched = await api('PATCH', `/v1/tenants/${tenantId}`, { token: operator(), body });
  expect(patched.status).toBe(200);
  expect(patched.body.retention_job).toMatchObject({ status: 'pending', events_done: 0 });
  const jobId = patched.body.retention_job.id;
  for (let i = 0; i < 150; i++) {
    const tenant = await api('GET', `/v1/tenants/${tenantId}`, { token: operator() });
    if (tenant.body.retention_job?.id === jobId && tenant.body.retention_job.status === 'completed') {
      return { patched: patched.body, job: tenant.body.retention_job };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the retention job did not complete in 30 s');
};

describe('retention', () => {
  it('re-times existing events on a plan change, both ways, and supports unlimited', async () => {
    const tenant = await createTenant({ plan: 'free', shards: 2 });
    const now = Date.now();
    const occurred = [20, 5, 1].map((days) => new Date(now - days * DAY).toISOString());
    const ingested = await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        events: occurred.map((at, i) => ({
          id: `r${i}`,
          occurred_at: at,
          action: 'auth.login',
          actor: { id: 'u1' },
        })),
      },
    });
    expect(ingested.status).toBe(201);
    const ttl = (i: number, days: number) =>
      Math.floor((Date.parse(occurred[i] as string) + days * DAY) / 1000);
    expect(await storedExpiry(tenant.id, 'r0')).toBe(ttl(0, 30));

    const upgrade = await changeRetention(tenant.id, { plan: 'business' });
    expect(upgrade.patched.retention_days).toBe(365);
    expect(upgrade.job).toMatchObject({ retention_days: 365, events_retimed: 4 });
    expect(upgrade.job.events_done).toBeGreaterThanOrEqual(3);
    for (const i of [0, 1, 2]) expect(await storedExpiry(tenant.id, `r${i}`)).toBe(ttl(i, 365));
    const shown = await api('GET', `/v1/events/r0`, { token: tenant.key });
    expect(shown.body.expires_at).toBe(new Date(ttl(0, 365) * 1000).toISOString());
    // Events written after the change carry the new retention from the start.
    await api('POST', '/v1/events', {
      token: tenant.key,
      body: { id: 'after', action: 'auth.login', actor: { id: 'u1' } },
    });
    const after = await api('GET', '/v1/events/after', { token: tenant.key });
    const lifetime = Date.parse(after.body.expires_at) - Date.parse(after.body.occurred_at);
    // The TTL is stored in whole seconds.
    expect(lifetime).toBeGreaterThan(365 * DAY - 1000);
    expect(lifetime).toBeLessThanOrEqual(365 * DAY);

    const unlimited = await changeRetention(tenant.id, { retention_days: 'unlimited' });
    expect(unlimited.patched.retention_days).toBe('unlimited');
    for (const i of [0, 1, 2]) expect(await storedExpiry(tenant.id, `r${i}`)).toBeUndefined();
    expect((await api('GET', '/v1/events/r0', { token: tenant.key })).body.expires_at).toBeNull();
    // Unlimited retention accepts any past occurred_at.
    const old = await api('POST', '/v1/events', {
      token: tenant.key,
      body: { id: 'ancient', occurred_at: '2001-01-01T00:00:00Z', action: 'auth.login', actor: { id: 'u1' } },
    });
    expect(old.status).toBe(201);
    expect(old.body.expires_at).toBeNull();
    await changeRetention(tenant.id, { retention_days: null }); // back to the plan (business)
    expect(await storedExpiry(tenant.id, 'r0')).toBe(ttl(0, 365));
  });

  it('hides events older than a shortened retention at once, and re-times them to expire', async () => {
    const tenant = await createTenant({ plan: 'pro' });
    const now = Date.now();
    const old = new Date(now - 20 * DAY).toISOString();
    await api('POST', '/v1/events', {
      token: tenant.key,
      body: {
        events: [
          { id: 'old', occurred_at: old, action: 'auth.login', actor: { id: 'u1' } },
          { id: 'new', action: 'auth.login', actor: { id: 'u1' } },
        ],
      },
    });
    const patched = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: operator(),
      body: { retention_days: 10 },
    });
    expect(patched.body.retention_days).toBe(10);
    // Before the job ran: the old event is already out of reach.
    expect((await api('GET', '/v1/events/old', { token: tenant.key })).status).toBe(404);
    const listed = await listAll(tenant.key, { from: new Date(now - 30 * DAY).toISOString() });
    expect(listed.events.map((e) => e.id)).not.toContain('old');
    expect(listed.events.map((e) => e.id)).toContain('new');

    for (let i = 0; i < 150; i++) {
      const current = await api('GET', `/v1/tenants/${tenant.id}`, { token: operator() });
      if (current.body.retention_job.status === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Shortened into the past: TTL deletes it (the archive keeps it).
    expect(await storedExpiry(tenant.id, 'old')).toBe(Math.floor((Date.parse(old) + 10 * DAY) / 1000));
  });

  it('never returns an event past its expires_at, even while the item is still stored', async () => {
    const tenant = await createTenant({ plan: 'pro' });
    const now = Date.now();
    const built = buildStoredEvent(
      {
        id: 'lapsed',
        action: 'auth.login',
        actor: { id: 'u1' },
        occurred_at: new Date(now - DAY).toISOString(),
      },
      // A retention of 0 days would not validate through the API: write the item directly.
      { tenantId: tenant.id, retentionDays: 1 },
      now - 60_000,
      createRedactor(),
    );
    if (!built.ok) throw new Error('fixture');
    const item = toItem({ ...built.event, expires_at: new Date(now - 1000).toISOString() }, 1);
    await dynamo.send(
      new PutItemCommand({
        TableName: EVENTS_TABLE.localName,
        Item: marshall(item, { removeUndefinedValues: true }),
      }),
    );
    expect(await storedExpiry(tenant.id, 'lapsed')).toBeDefined();

    expect((await api('GET', '/v1/events/lapsed', { token: tenant.key })).status).toBe(404);
    const listed = await listAll(tenant.key, { from: new Date(now - 2 * DAY).toISOString() });
    expect(listed.events.map((e) => e.id)).not.toContain('lapsed');
  });

  it('refuses bad retention values and leaves the tenant unchanged', async () => {
    const tenant = await createTenant({ plan: 'pro' });
    for (const bad of [0, 'forever', 1.5, 99_999]) {
      const res = await api('PATCH', `/v1/tenants/${tenant.id}`, {
        token: operator(),
        body: { retention_days: bad },
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors[0].field).toBe('retention_days');
    }
    const current = await api('GET', `/v1/tenants/${tenant.id}`, { token: operator() });
    expect(current.body.retention_days).toBe(90);
    expect(current.body.retention_job).toBeUndefined();
  });
});
