/**
 * The public HTTP API: one function per FUNCTIONS entry, the Lambda authorizer, and one route per
 * ROUTES entry (shared/config/routes.ts), on a `$default` stage with access logs and throttling.
 * A route runs without the authorizer only when routes.ts declares it so and this file says why
 * (UNAUTHENTICATED_ROUTES): a new public route fails synth until someone has written down why it
 * may be public.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  ApiMapping,
  DomainName,
  HttpApi,
  HttpMethod,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  AUTHORIZER,
  ENV,
  FUNCTIONS,
  type FunctionName,
  ROUTES,
  type RouteDefinition,
} from '#shared/config/routes.ts';
import { ServiceFunction, type ServiceResources } from './service-function.ts';
import { grantRateCounters } from './table-access.ts';

/** Stage-wide default: beyond this API Gateway answers 429 before any Lambda runs. */
export const API_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;

const constructId = (name: string): string => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** Why each `authorized: false` route of routes.ts may be called by anyone (the cdk-nag acknowledgement). */
export const UNAUTHENTICATED_ROUTES: Readonly<Record<string, string>> = {
  'GET /health': 'Liveness probe for load balancers and uptime checks: answers a constant, reads no data.',
  'GET /v1/integrity/public-key':
    'The public half of the digest signing key: auditors must fetch it to verify digests without credentials from us, and it reveals nothing about any tenant.',
};

const routeKey = (route: { method: string; path: string }): string => `${route.method} ${route.path}`;

/** Fails synth on an `authorized: false` route that UNAUTHENTICATED_ROUTES does not explain. */
export const assertPublicRoutesExplained = (
  routes: readonly RouteDefinition[],
  reasons: Readonly<Record<string, string>> = UNAUTHENTICATED_ROUTES,
): void => {
  const unexplained = routes
    .filter((route) => !route.authorized)
    .map(routeKey)
    .filter((key) => reasons[key] === undefined);
  if (unexplained.length > 0) {
    throw new Error(
      `unauthenticated route(s) ${unexplained.join(', ')} need a reason in UNAUTHENTICATED_ROUTES (infra/constructs/api.ts)`,
    );
  }
};

/** JSON access log: ids, status and timings only, never bodies or the Authorization header. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    principalKind: '$context.authorizer.kind',
    tenantId: '$context.authorizer.tenantId',
    keyId: '$context.authorizer.keyId',
  }),
);

/** A custom domain for the API (context `domainName` + `certificateArn`). */
export interface ApiDomain {
  /** e.g. `audit.example.com`: point its DNS (CNAME or alias) at the `ApiDomainTarget` output. */
  readonly name: string;
  /** An ACM certificate for `name`, in the stack's region. */
  readonly certificateArn: string;
}

export interface ApiProps {
  readonly resources: ServiceResources;
  readonly domain?: ApiDomain;
}

export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly functions: Readonly<Record<FunctionName, ServiceFunction>>;
  readonly authorizerFunction: ServiceFunction;
  /** The custom domain, when the deployment has one. */
  readonly domainName?: DomainName;
  /**
   * The base URL clients should use: the custom domain when there is one, else the execute-api
   * endpoint. No trailing slash.
   */
  readonly defaultPublicUrl: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    const entries = Object.entries(FUNCTIONS) as [FunctionName, (typeof FUNCTIONS)[FunctionName]][];
    this.functions = Object.fromEntries(
      entries.map(([name, definition]) => [
        name,
        new ServiceFunction(this, constructId(name), {
          definition,
          resources: props.resources,
          description: `Trailkeeper ${name} routes`,
        }),
      ]),
    ) as Record<FunctionName, ServiceFunction>;

    this.authorizerFunction = new ServiceFunction(this, 'Authorizer', {
      definition: AUTHORIZER,
      resources: props.resources,
      description: 'Trailkeeper bearer-token authorizer',
    });
    // API Gateway caches nothing (below): the authorizer keeps resolved credentials itself.
    this.authorizerFunction.fn.addEnvironment(ENV.authCacheSeconds, String(AUTHORIZER.inMemoryCacheSeconds));
    // It enforces each tenant's request rate with shared counters in the control table.
    grantRateCounters(this.authorizerFunction.role, props.resources.control);
    if (AUTHORIZER.cacheTtlSeconds !== 0) {
      throw new Error(
        'AUTHORIZER.cacheTtlSeconds must be 0: API Gateway caches authorizer results only by identity source, and with one it answers a request without that header with its own 401 body',
      );
    }
    const authorizer = new HttpLambdaAuthorizer('BearerToken', this.authorizerFunction.fn, {
      // Simple responses: the authorizer answers isAuthorized plus a flat context (principal.ts).
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      // No identity source: API Gateway would answer a request lacking it with a bare 401 before
      // the authorizer runs. A REQUEST authorizer may have none when its cache is off (TTL 0);
      // the authorizer caches results itself (AUTHORIZER.inMemoryCacheSeconds).
      identitySource: [],
      resultsCacheTtl: Duration.seconds(AUTHORIZER.cacheTtlSeconds),
    });

    // The default stage is built by hand because HttpApi's own cannot take logs or throttling.
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Trailkeeper audit log API',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: API_THROTTLE,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });

    if (props.domain) {
      this.domainName = new DomainName(this, 'DomainName', {
        domainName: props.domain.name,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
      });
      new ApiMapping(this, 'DomainMapping', {
        api: this.httpApi,
        domainName: this.domainName,
        stage: this.stage,
      });
    }

    this.defaultPublicUrl = props.domain ? `https://${props.domain.name}` : this.httpApi.apiEndpoint;

    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: FunctionName): HttpLambdaIntegration => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${constructId(name)}Integration`, this.functions[name].fn);
        integrations.set(name, integration);
      }
      return integration;
    };

    assertPublicRoutesExplained(ROUTES);
    for (const route of ROUTES) {
      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationFor(route.fn),
        ...(route.authorized ? { authorizer } : {}),
      });
      if (!route.authorized && httpRoute) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${routeKey(route)} is declared unauthenticated in shared/config/routes.ts. ${UNAUTHENTICATED_ROUTES[routeKey(route)]}`,
        });
      }
    }
  }

  /** The execute-api URL of the `$default` stage (ends in `/`). */
  get url(): string {
    return this.stage.url;
  }
}
