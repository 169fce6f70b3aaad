/**
 * CDK entry point (`cdk synth` / `cdk deploy` via cdk.json): one TrailkeeperStack in an explicit
 * region, no lookups (synth works offline), checked by cdk-nag's AwsSolutions pack. The console
 * (console/src) is built here, at synth time, into a fresh temporary directory: the stack uploads
 * exactly those files and tells the page shell their paths and hashes. Every finding
 * is either fixed or acknowledged with its reason next to the construct it concerns.
 *
 * Context (keep a deployment's values in cdk.json "context": a deploy without them would drop the
 * alarm subscription, replace the verified SES identity or change every link):
 * - `emailFrom` (sender of export emails, `address` or `Name <address>`) and/or `emailDomain`
 *   (verify this domain in SES instead of the single address): one of them is required, synth
 *   fails without;
 * - `alarmEmail` (alarm subscription);
 * - `publicUrl` (base URL of links, default the CloudFront distribution), `domainName` +
 *   `certificateArn` (custom domain of the API: its execute-api endpoint is then disabled and
 *   CloudFront calls the API by that name), `priceClass` (CloudFront: 100, 200 or All; default 100);
 * - read by constructs: `redactKeys` (ServiceFunction), `reserveConcurrency` (ServiceFunction:
 *   reserve one execution per scheduled job), `exportWorkerMaxConcurrency` (Exports),
 *   `sealEveryMinutes` (the sealer's rate), and the archive settings validated by the Archive
 *   construct: `archiveRetentionDays` (Object Lock retention and expiry, at least the longest
 *   plan), `archiveLockMode` (COMPLIANCE | GOVERNANCE), `archiveGlacierAfterDays` and
 *   `archiveDeepArchiveAfterDays` (lifecycle tiering ages);
 * - read by the stack: the operator's own identity provider, optional — `oidcIssuer` (https, as
 *   its tokens' `iss`) with `oidcAudience` (required with it), `oidcJwksUri` (default: discovery)
 *   and the claim names `oidcTenantClaim`, `oidcRoleClaim`, `oidcTeamsClaim` (defaults
 *   `tenant_id`, `role`, `team_ids`); synth fails on an issuer without audience or not https.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CDK_ENV } from '#shared/config/env.ts';
import { buildConsole } from '../console/build.ts';
import { TrailkeeperStack } from './stack.ts';

const app = new App();

type ContextKey = 'alarmEmail' | 'emailFrom' | 'emailDomain' | 'publicUrl' | 'domainName' | 'certificateArn';

/** `{ key: value }` for a non-empty string context value, else `{}` (the stack's default applies). */
const contextString = <K extends ContextKey>(key: K): Partial<Record<K, string>> => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.trim() !== ''
    ? ({ [key]: value.trim() } as Partial<Record<K, string>>)
    : {};
};

const consoleOutDir = await mkdtemp(join(tmpdir(), 'trailkeeper-console-'));
const consoleAssets = await buildConsole({ outDir: consoleOutDir });

new TrailkeeperStack(app, 'Trailkeeper', {
  description: 'Trailkeeper: multi-tenant, tamper-evident audit log service',
  env: {
    region: process.env[CDK_ENV.region] ?? 'us-east-1',
    ...(process.env[CDK_ENV.account] ? { account: process.env[CDK_ENV.account] } : {}),
  },
  ...contextString('alarmEmail'),
  ...contextString('emailFrom'),
  ...contextString('emailDomain'),
  ...contextString('publicUrl'),
  ...contextString('domainName'),
  ...contextString('certificateArn'),
  console: { outDir: consoleOutDir, assets: consoleAssets },
});

// cdk-nag 3 is a policy-validation plugin, not an Aspect: unacknowledged errors fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
