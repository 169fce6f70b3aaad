/**
 * The console's page-shell handler: the one GetItem of the tenant it sends, the tenant's embed
 * origins in frame-ancestors, and the same page (frame-ancestors 'none') for a tenant that does
 * not exist, so the page tells no one which tenants exist.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, lambdaContext } from './api-event.ts';

const ddb = mockClient(DynamoDBDocumentClient);
let handler: typeof import('#functions/console.ts').handler;

const ASSETS = {
  script: { path: '/console/assets/console-ABC.js', integrity: 'sha384-aaa' },
  style: { path: '/console/assets/console-DEF.css', integrity: 'sha384-bbb' },
};

beforeAll(async () => {
  vi.stubEnv('CONTROL_TABLE', 'control-test');
  vi.stubEnv('TRAILKEEPER_PUBLIC_URL', 'https://audit.example.com');
  vi.stubEnv('TRAILKEEPER_CONSOLE_ASSETS', JSON.stringify(ASSETS));
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#functions/console.ts'));
});

beforeEach(() => ddb.reset());

type Reply = { statusCode: number; headers: Record<string, string>; body: string };

/** A public route: API Gateway runs no authorizer, so the event carries none. */
const open = (tenantId: string) => {
  const event = apiEvent('GET /console/t/{tenant_id}', { params: { tenant_id: tenantId } });
  delete (event.requestContext as { authorizer?: unknown }).authorizer;
  return handler(event, lambdaContext) as Promise<Reply>;
};

const frameAncestors = (headers: Record<string, string>) =>
  /frame-ancestors ([^;]+)/.exec(headers['content-security-policy'] ?? '')?.[1];

describe('GET /console/t/{tenant_id}', () => {
  it('reads the tenant once and frames only its embed origins, over https', async () => {
    ddb.on(GetCommand).resolves({
      Item: {
        pk: 'TENANT#tnt_1',
        sk: 'TENANT',
        id: 'tnt_1',
        name: 'Acme',
        plan: 'pro',
        shards: 1,
        created_at: 'c',
        updated_at: 'u',
        embed_origins: ['https://app.acme.example'],
        app_url: 'https://app.acme.example/settings/audit-log',
      },
    });
    const reply = await open('tnt_1');
    expect(reply.statusCode).toBe(200);
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ TableName: 'control-test', Key: { pk: 'TENANT#tnt_1', sk: 'TENANT' } }),
    ]);
    expect(frameAncestors(reply.headers)).toBe('https://app.acme.example');
    expect(reply.headers['content-security-policy']).toContain('upgrade-insecure-requests');
    expect(reply.body).toContain('"app_url":"https://app.acme.example/settings/audit-log"');
    expect(reply.body).toContain('src="/console/assets/console-ABC.js" integrity="sha384-aaa"');
  });

  it('answers an unknown tenant with the same page, framed nowhere', async () => {
    ddb.on(GetCommand).resolves({});
    const reply = await open('tnt_nobody');
    expect(reply.statusCode).toBe(200);
    expect(frameAncestors(reply.headers)).toBe("'none'");
    expect(reply.body).toContain('"embed_origins":[]');
  });

  it('refuses a tenant id that no tenant can have, without reading anything', async () => {
    const reply = await open('tnt_1"><script>');
    expect(reply.statusCode).toBe(404);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});
