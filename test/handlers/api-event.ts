/** Builds the events handlers receive (API Gateway HTTP API payload v2, EventBridge schedule) and a Lambda context, for handler tests. */
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { RouteKey } from '#shared/config/routes.ts';
import type { AuthorizerContext } from '#shared/domain/principal.ts';
import type { ApiEvent } from '#shared/http/middleware.ts';

export const TENANT = 'tnt_01jd0000000000000000000000';

export const keyContext = (
  scopes: string,
  overrides: Partial<AuthorizerContext> = {},
): AuthorizerContext => ({
  kind: 'key',
  tenantId: TENANT,
  keyId: 'key_01jd0000000000000000000000',
  keyName: 'ci',
  scopes,
  retentionDays: 90,
  shards: 1,
  ...overrides,
});

/** An event of one of the API's routes (route keys from the manifest: a stale one does not compile). */
export const apiEvent = (
  routeKey: RouteKey,
  options: {
    body?: unknown;
    rawBody?: string;
    query?: Record<string, string>;
    params?: Record<string, string>;
    auth?: AuthorizerContext;
    headers?: Record<string, string>;
  } = {},
): ApiEvent => {
  const [method, path] = routeKey.split(' ') as [string, string];
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { host: 'api.test', 'content-type': 'application/json', ...options.headers },
    queryStringParameters: options.query,
    pathParameters: options.params,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: '21/Nov/2026:12:00:00 +0000',
      timeEpoch: 0,
      authorizer: { lambda: options.auth ?? ({ kind: 'anonymous' } as AuthorizerContext) },
    },
  } as ApiEvent;
};

export const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'aws-req-1',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

export const parse = (result: { body?: string }) => JSON.parse(result.body ?? 'null');

/** The event EventBridge invokes a scheduled function with. */
export const scheduledEvent = (): ScheduledEvent => ({
  version: '0',
  id: 'event-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-21T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/test'],
  detail: {},
});
