/**
 * What every bench part gets: the mode, the running local stack, API clients (the typed client of
 * client/), a DynamoDB client with Query counters, progress output, and shared fixtures built once
 * per run — tenants created through the API, read tenants seeded with the same few thousand
 * events at a given shard count, and one large tenant (100,000 events full) for bounded pages.
 * Seeded tenants are written as ingest writes them: every kind and actor email is registered in
 * the tenant's kind registry first (a kind the registry does not list is invisible to the kind
 * path), then the very items `toItem()` builds go in with BatchWriteItem.
 */
import { randomBytes } from 'node:crypto';
import type { LocalStack } from '#infra/local/stack.ts';
import { DynamoEventStore, toItem } from '#shared/adapters/event-store.ts';
import { DynamoKindRegistry } from '#shared/adapters/kind-registry.ts';
import { CONTROL_TABLE, EVENTS_TABLE } from '#shared/config/tables.ts';
import { CursorCodec } from '#shared/domain/cursor.ts';
import type { StoredEvent } from '#shared/domain/event.ts';
import { newTenantId } from '#shared/domain/ids.ts';
import { kindId, kindOf } from '#shared/domain/kinds.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import type { KeyPrincipal, ListDeps } from '#shared/usecases/events.ts';
import type { ActorEmail, KindCount, KindRegistry } from '#shared/usecases/ports/kinds.ts';
import {
  type CreateTenantInput,
  TrailkeeperClient,
  type TrailkeeperClientOptions,
} from '../../client/index.ts';
import { type BenchDynamo, batchPut } from './dynamo.ts';
import { type EventTweak, eventGenerator, type Population, READ_POPULATION, storedEvent } from './events.ts';
import type { Item } from './layout.ts';
import type { Progress } from './progress.ts';

export type Mode = 'quick' | 'full';

export interface ApiTenant {
  id: string;
  /** An API key with every scope. */
  key: string;
}

/** A tenant whose events were written straight into the table (items built by toItem, as ingest does). */
export interface SeededTenant {
  principal: KeyPrincipal;
  shards: number;
  events: StoredEvent[];
  /** The stored item of each event (toItem at this shard count), by event id: index items are priced from it. */
  items: Map<string, Item>;
  /** The span of occurred_at, for time-window filters. */
  firstMs: number;
  lastMs: number;
}

export interface BenchContext {
  readonly mode: Mode;
  readonly quick: boolean;
  readonly stack: LocalStack;
  readonly dynamo: BenchDynamo;
  readonly tableName: string;
  readonly progress: Progress;
  /** The API client of the stack's operator. */
  readonly operator: TrailkeeperClient;
  /** An API client of the stack with `apiKey` (options: e.g. `retry: { maxAttempts: 1 }` to count refusals). */
  client(apiKey: string, options?: Partial<TrailkeeperClientOptions>): TrailkeeperClient;
  createApiTenant(body?: Partial<CreateTenantInput>): Promise<ApiTenant>;
  /**
   * The read tenant at `shards`, seeded on first use (same events for every shard count); another
   * `population` (e.g. more teams) seeds another tenant with the same generator.
   */
  seededTenant(shards: number, population?: Population): Promise<SeededTenant>;
  /**
   * The large tenant (1 shard): `events` seeded over 30 days with the read population, each event
   * passed through `tweak` first (e.g. a rare combination); seeded on first use, same key = same tenant.
   */
  largeTenant(key: string, events: number, tweak: EventTweak): Promise<SeededTenant>;
  /** Use-case dependencies of `listEvents`, on the counted client. */
  listDeps(): ListDeps;
  /** The kind registry (control table) on the counted client. */
  kindRegistry(): KindRegistry;
}

/**
 * What ingest registers before it stores `events` (withKindRegistry): each kind with its count,
 * each (lower-cased email, actor id) pair.
 */
export const registryEntries = (
  events: readonly StoredEvent[],
): { kinds: KindCount[]; emails: ActorEmail[] } => {
  const kinds = new Map<string, KindCount>();
  const emails = new Map<string, ActorEmail>();
  for (const event of events) {
    const kind = kindOf(event);
    const id = kindId(kind);
    const entry = kinds.get(id);
    if (entry === undefined) kinds.set(id, { id, kind, count: 1 });
    else entry.count += 1;
    if (event.actor.email !== undefined) {
      const email = event.actor.email.toLowerCase();
      emails.set(`${email}\u0000${event.actor.id}`, { email, actorId: event.actor.id });
    }
  }
  return { kinds: [...kinds.values()], emails: [...emails.values()] };
};

const DAY_MS = 86_400_000;
const READ_SEED = 7;

/** A context without a stack hands out this instead, so a misdeclared part fails loudly. */
const noStack = (what: string): never => {
  throw new Error(`${what} is not available: the part is declared with needsStack: false`);
};

