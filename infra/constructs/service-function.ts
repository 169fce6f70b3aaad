/**
 * One Lambda function of Trailkeeper, built from its manifest entry (shared/config/manifest.ts):
 * the runtime/bundling defaults every handler shares, its own log group and role, its environment,
 * the IAM grants its definition asks for — nothing more — and, for a `schedule` function,
 * its EventBridge schedule (schedule.ts). Scheduled jobs reserve no concurrency unless the
 * deployment opts in (RESERVE_CONCURRENCY_CONTEXT).
 */
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, POWERTOOLS_ENV } from '#shared/config/env.ts';
import type { FunctionDefinition } from '#shared/config/manifest.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/observability.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import { type ArchiveResources, archiveEnvironment, grantArchiveAccess } from './archive-access.ts';
import { HANDLER_BUNDLING, HANDLER_NODE_OPTIONS } from './bundling.ts';
import { contextFlag } from './context.ts';
import type { ControlTable } from './control-table.ts';
import { type DeliveryResources, deliveryEnvironment, grantDeliveryAccess } from './delivery-access.ts';
import type { EventsTable } from './events-table.ts';
import { type ExportResources, exportEnvironment, grantExportAccess } from './export-access.ts';
import { FunctionSchedule } from './schedule.ts';
import type { ServiceSecrets } from './service-secrets.ts';
import {
  grantSessionKeyAccess,
  type SessionKeyResources,
  sessionKeyEnvironment,
} from './session-key-access.ts';
import { grantSigningAccess, type SigningResources, signingEnvironment } from './signing-access.ts';
import {
  grantActionListing,
  grantActionRegistration,
  grantControlAccess,
  grantEventsAccess,
  grantKindReading,
  grantKindRegistration,
  grantSessionCodeConsumption,
} from './table-access.ts';

/** A function's construct id: its manifest name, capitalised (`archiveCompactor` → `ArchiveCompactor`). */
export const constructId = (name: string): string => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** Manifest entries are relative to the repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * CDK context flag (`cdk deploy -c reserveConcurrency=true`) that reserves one concurrent
 * execution for each scheduled job. Off by default: Lambda keeps at least 100 executions of the
 * account's quota unreserved, so on a new account with a low quota (often 10) any reservation
 * fails the deployment. Overlapping runs are safe without it (see schedule.ts for each job): the
 * retention worker leases each job, the sealer extends a tenant's chain only by conditional,
 * create-only writes, and the compactor and the integrity scan redo idempotent work. With it on,
 * the account needs a quota of at least 100 + one per scheduled job.
 */
export const RESERVE_CONCURRENCY_CONTEXT = 'reserveConcurrency';

/** Service name and metrics namespace for Powertools (the metric alarms of monitoring.ts depend on both). */
export { METRICS_NAMESPACE, SERVICE_NAME };

/** Everything a function may be granted access to; which parts it gets is up to its definition. */
export interface ServiceResources {
  readonly events: EventsTable;
  readonly control: ControlTable;
  readonly secrets: ServiceSecrets;
  readonly exports: ExportResources;
  readonly archive: ArchiveResources;
  readonly signing: SigningResources;
  readonly sessionKey: SessionKeyResources;
  readonly deliveries: DeliveryResources;
}

export interface ServiceFunctionProps {
  readonly definition: FunctionDefinition;
  readonly resources: ServiceResources;
}

const redactKeysEnv = (value: unknown): Record<string, string> =>
  typeof value === 'string' && value !== '' ? { [ENV.redactKeys]: value } : {};

export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: IRole;
  readonly logGroup: LogGroup;
  /** The EventBridge schedule of a `schedule` function (absent otherwise). */
  readonly schedule?: FunctionSchedule;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { definition, resources } = props;

    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });

    // Own role without AWSLambdaBasicExecutionRole: that managed policy may write to any log
    // group in the account; this one may only write to its own.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the Trailkeeper ${id} function`,
    });
    this.logGroup.grantWrite(role);
    this.role = role;

    this.fn = new NodejsFunction(this, 'Function', {
      description: definition.description,
      entry: `${REPO_ROOT}${definition.entry}`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMiB,
      timeout: Duration.seconds(definition.timeoutSeconds),
      // Opt-in only (see RESERVE_CONCURRENCY_CONTEXT): the jobs' own leases and conditional
      // writes keep two overlapping runs from doing the same work twice.
      ...(definition.kind === 'schedule' && contextFlag(this.node, RESERVE_CONCURRENCY_CONTEXT)
        ? { reservedConcurrentExecutions: 1 }
        : {}),
      role,
      logGroup: this.logGroup,
      environment: {
        [EVENTS_TABLE.envVar]: resources.events.table.tableName,
        [CONTROL_TABLE.envVar]: resources.control.table.tableName,
        ...resources.secrets.environmentFor(definition.secrets),
        ...exportEnvironment(resources.exports, definition),
        ...archiveEnvironment(resources.archive, definition),
        ...signingEnvironment(resources.signing, definition),
        ...sessionKeyEnvironment(resources.sessionKey, definition),
        ...deliveryEnvironment(resources.deliveries, definition),
        [POWERTOOLS_ENV.serviceName]: SERVICE_NAME,
        [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
        NODE_OPTIONS: [...HANDLER_NODE_OPTIONS, ...(definition.nodeFlags ?? [])].join(' '),
        // Extra secret-looking key names to redact (`cdk deploy -c redactKeys=iban,ssn`).
        ...redactKeysEnv(this.node.tryGetContext('redactKeys')),
      },
      bundling: HANDLER_BUNDLING,
    });

    grantEventsAccess(role, resources.events, definition.events);
    grantControlAccess(role, resources.control, definition.control);
    if (definition.sessionCodes === 'consume') grantSessionCodeConsumption(role, resources.control);
    if (definition.actionRegistry === 'register') grantActionRegistration(role, resources.control);
    if (definition.actionRegistry === 'list') grantActionListing(role, resources.control);
    const kinds = definition.kindRegistry;
    if (kinds === 'register' || kinds === 'register-read') grantKindRegistration(role, resources.control);
    if (kinds === 'read' || kinds === 'register-read') grantKindReading(role, resources.control);
    for (const name of definition.secrets) resources.secrets.secrets[name].grantRead(role);
    grantExportAccess(role, resources.exports, definition);
    grantArchiveAccess(role, resources.archive, definition);
    grantSigningAccess(role, resources.signing, definition);
    grantSessionKeyAccess(role, resources.sessionKey, definition);
    grantDeliveryAccess(role, resources.deliveries, definition);

    if (definition.kind === 'schedule') {
      // A deployment may change a job's rate (`cdk deploy -c sealEveryMinutes=10`).
      const { contextKey, rateMinutes } = definition.schedule;
      const override: unknown = contextKey === undefined ? undefined : this.node.tryGetContext(contextKey);
      this.schedule = new FunctionSchedule(this, 'Schedule', {
        fn: this.fn,
        rateMinutes: override === undefined ? rateMinutes : Number(override),
      });
    }
  }
}
