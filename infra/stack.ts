/**
 * The Trailkeeper stack: wires the constructs together (tables, secrets, access logs, archive,
 * digest signing key, exports, API, stream consumers, scheduled jobs, the console and the
 * CloudFront distribution in front of it all, monitoring) and exports what an operator needs after
 * `cdk deploy`. Every function of the manifest (shared/config/manifest.ts)
 * is built by the construct of its kind: `http` and `authorizer` by Api, `queue` by Exports (it
 * owns the queue), `stream` and `schedule` here; synth fails if one is left out. Where the
 * deployment names an identity provider (`-c oidcIssuer=… -c oidcAudience=…`), the authorizer
 * gets its settings (shared/adapters/oidc.ts validates them: synth fails on a bad one).
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct, Node } from 'constructs';
import { OIDC_SETTINGS, type OidcConfig, oidcConfigOf, oidcEnvironment } from '#shared/adapters/oidc.ts';
import { ENV } from '#shared/config/env.ts';
import {
  FUNCTION_NAMES,
  type FunctionName,
  type FunctionNameOf,
  functionsOfKind,
  type ScheduledFunctionName,
  theConsumerOf,
  theFunctionOfKind,
} from '#shared/config/manifest.ts';
import { AccessLogBucket } from './constructs/access-log-bucket.ts';
import { Api, type ApiDomain } from './constructs/api.ts';
import { Archive } from './constructs/archive.ts';
import { Console, type ConsoleBuild } from './constructs/console.ts';
import { contextString } from './constructs/context.ts';
import { ControlTable } from './constructs/control-table.ts';
import { Deliveries } from './constructs/deliveries.ts';
import { EventsTable } from './constructs/events-table.ts';
import { Exports, type SenderOptions } from './constructs/exports.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { constructId, ServiceFunction, type ServiceResources } from './constructs/service-function.ts';
import { ServiceSecrets } from './constructs/service-secrets.ts';
import { SessionKey } from './constructs/session-key.ts';
import { SigningKey } from './constructs/signing-key.ts';
import { StreamConsumer } from './constructs/stream-consumer.ts';

/** A queued export that has waited this long means the worker is failing or starved. */
export const EXPORT_QUEUE_MAX_AGE = Duration.minutes(30);
/**
 * A delivery message older than this means the deliverer is failing or starved: retries are new
 * messages delayed at most 15 minutes (SQS's limit), so a healthy queue never holds one this old.
 */
export const DELIVERY_QUEUE_MAX_AGE = Duration.minutes(20);

export interface TrailkeeperStackProps extends StackProps, SenderOptions {
  /** E-mail address subscribed to the alarm topic (context `alarmEmail`). */
  readonly alarmEmail?: string;
  /**
   * The base URL clients use and links are built from (context `publicUrl`), e.g. when a proxy
   * or a domain managed outside this stack fronts the distribution. Default: the CloudFront
   * distribution (`https://<id>.cloudfront.net`), the one origin serving the API and the console.
   */
  readonly publicUrl?: string;
  /** Custom domain of the API (context `domainName`), with `certificateArn` (ACM, same region). */
  readonly domainName?: string;
  readonly certificateArn?: string;
  /** The console build this deployment serves (app.ts runs `buildConsole` at synth time). */
  readonly console: ConsoleBuild;
}

/** An https:// URL without query, fragment or trailing slash; throws (failing synth) otherwise. */
export const normalizePublicUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`publicUrl must be an absolute https:// URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new Error(
      `publicUrl must be an https:// URL without credentials, query or fragment, got ${JSON.stringify(value)}`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
};

/**
 * The operator's identity provider from the context (`oidcIssuer`, `oidcAudience`, `oidcJwksUri`,
 * `oidcTenantClaim`, `oidcRoleClaim`, `oidcTeamsClaim`); null without `oidcIssuer`. https only.
 */
