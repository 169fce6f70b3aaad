import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import { apiEvent, keyContext, lambdaContext, parse, TENANT } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/actions.ts').handler;

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/actions.ts'));
});

afterEach(() => ddb.reset());

const person = (role: string, teams = ''): AuthorizerContext => ({
  kind: 'person',
  tenantId: TENANT,
  userId: 'user_ada',
  role,
  teams,
  permissions: 'view',
  sessionId: 'ses_1',
  via: 'session',
  retentionDays: 90,
  shards: 1,
});

/** The Query of one registry partition, as the adapter sends it. */
const registryQuery = (pk: string, prefix: string) => ({
  TableName: 'control-test',
  KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
  ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#action': 'action' },
  ExpressionAttributeValues: { ':pk': pk, ':prefix': `ACTION#${prefix}` },
  ProjectionExpression: '#action',
  Limit: 201,
});

const items = (...actions: string[]) => ({ Items: actions.map((action) => ({ action })) });

describe('GET /v1/actions handler', () => {
  it("reads a key's actions with one Query of the tenant's registry partition, by prefix", async () => {
    ddb.on(QueryCommand).resolves(items('member.invited', 'member.role_changed'));
    const result = await handler(
      apiEvent('GET /v1/actions', { query: { prefix: 'member.*' }, auth: keyContext('events:read') }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toEqual({
      data: [{ action: 'member.invited' }, { action: 'member.role_changed' }],
      has_more: false,
    });
    expect(ddb.calls().map((call) => call.args[0].input)).toEqual([
      registryQuery(`ACTIONS#${TENANT}`, 'member.'),
    ]);
  });

  it("reads a team admin's actions with one Query per team, merged and deduplicated, never the tenant's", async () => {
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `ACTIONS#${TENANT}#TEAM#team_a` } })
      .resolves(items('doc.shared', 'member.invited'))
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `ACTIONS#${TENANT}#TEAM#team_b` } })
      .resolves(items('billing.paid', 'doc.shared'));
    const result = await handler(
      apiEvent('GET /v1/actions', { auth: person('team_admin', 'team_a,team_b') }),
      lambdaContext,
    );
    expect(parse(result).data).toEqual([
      { action: 'billing.paid' },
      { action: 'doc.shared' },
      { action: 'member.invited' },
    ]);
    expect(ddb.calls().map((call) => call.args[0].input)).toEqual([
      registryQuery(`ACTIONS#${TENANT}#TEAM#team_a`, ''),
      registryQuery(`ACTIONS#${TENANT}#TEAM#team_b`, ''),
    ]);
  });

  it('says has_more when a partition holds more than 200 matches', async () => {
    const many = Array.from({ length: 201 }, (_, i) => `a.n${String(i).padStart(3, '0')}`);
    ddb.on(QueryCommand).resolves(items(...many));
    const result = await handler(
      apiEvent('GET /v1/actions', { query: { prefix: 'a' }, auth: person('owner') }),
      lambdaContext,
    );
    const body = parse(result);
    expect(body.data).toHaveLength(200);
    expect(body.has_more).toBe(true);
  });

  it('answers 400 naming `prefix` for a bad prefix, reading nothing', async () => {
    const result = await handler(
      apiEvent('GET /v1/actions', { query: { prefix: 'Member#' }, auth: keyContext('events:read') }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(400);
    expect(parse(result).errors.map((e: { field: string }) => e.field)).toEqual(['prefix']);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 403 to a key without events:read and to a role that may not view, reading nothing', async () => {
    const writer = await handler(
      apiEvent('GET /v1/actions', { auth: keyContext('events:write') }),
      lambdaContext,
    );
    const member = await handler(
      apiEvent('GET /v1/actions', { auth: { ...person('member'), permissions: '' } }),
      lambdaContext,
    );
    expect([writer.statusCode, member.statusCode]).toEqual([403, 403]);
    expect(ddb.calls()).toHaveLength(0);
  });
});
