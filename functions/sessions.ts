/**
 * POST /v1/sessions: a viewer session's one-time code exchanged for its session token. Thin
 * adapter over shared/usecases/sessions.ts; the only function that signs with the session key.
 */
import { dynamoDocumentClient, requiredEnv } from '#shared/adapters/clients.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { sessionSignerFromEnv } from '#shared/adapters/session-keys.ts';
import { DynamoSessionStore } from '#shared/adapters/session-store.ts';
import { ENV } from '#shared/config/env.ts';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { exchangeCode } from '#shared/usecases/sessions.ts';

const deps = {
  control: controlStore(),
  sessions: new DynamoSessionStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable)),
  signer: sessionSignerFromEnv,
  now: () => Date.now(),
};

export const handler = createApiHandler('sessions', {
  'POST /v1/sessions': async (r) => json(201, await exchangeCode(deps, r.body)),
});
