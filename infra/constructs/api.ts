/**
 * The public HTTP API: one function per `http` function of the manifest (shared/config/manifest.ts),
 * its `authorizer` function, and one route per route of the manifest (ROUTES, shared/config/routes.ts),
 * on a `$default` stage with access logs and throttling. A route runs without the authorizer only
 * when the manifest marks it `public` with the reason why: a public route without a written
 * reason fails synth.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
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
import { ENV } from '#shared/config/env.ts';
import { functionsOfKind, type HttpFunctionName, theFunctionOfKind } from '#shared/config/manifest.ts';
import { ROUTES, type RouteDefinition } from '#shared/config/routes.ts';
import { constructId, ServiceFunction, type ServiceResources } from './service-function.ts';
import { grantRateCounters } from './table-access.ts';

/** Stage-wide default: beyond this API Gateway answers 429 before any Lambda runs. */
export const API_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;

/** Why each unauthenticated route may be called by anyone (the manifest's `public`: the cdk-nag acknowledgement). */
export const UNAUTHENTICATED_ROUTES: Readonly<Record<string, string>> = Object.fromEntries(
  ROUTES.flatMap((route) => (route.authorized ? [] : [[route.key, route.publicReason ?? '']])),
);

/** Fails synth on an unauthenticated route whose reason is missing or blank. */
export const assertPublicRoutesExplained = (routes: readonly RouteDefinition[]): void => {
  const unexplained = routes
    .filter((route) => !route.authorized && (route.publicReason ?? '').trim() === '')
    .map((route) => route.key);
  if (unexplained.length > 0) {
    throw new Error(
      `unauthenticated route(s) ${unexplained.join(', ')} need a reason: \`public: '<why anyone may call it>'\` in shared/config/manifest.ts`,
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
  readonly functions: Readonly<Record<HttpFunctionName, ServiceFunction>>;
  readonly authorizerFunction: ServiceFunction;
  /** The custom domain, when the deployment has one. */
  readonly domainName?: DomainName;
  /**
   * The host name a proxy (the CloudFront distribution) calls the API by: the custom domain when
   * there is one (its execute-api endpoint is then disabled), else the execute-api host name.
   */
  readonly originDomain: string;
  /** False when a custom domain closes the execute-api endpoint. */
  readonly executeApiEndpointEnabled: boolean;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    this.functions = Object.fromEntries(
      functionsOfKind('http').map(([name, definition]) => [
        name,
        new ServiceFunction(this, constructId(name), { definition, resources: props.resources }),
      ]),
    ) as Record<HttpFunctionName, ServiceFunction>;

    const [authorizerName, authorizerDefinition] = theFunctionOfKind('authorizer');
    this.authorizerFunction = new ServiceFunction(this, constructId(authorizerName), {
      definition: authorizerDefinition,
      resources: props.resources,
    });
    // API Gateway caches nothing (below): the authorizer keeps resolved credentials itself.
    this.authorizerFunction.fn.addEnvironment(
      ENV.authCacheSeconds,
      String(authorizerDefinition.inMemoryCacheSeconds),
    );
    // It enforces each tenant's request rate with shared counters in the control table.
    grantRateCounters(this.authorizerFunction.role, props.resources.control);
    if (authorizerDefinition.cacheTtlSeconds !== 0) {
      throw new Error(
        "the authorizer's cacheTtlSeconds must be 0: API Gateway caches authorizer results only by identity source, and with one it answers a request without that header with its own 401 body",
      );
    }
    const authorizer = new HttpLambdaAuthorizer('BearerToken', this.authorizerFunction.fn, {
      // Simple responses: the authorizer answers isAuthorized plus a flat context (principal.ts).
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      // No identity source: API Gateway would answer a request lacking it with a bare 401 before
      // the authorizer runs. A REQUEST authorizer may have none when its cache is off (TTL 0);
      // the authorizer caches results itself (its inMemoryCacheSeconds).
      identitySource: [],
      resultsCacheTtl: Duration.seconds(authorizerDefinition.cacheTtlSeconds),
    });

    // The default stage is built by hand because HttpApi's own cannot take logs or throttling.
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Trailkeeper audit log API',
      createDefaultStage: false,
      // With a custom domain the execute-api endpoint is closed: callers (CloudFront among them)
      // come through the domain. Without one it is CloudFront's only way in and stays open; the
      // authorizer still guards every route the manifest does not mark public.
      disableExecuteApiEndpoint: props.domain !== undefined,
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

    this.executeApiEndpointEnabled = props.domain === undefined;
    this.originDomain =
      props.domain?.name ??
      `${this.httpApi.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;

    const integrations = new Map<HttpFunctionName, HttpLambdaIntegration>();
    const integrationFor = (name: HttpFunctionName): HttpLambdaIntegration => {
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
          reason: `${route.key} is declared unauthenticated in shared/config/manifest.ts. ${route.publicReason}`,
        });
      }
    }
  }

  /** The execute-api URL of the `$default` stage (ends in `/`). */
  get url(): string {
    return this.stage.url;
  }
}
