/**
 * Tenants, API keys and viewer sessions: /v1/tenants[...]. Thin adapter over
 * shared/usecases/admin.ts and sessions.ts.
 */

import { registeringEventStore } from '#shared/adapters/action-wiring.ts';
import { dynamoDocumentClient, requiredEnv } from '#shared/adapters/clients.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { DynamoSessionStore } from '#shared/adapters/session-store.ts';
import { redactor } from '#shared/adapters/wiring.ts';
import { ENV } from '#shared/config/env.ts';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json, noContent } from '#shared/http/responses.ts';
import {
  createKey,
  createTenant,
  getTenant,
  listKeys,
  revokeKey,
  updateTenant,
} from '#shared/usecases/admin.ts';
import { mintSession, revokeSessions } from '#shared/usecases/sessions.ts';

const deps = {
  control: controlStore(),
  store: registeringEventStore(),
  redact: redactor(),
  now: () => Date.now(),
  sessions: new DynamoSessionStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable)),
};

export const handler = createApiHandler('admin', {
  'POST /v1/tenants': async (r) => json(201, await createTenant(deps, r.principal, r.body)),
  'GET /v1/tenants/{tenant_id}': async (r) =>
    json(200, await getTenant(deps, r.principal, r.params.tenant_id)),
  'PATCH /v1/tenants/{tenant_id}': async (r) =>
    json(200, await updateTenant(deps, r.principal, r.params.tenant_id, r.body, r.requestId)),
  'POST /v1/tenants/{tenant_id}/keys': async (r) =>
    json(201, await createKey(deps, r.principal, r.params.tenant_id, r.body, r.requestId)),
  'GET /v1/tenants/{tenant_id}/keys': async (r) =>
    json(200, await listKeys(deps, r.principal, r.params.tenant_id)),
  'DELETE /v1/tenants/{tenant_id}/keys/{key_id}': async (r) => {
    await revokeKey(deps, r.principal, r.params.tenant_id, r.params.key_id, r.requestId);
    return noContent();
  },
  'POST /v1/tenants/{tenant_id}/viewer-sessions': async (r) =>
    json(201, await mintSession(deps, r.principal, r.params.tenant_id, r.body, r.baseUrl, r.requestId)),
  'DELETE /v1/tenants/{tenant_id}/viewer-sessions': async (r) => {
    await revokeSessions(deps, r.principal, r.params.tenant_id, r.query, r.requestId);
    return noContent();
  },
});
