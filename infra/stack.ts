/**
 * The Trailkeeper stack: wires the constructs together (tables, secrets, API, stream monitor,
 * monitoring) and exports what an operator needs after `cdk deploy`.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Api } from './constructs/api.ts';
import { ControlTable } from './constructs/control-table.ts';
import { EventsTable } from './constructs/events-table.ts';
import { Monitoring } from './constructs/monitoring.ts';
import type { ServiceResources } from './constructs/service-function.ts';
import { ServiceSecrets } from './constructs/service-secrets.ts';
import { StreamMonitor } from './constructs/stream-monitor.ts';

export interface TrailkeeperStackProps extends StackProps {
  /** E-mail address subscribed to the alarm topic (context `alarmEmail`). */
  readonly alarmEmail?: string;
}

export class TrailkeeperStack extends Stack {
  readonly events: EventsTable;
  readonly control: ControlTable;
  readonly secrets: ServiceSecrets;
  readonly api: Api;
  readonly streamMonitor: StreamMonitor;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: TrailkeeperStackProps = {}) {
    super(scope, id, props);

    this.events = new EventsTable(this, 'Events');
    this.control = new ControlTable(this, 'Control');
    this.secrets = new ServiceSecrets(this, 'Secrets');
    const resources: ServiceResources = { events: this.events, control: this.control, secrets: this.secrets };

    this.api = new Api(this, 'Api', { resources });
    this.streamMonitor = new StreamMonitor(this, 'StreamMonitor', { resources });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      functions: {
        ...Object.fromEntries(Object.entries(this.api.functions).map(([name, fn]) => [name, fn.fn])),
        authorizer: this.api.authorizerFunction.fn,
        streamMonitor: this.streamMonitor.monitorFunction.fn,
      },
      eventsTable: this.events.table,
      streamDeadLetterQueue: this.streamMonitor.deadLetterQueue,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the Trailkeeper API' });
    new CfnOutput(this, 'OperatorKeySecretArn', {
      value: this.secrets.secrets.operatorKey.secretArn,
      description:
        'Secrets Manager ARN of the operator key (aws secretsmanager get-secret-value --secret-id …)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
  }
}
