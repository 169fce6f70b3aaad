/**
 * Per-tenant request limits through the HTTP API of the local stack: a tenant over its rate gets
 * 429 problem+json with Retry-After, nothing of a refused request is stored, other tenants are
 * untouched, and the operator's override and the plan defaults show on the tenant.
 */
import { describe, expect, it } from 'vitest';
import { api, createTenant, listAll, operator } from './client.ts';

describe('per-tenant request limits', () => {
  it('shows the plan default and lets only the operator override it', async () => {
    const tenant = await createTenant({ plan: 'free' });
    const shown = await api('GET', `/v1/tenants/${tenant.id}`, { token: operator() });
    expect(shown.body).toMatchObject({ plan: 'free', rate_limit_rps: 25 });
    const byTenant = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: tenant.key,
      body: { rate_limit_rps: 5000 },
    });
    expect(byTenant.status).toBe(403);
    const byOperator = await api('PATCH', `/v1/tenants/${tenant.id}`, {
      token: operator(),
      body: { rate_limit_rps: 3 },
    });
    expect(byOperator.status).toBe(200);
    expect(byOperator.body.rate_limit_rps).toBe(3);
  });

  it('takes the operator override at creation, bounded', async () => {
    const created = await api('POST', '/v1/tenants', {
      token: operator(),
      body: { name: 'Bursty', plan: 'pro', rate_limit_rps: 2000 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ plan: 'pro', rate_limit_rps: 2000 });
    const tooHigh = await api('POST', '/v1/tenants', {
      token: operator(),
      body: { name: 'Greedy', rate_limit_rps: 10_001 },
    });
    expect(tooHigh.status).toBe(400);
    expect(JSON.stringify(tooHigh.body)).toContain('rate_limit_rps');
  });

  it('answers 429 with Retry-After over the limit, stores nothing refused, and spares other tenants', async () => {
    const limited = await createTenant();
    const other = await createTenant();
    await api('PATCH', `/v1/tenants/${limited.id}`, { token: operator(), body: { rate_limit_rps: 2 } });
    const send = (token: string, i: number) =>
      api('POST', '/v1/events', {
        token,
        body: { id: `rl-${i}`, action: 'member.invited', actor: { id: 'u1' } },
      });
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => send(limited.key, i)));
    const refused = replies.filter((r) => r.status === 429);
    const created = replies.filter((r) => r.status === 201);
    expect(refused.length).toBeGreaterThan(0);
    expect(created.length + refused.length).toBe(12);
    for (const reply of refused) {
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(reply.body.type).toBe('/problems/too-many-requests');
    }
    expect((await send(other.key, 0)).status).toBe(201);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    await api('PATCH', `/v1/tenants/${limited.id}`, { token: operator(), body: { rate_limit_rps: null } });
    const stored = await listAll(limited.key, { action: 'member.invited' });
    expect(stored.events.map((e) => e.id).sort()).toEqual(created.map((r) => r.body.id).sort());
  });
});