export const createContext = (options: {
  mode: Mode;
  progress: Progress;
  stack?: LocalStack;
  dynamo?: BenchDynamo;
}): BenchContext => {
  const { mode, progress } = options;
  const stack = (): LocalStack => options.stack ?? noStack('the local stack');
  const dynamo = (): BenchDynamo => options.dynamo ?? noStack('DynamoDB');
  const tableName = EVENTS_TABLE.localName;
  const seeded = new Map<string, Promise<SeededTenant>>();
  const readEvents = mode === 'quick' ? 1_500 : 5_000;
  const seedNowMs = Date.now();
  let deps: ListDeps | undefined;

  const client: BenchContext['client'] = (apiKey, clientOptions = {}) =>
    new TrailkeeperClient({ baseUrl: stack().url, apiKey, ...clientOptions });
  let operator: TrailkeeperClient | undefined;
  const operatorClient = (): TrailkeeperClient => {
    operator ??= client(stack().operatorKey);
    return operator;
  };

  const createApiTenant = async (body: Partial<CreateTenantInput> = {}): Promise<ApiTenant> => {
    const tenant = await operatorClient().tenants.create({ name: 'Bench tenant', plan: 'pro', ...body });
    const key = await operatorClient().keys.create(tenant.id, {
      name: 'bench',
      scopes: ['events:write', 'events:read', 'exports:write', 'admin'],
    });
    return { id: tenant.id, key: key.key };
  };

  let registry: KindRegistry | undefined;
  const kindRegistry = (): KindRegistry => {
    registry ??= new DynamoKindRegistry(dynamo().doc, CONTROL_TABLE.localName);
    return registry;
  };

  /** Registers the events' kinds and emails, then writes their items with BatchWriteItem (4 writers). */
  const store = async (
    tenantId: string,
    events: readonly StoredEvent[],
    items: readonly Item[],
    what: string,
  ) => {
    const firstSeen = events.reduce(
      (min, e) => (e.received_at < min ? e.received_at : min),
      events[0]?.received_at ?? '',
    );
    await kindRegistry().register(tenantId, registryEntries(events), firstSeen);
    progress.step(what);
    const chunk = 100;
    let taken = 0;
    let written = 0;
    const writer = async () => {
      while (taken < items.length) {
        const slice = items.slice(taken, taken + chunk);
        taken += slice.length;
        const failed = await batchPut(dynamo().doc, tableName, slice);
        if (failed > 0) throw new Error(`seeding: ${failed} items not written`);
        written += slice.length;
        if (written % 1_000 === 0 || written === items.length) progress.tick(written, items.length, 'events');
      }
    };
    await Promise.all(Array.from({ length: 4 }, writer));
  };

  const seed = async (
    shards: number,
    population: Population,
    count: number,
    spanMs: number,
    idPrefix: string,
    what: string,
    tweak?: EventTweak,
  ): Promise<SeededTenant> => {
    const tenantId = newTenantId();
    const start = seedNowMs - spanMs - 60_000;
    const next = eventGenerator({
      seed: READ_SEED,
      population,
      occurredAt: (n, rng) => start + Math.floor(((n + rng()) / count) * spanMs),
      idOf: (n) => `${idPrefix}${String(n).padStart(6, '0')}`,
    });
    progress.step(`building ${what}`);
    // Built in slices that yield to the event loop: a 100,000-event build blocking it for many
    // seconds lets DynamoDB Local close the idle keep-alive sockets under the client (socket hang up).
    const events: StoredEvent[] = [];
    const items: Item[] = [];
    for (let n = 0; n < count; n++) {
      const input = next(n);
      const event = storedEvent(tweak === undefined ? input : tweak(input, n), tenantId, seedNowMs);
      events.push(event);
      items.push(toItem(event, shards));
      if (n % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await store(tenantId, events, items, `seeding ${what}`);
    let firstMs = Number.POSITIVE_INFINITY;
    let lastMs = Number.NEGATIVE_INFINITY;
    for (const e of events) {
      const t = Date.parse(e.occurred_at);
      if (t < firstMs) firstMs = t;
      if (t > lastMs) lastMs = t;
    }
    return {
      principal: {
        kind: 'key',
        tenantId,
        keyId: 'key_bench',
        keyName: 'bench',
        scopes: ['events:read'],
        retentionDays: 90,
        shards,
      },
      shards,
      events,
      items: new Map(events.map((e, i) => [e.id, items[i] as Item])),
      firstMs,
      lastMs,
    };
  };
  const large = new Map<string, Promise<SeededTenant>>();

  return {
    mode,
    quick: mode === 'quick',
    get stack() {
      return stack();
    },
    get dynamo() {
      return dynamo();
    },
    get operator() {
      return operatorClient();
    },
    tableName,
    progress,
    client,
    createApiTenant,
    seededTenant: (shards, population = READ_POPULATION) => {
      const key = `${shards} ${JSON.stringify(population)}`;
      let pending = seeded.get(key);
      if (pending === undefined) {
        pending = seed(
          shards,
          population,
          readEvents,
          3 * DAY_MS,
          'evt_read_',
          `a read tenant (shards = ${shards}, ${readEvents} events)`,
        );
        seeded.set(key, pending);
      }
      return pending;
    },
    largeTenant: (key, events, tweak) => {
      let pending = large.get(key);
      if (pending === undefined) {
        pending = seed(
          1,
          READ_POPULATION,
          events,
          30 * DAY_MS - 3_600_000,
          'evt_big_',
          `the large tenant (${events.toLocaleString('en-US')} events)`,
          tweak,
        );
        large.set(key, pending);
      }
      return pending;
    },
    kindRegistry,
    listDeps: () => {
      deps ??= {
        store: new DynamoEventStore(dynamo().doc, tableName),
        kinds: kindRegistry(),
        redact: createRedactor(),
        now: () => Date.now(),
        cursors: new CursorCodec(randomBytes(32)),
      };
      return deps;
    },
  };
};
