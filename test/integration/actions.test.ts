/**
 * GET /v1/actions through the HTTP API of the local stack: the actions a key, an owner and a team
 * admin see (their teams' only), by prefix, the trail's own actions among them, and a bad prefix.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, createKey, createTenant, operator, type TestTenant } from './client.ts';

let tenant: TestTenant;
let readerKey: string;

const session = async (role: string, teamIds?: string[]): Promise<string> => {
  const minted = await api('POST', `/v1/tenants/${tenant.id}/viewer-sessions`, {
    token: operator(),
    body: { user: { id: `user_${role}` }, role, ...(teamIds ? { team_ids: teamIds } : {}) },
  });
  if (minted.status !== 201) throw new Error(`mint: ${minted.status} ${JSON.stringify(minted.body)}`);
  const exchanged = await api('POST', '/v1/sessions', { body: { code: minted.body.code } });
  if (exchanged.status !== 201) throw new Error(`exchange: ${exchanged.status}`);
  return exchanged.body.token;
};

const actions = async (token: string, prefix?: string): Promise<string[]> => {
  const path = prefix === undefined ? '/v1/actions' : `/v1/actions?prefix=${encodeURIComponent(prefix)}`;
  const reply = await api('GET', path, { token });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  expect(reply.body.has_more).toBe(false);
  return reply.body.data.map((entry: { action: string }) => entry.action);
};

beforeAll(async () => {
  tenant = await createTenant({ name: 'Actions' });
  readerKey = (await createKey(tenant.id, ['events:read'])).key;
  const events = [
    { action: 'member.invited', team_id: 't1' },
    { action: 'member.removed', team_id: 't2' },
    { action: 'member.role_changed', team_id: 't3' },
    { action: 'billing.plan_changed' },
    { action: 'member.invited', team_id: 't2' },
  ].map((event, i) => ({ id: `act-${i}`, actor: { id: 'u1' }, ...event }));
  const sent = await api('POST', '/v1/events', { token: tenant.key, body: { events } });
  expect(sent.status).toBe(201);
  // A read of the trail, recorded in it as audit_log.viewed.
  expect((await api('GET', '/v1/events', { token: readerKey })).status).toBe(200);
});

describe('GET /v1/actions', () => {
  it("lists a key's tenant's actions, sorted, the trail's own included", async () => {
    expect(await actions(readerKey)).toEqual([
      'audit_log.viewed',
      'billing.plan_changed',
      'member.invited',
      'member.removed',
      'member.role_changed',
      'trailkeeper.api_key.created',
    ]);
  });

  it('narrows to a prefix, written plainly or as a filter prefix', async () => {
    const owner = await session('owner');
    const members = ['member.invited', 'member.removed', 'member.role_changed'];
    expect(await actions(owner, 'member.')).toEqual(members);
    expect(await actions(owner, 'member.*')).toEqual(members);
    expect(await actions(owner, 'member.r')).toEqual(['member.removed', 'member.role_changed']);
    expect(await actions(owner, 'nothing.')).toEqual([]);
  });

  it("shows a team admin only their teams' actions: no organization-level one, no other team's", async () => {
    const teamAdmin = await session('team_admin', ['t1', 't2']);
    expect(await actions(teamAdmin)).toEqual(['member.invited', 'member.removed']);
    expect(await actions(await session('team_admin', ['t3']), 'member.')).toEqual(['member.role_changed']);
  });

  it("never shows another tenant's actions", async () => {
    const other = await createTenant({ name: 'Other' });
    const list = await actions(other.key, 'member.');
    expect(list).toEqual([]);
  });

  it('answers 400 naming `prefix` for a bad one, 403 to a key that may not read, 401 without credentials', async () => {
    const bad = await api('GET', '/v1/actions?prefix=Member%23', { token: readerKey });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['prefix']);
    const writer = (await createKey(tenant.id, ['events:write'])).key;
    expect((await api('GET', '/v1/actions', { token: writer })).status).toBe(403);
    expect((await api('GET', '/v1/actions')).status).toBe(401);
  });
});