export const oidcFromContext = (node: Node): OidcConfig | null =>
  oidcConfigOf(
    Object.fromEntries(
      Object.entries(OIDC_SETTINGS).map(([key, { context }]) => [key, contextString(node, context)]),
    ),
    'context',
  );

const apiDomain = (props: TrailkeeperStackProps): ApiDomain | undefined => {
  if (!props.domainName && !props.certificateArn) return undefined;
  if (!props.domainName || !props.certificateArn) {
    throw new Error(
      'a custom domain needs both domainName and certificateArn (an ACM certificate for it in the stack region)',
    );
  }
  return { name: props.domainName.toLowerCase(), certificateArn: props.certificateArn };
};

export class TrailkeeperStack extends Stack {
  readonly events: EventsTable;
  readonly control: ControlTable;
  readonly secrets: ServiceSecrets;
  readonly accessLogs: AccessLogBucket;
  readonly archive: Archive;
  readonly signingKey: SigningKey;
  readonly sessionKey: SessionKey;
  readonly exports: Exports;
  /** Stream deliveries: the outbox, the delivery queue, the destination key and the deliverer. */
  readonly deliveries: Deliveries;
  readonly api: Api;
  /** The `stream` functions, each with its event source mapping and on-failure queue. */
  readonly streamConsumers: Readonly<Record<FunctionNameOf<'stream'>, StreamConsumer>>;
  /** The `schedule` functions, each with its EventBridge schedule. */
  readonly jobs: Readonly<Record<ScheduledFunctionName, ServiceFunction>>;
  /** Every function of the manifest, by name. */
  readonly functions: Readonly<Record<FunctionName, ServiceFunction>>;
  readonly monitoring: Monitoring;
  /** The console's assets bucket and the CloudFront distribution in front of the API and the console. */
  readonly console: Console;
  /** TRAILKEEPER_PUBLIC_URL of every function. */
  readonly publicUrl: string;
  /** The identity provider whose tokens the authorizer accepts as people (null: viewer sessions only). */
  readonly oidc: OidcConfig | null;

