/**
 * Per-function connection pools (infra/local/function-pools.ts): a function whose requests fill
 * an agent's sockets does not make another function's requests through the same agent wait, as
 * two functions' containers never share sockets in AWS.
 */
import { Agent, createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { currentFunction, isolateFunctionPools, runInFunction } from '#infra/local/function-pools.ts';

describe('per-function connection pools', () => {
  let server: Server;
  let port: number;
  const held: ServerResponse[] = [];
  const agents: Agent[] = [];

  beforeAll(async () => {
    isolateFunctionPools();
    // Holds every request to /slow until the test releases it; answers anything else at once.
    server = createServer((req, res) => {
      if (req.url === '/slow') held.push(res);
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(() => {
    for (const res of held.splice(0)) res.end('released');
    for (const agent of agents.splice(0)) agent.destroy();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** An agent like the SDK's (keep-alive), with a small socket limit. */
  const sdkLikeAgent = (maxSockets: number): Agent => {
    const agent = new Agent({ keepAlive: true, maxSockets });
    agents.push(agent);
    return agent;
  };

  const get = (agent: Agent, path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, agent, signal: AbortSignal.timeout(3000) }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });

  it("answers a function's request while another function's requests fill the shared agent", async () => {
    const agent = sdkLikeAgent(2);
    const slow = Array.from({ length: 5 }, () => runInFunction('ingest', () => get(agent, '/slow')));
    // The ingest pool is full: two requests in flight, three queued behind them.
    await vi.waitFor(() => expect(held).toHaveLength(2));

    const started = performance.now();
    const status = await runInFunction('authorizer', () => get(agent, '/fast'));

    expect(status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(held).toHaveLength(2); // ingest still holds at most maxSockets sockets
    for (const res of held.splice(0)) res.end('released');
    await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
    for (const res of held.splice(0)) res.end('released');
    await vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
    for (const res of held.splice(0)) res.end('released');
    expect(await Promise.all(slow)).toEqual([200, 200, 200, 200, 200]);
  });

  it('keeps requests made outside any function on the agent itself', async () => {
    const agent = sdkLikeAgent(2);
    const outside = get(agent, '/slow');
    await vi.waitFor(() => expect(held).toHaveLength(1));
    expect(Object.values(agent.sockets).flat()).toHaveLength(1);
    held.splice(0).forEach((res) => {
      res.end('released');
    });
    expect(await outside).toBe(200);
  });

  it('names the running function inside a scope and across awaits, and nothing outside', async () => {
    expect(currentFunction()).toBeUndefined();
    const seen = await runInFunction('sealer', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentFunction();
    });
    expect(seen).toBe('sealer');
  });

  it("closes a function's idle sockets when the agent is destroyed", async () => {
    const agent = sdkLikeAgent(2);
    expect(await runInFunction('query', () => get(agent, '/fast'))).toBe(200);
    const connections = await new Promise<number>((resolve, reject) =>
      server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    expect(connections).toBeGreaterThan(0);
    agent.destroy();
    await vi.waitFor(async () => {
      const open = await new Promise<number>((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
      expect(open).toBe(0);
    });
  });
});
