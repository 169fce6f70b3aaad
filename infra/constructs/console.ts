/**
 * The audit log console in AWS (SPEC "The console"): one CloudFront distribution in front of the
 * whole service, so the console and the API share an origin.
 *
 * - `/console/assets/*`: the built, content-hashed script and stylesheet (console/build.ts), from a
 *   private S3 bucket that only this distribution may read (Origin Access Control), cached for a
 *   year. Deployments add files and never prune: a page opened before a deploy keeps loading the
 *   assets it names.
 * - `/console/t/*`: the page shell, rendered per tenant by the `console` function (its
 *   Content-Security-Policy names the tenant's embed origins). A CloudFront Function
 *   (infra/edge/console-request.js, which the local gateway runs too) sends every page path of a
 *   tenant to the one route `GET /console/t/{tenant_id}`. Never cached.
 * - everything else (`/v1/*`, `/health`): the HTTP API, never cached, every method, every viewer
 *   header but Host (API Gateway answers only to its own name; the Authorization header passes
 *   because caching is off).
 *
 * The API origin is the custom domain when the deployment has one (the execute-api endpoint is then
 * disabled, api.ts); without one it is the execute-api host name, which cannot be disabled and so
 * stays reachable directly: the authorizer still guards every route the manifest does not mark
 * public: a caller going around CloudFront skips its response headers, not authentication.
 *
 * Every answer gets HSTS, nosniff and `Referrer-Policy: no-referrer` from one response headers
 * policy, which sets no Content-Security-Policy and no X-Frame-Options: the shell's own CSP
 * (`frame-ancestors` from `embed_origins`) must reach the browser untouched, or listed origins
 * could not embed it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { CONSOLE_ASSETS_PATH, type ConsoleAssets } from '../../console/build.ts';
import { contextString } from './context.ts';
import { nagObjectsFinding } from './nag.ts';
import type { ServiceFunction } from './service-function.ts';

/** What `buildConsole({ outDir })` wrote and returned: `<outDir>/assets/*` and their paths and hashes. */
export interface ConsoleBuild {
  readonly outDir: string;
  readonly assets: ConsoleAssets;
}

/** The CloudFront Function of the `/console/t/*` behaviour (the local gateway runs the same file). */
export const CONSOLE_REQUEST_FUNCTION = fileURLToPath(new URL('../edge/console-request.js', import.meta.url));

