/**
 * The console's one door to the API: a TrailkeeperClient under the page's own origin with the
 * viewer session token as bearer. Every call the page makes goes through `ConsoleApi`, which
 * also notices a refused session (401) once and reports it, so the page can say the session
 * ended.
 */
import {
  type ActionList,
  type CreateExportInput,
  type EventPage,
  type Export,
  type ExportDownload,
  type InclusionProof,
  type ListEventsQuery,
  type PublicKey,
  type StoredEvent,
  TrailkeeperClient,
  TrailkeeperError,
} from '../../client/index.ts';

export type { EventPage, Export, StoredEvent };

/** What `POST /v1/sessions` answers: the token and who it is for. */
export interface Session {
  readonly token: string;
  readonly expires_at: string;
  readonly user: { readonly id: string; readonly email?: string; readonly name?: string };
  readonly role: string;
  readonly team_ids: readonly string[];
  readonly permissions: readonly string[];
}

/** Why a session ended: its time is up or it was revoked (401), or its role lost access (403). */
export type EndReason = 'expired' | 'revoked' | 'access';

/** The session was refused (401), lost its role's access, or its time is up: the page stops and says so. */
export class SessionEndedError extends Error {
  constructor() {
    super('The session has ended');
    this.name = 'SessionEndedError';
  }
}

const clientFor = (token?: string): TrailkeeperClient =>
  new TrailkeeperClient({
    baseUrl: location.origin,
    ...(token === undefined ? {} : { apiKey: token }),
    // A person waits at the screen: retry what is retryable briefly, then show the error.
    retry: { maxAttempts: 2 },
    timeoutMs: 30_000,
  });

/** Exchanges the one-time code of a viewer-session link for a session (no credentials). */
export const exchangeCode = (code: string): Promise<Session> => clientFor().sessions.exchange(code);

/** A human sentence for a failed call: the problem's `detail` where the API gave one. */
export const errorText = (error: unknown): string => {
  if (error instanceof TrailkeeperError) return error.detail ?? `${error.title} (HTTP ${error.status})`;
  if (error instanceof Error) return error.message;
  return String(error);
};

export class ConsoleApi {
  /** The underlying typed client, for components that need a route this class does not wrap. */
  readonly client: TrailkeeperClient;
  readonly #onSessionEnded: (reason: EndReason) => void;

  constructor(
    readonly session: Session,
    onSessionEnded: (reason: EndReason) => void,
  ) {
    this.client = clientFor(session.token);
    this.#onSessionEnded = onSessionEnded;
  }

  /** Runs one call; a 401 (or a session past its expiry) ends the session for the whole page. */
  async call<T>(run: (client: TrailkeeperClient) => Promise<T>, exporting = false): Promise<T> {
    if (Date.parse(this.session.expires_at) <= Date.now()) {
      this.#onSessionEnded('expired');
      throw new SessionEndedError();
    }
    try {
      return await run(this.client);
    } catch (error) {
      if (error instanceof TrailkeeperError && error.status === 401) {
        this.#onSessionEnded(Date.parse(this.session.expires_at) <= Date.now() ? 'expired' : 'revoked');
        throw new SessionEndedError();
      }
      // The tenant's access policy no longer lets this role view the log (checked on every request).
      // (An export refused for the role is not the end: the page shows that refusal and reads on.)
      if (error instanceof TrailkeeperError && error.type === '/problems/role-not-permitted' && !exporting) {
        this.#onSessionEnded('access');
        throw new SessionEndedError();
      }
      throw error;
    }
  }

  listEvents(query: ListEventsQuery, signal?: AbortSignal): Promise<EventPage> {
    return this.call((c) => c.events.page(query, signal === undefined ? {} : { signal }));
  }

  getEvent(id: string): Promise<StoredEvent> {
    return this.call((c) => c.events.get(id));
  }

  /** `GET /v1/actions?prefix=`: the actions this person may see, for suggestions. */
  actions(prefix: string, signal?: AbortSignal): Promise<ActionList> {
    return this.call((c) => c.actions.list({ prefix }, signal === undefined ? {} : { signal }));
  }

  /** `GET /v1/events/{id}/proof` (404 until the event's interval is sealed): for the Verify panel. */
  proof(id: string): Promise<InclusionProof> {
    return this.call((c) => c.events.proof(id));
  }

  /** `GET /v1/integrity/public-key` (public): the key digests are signed with. */
  publicKey(): Promise<PublicKey> {
    return this.call((c) => c.integrity.publicKey());
  }

  createExport(input: CreateExportInput): Promise<Export> {
    return this.call((c) => c.exports.create(input), true);
  }

  getExport(id: string): Promise<Export> {
    return this.call((c) => c.exports.get(id), true);
  }

  /** A fresh URL of a completed export's file (`Accept: application/json`: `{url, expires_at}`). */
  downloadUrl(id: string): Promise<ExportDownload> {
    return this.call((c) => c.exports.downloadUrl(id), true);
  }
}
