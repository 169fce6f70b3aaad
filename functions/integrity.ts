/**
 * GET /v1/integrity/public-key (public), GET /v1/integrity/digests and GET /v1/events/{id}/proof
 * (`events:read`, or a person whose role may view: digests only for roles that see the whole
 * workspace, proofs only of events within a team admin's teams). Thin adapter over
 * shared/usecases/integrity.ts.
 */
import { digestStore } from '#shared/adapters/integrity-wiring.ts';
import { signerFromEnv } from '#shared/adapters/signer.ts';
import { eventStore } from '#shared/adapters/wiring.ts';
import { createApiHandler, requireReader } from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { listDigests, proveEvent, publicKey } from '#shared/usecases/integrity.ts';

const base = { store: eventStore(), digests: digestStore(), now: () => Date.now() };
const deps = async () => ({ ...base, signer: await signerFromEnv() });

export const handler = createApiHandler('integrity', {
  'GET /v1/integrity/public-key': async () => json(200, await publicKey(await deps())),
  'GET /v1/integrity/digests': async (request) => {
    const reader = requireReader(request, {
      scopes: ['events:read'],
      permission: 'view',
      wholeWorkspace: true,
    });
    return json(200, await listDigests(await deps(), reader, request.query));
  },
  'GET /v1/events/{id}/proof': async (request) => {
    const reader = requireReader(request, { scopes: ['events:read'], permission: 'view' });
    return json(200, await proveEvent(await deps(), reader, request.params.id));
  },
});
