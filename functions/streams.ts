/**
 * The streams API: /v1/streams[...] (SPEC, "Streams and alerts"). Thin adapter over
 * shared/usecases/streams.ts; the test delivery's POST is postGuarded under the deployment's
 * network policy (checked at cold start: a bad value fails it, rather than guess).
 */
import { registeringEventStore } from '#shared/adapters/action-wiring.ts';
import { controlStore } from '#shared/adapters/control-wiring.ts';
import { deliveryQueue, streamRecords } from '#shared/adapters/delivery-wiring.ts';
import { DeliveryError, postGuarded } from '#shared/adapters/guarded-http.ts';
import { secretBoxFromEnv } from '#shared/adapters/secret-box.ts';
import { redactor } from '#shared/adapters/wiring.ts';
import { networkPolicyFromEnv } from '#shared/domain/network-policy.ts';
import { createApiHandler } from '#shared/http/middleware.ts';
import { json, noContent } from '#shared/http/responses.ts';
import type { DestinationPost } from '#shared/usecases/ports/streams.ts';
import {
  createStream,
  deleteStream,
  getStream,
  listStreams,
  replayStream,
  rotateStreamSecret,
  testStream,
  updateStream,
} from '#shared/usecases/streams.ts';

const policy = networkPolicyFromEnv(process.env);

/** One guarded POST; no answer (refused address, DNS, TLS, timeout) is the receiver's error, not ours. */
const post: DestinationPost = async (request) => {
  try {
    const answer = await postGuarded(request, { policy });
    return { status: answer.status, body: answer.body };
  } catch (error) {
    if (error instanceof DeliveryError) return { error: `${error.kind}: ${error.message}` };
    throw error;
  }
};

const deps = {
  streams: streamRecords(),
  control: controlStore(),
  store: registeringEventStore(),
  redact: redactor(),
  // Opened lazily: the key file or KMS client is set up on the first seal or open.
  box: {
    seal: async (plaintext: string, context: Readonly<Record<string, string>>) =>
      (await secretBoxFromEnv()).seal(plaintext, context),
    open: async (sealed: string, context: Readonly<Record<string, string>>) =>
      (await secretBoxFromEnv()).open(sealed, context),
  },
  queue: deliveryQueue(),
  policy,
  post,
  now: () => Date.now(),
};

export const handler = createApiHandler('streams', {
  'POST /v1/streams': async (r) => {
    const created = await createStream(deps, r.principal, r.body, r.requestId);
    r.annotate({ stream_id: created.id, stream_type: created.type });
    return json(201, created);
  },
  'GET /v1/streams': async (r) => json(200, await listStreams(deps, r.principal)),
  'GET /v1/streams/{id}': async (r) => json(200, await getStream(deps, r.principal, r.params.id)),
  'PATCH /v1/streams/{id}': async (r) =>
    json(200, await updateStream(deps, r.principal, r.params.id, r.body, r.requestId)),
  'DELETE /v1/streams/{id}': async (r) => {
    await deleteStream(deps, r.principal, r.params.id, r.requestId);
    return noContent();
  },
  'POST /v1/streams/{id}/test': async (r) => {
    const result = await testStream(deps, r.principal, r.params.id);
    r.annotate({ stream_id: r.params.id, receiver_status: result.receiver_status ?? 0 });
    return json(200, result);
  },
  'POST /v1/streams/{id}/replay': async (r) =>
    json(202, await replayStream(deps, r.principal, r.params.id, r.body, r.requestId)),
  'POST /v1/streams/{id}/rotate-secret': async (r) =>
    json(201, await rotateStreamSecret(deps, r.principal, r.params.id, r.requestId)),
});
