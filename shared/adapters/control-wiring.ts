/**
 * Production wiring of the control plane (tenants, keys), built once per container from the
 * environment. Kept apart from wiring.ts so the authorizer bundles none of the event model (zod,
 * compression, the query planner); the operator key is in secret-wiring.ts.
 */
import { ENV } from '../config/env.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { DynamoControlStore } from './control-store.ts';

export const controlStore = () =>
  new DynamoControlStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));
