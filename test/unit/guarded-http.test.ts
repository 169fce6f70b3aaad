import { once } from 'node:events';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DeliveryError,
  type GuardedHttpDeps,
  MAX_RESPONSE_BODY_BYTES,
  postGuarded,
  type Resolver,
  systemResolver,
} from '#shared/adapters/guarded-http.ts';
import { isAddressAllowed, type NetworkPolicy, STRICT_POLICY } from '#shared/domain/network-policy.ts';
import { type ReceiverOptions, startReceiver, type TestReceiver } from '../support/receiver.ts';
import { createTestCertificates, type TestCertificates } from '../support/tls.ts';

const LOCAL: NetworkPolicy = { allowHttpLoopback: true, allowPrivate: [] };

/** The test receiver listens on 127.0.0.1; this predicate stands in for "that is a public address". */
const receiverIsPublic = (address: string) =>
  address === '127.0.0.1' || isAddressAllowed(address, STRICT_POLICY);

const familyOf = (address: string) => (address.includes(':') ? 6 : 4);
/** A resolver giving these answers, one list per call in turn (the last one repeats). */
const resolving = (...answers: string[][]) => {
  const calls: string[] = [];
  const resolver: Resolver = async (host) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length, answers.length) - 1] ?? [];
    return answer.map((address) => ({ address, family: familyOf(address) }));
  };
  return { resolver, calls };
};

let certs: TestCertificates;
const receivers: TestReceiver[] = [];
const receiver = async (options: ReceiverOptions = { tls: certs }) => {
  const started = await startReceiver(options);
  receivers.push(started);
  return started;
};

