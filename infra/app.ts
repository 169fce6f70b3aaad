/**
 * CDK entry point (`cdk synth` / `cdk deploy` via cdk.json): one TrailkeeperStack in an explicit
 * region, no lookups (synth works offline), checked by cdk-nag's AwsSolutions pack. Every finding
 * is either fixed or acknowledged with its reason next to the construct it concerns.
 *
 * Context: `alarmEmail` (alarm subscription), `emailFrom` (sender of export emails, `address` or
 * `Name <address>`), `emailDomain` (verify this domain in SES instead of the single address),
 * `redactKeys` (extra key names to redact, read by ServiceFunction), and the archive settings read
 * and validated by the Archive construct: `archiveRetentionDays` (Object Lock retention and
 * expiry, at least the longest plan), `archiveLockMode` (COMPLIANCE | GOVERNANCE),
 * `archiveGlacierAfterDays` and `archiveDeepArchiveAfterDays` (lifecycle tiering ages).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TrailkeeperStack } from './stack.ts';

const app = new App();

type ContextKey = 'alarmEmail' | 'emailFrom' | 'emailDomain';

/** `{ key: value }` for a non-empty string context value, else `{}` (the stack's default applies). */
const contextString = <K extends ContextKey>(key: K): Partial<Record<K, string>> => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.trim() !== ''
    ? ({ [key]: value.trim() } as Partial<Record<K, string>>)
    : {};
};

new TrailkeeperStack(app, 'Trailkeeper', {
  description: 'Trailkeeper: multi-tenant, tamper-evident audit log service',
  env: {
    region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
    ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
  },
  ...contextString('alarmEmail'),
  ...contextString('emailFrom'),
  ...contextString('emailDomain'),
});

// cdk-nag 3 is a policy-validation plugin, not an Aspect: unacknowledged errors fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
