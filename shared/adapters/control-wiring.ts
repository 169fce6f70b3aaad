/**
 * Production wiring of the control plane (tenants, keys, operator key), built once per container
 * from the environment. Kept apart from wiring.ts so the authorizer bundles none of the event
 * model (zod, compression, the query planner).
 */
import { ENV } from '../config/env.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoControlStore } from './control-store.ts';
import { loadSecret } from './secrets.ts';

export const controlStore = () =>
  new DynamoControlStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
export const operatorKey = () => loadSecret(ENV.operatorKeySecretArn, ENV.operatorKey);
