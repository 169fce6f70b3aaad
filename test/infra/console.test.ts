/**
 * The console in the CDK template (infra/constructs/console.ts): its private assets bucket read by
 * the distribution alone (Origin Access Control), the deployment of the hashed assets, the three
 * behaviours of the distribution with their policies and the CloudFront Function, the security
 * headers (and the Content-Security-Policy they leave to the page shell), the execute-api endpoint
 * closed behind a custom domain, and the page shell's environment. Stacks here are not bundled;
 * stack.test.ts runs cdk-nag over the bundled stack.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CachePolicy, OriginRequestPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_ASSETS_CACHE_CONTROL, CONSOLE_REQUEST_FUNCTION } from '#infra/constructs/console.ts';
import { TrailkeeperStack, type TrailkeeperStackProps } from '#infra/stack.ts';
import { ENV } from '#shared/config/env.ts';
import {
  asList,
  functionCases,
  type Json,
  logicalId,
  type Resource,
  TEST_CONSOLE,
  TEST_SENDER,
} from './stack-helpers.ts';

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';

const synthesize = (props: Partial<TrailkeeperStackProps> = {}, context: Record<string, unknown> = {}) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new TrailkeeperStack(app, 'Trailkeeper', {
    env: { region: 'us-east-1' },
    emailFrom: TEST_SENDER,
    console: TEST_CONSOLE,
    ...props,
  });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

type Behavior = Record<string, Json> & { PathPattern?: string; TargetOriginId?: string };
type Origin = Record<string, Json> & { Id: string; DomainName: Json };

let stack: TrailkeeperStack;
let template: Template;
let resources: Record<string, Resource>;
let config: {
  DefaultCacheBehavior: Behavior;
  CacheBehaviors: Behavior[];
  Origins: Origin[];
  [key: string]: Json;
};

beforeAll(() => {
  ({ stack, template, resources } = synthesize());
  config = resources[logicalId(stack.console.distribution)]?.Properties?.DistributionConfig as typeof config;
});

const behavior = (pattern: string): Behavior => {
  const found = config.CacheBehaviors.find((b) => b.PathPattern === pattern);
  if (!found) throw new Error(`no behaviour ${pattern}`);
  return found;
};
const originOf = (b: Behavior): Origin => {
  const found = config.Origins.find((o) => o.Id === b.TargetOriginId);
  if (!found) throw new Error(`no origin ${String(b.TargetOriginId)}`);
  return found;
};
const getAtt = (construct: Parameters<typeof logicalId>[0], attribute: string) => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});
const distributionDomain = () => ({
  'Fn::Join': ['', ['https://', getAtt(stack.console.distribution, 'DomainName')]],
});

describe('console assets bucket', () => {
  it('is private, SSE-S3, access-logged into the access-log bucket, and retained', () => {
    const bucket = resources[logicalId(stack.console.bucket)] as Resource & { DeletionPolicy?: string };
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalId(stack.accessLogs.bucket) },
        LogFilePrefix: 'console-assets/',
      },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('lets only this distribution read objects (Origin Access Control, aws:SourceArn), and refuses plain HTTP', () => {
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::S3::BucketPolicy' &&
        JSON.stringify(r.Properties?.Bucket) === JSON.stringify({ Ref: logicalId(stack.console.bucket) }),
    );
    expect(policies).toHaveLength(1);
    const statements = asList(
      (policies[0]?.Properties?.PolicyDocument as { Statement?: Json } | undefined)?.Statement,
    ) as Record<string, Json>[];
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Resource: { 'Fn::Join': ['', [getAtt(stack.console.bucket, 'Arn'), '/*']] },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudfront::',
                  { Ref: 'AWS::AccountId' },
                  ':distribution/',
                  { Ref: logicalId(stack.console.distribution) },
                ],
              ],
            },
          },
        },
      },
    ]);
    expect(statements.filter((s) => s.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  it('serves it through an Origin Access Control that signs every request, with no legacy identity', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    const [oacId] = Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::CloudFront::OriginAccessControl',
    ) ?? ['missing'];
    expect(originOf(behavior('/console/assets/*'))).toEqual({
      Id: expect.any(String),
      DomainName: getAtt(stack.console.bucket, 'RegionalDomainName'),
      OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] },
      S3OriginConfig: { OriginAccessIdentity: '' },
    });
  });

  it('receives the build under console/assets/, cached a year as immutable, never pruned', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: logicalId(stack.console.bucket) },
      DestinationBucketKeyPrefix: 'console/assets/',
      Prune: false,
      RetainOnDelete: true,
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
    expect(CONSOLE_ASSETS_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
  });

  it('uploads with a role that may only read this build, list the bucket and put under console/assets/', () => {
    const role = stack.console.node.findChild('DeploymentRole');
    const policies = Object.entries(resources).filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        asList(r.Properties?.Roles).some(
          (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: logicalId(role) }),
        ),
    );
    expect(policies).toHaveLength(1);
    const statements = asList(
      (policies[0]?.[1].Properties?.PolicyDocument as { Statement?: Json } | undefined)?.Statement,
    ) as Record<string, Json>[];
    expect(statements.map((s) => [s.Effect, s.Action])).toEqual([
      ['Allow', ['logs:CreateLogStream', 'logs:PutLogEvents']],
      ['Allow', 's3:GetObject'],
      ['Allow', 's3:ListBucket'],
      ['Allow', 's3:PutObject'],
    ]);
    // The build's own zip in the CDK staging bucket, not a wildcard over it.
    expect(JSON.stringify(statements[1]?.Resource)).toMatch(/cdk-[a-z0-9]+-assets-.*\/[0-9a-f]{64}\.zip"/);
    expect(statements[2]?.Resource).toEqual(getAtt(stack.console.bucket, 'Arn'));
    expect(statements[3]?.Resource).toEqual({
      'Fn::Join': ['', [getAtt(stack.console.bucket, 'Arn'), '/console/assets/*']],
    });
    // No managed policy (AWSLambdaBasicExecutionRole would reach every log group).
    expect(resources[logicalId(role)]?.Properties?.ManagedPolicyArns).toBeUndefined();
    const upload = Object.entries(resources).find(([, r]) => r.Type === 'Custom::CDKBucketDeployment');
    expect((upload?.[1] as { DependsOn?: Json } | undefined)?.DependsOn).toEqual(
      expect.arrayContaining([policies[0]?.[0], logicalId(role)]),
    );
  });

  it('refuses a build whose files are missing or served outside /console/assets/ (synth fails)', () => {
    const empty = mkdtempSync(join(tmpdir(), 'trailkeeper-test-console-empty-'));
    mkdirSync(join(empty, 'assets'));
    expect(() => synthesize({ console: { ...TEST_CONSOLE, outDir: empty } })).toThrow(
      /the console build has no .*console-TESTHASH\.js/,
    );
    const elsewhere = mkdtempSync(join(tmpdir(), 'trailkeeper-test-console-elsewhere-'));
    mkdirSync(join(elsewhere, 'assets'));
    writeFileSync(join(elsewhere, 'assets', 'console-X.js'), '');
    expect(() =>
      synthesize({
        console: {
          ...TEST_CONSOLE,
          assets: { ...TEST_CONSOLE.assets, script: { path: '/static/console-X.js', integrity: 'sha384-x' } },
        },
      }),
    ).toThrow(/must be served under \/console\/assets\//);
  });
});

describe('distribution', () => {
  it('has exactly the default behaviour and two more: /console/assets/* and /console/t/*', () => {
    expect(config.CacheBehaviors.map((b) => b.PathPattern).sort()).toEqual([
      '/console/assets/*',
      '/console/t/*',
    ]);
    expect(config.Origins).toHaveLength(2);
  });

  it('sends everything else (/v1/*, /health) to the API over TLS 1.2: every method, no cache, every viewer header but Host', () => {
    expect(config.DefaultCacheBehavior).toMatchObject({
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
      OriginRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
      ViewerProtocolPolicy: 'redirect-to-https',
    });
    expect(config.DefaultCacheBehavior.FunctionAssociations).toBeUndefined();
    expect(originOf(config.DefaultCacheBehavior)).toEqual({
      Id: expect.any(String),
      DomainName: {
        'Fn::Join': [
          '',
          [{ Ref: logicalId(stack.api.httpApi) }, '.execute-api.us-east-1.', { Ref: 'AWS::URLSuffix' }],
        ],
      },
      CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
    });
  });

  it('serves /console/assets/* from S3, GET/HEAD only, with the caching-optimized policy', () => {
    expect(behavior('/console/assets/*')).toMatchObject({
      AllowedMethods: ['GET', 'HEAD'],
      CachePolicyId: CachePolicy.CACHING_OPTIMIZED.cachePolicyId,
      ViewerProtocolPolicy: 'redirect-to-https',
      Compress: true,
    });
    expect(behavior('/console/assets/*').OriginRequestPolicyId).toBeUndefined();
    expect(behavior('/console/assets/*').FunctionAssociations).toBeUndefined();
  });

  it('sends /console/t/* to the API through the CloudFront Function, uncached, every viewer header but Host', () => {
    const shell = behavior('/console/t/*');
    expect(shell).toMatchObject({
      AllowedMethods: ['GET', 'HEAD'],
      CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
      OriginRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
      ViewerProtocolPolicy: 'redirect-to-https',
      FunctionAssociations: [
        { EventType: 'viewer-request', FunctionARN: getAtt(stack.console.requestFunction, 'FunctionARN') },
      ],
    });
    expect(shell.TargetOriginId).toBe(config.DefaultCacheBehavior.TargetOriginId);
  });

  it('runs infra/edge/console-request.js as it is, on cloudfront-js-2.0', () => {
    expect(resources[logicalId(stack.console.requestFunction)]?.Properties).toMatchObject({
      AutoPublish: true,
      FunctionCode: readFileSync(CONSOLE_REQUEST_FUNCTION, 'utf8'),
      FunctionConfig: { Runtime: 'cloudfront-js-2.0' },
    });
  });

  it('adds HSTS, nosniff and no-referrer to every behaviour, and leaves the CSP and framing to the page shell', () => {
    const policy = resources[logicalId(stack.console.responseHeaders)]?.Properties
      ?.ResponseHeadersPolicyConfig as Record<string, Json>;
    expect(policy.SecurityHeadersConfig).toEqual({
      StrictTransportSecurity: { AccessControlMaxAgeSec: 31536000, IncludeSubdomains: false, Override: true },
      ContentTypeOptions: { Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
    });
    // No ContentSecurityPolicy (it would replace the tenant's frame-ancestors) and no
    // X-Frame-Options (it would forbid the embedding the tenant allows), anywhere in the policy.
    expect(JSON.stringify(policy)).not.toMatch(/ContentSecurityPolicy|FrameOptions|Content-Security-Policy/i);
    for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      expect(b.ResponseHeadersPolicyId, String(b.PathPattern ?? 'default')).toEqual({
        Ref: logicalId(stack.console.responseHeaders),
      });
    }
  });

  it('speaks HTTP/2 and HTTP/3 on price class 100 unless -c priceClass says otherwise', () => {
    expect(config).toMatchObject({ HttpVersion: 'http2and3', PriceClass: 'PriceClass_100', Enabled: true });
    const all = synthesize({}, { priceClass: 'All' });
    all.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ PriceClass: 'PriceClass_All' }),
    });
    expect(() => synthesize({}, { priceClass: '300' })).toThrow(/priceClass must be 100, 200 or All/);
  });

  it('outputs the distribution domain and the console URL pattern', () => {
    template.hasOutput('DistributionDomainName', { Value: getAtt(stack.console.distribution, 'DomainName') });
    template.hasOutput('ConsoleUrl', {
      Value: {
        'Fn::Join': [
          '',
          ['https://', getAtt(stack.console.distribution, 'DomainName'), '/console/t/<tenant_id>/'],
        ],
      },
    });
  });
});

describe('API endpoint behind the distribution', () => {
  it('without a custom domain keeps the execute-api endpoint (CloudFront’s origin) and outputs it', () => {
    const api = resources[logicalId(stack.api.httpApi)]?.Properties ?? {};
    expect(api.DisableExecuteApiEndpoint ?? false).toBe(false);
    template.hasOutput('ExecuteApiUrl', {});
  });

  it('with a custom domain closes the execute-api endpoint and calls the API by that domain', () => {
    const withDomain = synthesize({ domainName: 'Audit.Example.org', certificateArn: CERTIFICATE });
    withDomain.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    const distribution = withDomain.resources[logicalId(withDomain.stack.console.distribution)]?.Properties
      ?.DistributionConfig as typeof config;
    const apiOrigin = distribution.Origins.find(
      (o) => o.Id === distribution.DefaultCacheBehavior.TargetOriginId,
    );
    expect(apiOrigin?.DomainName).toBe('audit.example.org');
    expect(apiOrigin?.CustomOriginConfig).toEqual({
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
    });
    const shellOrigin = distribution.CacheBehaviors.find(
      (b) => b.PathPattern === '/console/t/*',
    )?.TargetOriginId;
    expect(shellOrigin).toBe(apiOrigin?.Id);
    expect(Object.keys(withDomain.template.toJSON().Outputs)).not.toContain('ExecuteApiUrl');
  });
});

describe('page shell and links', () => {
  it('tells the console function (and no other) the deployed script and stylesheet', () => {
    const consoleAssets = functionCases(stack).flatMap(({ name, fn }) => {
      const variables = (
        resources[logicalId(fn)]?.Properties?.Environment as { Variables?: Record<string, Json> } | undefined
      )?.Variables;
      const value = variables?.[ENV.consoleAssets];
      return value === undefined ? [] : [{ name, value }];
    });
    expect(consoleAssets.map(({ name }) => name)).toEqual(['console']);
    const parsed = JSON.parse(String(consoleAssets[0]?.value)) as Record<string, { path: string }>;
    expect(parsed).toEqual({ script: TEST_CONSOLE.assets.script, style: TEST_CONSOLE.assets.style });
    expect(parsed.script?.path).toMatch(/^\/console\/assets\/console-[^/]+\.js$/);
    expect(parsed.style?.path).toMatch(/^\/console\/assets\/console-[^/]+\.css$/);
  });

  it('builds every link from the distribution when no publicUrl is set, with or without a custom domain', () => {
    const urlsOf = (built: ReturnType<typeof synthesize>) =>
      new Set(
        functionCases(built.stack).map(({ fn }) =>
          JSON.stringify(
            (
              built.resources[logicalId(fn)]?.Properties?.Environment as
                | { Variables?: Record<string, Json> }
                | undefined
            )?.Variables?.[ENV.publicUrl],
          ),
        ),
      );
    expect(urlsOf({ stack, template, resources })).toEqual(new Set([JSON.stringify(distributionDomain())]));
    const withDomain = synthesize({ domainName: 'audit.example.org', certificateArn: CERTIFICATE });
    expect(urlsOf(withDomain)).toEqual(
      new Set([
        JSON.stringify({
          'Fn::Join': ['', ['https://', getAtt(withDomain.stack.console.distribution, 'DomainName')]],
        }),
      ]),
    );
    const proxied = synthesize({ publicUrl: 'https://audit.example.com/' });
    expect(urlsOf(proxied)).toEqual(new Set([JSON.stringify('https://audit.example.com')]));
    proxied.template.hasOutput('ConsoleUrl', { Value: 'https://audit.example.com/console/t/<tenant_id>/' });
  });
});
