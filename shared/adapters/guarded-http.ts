/**
 * One outbound POST to a tenant-chosen destination (stream deliveries, alert webhooks and Slack),
 * guarded against SSRF. The URL rules are checked again here (shared/domain/network-policy.ts);
 * the host is resolved afresh for every request through the injectable resolver, every address
 * it resolves to is checked, and the socket connects only to a checked address: node's own
 * `lookup` hook is replaced, so nothing else resolves the name between the check and the connect
 * (a name that answers public at validation and private at connect, DNS rebinding, is refused).
 * No connection reuse (each request gets its own agent, so its own lookup), no redirects (a 3xx is
 * returned as it is), TLS verified against the URL's host (SNI and Host are that host), one
 * deadline for resolve + connect + TLS + response, and at most 1 KiB of the response body read.
 *
 * Plain node:http/node:https, no dependency: undici's Agent could take the same `connect.lookup`,
 * but node's request already has the hook, and fewer layers keep the guard easy to audit.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import {
  addressRefusal,
  checkDestinationUrl,
  classifyAddress,
  isAddressAllowed,
  isIpAddress,
  type NetworkPolicy,
} from '../domain/network-policy.ts';

/** The whole exchange, from resolving the host to the last byte read. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
/** Response bodies are kept (and read) up to this many bytes. */
export const MAX_RESPONSE_BODY_BYTES = 1024;

export type DeliveryErrorKind =
  | 'invalid-url'
  | 'refused-address'
  | 'dns'
  | 'timeout'
  | 'connect'
  | 'tls'
  | 'protocol';

/** Why a delivery got no HTTP response. The message names the host, never the payload. */
export class DeliveryError extends Error {
  constructor(
    readonly kind: DeliveryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export interface GuardedRequest {
  url: string;
  /** Sent as given, except `host`, `content-length` and `transfer-encoding`, which this module sets. */
  headers?: Readonly<Record<string, string>>;
  body: Buffer | string;
}

export interface GuardedResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The first MAX_RESPONSE_BODY_BYTES bytes at most, as UTF-8 (a character cut in two is dropped). */
  body: string;
  durationMs: number;
}

export interface GuardedHttpDeps {
  policy: NetworkPolicy;
  /** Default: the system resolver (getaddrinfo, every address). */
  resolver?: Resolver;
  /**
   * Whether an address may be connected to. Default: the policy. Tests pass a predicate that
   * treats their 127.0.0.1 receiver as public; the policy itself is tested on its own.
   */
  isAllowed?: (address: string) => boolean;
  /** Trusted CAs instead of the system's (the test CA). */
  ca?: SecureContextOptions['ca'];
  /** Default DEFAULT_DELIVERY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Milliseconds, for `durationMs`. Default performance.now. */
  now?: () => number;
}

export const systemResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, order: 'verbatim' })).map(({ address, family }) => ({
    address,
    family,
  }));

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'EPIPE',
]);
const TLS_CODE =
  /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

const errorCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : '';

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const flattenHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
};

const OWN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * POSTs `request.body` to `request.url` and returns the response (any status, 3xx included), or
 * throws a DeliveryError saying why there was none.
 */
