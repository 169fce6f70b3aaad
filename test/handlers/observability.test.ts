import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/observability.ts';
import { apiHandler } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { createTelemetry, lambdaHandler, observe } from '#shared/observability/handler.ts';
import { apiEvent, keyContext, scheduledEvent } from './api-event.ts';

const context = {
  functionName: 'trailkeeper-sealer',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:trailkeeper-sealer',
  memoryLimitInMB: '1024',
  awsRequestId: 'aws-req-7',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** Everything written to stdout and stderr from now on, as parsed JSON lines. */
const captureLines = () => {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return (): Record<string, any>[] =>
    [...out.mock.calls, ...err.mock.calls]
      .flatMap((call) => String(call[0]).split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
};
const emfOf = (lines: Record<string, any>[]) => lines.filter((line) => line._aws !== undefined);

beforeEach(() => {
  // Telemetry reads these when it is created; the integration setup may disable metrics.
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the observability wrapper', () => {
  it('puts the Lambda context of the invocation on every log line it writes', async () => {
    const telemetry = createTelemetry();
    const handler = lambdaHandler('sealer', telemetry, async () => {
      telemetry.logger.info('sealed');
      return {};
    });
    const lines = captureLines();

    await handler(scheduledEvent(), context);
    await handler(scheduledEvent(), { ...context, awsRequestId: 'aws-req-8' });

    const [first, second] = lines();
    expect(first).toMatchObject({
      message: 'sealed',
      service: SERVICE_NAME,
      function_name: 'trailkeeper-sealer',
      function_request_id: 'aws-req-7',
      cold_start: expect.any(Boolean),
    });
    expect(second).toMatchObject({ message: 'sealed', function_request_id: 'aws-req-8' });
  });

  it('publishes the metrics of an invocation that threw, then rethrows', async () => {
    const telemetry = createTelemetry();
    const handler = observe(telemetry, async () => {
      telemetry.metrics.addMetric('EventsVerified', MetricUnit.Count, 3);
      throw new Error('signing key unavailable');
    });
    const lines = captureLines();

    await expect(handler(scheduledEvent(), context)).rejects.toThrow('signing key unavailable');

    const [emf, ...more] = emfOf(lines());
    expect(more).toEqual([]);
    expect(emf).toMatchObject({ EventsVerified: 3, service: SERVICE_NAME });
    expect(emf?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['service']],
    });
  });

  it('publishes the metrics of an invocation that returned, once', async () => {
    const telemetry = createTelemetry();
    const handler = observe(telemetry, async () => {
      telemetry.metrics.addMetric('EventTampering', MetricUnit.Count, 0);
      return 'done';
    });
    const lines = captureLines();

    expect(await handler(scheduledEvent(), context)).toBe('done');
    await handler(scheduledEvent(), context);

    expect(emfOf(lines()).map((emf) => emf.EventTampering)).toEqual([0, 0]);
  });

  it('publishes nothing, and warns of nothing, for an invocation that added no metric', async () => {
    const telemetry = createTelemetry();
    const handler = observe(telemetry, async () => 'quiet');
    const lines = captureLines();

    await handler(scheduledEvent(), context);

    expect(lines()).toEqual([]);
  });
});

describe('the HTTP access log line', () => {
  const route = (outcome: () => Promise<never> | Promise<ReturnType<typeof json>>) =>
    apiHandler({ 'GET /v1/events': outcome });
  const requestLine = (lines: Record<string, any>[]) => lines.find((line) => line.message === 'request');

  it('reports the status the client received for a dependency failure (503), with the Lambda context', async () => {
    const handler = route(async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    });
    const lines = captureLines();

    const result = await handler(apiEvent('GET /v1/events', { auth: keyContext('events:read') }), context);

    expect(result.statusCode).toBe(503);
    expect(requestLine(lines())).toMatchObject({
      route: 'GET /v1/events',
      status: 503,
      function_request_id: 'aws-req-7',
    });
  });

  it('reports the route’s own status when it answers', async () => {
    const handler = route(async () => json(200, { data: [] }));
    const lines = captureLines();

    await handler(apiEvent('GET /v1/events', { auth: keyContext('events:read') }), context);

    expect(requestLine(lines())).toMatchObject({ route: 'GET /v1/events', status: 200 });
  });
});
