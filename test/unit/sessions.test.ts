/**
 * Viewer-session use cases (shared/usecases/sessions.ts) and the authorizer's session path
 * (authenticate.ts) against in-memory stores: who may mint, the access policy refusing a role,
 * codes that work once and expire, revocations (tenant-wide, per person, and never across
 * tenants), and the tenant's current policy applied to every request. The DynamoDB and KMS
 * commands are asserted in test/handlers/sessions.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JoseSessionVerifier, LocalSessionSigner } from '#shared/adapters/session-keys.ts';
import type { Principal } from '#shared/domain/principal.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { SessionGrant, SessionRevocations } from '#shared/domain/session-token.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '#shared/errors.ts';
import { createTenant } from '#shared/usecases/admin.ts';
import { authenticate } from '#shared/usecases/authenticate.ts';
import type { SessionStore } from '#shared/usecases/ports/sessions.ts';
import { exchangeCode, mintSession, revokeSessions } from '#shared/usecases/sessions.ts';
import { MemoryControlStore } from './fakes/control.ts';
import { MemoryEventStore } from './fakes/events.ts';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const operator: Principal = { kind: 'operator' };
const BASE = 'https://audit.example.com';

/** The session store's contract in memory: one consumption per code, expiry by the clock. */
class MemorySessionStore implements SessionStore {
  readonly codes = new Map<string, SessionGrant>();
  readonly revoked = new Map<string, number>();

  async saveCode(codeHash: string, grant: SessionGrant): Promise<void> {
    if (this.codes.has(codeHash)) throw new Error('exists');
    this.codes.set(codeHash, structuredClone(grant));
  }

  async consumeCode(codeHash: string, nowSeconds: number): Promise<SessionGrant | null> {
    const grant = this.codes.get(codeHash);
    if (grant === undefined || grant.code_expires_at <= nowSeconds) return null;
    this.codes.delete(codeHash);
    return grant;
  }

  async revoke(tenantId: string, userId: string | null, atSeconds: number): Promise<void> {
    const key = `${tenantId}/${userId ?? '*'}`;
    this.revoked.set(key, Math.max(atSeconds, this.revoked.get(key) ?? 0));
  }

  async revocations(tenantId: string, userId: string): Promise<SessionRevocations> {
    return {
      tenant: this.revoked.get(`${tenantId}/*`) ?? null,
      user: this.revoked.get(`${tenantId}/${userId}`) ?? null,
    };
  }
}

const setup = async () => {
  let now = T0;
  const control = new MemoryControlStore();
  const sessions = new MemorySessionStore();
  const store = new MemoryEventStore();
  const signer = new LocalSessionSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const clock = () => now;
  const deps = { control, sessions, store, redact: createRedactor(), now: clock };
  const exchangeDeps = { control, sessions, signer: async () => signer, now: clock };
  const auth = {
    control,
    operatorKey: async () => 'operator-key',
    sessions: { verifier: new JoseSessionVerifier(async () => [signer.publicKey], clock), store: sessions },
  };
  const a = await createTenant(deps, operator, { name: 'A' });
  const b = await createTenant(deps, operator, { name: 'B' });
  const adminKeyOf = (tenantId: string): Principal => ({
    kind: 'key',
    tenantId,
    keyId: 'key_01jd0000000000000000000000',
    keyName: 'backend',
    scopes: ['admin'],
    retentionDays: 90,
    shards: 1,
  });
  const tick = (ms: number) => {
    now += ms;
  };
  /** Mint with A's admin key and exchange at once. */
  const signIn = async (body: Record<string, unknown>, tenantId = a.id) => {
    const minted = await mintSession(deps, adminKeyOf(tenantId), tenantId, body, BASE, 'req-1');
    return exchangeCode(exchangeDeps, { code: minted.code });
  };
  return { control, sessions, store, deps, exchangeDeps, auth, a, b, adminKeyOf, tick, signIn };
};

const ada = { user: { id: 'user_ada', email: 'ada@example.com' }, role: 'admin' };

