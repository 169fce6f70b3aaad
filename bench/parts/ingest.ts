/**
 * Part 1 — ingest efficiency. Events/s through the HTTP API (batches of 100, several concurrent
 * clients, ~1 KB events) ÷ events/s of raw BatchWriteItem of the very same items (built by
 * buildStoredEvent + toItem, as the ingest use case builds them) into the same DynamoDB Local
 * at the same concurrency. A third phase writes pre-built events through the adapter itself
 * (DynamoEventStore.append: one conditional PutItem per event, the 100 of a batch in parallel),
 * which splits the gap into the cost of the write pattern (a conditional request per event
 * instead of 4 unconditional BatchWriteItem of 25) and the cost of the HTTP/service layers. The
 * adapter's requests are counted on the client, so the report shows the pattern it really sent.
 * Phases alternate (raw, adapter, api, raw, …) and the per-round ratios' medians are reported.
 */
import { DynamoEventStore, toItem } from '#shared/adapters/event-store.ts';
import type { EventInput, StoredEvent } from '#shared/domain/event.ts';
import { type PreparedBatch, TrailkeeperError } from '../../client/index.ts';
import type { BenchContext } from '../lib/context.ts';
import { findJavaDescendants, pidsCpuMs, selfCpuMs } from '../lib/cpu.ts';
import { batchPut } from '../lib/dynamo.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from '../lib/events.ts';
import { documentItemSize } from '../lib/item-size.ts';
import { atLeast, type BenchPart, type PartResult } from '../lib/part.ts';
import { mean, median, round } from '../lib/stats.ts';

const BATCH = 100;
const CLIENTS = 4;
const TARGET = 0.7;

const KINDS = ['raw', 'adapter', 'api'] as const;
type Kind = (typeof KINDS)[number];

const LABELS: Record<Kind, string> = {
  raw: 'raw BatchWriteItem',
  adapter: 'DynamoEventStore.append (PutItem per event)',
  api: 'POST /v1/events',
};

interface PhaseResult {
  kind: Kind;
  round: number;
  events: number;
  failed: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU ms per event written: this Node process (client, gateway, handlers) and the DynamoDB Local JVM. */
  nodeCpuMsPerEvent: number;
  storeCpuMsPerEvent: number | null;
  /** Requests sent on the bench's DynamoDB client during the phase, by command (raw and adapter phases). */
  requests: Record<string, number>;
}

/** Runs `work` over batch indexes 0..count-1 with CLIENTS concurrent workers and times the whole. */
const timed = async (
  kind: Kind,
  round: number,
  count: number,
  work: (index: number) => Promise<{ ok: number; failed: number }>,
  onBatch: (done: number) => void,
  javaPids: number[] | null,
  commands: Record<string, number>,
): Promise<PhaseResult> => {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const result = await work(next++);
      ok += result.ok;
      failed += result.failed;
      onBatch(++done);
    }
  };
  const commandsBefore = { ...commands };
  const cpuBefore = selfCpuMs();
  const storeBefore = pidsCpuMs(javaPids);
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const seconds = (performance.now() - startedAt) / 1000;
  const storeAfter = pidsCpuMs(javaPids);
  const perEvent = (ms: number) => ms / Math.max(1, ok);
  return {
    kind,
    round,
    events: ok,
    failed,
    seconds,
    eventsPerSecond: ok / seconds,
    nodeCpuMsPerEvent: perEvent(selfCpuMs() - cpuBefore),
    storeCpuMsPerEvent:
      storeBefore === null || storeAfter === null ? null : perEvent(storeAfter - storeBefore),
    requests: Object.fromEntries(
      Object.entries(commands)
        .map(([name, n]): [string, number] => [name, n - (commandsBefore[name] ?? 0)])
        .filter(([, n]) => n > 0),
    ),
  };
};

/** Requests per batch of the measured phases of one kind, by request name (`PutItem`, …). */
const requestsPerBatch = (phases: readonly PhaseResult[], batches: number): Record<string, number> => {
  const totals: Record<string, number> = {};
  for (const p of phases)
    for (const [command, n] of Object.entries(p.requests)) {
      const name = command.replace(/Command$/, '');
      totals[name] = (totals[name] ?? 0) + n;
    }
  return Object.fromEntries(Object.entries(totals).map(([name, n]) => [name, round(n / batches, 2)]));
};

const perBatchText = (requests: Record<string, number>): string =>
  Object.entries(requests)
    .map(([name, n]) => `${n} ${name}`)
    .join(' + ') || 'none';

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? '–' : value.toFixed(2);

