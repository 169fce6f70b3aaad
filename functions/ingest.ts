/**
 * POST /v1/events — one event, or a batch of up to 100. Thin adapter over ingestEvents:
 * 201 when anything was stored, 200 for a pure replay (SPEC "Idempotent replay"). The store
 * registers each new action in the action registry (for `GET /v1/actions`).
 */
import { registeringEventStore } from '#shared/adapters/action-wiring.ts';
import { redactor } from '#shared/adapters/wiring.ts';
import { createApiHandler, requireKey } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { ingestEvents } from '#shared/usecases/events.ts';

const deps = { store: registeringEventStore(), redact: redactor(), now: () => Date.now() };

export const handler = createApiHandler('ingest', {
  'POST /v1/events': async (request) => {
    const principal = requireKey(request, 'events:write');
    const outcome = await ingestEvents(deps, principal, request.body);
    request.annotate({ events: outcome.data.length, created: outcome.created });
    const status = outcome.created > 0 ? 201 : 200;
    return json(status, outcome.kind === 'single' ? outcome.data[0] : { data: outcome.data });
  },
});
