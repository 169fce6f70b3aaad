/**
 * The alerts API: /v1/alerts[...] (SPEC, "Streams and alerts"). Thin adapter over
 * shared/usecases/alerts.ts; URLs are checked under the deployment's network policy (read at cold
 * start: a bad value fails it, rather than guess).
 */
import { registeringEventStore } from '#shared/adapters/action-wiring.ts';
import { alertStore } from '#shared/adapters/alert-wiring.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { secretBoxFromEnv } from '#shared/adapters/secret-box.ts';
import { redactor } from '#shared/adapters/wiring.ts';
import { networkPolicyFromEnv } from '#shared/domain/network-policy.ts';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json, noContent } from '#shared/http/responses.ts';
import { createAlert, deleteAlert, getAlert, listAlerts, updateAlert } from '#shared/usecases/alerts.ts';

const deps = {
  alerts: alertStore(),
  control: controlStore(),
  store: registeringEventStore(),
  redact: redactor(),
  // Opened lazily: the key file or KMS client is set up on the first seal.
  box: {
    seal: async (plaintext: string, context: Readonly<Record<string, string>>) =>
      (await secretBoxFromEnv()).seal(plaintext, context),
    open: async (sealed: string, context: Readonly<Record<string, string>>) =>
      (await secretBoxFromEnv()).open(sealed, context),
  },
  policy: networkPolicyFromEnv(process.env),
  now: () => Date.now(),
};

export const handler = createApiHandler('alerts', {
  'POST /v1/alerts': async (r) => {
    const created = await createAlert(deps, r.principal, r.body, r.requestId);
    r.annotate({ alert_id: created.id });
    return json(201, created);
  },
  'GET /v1/alerts': async (r) => json(200, await listAlerts(deps, r.principal)),
  'GET /v1/alerts/{id}': async (r) => json(200, await getAlert(deps, r.principal, r.params.id)),
  'PATCH /v1/alerts/{id}': async (r) =>
    json(200, await updateAlert(deps, r.principal, r.params.id, r.body, r.requestId)),
  'DELETE /v1/alerts/{id}': async (r) => {
    await deleteAlert(deps, r.principal, r.params.id, r.requestId);
    return noContent();
  },
});
