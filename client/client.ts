/**
 * TrailkeeperClient: one method per route of the API, grouped as the README groups them
 * (events, integrity, tenants, keys, exports, health), plus the two workflows every caller
 * otherwise writes by hand: following cursors to the end, and waiting for an asynchronous export.
 *
 * Ingest is made safe to retry: every event without an `id` gets one before the first attempt,
 * so a batch sent again after a lost answer is a replay (200), never a second copy.
 */
import {
  ExportFailedError,
  ExportTimeoutError,
  type RequestTarget,
  TrailkeeperError,
  TrailkeeperResponseError,
} from './errors.ts';
import { newClientEventId } from './ids.ts';
import type {
  CreateExportInput,
  CreateKeyInput,
  CreateTenantInput,
  CreateViewerSessionInput,
  DigestsQuery,
  EventFilters,
  EventInput,
  FeedQuery,
  FollowOptions,
  ListEventsQuery,
  UpdateTenantInput,
} from './inputs.ts';
import {
  type ApiAnswer,
  type ApiRequest,
  type RequestOptions,
  Transport,
  type TransportOptions,
} from './transport.ts';
import type {
  ActionList,
  ApiKey,
  ApiKeyList,
  CreatedApiKey,
  DigestPage,
  EventPage,
  Export,
  ExportDownload,
  FeedPage,
  Health,
  InclusionProof,
  IngestBatchBody,
  IngestedEvent,
  PublicKey,
  SessionToken,
  SignedDigest,
  StoredEvent,
  Tenant,
  ViewerSession,
} from './types.ts';

export interface TrailkeeperClientOptions extends TransportOptions {
  /** Makes the ids of events sent without one (default: lower-case ULIDs). */
  newEventId?: () => string;
}

/** An event with the id it is sent under. */
export type IdentifiedEvent = EventInput & { id: string };

/** A batch ready to send: ids assigned and the body serialised, once, before any attempt. */
export interface PreparedBatch {
  readonly events: readonly IdentifiedEvent[];
  readonly body: string;
}

export interface SendResult {
  /** 201 when stored now; 200 when it was a replay of an event already stored with the same content. */
  status: 200 | 201;
  replayed: boolean;
  /** The stored event; `{id, duplicate: true}` for a replay answered to a key without `events:read`. */
  event: IngestedEvent;
}

export interface BatchResult {
  /** 201 when anything was stored now; 200 when the whole batch was a replay. */
  status: 200 | 201;
  replayed: boolean;
  /** One entry per event sent, in order. */
  data: IngestedEvent[];
}

export interface WaitForExportOptions extends RequestOptions {
  /** Between two reads of the export. Default 2 s. */
  intervalMs?: number;
  /** Give up (ExportTimeoutError) after this long. Default 10 minutes. */
  timeoutMs?: number;
}

const enc = encodeURIComponent;

const listText = (value: string | readonly string[] | undefined): string | undefined =>
  value === undefined ? undefined : typeof value === 'string' ? value : value.join(',');

const boolText = (value: boolean | 'true' | 'false' | undefined): 'true' | 'false' | undefined =>
  value === undefined ? undefined : value === true || value === 'true' ? 'true' : 'false';

/** Filters as the API reads them: lists comma-separated, booleans as `true`/`false`. */
const filterFields = (filters: EventFilters) => ({
  ...filters,
  action: listText(filters.action),
  exclude_action: listText(filters.exclude_action),
  impersonated: boolText(filters.impersonated),
});

const queryOf = (query: ListEventsQuery): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(filterFields(query))) {
    if (value !== undefined) out[name] = String(value);
  }
  return out;
};

const statusOf = (answer: ApiAnswer<unknown>, target: () => RequestTarget): 200 | 201 => {
  if (answer.status === 200 || answer.status === 201) return answer.status;
  throw new TrailkeeperResponseError(target(), answer.status, `unexpected status ${answer.status}`);
};

export class TrailkeeperClient {
  readonly transport: Transport;
  /** Private (it holds the key): never shown when the client is logged or inspected. */
  readonly #options: TrailkeeperClientOptions;
  private readonly newEventId: () => string;

  constructor(options: TrailkeeperClientOptions) {
    this.#options = options;
    this.transport = new Transport(options);
    this.newEventId = options.newEventId ?? (() => newClientEventId(this.transport.now()));
  }

