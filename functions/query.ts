/**
 * GET /v1/events and GET /v1/events/{id}, for tenant keys (`events:read`) and people whose role
 * may view (a team admin within their teams); GET /v1/feed, the polling feed in `received_at`
 * order, for tenant keys only (a SIEM's credential, never a viewer session). Every read of events is itself audited: an
 * `audit_log.viewed` event, with the key or the person as actor, lands in the same tenant's
 * trail before the answer leaves. The store registers the actions of those events (for
 * GET /v1/actions) and, like every store, their kinds.
 */
import { registeringEventStore } from '#shared/adapters/action-wiring.ts';
import { feedSource, feedWatermarkLagMs } from '#shared/adapters/feed-source.ts';
import { cursorCodec } from '#shared/adapters/secret-wiring.ts';
import { kindRegistry, redactor } from '#shared/adapters/wiring.ts';
import {
  createApiHandler,
  type ReaderRequirement,
  requireKey,
  requireReader,
} from '#shared/http/middleware.ts';
import { json } from '#shared/http/responses.ts';
import { getEvent, listEvents, recordAccess } from '#shared/usecases/events.ts';
import { readFeed } from '#shared/usecases/feed.ts';

const deps = {
  store: registeringEventStore(),
  // The planner's kinds and actor emails (the store registers those of its own events).
  kinds: kindRegistry(),
  redact: redactor(),
  now: () => Date.now(),
};
const feed = { feed: feedSource(), watermarkLagMs: feedWatermarkLagMs() };
const READ: ReaderRequirement = { scopes: ['events:read'], permission: 'view' };

export const handler = createApiHandler('query', {
  'GET /v1/events': async (request) => {
    const reader = requireReader(request, READ);
    const page = await listEvents({ ...deps, cursors: await cursorCodec() }, reader, request.query);
    request.annotate({ returned: page.data.length, read_units: page.readUnits });
    const { cursor: _cursor, ...filters } = request.query;
    await recordAccess(
      deps,
      reader,
      'audit_log.viewed',
      { filters, returned: page.data.length },
      request.requestId,
    );
    return json(200, { data: page.data, next_cursor: page.next_cursor, scanned_until: page.scanned_until });
  },
  'GET /v1/events/{id}': async (request) => {
    const reader = requireReader(request, READ);
    const event = await getEvent(deps, reader, request.params.id);
    await recordAccess(deps, reader, 'audit_log.viewed', { event_id: event.id }, request.requestId);
    return json(200, event);
  },
  'GET /v1/feed': async (request) => {
    const reader = requireKey(request, 'events:read');
    const page = await readFeed(
      { ...feed, cursors: await cursorCodec(), now: deps.now },
      reader,
      request.query,
    );
    request.annotate({ returned: page.data.length });
    // Audited when a chain of cursors starts and then hourly, not on every poll (see readFeed).
    if (page.audit !== null)
      await recordAccess(
        deps,
        reader,
        'audit_log.viewed',
        { ...page.audit, returned: page.data.length },
        request.requestId,
      );
    return json(200, { data: page.data, next_cursor: page.next_cursor, watermark: page.watermark });
  },
});
