/**
 * The kind registry against the real DynamoDB Local of the local stack: DynamoKindRegistry's
 * updates are idempotent where they must be (first seen kept, counts added, an email pair once),
 * its reads page through the partition and stop at an email's exact range; and an event sent
 * through the HTTP API has its kind and actor email registered (the local runtime's store goes
 * through the kind registry like Lambda's).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';
import { DynamoKindRegistry } from '#shared/adapters/kind-registry.ts';
import { CONTROL_TABLE } from '#shared/config/tables.ts';
import { kindRegistryKey } from '#shared/domain/control-keys.ts';
import { kindId } from '#shared/domain/kinds.ts';
import { api, createTenant } from './client.ts';

const dynamo = new DynamoDBClient(localDynamoDbClientConfig(inject('dynamoEndpoint')));
const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
const registry = new DynamoKindRegistry(documents, CONTROL_TABLE.localName);
afterAll(() => dynamo.destroy());

const uniqueTenant = (label: string) =>
  `tnt_kinds_${label}_${Date.now()}_${Math.random().toString(36).slice(2)}`;

describe('DynamoKindRegistry on DynamoDB Local', () => {
  it('keeps the first first-seen time, adds counts, and stores an email pair once', async () => {
    const tenant = uniqueTenant('idem');
    const kind = { action: 'member.invited', status: 'success', actor_type: 'user' };
    const id = kindId(kind);
    const email = { email: 'ada@example.com', actorId: 'user 1' };

    await registry.register(
      tenant,
      { kinds: [{ id, kind, count: 0 }], emails: [email] },
      '2026-12-01T00:00:00.000Z',
    );
    await registry.register(
      tenant,
      { kinds: [{ id, kind, count: 5 }], emails: [email] },
      '2026-12-02T00:00:00.000Z',
    );
    await registry.register(
      tenant,
      { kinds: [{ id, kind, count: 2 }], emails: [] },
      '2026-12-03T00:00:00.000Z',
    );

    expect((await registry.kinds(tenant)).kinds).toEqual([{ id, kind, count: 7 }]);
    const stored = await documents.send(
      new GetCommand({
        TableName: CONTROL_TABLE.localName,
        Key: kindRegistryKey(tenant, id),
        ConsistentRead: true,
      }),
    );
    expect(stored.Item?.first_seen_at).toBe('2026-12-01T00:00:00.000Z');
    expect(await registry.actorsWithEmail(tenant, 'ada@example.com', 10)).toMatchObject({
      ids: ['user 1'],
      more: false,
    });
  });

  it("reads every kind of a partition past a page, and only an email's own actor ids", async () => {
    const tenant = uniqueTenant('pages');
    // Long fields make each item large, so 1 MB pages end before the last kind.
    const kinds = Array.from({ length: 400 }, (_, i) => {
      const kind = { action: `area.action_${i}`, area: `a${'x'.repeat(3000)}${i}` };
      return { id: kindId(kind), kind, count: 1 };
    });
    for (let i = 0; i < kinds.length; i += 50) {
      await registry.register(
        tenant,
        { kinds: kinds.slice(i, i + 50), emails: [] },
        '2026-12-01T00:00:00.000Z',
      );
    }
    await registry.register(
      tenant,
      {
        kinds: [],
        emails: [
          { email: 'ada@x.io', actorId: 'u1' },
          { email: 'ada@x.io', actorId: 'u2' },
          { email: 'ada@x.io', actorId: 'u3' },
          { email: 'ada@x.io.uk', actorId: 'u9' },
        ],
      },
      '2026-12-01T00:00:00.000Z',
    );

    const read = (await registry.kinds(tenant)).kinds;

    expect(read.map((k) => k.id).sort()).toEqual(kinds.map((k) => k.id).sort());
    expect(await registry.actorsWithEmail(tenant, 'ada@x.io', 2)).toMatchObject({
      ids: ['u1', 'u2'],
      more: true,
    });
    expect(await registry.actorsWithEmail(tenant, 'ada@x.io', 3)).toMatchObject({
      ids: ['u1', 'u2', 'u3'],
      more: false,
    });
    expect(await registry.actorsWithEmail(tenant, 'ada@x.io.uk', 3)).toMatchObject({
      ids: ['u9'],
      more: false,
    });
  });
});

describe('ingest through the local runtime', () => {
  it("registers the event's kind and its actor's lower-cased email before storing it", async () => {
    const tenant = await createTenant({ name: 'Kinds' });
    const body = {
      id: 'kinds-1',
      action: 'member.role_changed',
      actor: { id: 'user_42', type: 'user', email: 'Ada@Example.com' },
      target: { type: 'member', id: 'user_7' },
      area: 'members',
      method: 'update',
      status: 'success',
    };

    const sent = await api('POST', '/v1/events', { token: tenant.key, body });

    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const kind = {
      action: 'member.role_changed',
      area: 'members',
      method: 'update',
      target_type: 'member',
      status: 'success',
      actor_type: 'user',
    };
    expect((await registry.kinds(tenant.id)).kinds).toContainEqual({ id: kindId(kind), kind, count: 0 });
    expect(await registry.actorsWithEmail(tenant.id, 'ada@example.com', 10)).toMatchObject({
      ids: ['user_42'],
      more: false,
    });
  });
});