  /** The same client (base URL, fetch, retries, clock) with another credential. */
  withApiKey(apiKey: string): TrailkeeperClient {
    return new TrailkeeperClient({ ...this.#options, apiKey });
  }

  /**
   * Any route, for those this client has no method for yet. `body` is serialised as JSON;
   * `idempotent` says whether a lost answer may be retried (default: GET and DELETE).
   */
  async request<T = unknown>(request: {
    method: ApiRequest['method'];
    path: string;
    query?: Record<string, string | undefined>;
    body?: unknown;
    auth?: boolean;
    idempotent?: boolean;
    signal?: AbortSignal;
  }): Promise<ApiAnswer<T>> {
    const { body, idempotent, ...rest } = request;
    return this.transport.send<T>({
      ...rest,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      idempotent: idempotent ?? (request.method === 'GET' || request.method === 'DELETE'),
    });
  }

  private async get<T>(
    path: string,
    options: RequestOptions & { query?: Record<string, string | undefined>; auth?: boolean } = {},
  ): Promise<T> {
    const { signal, query, auth } = options;
    const answer = await this.transport.send<T>({
      method: 'GET',
      path,
      idempotent: true,
      signal,
      query,
      auth,
    });
    return answer.body;
  }

  private target(method: string, path: string): RequestTarget {
    return { method, url: this.transport.url(path) };
  }

  /** Ids for the events that lack one (a copy; the input is not changed). */
  private identify(events: readonly EventInput[]): IdentifiedEvent[] {
    return events.map((event) =>
      event.id === undefined ? { ...event, id: this.newEventId() } : (event as IdentifiedEvent),
    );
  }

  // -------------------------------------------------------------------------------------------

  readonly events = {
    /**
     * Assigns ids to the events that lack one and serialises the batch, once: send the result
     * with sendBatch, as often as needed, and it is the same batch every time.
     */
    prepareBatch: (events: readonly EventInput[]): PreparedBatch => {
      const identified = this.identify(events);
      return { events: identified, body: JSON.stringify({ events: identified }) };
    },

    /** `POST /v1/events` with one event (an id is assigned first when it has none). */
    send: async (event: EventInput, options: RequestOptions = {}): Promise<SendResult> => {
      const [identified] = this.identify([event]);
      const answer = await this.transport.send<IngestedEvent>({
        method: 'POST',
        path: '/v1/events',
        body: JSON.stringify(identified),
        idempotent: true,
        signal: options.signal,
      });
      const status = statusOf(answer, () => this.target('POST', '/v1/events'));
      return { status, replayed: status === 200, event: answer.body };
    },

    /**
     * `POST /v1/events` with a batch (up to 100 events, or a prepared batch). A 409 is an
     * IdConflictError naming the reused ids; the batch's other events were stored.
     */
    sendBatch: async (
      events: readonly EventInput[] | PreparedBatch,
      options: RequestOptions = {},
    ): Promise<BatchResult> => {
      const prepared = Array.isArray(events) ? this.events.prepareBatch(events) : (events as PreparedBatch);
      const answer = await this.transport.send<IngestBatchBody>({
        method: 'POST',
        path: '/v1/events',
        body: prepared.body,
        idempotent: true,
        signal: options.signal,
      });
      const status = statusOf(answer, () => this.target('POST', '/v1/events'));
      if (!Array.isArray(answer.body?.data))
        throw new TrailkeeperResponseError(
          this.target('POST', '/v1/events'),
          status,
          'the answer has no data list',
        );
      return { status, replayed: status === 200, data: answer.body.data };
    },

    /** One page of `GET /v1/events` (pass a page's `next_cursor` as `cursor` for the next). */
    page: async (query: ListEventsQuery = {}, options: RequestOptions = {}): Promise<EventPage> => {
      const page = await this.get<EventPage>('/v1/events', { ...options, query: queryOf(query) });
      if (
        page === null ||
        typeof page !== 'object' ||
        !Array.isArray(page.data) ||
        (page.next_cursor !== null && typeof page.next_cursor !== 'string')
      ) {
        throw new TrailkeeperResponseError(
          this.target('GET', '/v1/events'),
          200,
          'the answer is not a page ({"data": [...], "next_cursor": …})',
        );
      }
      return page;
    },

    /**
     * Every page, following `next_cursor` until it is null. A short or empty page with a
     * cursor is not the end: the request reached its work budget, and the next page goes on.
     */
    pages: (query: ListEventsQuery = {}, options: RequestOptions = {}): AsyncGenerator<EventPage> => {
      const page = this.events.page;
      return (async function* () {
        let cursor = query.cursor;
        do {
          const current = await page({ ...query, ...(cursor === undefined ? {} : { cursor }) }, options);
          yield current;
          cursor = current.next_cursor ?? undefined;
        } while (cursor !== undefined);
      })();
    },

    /** Every matching event, newest first, across pages: `for await (const event of client.events.list({…}))`. */
    list: (query: ListEventsQuery = {}, options: RequestOptions = {}): AsyncGenerator<StoredEvent> => {
      const pages = this.events.pages(query, options);
      return (async function* () {
        for await (const page of pages) yield* page.data;
      })();
    },

    /**
     * One page of `GET /v1/feed`: events in ascending `received_at` order (late arrivals
     * included), up to the page's `watermark`. `next_cursor` is always there: an empty page means
     * caught up, not the end.
     */
    feed: async (query: FeedQuery = {}, options: RequestOptions = {}): Promise<FeedPage> => {
      const page = await this.get<FeedPage>('/v1/feed', {
        ...options,
        query: {
          limit: query.limit === undefined ? undefined : String(query.limit),
          cursor: query.cursor,
          from: query.from instanceof Date ? query.from.toISOString() : query.from,
        },
      });
      if (
        page === null ||
        typeof page !== 'object' ||
        !Array.isArray(page.data) ||
        typeof page.next_cursor !== 'string'
      ) {
        throw new TrailkeeperResponseError(
          this.target('GET', '/v1/feed'),
          200,
          'the answer is not a feed page ({"data": [...], "next_cursor": "…", "watermark": …})',
        );
      }
      return page;
    },

    /**
     * Every event of the feed, for as long as the caller iterates (or until `signal` aborts):
     * pages are followed at once while they are full, and polled every `pollIntervalMs` once
     * caught up. Keep the last page's cursor (`onCursor`) to resume after a restart.
     */
    follow: (
      query: FeedQuery = {},
      options: FollowOptions & { onCursor?: (cursor: string) => void } = {},
    ): AsyncGenerator<StoredEvent> => {
      const feed = this.events.feed;
      const sleep = this.transport.sleep;
      const { pollIntervalMs = 5000, signal, onCursor } = options;
      return (async function* () {
        let next: FeedQuery = query;
        while (signal?.aborted !== true) {
          const page = await feed(next, signal === undefined ? {} : { signal });
          yield* page.data;
          onCursor?.(page.next_cursor);
          next = { cursor: page.next_cursor, ...(query.limit === undefined ? {} : { limit: query.limit }) };
          if (page.data.length === 0) await sleep(pollIntervalMs, signal).catch(() => undefined);
        }
      })();
    },

    /** `GET /v1/events/{id}`. */
    get: (id: string, options: RequestOptions = {}): Promise<StoredEvent> =>
      this.get<StoredEvent>(`/v1/events/${enc(id)}`, options),

    /** `GET /v1/events/{id}/proof`: 404 until the event's interval is sealed. */
    proof: (id: string, options: RequestOptions = {}): Promise<InclusionProof> =>
      this.get<InclusionProof>(`/v1/events/${enc(id)}/proof`, options),
  };

  readonly integrity = {
    /** `GET /v1/integrity/public-key` (public: sent without the key). */
    publicKey: (options: RequestOptions = {}): Promise<PublicKey> =>
      this.get<PublicKey>('/v1/integrity/public-key', { ...options, auth: false }),

    /** One page of `GET /v1/integrity/digests`; its `next` is the `from` of the next page. */
    digestPage: async (query: DigestsQuery = {}, options: RequestOptions = {}): Promise<DigestPage> => {
      const page = await this.get<DigestPage>('/v1/integrity/digests', {
        ...options,
        query: { from: query.from, to: query.to },
      });
      if (
        page === null ||
        typeof page !== 'object' ||
        !Array.isArray(page.data) ||
        (page.next !== null && typeof page.next !== 'string')
      ) {
        throw new TrailkeeperResponseError(
          this.target('GET', '/v1/integrity/digests'),
          200,
          'the answer is not a page ({"data": [...], "next": …})',
        );
      }
      return page;
    },

    /** Every page of digests, oldest first, until `next` is null. */
    digestPages: (query: DigestsQuery = {}, options: RequestOptions = {}): AsyncGenerator<DigestPage> => {
      const page = this.integrity.digestPage;
      return (async function* () {
        let from = query.from;
        for (;;) {
          const current = await page({ ...query, ...(from === undefined ? {} : { from }) }, options);
          yield current;
          if (current.next === null) return;
          from = current.next;
        }
      })();
    },

    /** Every digest whose interval ends in [from, to], oldest first. */
    digests: (query: DigestsQuery = {}, options: RequestOptions = {}): AsyncGenerator<SignedDigest> => {
      const pages = this.integrity.digestPages(query, options);
      return (async function* () {
        for await (const page of pages) yield* page.data;
      })();
    },
  };

  readonly tenants = {
    /** `POST /v1/tenants` (operator). Not retried after a lost answer: it would make a second tenant. */
    create: async (input: CreateTenantInput, options: RequestOptions = {}): Promise<Tenant> =>
      (
        await this.transport.send<Tenant>({
          method: 'POST',
          path: '/v1/tenants',
          body: JSON.stringify(input),
          idempotent: false,
          signal: options.signal,
        })
      ).body,

    get: (tenantId: string, options: RequestOptions = {}): Promise<Tenant> =>
      this.get<Tenant>(`/v1/tenants/${enc(tenantId)}`, options),

    /** `PATCH /v1/tenants/{id}`: plan, retention, shards, rate limit (operator); email domains (admin key too). */
    update: async (
      tenantId: string,
      input: UpdateTenantInput,
      options: RequestOptions = {},
    ): Promise<Tenant> =>
      (
        await this.transport.send<Tenant>({
          method: 'PATCH',
          path: `/v1/tenants/${enc(tenantId)}`,
          body: JSON.stringify(input),
          // Setting the same values twice leaves the tenant as once.
          idempotent: true,
          signal: options.signal,
        })
      ).body,
  };

  readonly viewerSessions = {
    /**
     * `POST /v1/tenants/{id}/viewer-sessions` (operator or an `admin` key): a link that opens the
     * console signed in as this person. Not retried after a lost answer: the code works once.
     */
    create: async (
      tenantId: string,
      input: CreateViewerSessionInput,
      options: RequestOptions = {},
    ): Promise<ViewerSession> =>
      (
        await this.transport.send<ViewerSession>({
          method: 'POST',
          path: `/v1/tenants/${enc(tenantId)}/viewer-sessions`,
          body: JSON.stringify(input),
          idempotent: false,
          signal: options.signal,
        })
      ).body,

    /** `DELETE /v1/tenants/{id}/viewer-sessions`: signs out one person (`userId`), or everyone. */
    revoke: async (tenantId: string, query: { userId?: string } = {}, options: RequestOptions = {}) => {
      await this.transport.send<null>({
        method: 'DELETE',
        path: `/v1/tenants/${enc(tenantId)}/viewer-sessions`,
        query: { user_id: query.userId },
        idempotent: true,
        signal: options.signal,
      });
    },
  };

  readonly sessions = {
    /**
     * `POST /v1/sessions` (no credentials: the code is one): a viewer-session link's code for the
     * session token. Not retried after a lost answer: the code works once.
     */
    exchange: async (code: string, options: RequestOptions = {}): Promise<SessionToken> =>
      (
        await this.transport.send<SessionToken>({
          method: 'POST',
          path: '/v1/sessions',
          body: JSON.stringify({ code }),
          auth: false,
          idempotent: false,
          signal: options.signal,
        })
      ).body,
  };

  readonly actions = {
    /** `GET /v1/actions?prefix=`: the distinct actions the caller may see, sorted (suggestions). */
    list: (query: { prefix?: string } = {}, options: RequestOptions = {}): Promise<ActionList> =>
      this.get<ActionList>('/v1/actions', {
        ...options,
        query: { prefix: query.prefix === '' ? undefined : query.prefix },
      }),
  };

  readonly keys = {
    /** `POST /v1/tenants/{id}/keys`: the answer's `key` is the secret, shown this once. */
    create: async (
      tenantId: string,
      input: CreateKeyInput,
      options: RequestOptions = {},
    ): Promise<CreatedApiKey> =>
      (
        await this.transport.send<CreatedApiKey>({
          method: 'POST',
          path: `/v1/tenants/${enc(tenantId)}/keys`,
          body: JSON.stringify(input),
          idempotent: false,
          signal: options.signal,
        })
      ).body,

    list: async (tenantId: string, options: RequestOptions = {}): Promise<ApiKey[]> =>
      (await this.get<ApiKeyList>(`/v1/tenants/${enc(tenantId)}/keys`, options)).data,

    /** `DELETE /v1/tenants/{id}/keys/{key_id}`: refused from then on. */
    revoke: async (tenantId: string, keyId: string, options: RequestOptions = {}): Promise<void> => {
      await this.transport.send<null>({
        method: 'DELETE',
        path: `/v1/tenants/${enc(tenantId)}/keys/${enc(keyId)}`,
        idempotent: true,
        signal: options.signal,
      });
    },
  };

  readonly exports = {
    /**
     * `POST /v1/exports`: `completed` at once up to 10,000 events, else `queued` (then
     * waitForExport). A lost answer is not retried (it could start a second export).
     */
    create: async (input: CreateExportInput, options: RequestOptions = {}): Promise<Export> =>
      (
        await this.transport.send<Export>({
          method: 'POST',
          path: '/v1/exports',
          body: JSON.stringify(filterFields(input)),
          idempotent: false,
          signal: options.signal,
        })
      ).body,

    get: (exportId: string, options: RequestOptions = {}): Promise<Export> =>
      this.get<Export>(`/v1/exports/${enc(exportId)}`, options),

    /**
     * A fresh, short-lived URL of a completed export's file (`GET /v1/exports/{id}/download`):
     * the JSON answer `{url, expires_at}` where the service gives it, else its redirect's target.
     */
    downloadUrl: async (exportId: string, options: RequestOptions = {}): Promise<ExportDownload> => {
      const path = `/v1/exports/${enc(exportId)}/download`;
      const answer = await this.transport.send<Partial<ExportDownload> | null>({
        method: 'GET',
        path,
        idempotent: true,
        redirect: 'manual',
        signal: options.signal,
      });
      const url = answer.status >= 300 ? answer.headers.get('location') : answer.body?.url;
      if (typeof url !== 'string' || url === '')
        throw new TrailkeeperResponseError(
          this.target('GET', path),
          answer.status,
          'the answer holds no URL',
        );
      const expiresAt = answer.status >= 300 ? null : answer.body?.expires_at;
      return { url, expires_at: typeof expiresAt === 'string' ? expiresAt : null };
    },

    /** The file itself: a fresh download URL, fetched without the API key (it is presigned). */
    download: async (exportId: string, options: RequestOptions = {}): Promise<Response> => {
      const { url } = await this.exports.downloadUrl(exportId, options);
      const target = { method: 'GET', url: new URL(url, this.transport.baseUrl) };
      const response = await this.transport.fetch(target.url, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new TrailkeeperError(target, response.status, null);
      }
      return response;
    },
  };

  /** `GET /health` (public). */
  health(options: RequestOptions = {}): Promise<Health> {
    return this.get<Health>('/health', { ...options, auth: false });
  }

  /**
   * Polls `GET /v1/exports/{id}` until the export is completed (resolves with it) or failed
   * (ExportFailedError); ExportTimeoutError once `timeoutMs` passed; the signal's reason when
   * aborted. Pass the export `create` answered to skip the first read when it is already done.
   */
  async waitForExport(exportOrId: string | Export, options: WaitForExportOptions = {}): Promise<Export> {
    const { intervalMs = 2_000, timeoutMs = 600_000, signal } = options;
    const requestOptions = signal === undefined ? {} : { signal };
    const started = this.transport.now();
    let current =
      typeof exportOrId === 'string' ? await this.exports.get(exportOrId, requestOptions) : exportOrId;
    for (;;) {
      if (current.status === 'completed') return current;
      if (current.status === 'failed') throw new ExportFailedError(current);
      const remainingMs = timeoutMs - (this.transport.now() - started);
      if (remainingMs <= 0) throw new ExportTimeoutError(current, timeoutMs);
      await this.transport.sleep(Math.min(intervalMs, remainingMs), signal);
      if (signal?.aborted) throw signal.reason;
      current = await this.exports.get(current.id, requestOptions);
    }
  }
}
