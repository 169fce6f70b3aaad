/**
 * GET /v1/actions?prefix= — the distinct actions of the events the caller may see, sorted, for the
 * console's suggestions: tenant keys with `events:read` and people whose role may view (a team
 * admin: their teams' actions only). Reads the action registry, never the events table; it names
 * actions only, so it is not audited like a read of events.
 */
import { actionRegistry } from '#shared/adapters/action-wiring.ts';
import { createApiHandler, requireReader } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { listActions } from '#shared/usecases/actions.ts';

const deps = { registry: actionRegistry() };

export const handler = createApiHandler('actions', {
  'GET /v1/actions': async (request) => {
    const reader = requireReader(request, { scopes: ['events:read'], permission: 'view' });
    const list = await listActions(deps, reader, request.query);
    request.annotate({ returned: list.data.length });
    return json(200, list);
  },
});