export const ingestPart: BenchPart = {
  name: 'ingest',
  title: 'Ingest efficiency (API vs raw BatchWriteItem)',
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const rounds = ctx.quick ? 2 : 3;
    const batchesPerPhase = ctx.quick ? 10 : 40;
    const warmupBatches = ctx.quick ? 3 : 6;
    const tenant = await ctx.createApiTenant();
    // No retries: a batch the API refuses counts as failed, it is not sent again inside the clock.
    const api = ctx.client(tenant.key, { retry: { maxAttempts: 1 } });
    const store = new DynamoEventStore(ctx.dynamo.doc, ctx.tableName);
    const javaPids = findJavaDescendants();
    const runTag = Date.now().toString(36);
    const nowMs = Date.now();
    const next = eventGenerator({
      seed: 1,
      population: HOT_DAY_POPULATION,
      // The last few minutes: what live traffic looks like.
      occurredAt: (_n, rng) => nowMs - Math.floor(rng() * 300_000),
      idOf: (n) => `evt_${runTag}_${n}`,
    });
    let n = 0;
    const inputs = (batches: number): EventInput[][] =>
      Array.from({ length: batches }, () => Array.from({ length: BATCH }, () => next(n++)));
    const built = (batches: EventInput[][]): StoredEvent[][] =>
      batches.map((events) => events.map((e) => storedEvent(e, tenant.id, nowMs)));

    // Everything is prepared before the clock starts; every phase writes new event ids.
    const prepare = (kind: Kind, batches: number) => {
      const events = inputs(batches);
      // The client's prepared batch: ids checked and the body serialised here, before the clock.
      if (kind === 'api') return events.map((batch) => api.events.prepareBatch(batch));
      if (kind === 'adapter') return built(events);
      return built(events).map((batch) => batch.map((e) => toItem(e, 1)));
    };
    const run = async (kind: Kind, round: number, batches: number, label: string): Promise<PhaseResult> => {
      const prepared = prepare(kind, batches);
      ctx.progress.step(label);
      const work = async (i: number): Promise<{ ok: number; failed: number }> => {
        if (kind === 'api') {
          try {
            const sent = await api.events.sendBatch(prepared[i] as PreparedBatch);
            return sent.status === 201 ? { ok: BATCH, failed: 0 } : { ok: 0, failed: BATCH };
          } catch (error) {
            if (error instanceof TrailkeeperError) return { ok: 0, failed: BATCH };
            throw error;
          }
        }
        if (kind === 'adapter') {
          const results = await store.append(prepared[i] as StoredEvent[], 1);
          const created = results.filter((r) => r.created).length;
          return { ok: created, failed: results.length - created };
        }
        const items = prepared[i] as Record<string, unknown>[];
        const failed = await batchPut(ctx.dynamo.doc, ctx.tableName, items);
        return { ok: items.length - failed, failed };
      };
      return timed(
        kind,
        round,
        prepared.length,
        work,
        (done) => ctx.progress.tick(done, batches, 'batches'),
        javaPids,
        ctx.dynamo.commands,
      );
    };

    // Warm-up (not measured): loads the handler modules, JIT-compiles every path, warms the JVM.
    for (const kind of KINDS) await run(kind, 0, warmupBatches, `warm-up: ${LABELS[kind]}`);

    const phases: PhaseResult[] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const kind of KINDS)
        phases.push(await run(kind, r, batchesPerPhase, `round ${r}/${rounds}: ${LABELS[kind]}`));
    }

    const of = (kind: Kind) => phases.filter((p) => p.kind === kind);
    const rate = (kind: Kind) => median(of(kind).map((p) => p.eventsPerSecond));
    const cpu = (kind: Kind) => ({
      node: median(of(kind).map((p) => p.nodeCpuMsPerEvent)),
      store: javaPids === null ? null : median(of(kind).map((p) => p.storeCpuMsPerEvent ?? Number.NaN)),
    });
    const rates = { raw: rate('raw'), adapter: rate('adapter'), api: rate('api') };
    // Ratios are paired per round (phases adjacent in time), then the median is taken: a drift in
    // machine load between rounds then cancels out instead of landing on one side of the ratio.
    const pairedRatio = (a: Kind, b: Kind) =>
      median(
        Array.from(
          { length: rounds },
          (_, i) => (of(a)[i]?.eventsPerSecond ?? Number.NaN) / (of(b)[i]?.eventsPerSecond ?? Number.NaN),
        ),
      );
    const ratio = pairedRatio('api', 'raw');
    const failed = phases.reduce((total, p) => total + p.failed, 0);
    const requests = {
      raw: requestsPerBatch(of('raw'), rounds * batchesPerPhase),
      adapter: requestsPerBatch(of('adapter'), rounds * batchesPerPhase),
    };
    const sample = built(inputs(5)).flat();
    const eventJsonBytes = mean(inputs(1)[0]?.map((e) => Buffer.byteLength(JSON.stringify(e))) ?? []);
    const itemBytes = mean(sample.map((e) => documentItemSize(toItem(e, 1))));
    const roundRow = (label: string, pick: (kind: Kind) => number) => [
      label,
      Math.round(pick('raw')),
      Math.round(pick('adapter')),
      Math.round(pick('api')),
      (pick('api') / pick('raw')).toFixed(2),
      (pick('adapter') / pick('raw')).toFixed(2),
      (pick('api') / pick('adapter')).toFixed(2),
    ];
    const medianRow = [
      'median',
      Math.round(rates.raw),
      Math.round(rates.adapter),
      Math.round(rates.api),
      ratio.toFixed(2),
      pairedRatio('adapter', 'raw').toFixed(2),
      pairedRatio('api', 'adapter').toFixed(2),
    ];

    return {
      headlines: [
        atLeast(
          'ingest_ratio',
          round(ratio, 3),
          TARGET,
          'API events/s ÷ raw BatchWriteItem events/s (median of per-round ratios)',
        ),
      ],
      figures: {
        ingest_api_events_per_s: Math.round(rates.api),
        ingest_raw_events_per_s: Math.round(rates.raw),
        ingest_adapter_ratio: round(pairedRatio('adapter', 'raw'), 3),
        ingest_api_vs_adapter_ratio: round(pairedRatio('api', 'adapter'), 3),
      },
      details: {
        clients: CLIENTS,
        batch_size: BATCH,
        rounds,
        events_per_phase: batchesPerPhase * BATCH,
        events_per_s: {
          raw: round(rates.raw, 1),
          adapter: round(rates.adapter, 1),
          api: round(rates.api, 1),
        },
        ratio: round(ratio, 4),
        ratio_of_medians: round(rates.api / rates.raw, 4),
        cpu_ms_per_event: Object.fromEntries(
          KINDS.map((kind) => {
            const c = cpu(kind);
            return [kind, { node: round(c.node, 4), store: c.store === null ? null : round(c.store, 4) }];
          }),
        ),
        requests_per_batch: requests,
        failed_events: failed,
        event_json_bytes_mean: round(eventJsonBytes, 0),
        item_bytes_mean: round(itemBytes, 0),
        phases: phases.map((p) => ({
          ...p,
          seconds: round(p.seconds, 3),
          eventsPerSecond: round(p.eventsPerSecond, 1),
          nodeCpuMsPerEvent: round(p.nodeCpuMsPerEvent, 4),
          storeCpuMsPerEvent: p.storeCpuMsPerEvent === null ? null : round(p.storeCpuMsPerEvent, 4),
        })),
      },
      tables: [
        {
          title: `Ingest: ${CLIENTS} clients × batches of ${BATCH} (~${Math.round(eventJsonBytes)} B JSON events, ~${Math.round(itemBytes)} B items), events/s`,
          columns: ['round', 'raw batch', 'adapter', 'API', 'API÷raw', 'adapter÷raw', 'API÷adapter'],
          rows: [
            ...Array.from({ length: rounds }, (_, i) =>
              roundRow(String(i + 1), (kind) => of(kind)[i]?.eventsPerSecond ?? Number.NaN),
            ),
            medianRow,
          ],
          notes: [
            `target API÷raw ≥ ${TARGET}; failed events: ${failed}. median row: median of each column (ratios paired per round).`,
            'raw = BatchWriteItem of the same items, 4 × 25 per batch in parallel (no condition); adapter = DynamoEventStore.append of pre-built events:',
            `  one PutItem per event conditioned on attribute_not_exists(pk), the ${BATCH} of a batch in parallel, toItem (canonical JSON + brotli) inside the timed phase, whereas raw items are built before the clock;`,
            `  requests per batch counted on the client — raw: ${perBatchText(requests.raw)}; adapter: ${perBatchText(requests.adapter)}.`,
            'API = POST /v1/events through the local gateway, the authorizer (2 GetItem, no cache locally) and the ingest handler (validate, build, hash, compress, adapter).',
            `CPU ms per event (median) — this Node process: ${KINDS.map((k) => `${k} ${ms(cpu(k).node)}`).join(', ')}; DynamoDB Local JVM: ${KINDS.map((k) => `${k} ${ms(cpu(k).store)}`).join(', ')}.`,
          ],
        },
      ],
    };
  },
};
