/**
 * One outbound connection pool per function, as in AWS, where each function runs in containers
 * of its own and each container has its own SDK clients and sockets.
 *
 * Locally every handler module runs in this one process and the modules share their SDK clients
 * (created once at module scope, shared/adapters/clients.ts), so they shared one HTTP agent: the
 * SDK's default, 50 sockets per origin. Four parallel 100-event batches queued ~350 PutItems of
 * the ingest function on it, and the authorizer's GetItem waited behind them past its 5 s
 * timeout, while DynamoDB Local itself answered a GetItem from another client within 1 s.
 *
 * So each invocation runs in a scope naming its function (`runInFunction`), and an http(s).Agent
 * handed a request inside a scope passes it to that function's own copy of itself: same options
 * (maxSockets, keep-alive), its own sockets. Requests made outside any function (the stack's own
 * clients, tests) go through the agent as it is. Node accepts any object with `addRequest` as an
 * agent; overriding it is how proxy agents work too.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent, type ClientRequest } from 'node:http';

const scope = new AsyncLocalStorage<string>();

/** Runs `work` (and everything it starts) as function `name`: its requests use that function's pools. */
export const runInFunction = <T>(name: string, work: () => T): T => scope.run(name, work);

/** The function whose invocation is running, if any. */
export const currentFunction = (): string | undefined => scope.getStore();

/** What Node calls on an agent to give a request a socket (undocumented in the typings). */
type AddRequest = (this: Agent, request: ClientRequest, options: unknown, ...rest: unknown[]) => void;
type AgentInternals = Agent & { options?: object; addRequest: AddRequest };

const poolsByAgent = new WeakMap<Agent, Map<string, Agent>>();
const functionPools = new WeakSet<Agent>();

const poolFor = (agent: AgentInternals, fn: string): Agent => {
  let pools = poolsByAgent.get(agent);
  if (pools === undefined) {
    pools = new Map();
    poolsByAgent.set(agent, pools);
  }
  let pool = pools.get(fn);
  if (pool === undefined) {
    // The same class (http or https) with the same options: only the sockets differ.
    const AgentClass = agent.constructor as new (options?: object) => Agent;
    pool = new AgentClass(agent.options);
    functionPools.add(pool);
    pools.set(fn, pool);
  }
  return pool;
};

let installed = false;

/** Gives every agent one pool per function from now on (idempotent; the stack calls it once). */
export const isolateFunctionPools = (): void => {
  if (installed) return;
  installed = true;
  const proto = Agent.prototype as AgentInternals;
  const addRequest = proto.addRequest;
  const destroy = proto.destroy;
  proto.addRequest = function (this: Agent, request, options, ...rest) {
    const fn = scope.getStore();
    if (fn === undefined || functionPools.has(this)) return addRequest.call(this, request, options, ...rest);
    const pool = poolFor(this as AgentInternals, fn);
    // The request now belongs to the pool, as if it had been created with it.
    (request as unknown as { agent: Agent }).agent = pool;
    return addRequest.call(pool, request, options, ...rest);
  };
  proto.destroy = function (this: Agent) {
    // A client's destroy() ends its pools too (their idle keep-alive sockets).
    for (const pool of poolsByAgent.get(this)?.values() ?? []) pool.destroy();
    poolsByAgent.delete(this);
    destroy.call(this);
  };
};
