/**
 * A test receiver for outbound deliveries (streams, alert webhooks): an HTTPS (or plain HTTP)
 * server on 127.0.0.1 at an ephemeral port that records every request and answers from a
 * scripted queue.
 *
 *   const receiver = await startReceiver({ tls: await createTestCertificates() });
 *   receiver.respond({ status: 500 }, { status: 200, body: 'ok' }); // then the fallback (200)
 *   … deliver to `https://receiver.test:${receiver.port}/hook`, resolving receiver.test to 127.0.0.1 …
 *   const [first] = await receiver.waitForRequests(1);
 *   await receiver.close();
 *
 * A request is recorded (method, path, headers, raw body) once its body has arrived, before any
 * scripted delay. `connections` counts accepted TCP connections, so a test can show that a client
 * never connected at all (a refused address), or connected without sending a request (TLS failure).
 */
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (the request is already recorded); cut short by close(). */
  delayMs?: number;
  /** After `body`, keep sending bytes until the client goes away: a response body that never ends. */
  endless?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names, as node parses them. */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TestReceiver {
  /** `https://127.0.0.1:<port>` (or `http://` without `tls`). */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Queues responses for the next requests, in order; when the queue is empty, `fallback` answers. */
  respond(...responses: ScriptedResponse[]): void;
  /** Resolves once at least `count` requests have been recorded (no polling, no sleeping). */
  waitForRequests(count: number): Promise<RecordedRequest[]>;
  /** Stops the server, dropping open connections and pending delays. */
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Serve HTTPS with this certificate (see createTestCertificates); plain HTTP without. */
  tls?: { cert: string; key: string };
  /** The answer when nothing is queued. Default `{ status: 200 }`. */
  fallback?: ScriptedResponse;
}

const ENDLESS_CHUNK = Buffer.alloc(16 * 1024, 'x');

export const startReceiver = async (options: ReceiverOptions = {}): Promise<TestReceiver> => {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters: { count: number; resolve: (requests: RecordedRequest[]) => void }[] = [];
  const fallback = options.fallback ?? { status: 200 };
  let connections = 0;

  const wake = () => {
    for (const waiter of [...waiters])
      if (requests.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve([...requests]);
      }
  };

  const answer = (res: ServerResponse, scripted: ScriptedResponse) => {
    if (res.destroyed) return;
    res.writeHead(scripted.status ?? 200, scripted.headers ?? {});
    if (!scripted.endless) {
      res.end(scripted.body ?? '');
      return;
    }
    if (scripted.body !== undefined) res.write(scripted.body);
    const pump = () => {
      while (!res.destroyed && res.write(ENDLESS_CHUNK));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      wake();
      const scripted = queue.shift() ?? fallback;
      if (scripted.delayMs === undefined) return answer(res, scripted);
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(res, scripted);
      }, scripted.delayMs);
      timers.add(timer);
    });
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handle)
    : createHttpServer(handle);
  server.on('connection', () => {
    connections += 1;
  });
  // A client that gives up mid-handshake is what some tests are about: not an error here.
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    respond: (...responses) => {
      queue.push(...responses);
    },
    waitForRequests: (count) =>
      new Promise((resolve) => {
        waiters.push({ count, resolve });
        wake();
      }),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
};
