/**
 * The one wrapper every Lambda handler is built with, whatever invokes it (HTTP API, authorizer,
 * queue, stream, schedule): its Powertools logger carries the Lambda context (function name,
 * request id, cold start) in every line of the invocation, and the metrics it added are published
 * (EMF) when the invocation ends, whether it returned or threw. The event a handler receives and
 * the result it must return follow its kind in the manifest.
 *
 * Each function module creates its own Telemetry: locally every handler runs in one process, and
 * a logger or metrics buffer shared between functions would mix their invocations.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { POWERTOOLS_ENV } from '../config/env.ts';
import type { FunctionName, HttpFunctionName, MANIFEST } from '../config/manifest.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../config/observability.ts';
import type { AuthorizerContext } from '../domain/principal.ts';
import type { HttpResult } from '../http/responses.ts';

/** What invokes a function of each kind with, and what it must answer. */
export interface KindContract {
  http: { event: APIGatewayProxyEventV2WithLambdaAuthorizer<AuthorizerContext>; result: HttpResult };
  authorizer: {
    event: APIGatewayRequestAuthorizerEventV2;
    result: APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;
  };
  /** Event source mappings report partial failures (reportBatchItemFailures). */
  queue: { event: SQSEvent; result: SQSBatchResponse };
  stream: { event: DynamoDBStreamEvent; result: DynamoDBBatchResponse };
  /** Nobody reads a scheduled run's result in AWS; locally `runScheduled` returns it (tests). */
  schedule: { event: ScheduledEvent; result: unknown };
}

type KindOf<N extends FunctionName> = (typeof MANIFEST)[N]['kind'];
export type EventOf<N extends FunctionName> = KindContract[KindOf<N>]['event'];
export type ResultOf<N extends FunctionName> = KindContract[KindOf<N>]['result'];

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A logger and a metrics buffer for one function, named as the stack configures (fallbacks for tests). */
export const createTelemetry = (): Telemetry => ({
  logger: new Logger({ serviceName: process.env[POWERTOOLS_ENV.serviceName] ?? SERVICE_NAME }),
  metrics: new Metrics({
    namespace: process.env[POWERTOOLS_ENV.metricsNamespace] ?? METRICS_NAMESPACE,
    // The `service` dimension CDK alarms select metrics by: fixed, whatever the logs say.
    serviceName: SERVICE_NAME,
  }),
});

/**
 * Publishes what the invocation added, after it returned and after it threw. Powertools'
 * logMetrics would do the same but warns on every invocation that added nothing (most do).
 */
const publishMetrics = (metrics: Metrics): MiddlewareObj => {
  const publish = (): void => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
};

export type ObservedHandler<E, R> = MiddyfiedHandler<E, R, Error, Context>;

/**
 * `handler` with the logger's Lambda context and the metrics' publication around it, then
 * `inner` middlewares (closest to the handler: their onError runs first, while the context is
 * still on the logger and before the metrics are published).
 */
export const observe = <E, R>(
  telemetry: Telemetry,
  handler: (event: E, context: Context) => Promise<R>,
  ...inner: MiddlewareObj<E, R, Error, Context>[]
): ObservedHandler<E, R> => {
  const chain = middy<E, R, Error, Context>()
    .use(injectLambdaContext(telemetry.logger, { resetKeys: true }))
    .use(publishMetrics(telemetry.metrics));
  for (const middleware of inner) chain.use(middleware);
  return chain.handler(handler);
};

/**
 * The handler of manifest function `name` (any kind but `http`: see createApiHandler in
 * shared/http/middleware.ts), observed. `name` types the event and the result by the
 * function's kind.
 */
export const lambdaHandler = <N extends Exclude<FunctionName, HttpFunctionName>, R extends ResultOf<N>>(
  _name: N,
  telemetry: Telemetry,
  handler: (event: EventOf<N>, context: Context) => Promise<R>,
): ObservedHandler<EventOf<N>, R> => observe(telemetry, handler);