  constructor(scope: Construct, id: string, props: TrailkeeperStackProps) {
    super(scope, id, props);
    // Validated first: a bad identity-provider setting fails synth before anything is built.
    this.oidc = oidcFromContext(this.node);

    this.events = new EventsTable(this, 'Events');
    this.control = new ControlTable(this, 'Control');
    this.secrets = new ServiceSecrets(this, 'Secrets');
    this.accessLogs = new AccessLogBucket(this, 'AccessLogs');
    this.archive = new Archive(this, 'Archive', { accessLogs: this.accessLogs.bucket });
    this.signingKey = new SigningKey(this, 'SigningKey');
    this.sessionKey = new SessionKey(this, 'SessionKey');
    this.deliveries = new Deliveries(this, 'Deliveries');
    const base = {
      deliveries: this.deliveries,
      events: this.events,
      control: this.control,
      secrets: this.secrets,
      archive: this.archive,
      signing: this.signingKey,
      sessionKey: this.sessionKey,
    };
    this.exports = new Exports(this, 'Exports', {
      resources: base,
      accessLogs: this.accessLogs.bucket,
      ...(props.emailFrom ? { emailFrom: props.emailFrom } : {}),
      ...(props.emailDomain ? { emailDomain: props.emailDomain } : {}),
    });
    const resources: ServiceResources = { ...base, exports: this.exports };
    const deliverer = this.deliveries.addDeliverer(resources);

    const domain = apiDomain(props);
    this.api = new Api(this, 'Api', { resources, ...(domain ? { domain } : {}) });
    this.streamConsumers = Object.fromEntries(
      functionsOfKind('stream').map(([name, definition]) => [
        name,
        new StreamConsumer(this, constructId(name), { definition, resources }),
      ]),
    ) as Record<FunctionNameOf<'stream'>, StreamConsumer>;
    this.jobs = Object.fromEntries(
      functionsOfKind('schedule').map(([name, definition]) => [
        name,
        new ServiceFunction(this, constructId(name), { definition, resources }),
      ]),
    ) as Record<ScheduledFunctionName, ServiceFunction>;
    const built: Partial<Record<FunctionName, ServiceFunction>> = {
      ...this.api.functions,
      [theFunctionOfKind('authorizer')[0]]: this.api.authorizerFunction,
      [theConsumerOf('exports')[0]]: this.exports.worker,
      [theConsumerOf('deliveries')[0]]: deliverer,
      ...Object.fromEntries(Object.entries(this.streamConsumers).map(([name, c]) => [name, c.function])),
      ...this.jobs,
    };
    const missing = FUNCTION_NAMES.filter((name) => built[name] === undefined);
    if (missing.length > 0) throw new Error(`no construct builds the function(s) ${missing.join(', ')}`);
    this.functions = built as Record<FunctionName, ServiceFunction>;
    if (this.oidc !== null) {
      for (const [name, value] of Object.entries(oidcEnvironment(this.oidc))) {
        this.api.authorizerFunction.fn.addEnvironment(name, value);
      }
    }
    const jobEntries = Object.entries(this.jobs) as [ScheduledFunctionName, ServiceFunction][];

    this.console = new Console(this, 'Console', {
      build: props.console,
      shell: this.functions.console,
      apiOriginDomain: this.api.originDomain,
      accessLogs: this.accessLogs.bucket,
    });

    // Every function builds links from one base URL, never from request headers: by default the
    // distribution, since a console link (`/console/t/<id>/`) works only there. Added once all
    // functions exist. No cycle: the distribution references the HttpApi resource (its id), which
    // depends on no function (its routes and integrations do), and a custom domain is a literal.
    this.publicUrl = props.publicUrl ? normalizePublicUrl(props.publicUrl) : this.console.url;
    for (const construct of this.node.findAll()) {
      if (construct instanceof ServiceFunction) construct.fn.addEnvironment(ENV.publicUrl, this.publicUrl);
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      functions: this.functions,
      eventsTable: this.events.table,
      controlTable: this.control.table,
      deadLetterQueues: {
        ...Object.fromEntries(
          functionsOfKind('stream').map(([name, definition]) => [
            constructId(name),
            {
              queue: this.streamConsumers[name].deadLetterQueue,
              description: definition.stream.deadLetterDescription,
            },
          ]),
        ),
        ...Object.fromEntries(
          jobEntries.flatMap(([name, job]) =>
            job.schedule
              ? [
                  [
                    `${constructId(name)}Schedule`,
                    {
                      queue: job.schedule.deadLetterQueue,
                      description: `EventBridge could not invoke the scheduled ${name} job: its runs are not happening.`,
                    },
                  ],
                ]
              : [],
          ),
        ),
        Deliveries: {
          queue: this.deliveries.deadLetterQueue,
          description:
            'A stream delivery message failed five times (the deliverer could not reach DynamoDB or SQS): the sweeper wakes the stream again within a minute; inspect the deliverer logs.',
        },
        ExportJobs: {
          queue: this.exports.deadLetterQueue,
          description:
            'An export job failed on every delivery and its export may be stuck in queued/running: inspect the dead-letter queue.',
        },
      },
      workQueues: {
        Deliveries: {
          queue: this.deliveries.queue,
          maxAge: DELIVERY_QUEUE_MAX_AGE,
          description: `A stream delivery message has waited over ${DELIVERY_QUEUE_MAX_AGE.toMinutes()} minutes: the stream deliverer is failing, throttled or at its concurrency cap, and every stream's deliveries are late.`,
        },
        ExportJobs: {
          queue: this.exports.queue,
          maxAge: EXPORT_QUEUE_MAX_AGE,
          description: `An export job has waited over ${EXPORT_QUEUE_MAX_AGE.toMinutes()} minutes: the export worker is failing, throttled or at its concurrency cap.`,
        },
      },
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.publicUrl,
      description: 'Base URL of the Trailkeeper API (what links in responses and emails start with)',
    });
    new CfnOutput(this, 'ConsoleUrl', {
      value: `${this.publicUrl}/console/t/<tenant_id>/`,
      description:
        "A tenant's audit log console (people arrive signed in through a viewer-session link, POST /v1/tenants/{tenant_id}/viewer-sessions)",
    });
    new CfnOutput(this, 'DistributionDomainName', {
      value: this.console.distribution.distributionDomainName,
      description:
        'The CloudFront distribution serving the API and the console (point a proxy or CNAME here)',
    });
    if (this.api.executeApiEndpointEnabled) {
      new CfnOutput(this, 'ExecuteApiUrl', {
        value: this.api.url,
        description:
          "The API's own execute-api URL: CloudFront's origin, still reachable directly without a custom domain (every non-public route stays behind the authorizer)",
      });
    }
    if (this.api.domainName) {
      new CfnOutput(this, 'ApiDomainTarget', {
        value: this.api.domainName.regionalDomainName,
        description: `Point ${domain?.name} at this name (CNAME, or a Route 53 alias with hosted zone ${this.api.domainName.regionalHostedZoneId})`,
      });
    }
    new CfnOutput(this, 'OperatorKeySecretArn', {
      value: this.secrets.secrets.operatorKey.secretArn,
      description:
        'Secrets Manager ARN of the operator key (aws secretsmanager get-secret-value --secret-id … --query SecretString --output text; rotate: npm run rotate -- operator-key --secret-id …)',
    });
    new CfnOutput(this, 'CursorKeySecretArn', {
      value: this.secrets.secrets.cursorKey.secretArn,
      description:
        'Secrets Manager ARN of the cursor key (rotate: npm run rotate -- cursor-key --secret-id …)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'ExportsBucketName', { value: this.exports.bucket.bucketName });
    new CfnOutput(this, 'ExportQueueUrl', { value: this.exports.queue.queueUrl });
    new CfnOutput(this, 'ArchiveBucketName', {
      value: this.archive.bucket.bucketName,
      description: `Object Lock archive (${this.archive.settings.lockMode}, ${this.archive.settings.retentionDays} days)`,
    });
    new CfnOutput(this, 'ArchiveStagingBucketName', { value: this.archive.stagingBucket.bucketName });
    new CfnOutput(this, 'ArchiveKeyArn', {
      value: this.archive.key.keyArn,
      description: 'KMS key encrypting the archive: whoever reads the archive needs kms:Decrypt on it',
    });
    new CfnOutput(this, 'SigningKeyArn', {
      value: this.signingKey.key.keyArn,
      description: `KMS key (ECC_NIST_P256, ${this.signingKey.alias.aliasName}) signing the integrity digests; its public key is served at GET /v1/integrity/public-key (or: aws kms get-public-key --key-id …)`,
    });
    new CfnOutput(this, 'SessionKeyArn', {
      value: this.sessionKey.key.keyArn,
      description: `KMS key (ECC_NIST_P256, ${this.sessionKey.alias.aliasName}, generation ${this.sessionKey.generation}) signing viewer-session tokens; to rotate, see the README`,
    });
    const { identity } = this.exports.sender;
    new CfnOutput(this, 'EmailSender', {
      value: this.exports.emailFrom,
      description:
        identity.kind === 'domain'
          ? `Export emails come from this address. Publish the DkimRecord outputs in ${identity.name}'s DNS to verify it in SES. SES starts in sandbox mode (verified recipients only, 200/day): request production access before tenants rely on export emails.`
          : `Export emails come from this address. SES mailed a verification link to ${identity.name}: click it, or no export email is sent. SES starts in sandbox mode (verified recipients only, 200/day): request production access before tenants rely on export emails.`,
    });
    this.exports.dkimRecords.forEach((record, index) => {
      new CfnOutput(this, `DkimRecord${index + 1}`, {
        value: `${record.name} CNAME ${record.value}`,
        description: `DKIM record ${index + 1} of 3 for the SES domain identity ${identity.name}`,
      });
    });
  }
}
