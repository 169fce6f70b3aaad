/**
 * Part — the authorizer's price. API Gateway no longer caches authorizer answers (a request
 * without credentials must reach the authorizer to get a problem+json 401), so the authorizer
 * runs on every request: this part times it against the local DynamoDB with and without its
 * in-memory credential cache, and with and without the per-tenant rate limiter. It then replays
 * three authorizer instances sharing one tenant's limit (simulated clock, real counter writes)
 * to report how closely the shared limit holds and how many counter writes it costs per request.
 */
import type { Context } from 'aws-lambda';
import { createLambdaContext } from '#infra/local/lambda.ts';
import { DynamoRateCounterStore } from '#shared/adapters/rate-counter-store.ts';
import { ENV } from '#shared/config/env.ts';
import { MANIFEST } from '#shared/config/manifest.ts';
import { CONTROL_TABLE } from '#shared/config/tables.ts';
import { RateLimiter } from '#shared/usecases/rate-limit.ts';
import type { BenchContext } from '../lib/context.ts';
import type { BenchPart, PartResult } from '../lib/part.ts';
import { mean, percentile, round } from '../lib/stats.ts';

type Setting = { name: string; cacheSeconds: string; limits: 'on' | 'off' };

const SETTINGS: readonly Setting[] = [
  { name: 'no cache, no limits (2 GetItems per request)', cacheSeconds: '0', limits: 'off' },
  { name: 'cache 10 s, no limits', cacheSeconds: '10', limits: 'off' },
  { name: 'cache 10 s, limits on (as deployed)', cacheSeconds: '10', limits: 'on' },
];

const withEnv = async <T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> => {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
};

/** Three instances offer `offeredRps` for `seconds` (simulated) against one tenant's limit. */
const sharedLimit = async (ctx: BenchContext, limitRps: number, offeredRps: number, seconds: number) => {
  let writes = 0;
  const store = new DynamoRateCounterStore(ctx.dynamo.doc, CONTROL_TABLE.localName);
  const counting = {
    add: (tenant: string, window: number, count: number) => {
      writes++;
      return store.add(tenant, window, count);
    },
  };
  const instances = [new RateLimiter(counting), new RateLimiter(counting), new RateLimiter(counting)];
  const tenant = `tnt_bench_limit_${Date.now()}`;
  const t0 = Math.ceil(Date.now() / 1000) * 1000;
  const perInstanceGapMs = (1000 * instances.length) / offeredRps;
  let admitted = 0;
  let requests = 0;
  for (let ms = 0; ms < seconds * 1000; ms += perInstanceGapMs / instances.length) {
    const limiter = instances[requests % instances.length] as RateLimiter;
    requests++;
    if ((await limiter.check(tenant, limitRps, t0 + ms)).allowed) admitted++;
  }
  return {
    limit_rps: limitRps,
    offered_rps: offeredRps,
    seconds,
    requests,
    admitted_per_s: round(admitted / seconds, 1),
    admitted_ratio_to_limit: round(admitted / seconds / limitRps, 3),
    counter_writes: writes,
    writes_per_request: round(writes / requests, 4),
  };
};

export const limitsPart: BenchPart = {
  name: 'limits',
  title: 'authorizer cost: credential cache and per-tenant rate limits',
  needsStack: true,
  async run(ctx): Promise<PartResult> {
    const tenant = await ctx.createApiTenant();
    // Never throttled here: this measures the limiter's cost, not its refusals.
    await ctx.operator.tenants.update(tenant.id, { rate_limit_rps: 10_000 });
    const { handler, clearAuthorizerCache } = await import('#functions/authorizer.ts');
    // The authorizer as Lambda invokes it: with a fresh context (its deadline) per invocation,
    // made before the clock starts, so its making is not timed as the authorizer's cost.
    const authorize: (event: never, context: Context) => Promise<{ context: { kind: string } }> = handler;
    const invocations = ctx.quick ? 500 : 2_000;
    const event = { type: 'REQUEST', headers: { authorization: `Bearer ${tenant.key}` } } as never;
    const timings: Record<string, { mean_ms: number; p95_ms: number }> = {};
    for (const setting of SETTINGS) {
      ctx.progress.step(`authorizer: ${setting.name}`);
      const samples = await withEnv(
        { [ENV.authCacheSeconds]: setting.cacheSeconds, [ENV.rateLimits]: setting.limits },
        async () => {
          clearAuthorizerCache();
          const out: number[] = [];
          for (let i = 0; i < invocations; i++) {
            const lambdaContext = createLambdaContext('authorizer', MANIFEST.authorizer);
            const started = performance.now();
            const answer = await authorize(event, lambdaContext);
            out.push(performance.now() - started);
            if (answer.context.kind !== 'key') throw new Error(`authorizer answered ${answer.context.kind}`);
          }
          return out;
        },
      );
      timings[setting.name] = { mean_ms: round(mean(samples), 3), p95_ms: round(percentile(samples, 95), 3) };
    }
    clearAuthorizerCache();
    const [uncached, cached, limited] = SETTINGS.map((s) => timings[s.name] as { mean_ms: number });
    const overheadMs = round((limited?.mean_ms ?? NaN) - (cached?.mean_ms ?? NaN), 3);

    ctx.progress.step('rate limit shared by three instances (simulated clock)');
    const simulations = [
      await sharedLimit(ctx, 100, 300, ctx.quick ? 3 : 10),
      await sharedLimit(ctx, 100, 90, ctx.quick ? 3 : 10),
      await sharedLimit(ctx, 25, 1000, ctx.quick ? 3 : 10),
    ];
    const worstWrites = Math.max(...simulations.map((s) => s.writes_per_request));
    return {
      headlines: [
        {
          key: 'rate_limit_overhead_ms',
          value: overheadMs,
          note: 'mean authorizer time added by the rate limiter per request (cached credentials)',
        },
        {
          key: 'rate_limit_writes_per_request',
          value: worstWrites,
          note: 'counter writes per request, worst simulated load (never one per request)',
        },
        {
          key: 'authorizer_uncached_ms',
          value: uncached?.mean_ms ?? null,
          note: 'mean authorizer time reading the key and tenant (what each request costs without a cache)',
        },
      ],
      details: { invocations, timings, simulations },
      tables: [
        {
          title: `Authorizer per request (${invocations} invocations each, local DynamoDB)`,
          columns: ['setting', 'mean ms', 'p95 ms'],
          rows: SETTINGS.map((s) => [s.name, timings[s.name]?.mean_ms, timings[s.name]?.p95_ms]),
        },
        {
          title: 'One tenant limit shared by three authorizer instances',
          columns: ['limit rps', 'offered rps', 'admitted /s', 'admitted ÷ limit', 'writes / request'],
          rows: simulations.map((s) => [
            s.limit_rps,
            s.offered_rps,
            s.admitted_per_s,
            s.admitted_ratio_to_limit,
            s.writes_per_request,
          ]),
          notes: [
            'Each instance admits up to a tenth of the limit before it syncs, and syncs every 250 ms: overshoot is bounded by that.',
          ],
        },
      ],
    };
  },
};
