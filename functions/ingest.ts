/**
 * POST /v1/events — one event, or a batch of up to 100. Thin adapter over ingestEvents.
 */
import { eventStore, redactor } from '#shared/adapters/wiring.ts';
import { createApiHandler, requireKey } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { ingestEvents } from '#shared/usecases/events.ts';

const deps = { store: eventStore(), redact: redactor(), now: () => Date.now() };

export const handler = createApiHandler({
  'POST /v1/events': async (request) => {
    const principal = requireKey(request, 'events:write');
    const outcome = await ingestEvents(deps, principal, request.body);
    const created = outcome.results.filter((r) => r.created).length;
    request.annotate({ events: outcome.results.length, created });
    const [first] = outcome.results;
    if (outcome.kind === 'single' && first !== undefined) return json(first.created ? 201 : 200, first.event);
    return json(201, { data: outcome.results.map((r) => r.event) });
  },
});
