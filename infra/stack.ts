/**
 * The Trailkeeper stack: wires the constructs together (tables, secrets, access logs, exports,
 * API, stream monitor, monitoring) and exports what an operator needs after `cdk deploy`.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AccessLogBucket } from './constructs/access-log-bucket.ts';
import { Api } from './constructs/api.ts';
import { ControlTable } from './constructs/control-table.ts';
import { EventsTable } from './constructs/events-table.ts';
import { Exports, type SenderOptions } from './constructs/exports.ts';
import { Monitoring } from './constructs/monitoring.ts';
import type { ServiceResources } from './constructs/service-function.ts';
import { ServiceSecrets } from './constructs/service-secrets.ts';
import { StreamMonitor } from './constructs/stream-monitor.ts';

/** A queued export that has waited this long means the worker is failing or starved. */
export const EXPORT_QUEUE_MAX_AGE = Duration.minutes(30);

export interface TrailkeeperStackProps extends StackProps, SenderOptions {
  /** E-mail address subscribed to the alarm topic (context `alarmEmail`). */
  readonly alarmEmail?: string;
}

export class TrailkeeperStack extends Stack {
  readonly events: EventsTable;
  readonly control: ControlTable;
  readonly secrets: ServiceSecrets;
  readonly accessLogs: AccessLogBucket;
  readonly exports: Exports;
  readonly api: Api;
  readonly streamMonitor: StreamMonitor;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: TrailkeeperStackProps = {}) {
    super(scope, id, props);

    this.events = new EventsTable(this, 'Events');
    this.control = new ControlTable(this, 'Control');
    this.secrets = new ServiceSecrets(this, 'Secrets');
    this.accessLogs = new AccessLogBucket(this, 'AccessLogs');
    const tables = { events: this.events, control: this.control, secrets: this.secrets };
    this.exports = new Exports(this, 'Exports', {
      resources: tables,
      accessLogs: this.accessLogs.bucket,
      ...(props.emailFrom ? { emailFrom: props.emailFrom } : {}),
      ...(props.emailDomain ? { emailDomain: props.emailDomain } : {}),
    });
    const resources: ServiceResources = { ...tables, exports: this.exports };

    this.api = new Api(this, 'Api', { resources });
    this.streamMonitor = new StreamMonitor(this, 'StreamMonitor', { resources });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      functions: {
        ...Object.fromEntries(Object.entries(this.api.functions).map(([name, fn]) => [name, fn.fn])),
        authorizer: this.api.authorizerFunction.fn,
        streamMonitor: this.streamMonitor.monitorFunction.fn,
        exportWorker: this.exports.worker.fn,
      },
      eventsTable: this.events.table,
      deadLetterQueues: {
        StreamMonitor: {
          queue: this.streamMonitor.deadLetterQueue,
          description: 'Stream batches the tamper monitor could not process: those changes are unchecked.',
        },
        ExportJobs: {
          queue: this.exports.deadLetterQueue,
          description:
            'An export job failed on every delivery and its export may be stuck in queued/running: inspect the dead-letter queue.',
        },
      },
      workQueues: {
        ExportJobs: {
          queue: this.exports.queue,
          maxAge: EXPORT_QUEUE_MAX_AGE,
          description: `An export job has waited over ${EXPORT_QUEUE_MAX_AGE.toMinutes()} minutes: the export worker is failing, throttled or at its concurrency cap.`,
        },
      },
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the Trailkeeper API' });
    new CfnOutput(this, 'OperatorKeySecretArn', {
      value: this.secrets.secrets.operatorKey.secretArn,
      description:
        'Secrets Manager ARN of the operator key (aws secretsmanager get-secret-value --secret-id …)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'ExportsBucketName', { value: this.exports.bucket.bucketName });
    new CfnOutput(this, 'ExportQueueUrl', { value: this.exports.queue.queueUrl });
    const { identity } = this.exports.sender;
    new CfnOutput(this, 'EmailSender', {
      value: this.exports.emailFrom,
      description:
        identity.kind === 'domain'
          ? `Export emails come from this address. Publish the DkimRecord outputs in ${identity.name}'s DNS to verify it in SES. SES starts in sandbox mode (verified recipients only, 200/day): request production access before tenants rely on export emails.`
          : `Export emails come from this address. SES mailed a verification link to ${identity.name}: click it, or no export email is sent (deploy with -c emailFrom=… or -c emailDomain=…). SES starts in sandbox mode (verified recipients only, 200/day): request production access before tenants rely on export emails.`,
    });
    this.exports.dkimRecords.forEach((record, index) => {
      new CfnOutput(this, `DkimRecord${index + 1}`, {
        value: `${record.name} CNAME ${record.value}`,
        description: `DKIM record ${index + 1} of 3 for the SES domain identity ${identity.name}`,
      });
    });
  }
}