/** Content-hashed names never change content: browsers and CloudFront may keep them a year. */
export const CONSOLE_ASSETS_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The assets' S3 key prefix: their URL path without the leading slash (`console/assets/`). */
export const CONSOLE_ASSETS_KEY_PREFIX = CONSOLE_ASSETS_PATH.replace(/^\//, '');

/** CDK context `priceClass`: `100` (default: North America, Europe, Israel), `200` or `All`. */
export const PRICE_CLASS_CONTEXT = 'priceClass';
const PRICE_CLASSES: Readonly<Record<string, PriceClass>> = {
  '100': PriceClass.PRICE_CLASS_100,
  '200': PriceClass.PRICE_CLASS_200,
  all: PriceClass.PRICE_CLASS_ALL,
};

export interface ConsoleProps {
  readonly build: ConsoleBuild;
  /** The function rendering the page shell (manifest name `console`): it learns the asset paths. */
  readonly shell: ServiceFunction;
  /** The host name CloudFront calls the API by: its custom domain, else its execute-api name. */
  readonly apiOriginDomain: string;
  /** The stack's server access log bucket. */
  readonly accessLogs: Bucket;
}

/** Fails synth on a build whose asset paths or files are not what the behaviours serve. */
const assertBuild = ({ outDir, assets }: ConsoleBuild): void => {
  for (const [kind, { path }] of Object.entries({ script: assets.script, style: assets.style })) {
    if (!path.startsWith(CONSOLE_ASSETS_PATH))
      throw new Error(`the console ${kind} must be served under ${CONSOLE_ASSETS_PATH}, got ${path}`);
    const file = join(outDir, 'assets', path.slice(CONSOLE_ASSETS_PATH.length));
    if (!existsSync(file))
      throw new Error(`the console build has no ${file}: run buildConsole({ outDir }) first`);
  }
};

export class Console extends Construct {
  /** Private: read by the distribution only, written by the deployment only. */
  readonly bucket: Bucket;
  readonly deployment: BucketDeployment;
  readonly distribution: Distribution;
  readonly requestFunction: EdgeFunction;
  readonly responseHeaders: ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    assertBuild(props.build);
    // The shell names exactly the files this deployment uploads (paths and SRI hashes).
    const { script, style } = props.build.assets;
    props.shell.fn.addEnvironment(ENV.consoleAssets, JSON.stringify({ script, style }));

    this.bucket = new Bucket(this, 'AssetsBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'console-assets/',
      // Like every bucket of the stack: RETAIN, without an auto-delete Lambda (which would need
      // delete rights on it). It holds public build output only: cents to keep.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // CDK's upload handler (BucketDeployment) would get read-write on both buckets, deletes
    // included, and a role with AWSLambdaBasicExecutionRole (any log group of the account). Here it
    // gets its own log group and a role CDK cannot add to, allowed exactly what a sync without
    // --delete does: read this build's zip, list the bucket, put objects under console/assets/.
    const deploymentLogs = new LogGroup(this, 'DeploymentLogs', { retention: RetentionDays.ONE_MONTH });
    const deploymentRole = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Uploads the built console assets to their bucket at deploy time (never deletes)',
    });
    deploymentLogs.grantWrite(deploymentRole);
    const zip = new Asset(this, 'AssetsZip', { path: join(props.build.outDir, 'assets') });
    deploymentRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [zip.bucket.arnForObjects(zip.s3ObjectKey)],
      }),
    );
    deploymentRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    deploymentRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${CONSOLE_ASSETS_KEY_PREFIX}*`)],
      }),
    );
    this.deployment = new BucketDeployment(this, 'Assets', {
      sources: [Source.bucket(zip.bucket, zip.s3ObjectKey)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: CONSOLE_ASSETS_KEY_PREFIX,
      cacheControl: [CacheControl.fromString(CONSOLE_ASSETS_CACHE_CONTROL)],
      // Old hashed assets stay: pages opened before this deploy still load what they name.
      prune: false,
      retainOnDelete: true,
      outputObjectKeys: false,
      role: deploymentRole.withoutPolicyUpdates(),
      logGroup: deploymentLogs,
    });
    // CDK cannot see these grants through the wrapped role: upload only once they are attached.
    this.deployment.node.addDependency(deploymentRole);
    Validations.of(deploymentRole).acknowledge({
      id: nagObjectsFinding(this.bucket, `${CONSOLE_ASSETS_KEY_PREFIX}*`),
      reason:
        'The deploy-time upload puts each content-hashed console file under console/assets/ (PutObject only, no delete); their names are known only after the build, and the bucket holds nothing but public build output.',
    });
    // The handler is a stack-wide singleton whose runtime CDK pins (a Python version with the AWS CLI).
    const uploader = Stack.of(this).node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (uploader === undefined) throw new Error('BucketDeployment created no handler function');
    Validations.of(uploader).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "CDK's BucketDeployment handler runs the Python runtime its aws-cdk-lib version pins (it bundles the AWS CLI for that runtime); it moves build files at deploy time and serves no request. Upgrading aws-cdk-lib upgrades it.",
    });

    this.requestFunction = new EdgeFunction(this, 'RequestFunction', {
      comment: 'Trailkeeper console: every page path of a tenant to GET /console/t/{tenant_id}',
      code: FunctionCode.fromFile({ filePath: CONSOLE_REQUEST_FUNCTION }),
      runtime: FunctionRuntime.JS_2_0,
    });

    this.responseHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Trailkeeper: HSTS, nosniff, no referrer; the console shell sets its own CSP',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: false,
          override: true,
        },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        // Deliberately no contentSecurityPolicy and no frameOptions: the shell's CSP carries the
        // tenant's frame-ancestors, and X-Frame-Options would forbid the embedding it allows.
      },
    });

    const api = new HttpOrigin(props.apiOriginDomain, {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    });
    const toApi = {
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: this.responseHeaders,
    };

    const priceClass = contextString(this.node, PRICE_CLASS_CONTEXT)?.toLowerCase() ?? '100';
    const chosen = PRICE_CLASSES[priceClass];
    if (chosen === undefined)
      throw new Error(
        `context ${PRICE_CLASS_CONTEXT} must be 100, 200 or All, got ${JSON.stringify(priceClass)}`,
      );

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Trailkeeper: API and console on one origin',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: chosen,
      // No minimumProtocolVersion: on the default *.cloudfront.net certificate CloudFront fixes
      // the viewer policy (CDK would ignore the setting with a warning); see the CFR4 note below.
      defaultBehavior: { origin: api, allowedMethods: AllowedMethods.ALLOW_ALL, ...toApi },
      additionalBehaviors: {
        [`${CONSOLE_ASSETS_PATH}*`]: {
          origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: this.responseHeaders,
          compress: true,
        },
        '/console/t/*': {
          origin: api,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          functionAssociations: [
            { function: this.requestFunction, eventType: FunctionEventType.VIEWER_REQUEST },
          ],
          ...toApi,
        },
      },
    });

    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'No geo restriction: tenants choose where their people work, and every route but the public page shell, health and key lookups requires a key or session token checked by the authorizer.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No AWS WAF web ACL by default (a fixed monthly cost per ACL and per rule): API Gateway throttles the stage and the authorizer enforces each tenant’s rate. An operator may attach one to the distribution.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'CloudFront standard logging needs an ACL-enabled bucket and the access-log bucket has ACLs disabled (BucketOwnerEnforced). Every API request, the page shell included, is logged by the API stage access log; asset reads are public build files.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution answers on its default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; a TLSv1.2_2021 minimum needs an alternate domain name with a us-east-1 ACM certificate, which this stack does not manage. Viewers are redirected to HTTPS and the origins are called over TLS 1.2 only.',
      },
    );
  }

  /** `https://<distribution domain>`: where the console and the API are served together. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