describe('minting a viewer session', () => {
  it('answers a code, the console link carrying it in the fragment, and both expiries; stores only the hash', async () => {
    const { deps, sessions, store, a, adminKeyOf } = await setup();
    const minted = await mintSession(
      deps,
      adminKeyOf(a.id),
      a.id,
      { ...ada, ttl_seconds: 600 },
      BASE,
      'req-1',
    );
    expect(minted).toEqual({
      code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      url: `${BASE}/console/t/${a.id}/#code=${minted.code}`,
      code_expires_at: new Date(T0 + 300_000).toISOString(),
      expires_at: new Date(T0 + 600_000).toISOString(),
    });
    expect(JSON.stringify([...sessions.codes])).not.toContain(minted.code);
    const [event] = store.eventsOf(a.id);
    expect(event).toMatchObject({
      action: 'trailkeeper.viewer_session.created',
      actor: { id: 'key_01jd0000000000000000000000', type: 'api_key' },
      metadata: { user_id: 'user_ada', role: 'admin', expires_at: minted.expires_at },
    });
    expect(JSON.stringify(event)).not.toContain(minted.code);
  });

  it("is the operator's or the tenant's admin key's: another tenant's key gets 404, a person or a read key 403", async () => {
    const { deps, a, b, adminKeyOf } = await setup();
    await expect(mintSession(deps, operator, a.id, ada, BASE, 'r')).resolves.toHaveProperty('code');
    await expect(mintSession(deps, adminKeyOf(b.id), a.id, ada, BASE, 'r')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(mintSession(deps, null, a.id, ada, BASE, 'r')).rejects.toBeInstanceOf(UnauthorizedError);
    const reader: Principal = {
      ...(adminKeyOf(a.id) as Extract<Principal, { kind: 'key' }>),
      scopes: ['events:read'],
    };
    await expect(mintSession(deps, reader, a.id, ada, BASE, 'r')).rejects.toBeInstanceOf(ForbiddenError);
    const person: Principal = {
      kind: 'person',
      tenantId: a.id,
      person: { id: 'u' },
      role: 'owner',
      teamIds: [],
      sessionId: 'ses_x',
      permissions: ['view', 'export'],
      via: 'session',
      retentionDays: 90,
      shards: 1,
    };
    await expect(mintSession(deps, person, a.id, ada, BASE, 'r')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      mintSession(deps, operator, 'tnt_01jd9999999999999999999999', ada, BASE, 'r'),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses, minting nothing, a role the access policy does not let view', async () => {
    const { deps, sessions, store, a, control } = await setup();
    for (const role of ['member', 'guest']) {
      const refused = mintSession(deps, operator, a.id, { ...ada, role }, BASE, 'r');
      await expect(refused).rejects.toThrow(`does not let the ${role} role view`);
    }
    await control.updateTenant(a.id, { access: { view: ['owner'], export: ['owner'] } });
    await expect(mintSession(deps, operator, a.id, ada, BASE, 'r')).rejects.toBeInstanceOf(ForbiddenError);
    expect(sessions.codes.size).toBe(0);
    expect(store.eventsOf(a.id)).toEqual([]);
  });

  it('names each bad field', async () => {
    const { deps, a } = await setup();
    const fieldsOf = async (body: unknown) => {
      const error = await mintSession(deps, operator, a.id, body, BASE, 'r').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).errors.map((e) => e.field);
    };
    expect(await fieldsOf({ ...ada, role: 'root' })).toEqual(['role']);
    expect(await fieldsOf({ ...ada, role: 'team_admin' })).toEqual(['team_ids']);
    expect(
      await fieldsOf({ ...ada, role: 'team_admin', team_ids: Array.from({ length: 51 }, (_, i) => `t${i}`) }),
    ).toEqual(['team_ids']);
    expect(await fieldsOf({ ...ada, ttl_seconds: 59 })).toEqual(['ttl_seconds']);
    expect(await fieldsOf({ ...ada, ttl_seconds: 43_201 })).toEqual(['ttl_seconds']);
  });
});

describe('exchanging a code', () => {
  it('answers the token once; a replay, an expired or an unknown code is a 401', async () => {
    const { deps, exchangeDeps, a, tick } = await setup();
    const minted = await mintSession(
      deps,
      operator,
      a.id,
      { ...ada, role: 'team_admin', team_ids: ['t1'] },
      BASE,
      'r',
    );
    const session = await exchangeCode(exchangeDeps, { code: minted.code });
    expect(session).toEqual({
      token: expect.stringMatching(/^eyJ/),
      expires_at: minted.expires_at,
      user: ada.user,
      role: 'team_admin',
      team_ids: ['t1'],
      permissions: ['view', 'export'],
    });
    await expect(exchangeCode(exchangeDeps, { code: minted.code })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(exchangeCode(exchangeDeps, { code: 'not-a-code' })).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    const late = await mintSession(deps, operator, a.id, ada, BASE, 'r');
    tick(300_000);
    await expect(exchangeCode(exchangeDeps, { code: late.code })).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(exchangeCode(exchangeDeps, {})).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses a code minted before its sessions were revoked', async () => {
    const { deps, exchangeDeps, a, tick } = await setup();
    const minted = await mintSession(deps, operator, a.id, ada, BASE, 'r');
    tick(1000);
    await revokeSessions(deps, operator, a.id, { user_id: 'user_ada' }, 'r');
    await expect(exchangeCode(exchangeDeps, { code: minted.code })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('a session token at the authorizer', () => {
  it('becomes a person with the permissions of the current policy, until its tenant revokes it', async () => {
    const { auth, control, deps, a, signIn, tick } = await setup();
    const { token } = await signIn({ ...ada, user: { ...ada.user, name: 'Ada' } });
    expect(await authenticate(auth, token)).toMatchObject({
      kind: 'person',
      tenantId: a.id,
      person: { id: 'user_ada', email: 'ada@example.com', name: 'Ada' },
      role: 'admin',
      teamIds: [],
      permissions: ['view', 'export'],
      via: 'session',
      sessionId: expect.stringMatching(/^ses_/),
    });
    await control.updateTenant(a.id, { access: { view: ['owner', 'admin'], export: ['owner'] } });
    expect(await authenticate(auth, token)).toMatchObject({ permissions: ['view'] });
    await control.updateTenant(a.id, { access: { view: ['owner'], export: ['owner'] } });
    expect(await authenticate(auth, token)).toMatchObject({ kind: 'person', permissions: [] });

    tick(1000);
    await revokeSessions(deps, operator, a.id, {}, 'r');
    expect(await authenticate(auth, token)).toBeNull();
  });

  it("is revoked per person, and never by another tenant's revocation", async () => {
    const { auth, deps, a, b, signIn, tick } = await setup();
    const ada1 = await signIn(ada);
    const grace = await signIn({ user: { id: 'user_grace' }, role: 'owner' });
    const adaOfB = await signIn(ada, b.id);
    tick(1000);
    await revokeSessions(deps, operator, b.id, {}, 'r');
    expect(await authenticate(auth, ada1.token)).toMatchObject({ tenantId: a.id });
    expect(await authenticate(auth, adaOfB.token)).toBeNull();

    await revokeSessions(deps, operator, a.id, { user_id: 'user_ada' }, 'r');
    expect(await authenticate(auth, ada1.token)).toBeNull();
    expect(await authenticate(auth, grace.token)).toMatchObject({ person: { id: 'user_grace' } });
    tick(1000);
    const again = await signIn(ada);
    expect(await authenticate(auth, again.token)).toMatchObject({ person: { id: 'user_ada' } });
  });

  it('is refused once expired, and when no session key is configured', async () => {
    const { auth, signIn, tick } = await setup();
    const { token } = await signIn({ ...ada, ttl_seconds: 60 });
    expect(await authenticate({ ...auth, sessions: { ...auth.sessions, verifier: null } }, token)).toBeNull();
    tick(120_000);
    expect(await authenticate(auth, token)).toBeNull();
  });

  it('writes the revocation into the trail: one person, or all', async () => {
    const { deps, store, a } = await setup();
    await revokeSessions(deps, operator, a.id, { user_id: 'user_ada' }, 'r');
    await revokeSessions(deps, operator, a.id, {}, 'r');
    expect(store.eventsOf(a.id).map((e) => [e.action, e.metadata])).toEqual(
      expect.arrayContaining([
        ['trailkeeper.viewer_sessions.revoked', { user_id: 'user_ada' }],
        ['trailkeeper.viewer_sessions.revoked', { user_id: 'all' }],
      ]),
    );
    await expect(revokeSessions(deps, operator, a.id, { user_id: '' }, 'r')).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