export const postGuarded = (request: GuardedRequest, deps: GuardedHttpDeps): Promise<GuardedResponse> => {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const timeoutMs = deps.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const resolver = deps.resolver ?? systemResolver;
  const isAllowed = deps.isAllowed ?? ((address: string) => isAddressAllowed(address, deps.policy));

  // IP literal hosts are judged below, by the same connect-time check as resolved addresses.
  const checked = checkDestinationUrl(request.url, deps.policy, () => undefined);
  if ('error' in checked)
    return Promise.reject(new DeliveryError('invalid-url', `destination URL ${checked.error}`));
  const url = new URL(checked.url);
  const secure = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;

  /** Why this address may not be connected to, or undefined. */
  const refusalOf = (address: string): string | undefined => {
    // Plain http is the local loopback exception and nothing more: a name must resolve to loopback only.
    if (!secure && classifyAddress(address) !== 'loopback')
      return `plain http may only reach a loopback address, and ${host} resolves to ${address}`;
    if (isAllowed(address)) return undefined;
    const reason = addressRefusal(address, deps.policy) ?? `${address} is not a permitted destination`;
    return address === host ? reason : `${host} resolves to ${address}: ${reason}`;
  };

  if (isIpAddress(host)) {
    const refusal = refusalOf(host);
    if (refusal !== undefined) return Promise.reject(new DeliveryError('refused-address', refusal));
  }

  const checkedLookup: LookupFunction = (hostname, options, callback) => {
    const resolveAndCheck = async (): Promise<ResolvedAddress[]> => {
      let answers: ResolvedAddress[];
      try {
        answers = await resolver(hostname);
      } catch (error) {
        throw new DeliveryError('dns', `could not resolve ${hostname}: ${errorMessage(error)}`);
      }
      if (answers.length === 0) throw new DeliveryError('dns', `${hostname} has no addresses`);
      // Every answer, not just the one used: a mixed answer is how rebinding hides a private address.
      for (const { address } of answers) {
        const refusal = refusalOf(address);
        if (refusal !== undefined) throw new DeliveryError('refused-address', refusal);
      }
      const usable = answers.filter(({ family }) => !options.family || family === options.family);
      if (usable.length === 0)
        throw new DeliveryError('dns', `${hostname} has no IPv${options.family} address`);
      return usable;
    };
    resolveAndCheck().then(
      (usable) => {
        const [first] = usable;
        if (options.all) callback(null, usable);
        else if (first) callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, ''),
    );
  };

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {}))
    if (!OWN_HEADERS.has(name.toLowerCase())) headers[name] = value;
  headers['content-length'] = String(Buffer.byteLength(request.body));

  const options: RequestOptions &
    SecureContextOptions & { servername?: string; rejectUnauthorized?: boolean } = {
    method: 'POST',
    hostname: host,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers,
    // A fresh agent per request: no pooled connection skips the lookup and its check.
    agent: false,
    lookup: checkedLookup,
    ...(secure && {
      rejectUnauthorized: true,
      // SNI must be a name (RFC 6066); an IP literal is verified against the certificate's IP SANs.
      ...(isIpAddress(host) ? {} : { servername: host }),
      ...(deps.ca !== undefined && { ca: deps.ca }),
    }),
  };

  return new Promise<GuardedResponse>((resolve, reject) => {
    let settled = false;
    let connected = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      outcome();
    };
    const fail = (error: DeliveryError) => settle(() => reject(error));

    const req = (secure ? httpsRequest : httpRequest)(options);
    const deadline = setTimeout(() => {
      fail(new DeliveryError('timeout', `${host} gave no complete response within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);

    req.on('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
      });
    });
    req.on('error', (error) => {
      if (error instanceof DeliveryError) return fail(error);
      const code = errorCode(error);
      if (TLS_CODE.test(code))
        return fail(new DeliveryError('tls', `TLS with ${host} failed: ${error.message}`));
      if (CONNECT_CODES.has(code) && !connected)
        return fail(new DeliveryError('connect', `could not connect to ${host}: ${error.message}`));
      fail(new DeliveryError('protocol', `${host} broke the exchange: ${error.message}`));
    });
    req.on('response', (res) => {
      const decoder = new TextDecoder('utf-8');
      let body = '';
      let bytes = 0;
      const done = () =>
        settle(() =>
          resolve({
            status: res.statusCode ?? 0,
            headers: flattenHeaders(res.headers),
            body,
            durationMs: now() - started,
          }),
        );
      res.on('data', (chunk: Buffer) => {
        const wanted = chunk.subarray(0, MAX_RESPONSE_BODY_BYTES - bytes);
        bytes += wanted.length;
        // stream: a character cut at the cap stays in the decoder and is dropped.
        body += decoder.decode(wanted, { stream: true });
        if (bytes >= MAX_RESPONSE_BODY_BYTES) {
          done();
          req.destroy(); // read no further
        }
      });
      res.on('end', () => {
        body += decoder.decode();
        done();
      });
      res.on('error', (error) =>
        fail(new DeliveryError('protocol', `${host} broke the response: ${error.message}`)),
      );
      res.on('close', () => {
        if (!res.complete) fail(new DeliveryError('protocol', `${host} closed the connection mid-response`));
      });
    });
    req.end(request.body);
  });
};