beforeAll(async () => {
  certs = await createTestCertificates();
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** A public https receiver reached as receiver.test, trusted through the test CA. */
const publicDeps = (overrides: Partial<GuardedHttpDeps> = {}): GuardedHttpDeps => ({
  policy: STRICT_POLICY,
  resolver: resolving(['127.0.0.1']).resolver,
  isAllowed: receiverIsPublic,
  ca: certs.ca,
  ...overrides,
});

const rejection = async (promise: Promise<unknown>): Promise<DeliveryError> => {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(DeliveryError);
  return outcome as DeliveryError;
};

describe('guarded POST to a public https receiver', () => {
  it('sends the body and headers once and returns status, lower-case headers, body and duration', async () => {
    const target = await receiver();
    target.respond({ status: 202, headers: { 'X-Receipt': 'r-1' }, body: 'accepted' });
    const clock = vi.fn<() => number>().mockReturnValueOnce(1_000).mockReturnValueOnce(1_250);

    const response = await postGuarded(
      {
        url: `https://receiver.test:${target.port}/hook?x=1`,
        headers: { 'Content-Type': 'application/json', 'webhook-id': 'msg_1' },
        body: Buffer.from('{"a":1}'),
      },
      publicDeps({ now: clock }),
    );

    expect(response).toMatchObject({ status: 202, body: 'accepted', durationMs: 250 });
    expect(response.headers['x-receipt']).toBe('r-1');
    const [request] = await target.waitForRequests(1);
    expect(target.requests).toHaveLength(1);
    expect(request).toMatchObject({ method: 'POST', path: '/hook?x=1' });
    expect(request?.headers).toMatchObject({
      host: `receiver.test:${target.port}`,
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'content-length': '7',
    });
    expect(request?.body.toString()).toBe('{"a":1}');
  });

  it('keeps the Host header to the URL host whatever the caller sets', async () => {
    const target = await receiver();

    await postGuarded(
      {
        url: `https://receiver.test:${target.port}/`,
        headers: { Host: 'internal.example', 'Content-Length': '1' },
        body: 'hello',
      },
      publicDeps(),
    );

    expect(target.requests[0]?.headers.host).toBe(`receiver.test:${target.port}`);
    expect(target.requests[0]?.body.toString()).toBe('hello');
  });

  it('returns only the first KiB of a 10 KiB response body', async () => {
    const target = await receiver();
    const big = Array.from({ length: 10 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    target.respond({ status: 200, body: big });

    const response = await postGuarded(
      { url: `https://receiver.test:${target.port}/`, body: '{}' },
      publicDeps(),
    );

    expect(response.body).toHaveLength(MAX_RESPONSE_BODY_BYTES);
    expect(response.body).toBe(big.slice(0, MAX_RESPONSE_BODY_BYTES));
  });

  it('stops reading at the cap: a response body that never ends still returns its first KiB', async () => {
    const target = await receiver();
    target.respond({ status: 200, body: 'start:', endless: true });

    const response = await postGuarded(
      { url: `https://receiver.test:${target.port}/`, body: '{}' },
      publicDeps({ timeoutMs: 5_000 }),
    );

    expect(response.body).toBe(`start:${'x'.repeat(MAX_RESPONSE_BODY_BYTES - 6)}`);
  });

  it('drops a character the cap cuts in two', async () => {
    const target = await receiver();
    target.respond({ status: 200, body: `a${'é'.repeat(600)}` });

    const response = await postGuarded(
      { url: `https://receiver.test:${target.port}/`, body: '{}' },
      publicDeps(),
    );

    expect(response.body).toBe(`a${'é'.repeat(511)}`);
  });

  it('does not follow a redirect: the 3xx is the answer', async () => {
    const target = await receiver();
    target.respond({ status: 302, headers: { Location: `https://receiver.test:${target.port}/elsewhere` } });

    const response = await postGuarded(
      { url: `https://receiver.test:${target.port}/hook`, body: '{}' },
      publicDeps(),
    );

    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`https://receiver.test:${target.port}/elsewhere`);
    expect(target.requests.map((r) => r.path)).toEqual(['/hook']);
  });

  it('times out when the receiver answers later than the deadline', async () => {
    const target = await receiver();
    target.respond({ status: 200, delayMs: 60_000 });

    const error = await rejection(
      postGuarded(
        { url: `https://receiver.test:${target.port}/`, body: '{}' },
        publicDeps({ timeoutMs: 200 }),
      ),
    );

    expect(error.kind).toBe('timeout');
    expect(error.message).toBe('receiver.test gave no complete response within 200 ms');
    expect(await target.waitForRequests(1)).toHaveLength(1);
  });

  it('counts resolving the name against the deadline', async () => {
    const neverAnswers: Resolver = () => new Promise(() => {});

    const error = await rejection(
      postGuarded(
        { url: 'https://receiver.test/', body: '{}' },
        publicDeps({ resolver: neverAnswers, timeoutMs: 200 }),
      ),
    );

    expect(error.kind).toBe('timeout');
  });

  it('fails TLS against a receiver whose CA it does not trust, before sending anything', async () => {
    const target = await receiver();

    const error = await rejection(
      postGuarded(
        { url: `https://receiver.test:${target.port}/`, body: '{}' },
        publicDeps({ ca: undefined }),
      ),
    );

    expect(error.kind).toBe('tls');
    expect(target.connections).toBe(1);
    expect(target.requests).toHaveLength(0);
  });

  it('verifies the certificate against the URL host (SNI), not the address it connected to', async () => {
    const target = await receiver();

    const error = await rejection(
      postGuarded({ url: `https://other.test:${target.port}/`, body: '{}' }, publicDeps()),
    );

    expect(error.kind).toBe('tls');
    expect(error.message).toContain('other.test');
    expect(target.requests).toHaveLength(0);
  });

  it('reaches an IP literal host without resolving it, verified against the certificate IP', async () => {
    const target = await receiver();
    const { resolver, calls } = resolving(['10.0.0.1']);

    const response = await postGuarded({ url: `${target.url}/hook`, body: '{}' }, publicDeps({ resolver }));

    expect(response.status).toBe(200);
    expect(calls).toEqual([]);
    expect(target.requests).toHaveLength(1);
  });

  it('resolves the host afresh for every request, on a new connection each time', async () => {
    const target = await receiver();
    const { resolver, calls } = resolving(['127.0.0.1']);
    const url = `https://receiver.test:${target.port}/`;

    await postGuarded({ url, body: '1' }, publicDeps({ resolver }));
    await postGuarded({ url, body: '2' }, publicDeps({ resolver }));

    expect(calls).toEqual(['receiver.test', 'receiver.test']);
    expect(target.connections).toBe(2);
  });
});

describe('guarded POST refusals', () => {
  it.each([
    ['127.0.0.1', 'receiver.test resolves to 127.0.0.1: 127.0.0.1 is a loopback address'],
    [
      '10.0.0.1',
      "receiver.test resolves to 10.0.0.1: 10.0.0.1 is a private address (not among the operator's allowed private destinations)",
    ],
    [
      '169.254.169.254',
      'receiver.test resolves to 169.254.169.254: 169.254.169.254 is a cloud instance-metadata address',
    ],
    [
      '::ffff:127.0.0.1',
      'receiver.test resolves to ::ffff:127.0.0.1: ::ffff:127.0.0.1 is a loopback address',
    ],
    [
      'fd00:ec2::254',
      'receiver.test resolves to fd00:ec2::254: fd00:ec2::254 is a cloud instance-metadata address',
    ],
  ])('refuses a name resolving to %s before any connection', async (address, message) => {
    const target = await receiver();

    const error = await rejection(
      postGuarded(
        { url: `https://receiver.test:${target.port}/`, body: '{}' },
        { policy: STRICT_POLICY, resolver: resolving([address]).resolver, ca: certs.ca },
      ),
    );

    expect(error.kind).toBe('refused-address');
    expect(error.message).toBe(message);
    expect(target.connections).toBe(0);
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const target = await receiver();

    const error = await rejection(
      postGuarded(
        { url: `https://receiver.test:${target.port}/`, body: '{}' },
        publicDeps({ resolver: resolving(['127.0.0.1', '10.0.0.1']).resolver }),
      ),
    );

    expect(error.kind).toBe('refused-address');
    expect(target.connections).toBe(0);
  });

  it('refuses DNS rebinding: public on the first request, private on the next', async () => {
    const target = await receiver();
    const { resolver, calls } = resolving(['127.0.0.1'], ['10.0.0.1']);
    const url = `https://receiver.test:${target.port}/`;

    const first = await postGuarded({ url, body: '1' }, publicDeps({ resolver }));
    const error = await rejection(postGuarded({ url, body: '2' }, publicDeps({ resolver })));

    expect(first.status).toBe(200);
    expect(error.kind).toBe('refused-address');
    expect(error.message).toContain('receiver.test resolves to 10.0.0.1');
    expect(calls).toHaveLength(2);
    expect(target.requests.map((r) => r.body.toString())).toEqual(['1']);
    expect(target.connections).toBe(1);
  });

  it('refuses DNS rebinding to the metadata address with the real policy', async () => {
    const target = await receiver();
    // What validation saw is irrelevant: the connect-time answer is what counts.
    const { resolver } = resolving(['169.254.169.254']);

    const error = await rejection(
      postGuarded(
        { url: `https://receiver.test:${target.port}/`, body: '{}' },
        { policy: STRICT_POLICY, resolver },
      ),
    );

    expect(error.kind).toBe('refused-address');
    expect(target.connections).toBe(0);
  });

  it('refuses the metadata address even when the operator allow-list covers it', async () => {
    const policy: NetworkPolicy = {
      allowHttpLoopback: true,
      allowPrivate: ['0.0.0.0/0', '::/0', '169.254.0.0/16'],
    };

    for (const address of ['169.254.169.254', 'fd00:ec2::254']) {
      const viaName = await rejection(
        postGuarded(
          { url: 'https://metadata.test/', body: '{}' },
          { policy, resolver: resolving([address]).resolver },
        ),
      );
      expect(viaName.kind).toBe('refused-address');
    }
    const literal = await rejection(
      postGuarded({ url: 'https://169.254.169.254/latest/meta-data/', body: '{}' }, { policy }),
    );
    expect(literal).toMatchObject({
      kind: 'refused-address',
      message: '169.254.169.254 is a cloud instance-metadata address',
    });
    const literal6 = await rejection(
      postGuarded({ url: 'https://[fd00:ec2::254]/', body: '{}' }, { policy }),
    );
    expect(literal6.kind).toBe('refused-address');
  });

  it('refuses a refused IP literal host without resolving or connecting', async () => {
    const target = await receiver();
    const { resolver, calls } = resolving(['127.0.0.1']);

    const error = await rejection(
      postGuarded({ url: `${target.url}/`, body: '{}' }, { policy: STRICT_POLICY, resolver, ca: certs.ca }),
    );

    expect(error).toMatchObject({ kind: 'refused-address', message: '127.0.0.1 is a loopback address' });
    expect(calls).toEqual([]);
    expect(target.connections).toBe(0);
  });

  it.each([
    ['https://user:secret@receiver.test/', 'destination URL must not contain credentials (user:password@)'],
    ['ftp://receiver.test/', 'destination URL must use https'],
    ['https://receiver.test/#x', 'destination URL must not contain a fragment (#…)'],
  ])('refuses the URL %s', async (url, message) => {
    const { resolver, calls } = resolving(['127.0.0.1']);

    const error = await rejection(postGuarded({ url, body: '{}' }, publicDeps({ resolver })));

    expect(error).toMatchObject({ kind: 'invalid-url', message });
    expect(calls).toEqual([]);
  });

  it('reports a name that does not resolve, or resolves to nothing', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    };

    const notFound = await rejection(
      postGuarded({ url: 'https://nowhere.test/', body: '{}' }, publicDeps({ resolver: failing })),
    );
    const empty = await rejection(
      postGuarded(
        { url: 'https://nowhere.test/', body: '{}' },
        publicDeps({ resolver: resolving([]).resolver }),
      ),
    );

    expect(notFound).toMatchObject({
      kind: 'dns',
      message: 'could not resolve nowhere.test: getaddrinfo ENOTFOUND nowhere.test',
    });
    expect(empty).toMatchObject({ kind: 'dns', message: 'nowhere.test has no addresses' });
  });

  it('reports a receiver that refuses the connection', async () => {
    const gone = await startReceiver({ tls: certs });
    const port = gone.port;
    await gone.close();

    const error = await rejection(
      postGuarded({ url: `https://receiver.test:${port}/`, body: '{}' }, publicDeps()),
    );

    expect(error.kind).toBe('connect');
  });

  it('reports a receiver that answers something other than HTTP', async () => {
    const garbage = createTcpServer((socket) => socket.end('NOT HTTP AT ALL\r\n\r\n'));
    garbage.listen(0, '127.0.0.1');
    await once(garbage, 'listening');
    const { port } = garbage.address() as { port: number };

    try {
      const error = await rejection(
        postGuarded({ url: `http://127.0.0.1:${port}/`, body: '{}' }, { policy: LOCAL }),
      );
      expect(error.kind).toBe('protocol');
    } finally {
      garbage.close();
    }
  });
});

describe('the local http loopback exception', () => {
  it('posts over plain http to a loopback receiver only with the flag', async () => {
    const target = await receiver({});
    target.respond({ status: 204 });

    const allowed = await postGuarded({ url: `${target.url}/hook`, body: '{}' }, { policy: LOCAL });
    const refused = await rejection(
      postGuarded({ url: `${target.url}/hook`, body: '{}' }, { policy: STRICT_POLICY }),
    );

    expect(allowed.status).toBe(204);
    expect(refused).toMatchObject({ kind: 'invalid-url', message: 'destination URL must use https' });
    expect(target.requests).toHaveLength(1);
    expect(target.connections).toBe(1);
  });

  it('resolves localhost through the resolver and connects when it is loopback', async () => {
    const target = await receiver({});

    const response = await postGuarded(
      { url: `http://localhost:${target.port}/`, body: '{}' },
      { policy: LOCAL, resolver: resolving(['127.0.0.1']).resolver },
    );

    expect(response.status).toBe(200);
  });

  it('refuses plain http when the loopback name resolves elsewhere, even to an allow-listed address', async () => {
    const target = await receiver({});
    const policy: NetworkPolicy = { allowHttpLoopback: true, allowPrivate: ['10.0.0.0/8'] };

    const error = await rejection(
      postGuarded(
        { url: `http://localhost:${target.port}/`, body: '{}' },
        { policy, resolver: resolving(['10.0.0.1']).resolver },
      ),
    );

    expect(error).toMatchObject({
      kind: 'refused-address',
      message: 'plain http may only reach a loopback address, and localhost resolves to 10.0.0.1',
    });
    expect(target.connections).toBe(0);
  });

  it('refuses plain http to a non-loopback host even with the flag', async () => {
    const error = await rejection(
      postGuarded({ url: 'http://receiver.test/', body: '{}' }, { policy: LOCAL }),
    );

    expect(error.kind).toBe('invalid-url');
  });

  it('lets the local stack reach an https receiver on loopback with the flag, under the real policy', async () => {
    const target = await receiver();

    const local = await postGuarded(
      { url: `https://localhost:${target.port}/`, body: '{}' },
      { policy: LOCAL, resolver: resolving(['127.0.0.1']).resolver, ca: certs.ca },
    );

    expect(local.status).toBe(200);
  });
});

describe('the system resolver', () => {
  it('answers every address of a name', async () => {
    const answers = await systemResolver('localhost');

    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect(['127.0.0.1', '::1']).toContain(answer.address);
  });
});
