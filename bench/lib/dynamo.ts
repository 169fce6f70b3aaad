/**
 * Direct DynamoDB access for the bench: a document client configured like production's
 * (shared/adapters/clients.ts) pointed at the local stack, a middleware that counts the requests
 * sent by command and what every Query really read (calls, items, capacity), and a bounded
 * BatchWriteItem loop. The store sends
 * no FilterExpression (conditions run in code on what DynamoDB returns), so every item the key
 * condition read comes back in `Items`; counting both tells if that ever changes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDynamoDbClientConfig } from '#infra/local/dynamodb.ts';

export interface QueryCounters {
  /** Query calls. */
  queries: number;
  /** Items the key condition read (ScannedCount): what DynamoDB bills. */
  scanned: number;
  /**
   * Items DynamoDB returned (`Items`), before the store's conditions and merge: equal to `scanned`
   * as long as no FilterExpression is sent.
   */
  items: number;
  /** Σ ConsumedCapacity.CapacityUnits reported by the store. */
  capacityUnits: number;
  /** Queries for which the store reported 0 units (DynamoDB Local does so when nothing was read). */
  zeroUnitQueries: number;
}

export const zeroCounters = (): QueryCounters => ({
  queries: 0,
  scanned: 0,
  items: 0,
  capacityUnits: 0,
  zeroUnitQueries: 0,
});

export interface BenchDynamo {
  /** Same settings as production: retries, undefined values dropped. */
  doc: DynamoDBDocumentClient;
  /** Running totals of every Query sent through `doc`; reset by assigning zeroCounters(). */
  counters: QueryCounters;
  /** Requests sent through `doc` by command name (e.g. `PutItemCommand`), retries not included. */
  commands: Record<string, number>;
  destroy(): void;
}

interface QueryOutputShape {
  ScannedCount?: number;
  Items?: unknown[];
  ConsumedCapacity?: { CapacityUnits?: number };
}

export const createBenchDynamo = (endpoint: string): BenchDynamo => {
  const client = new DynamoDBClient({ ...localDynamoDbClientConfig(endpoint), maxAttempts: 6 });
  const bench: BenchDynamo = {
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    counters: zeroCounters(),
    commands: {},
    destroy: () => client.destroy(),
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      bench.commands[command] = (bench.commands[command] ?? 0) + 1;
      const result = await next(args);
      if (command === 'QueryCommand') {
        const output = result.output as QueryOutputShape;
        bench.counters.queries += 1;
        const items = output.Items?.length ?? 0;
        bench.counters.scanned += output.ScannedCount ?? items;
        bench.counters.items += items;
        const units = output.ConsumedCapacity?.CapacityUnits ?? 0;
        bench.counters.capacityUnits += units;
        if (units === 0) bench.counters.zeroUnitQueries += 1;
      }
      return result;
    },
    { step: 'initialize', name: 'benchRequestCounter' },
  );
  return bench;
};

const BATCH_WRITE_MAX = 25;
const MAX_ROUNDS = 12;

/**
 * Puts `items` with BatchWriteItem, 25 per call, all calls in parallel, retrying unprocessed
 * items with backoff a bounded number of times. Returns how many items were not written.
 */
export const batchPut = async (
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<number> => {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) chunks.push(items.slice(i, i + BATCH_WRITE_MAX));
  const results = await Promise.all(
    chunks.map(async (chunk) => {
      let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** round)));
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
      return pending.length;
    }),
  );
  return results.reduce((a, b) => a + b, 0);
};
