/**
 * CDK entry point (`cdk synth` / `cdk deploy` via cdk.json): one TrailkeeperStack in an explicit
 * region, no lookups (synth works offline), checked by cdk-nag's AwsSolutions pack. Every finding
 * is either fixed or acknowledged with its reason next to the construct it concerns.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TrailkeeperStack } from './stack.ts';

const app = new App();

const alarmEmail: unknown = app.node.tryGetContext('alarmEmail');

new TrailkeeperStack(app, 'Trailkeeper', {
  description: 'Trailkeeper: multi-tenant, tamper-evident audit log service',
  env: {
    region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
    ...(process.env.CDK_DEFAULT_ACCOUNT ? { account: process.env.CDK_DEFAULT_ACCOUNT } : {}),
  },
  ...(typeof alarmEmail === 'string' && alarmEmail !== '' ? { alarmEmail } : {}),
});

// cdk-nag 3 is a policy-validation plugin, not an Aspect: unacknowledged errors fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
