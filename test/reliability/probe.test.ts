import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect, it } from 'vitest';
import { localDynamoDbClientConfig, startDynamoDbLocal } from '#infra/local/dynamodb.ts';
import { ensureTables } from '#infra/local/tables.ts';
import { DynamoEventStore } from '#shared/adapters/event-store.ts';
import { buildStoredEvent } from '#shared/domain/event.ts';
import { createRedactor } from '#shared/domain/sanitize.ts';
import { scanStoredEvents } from './support.ts';

it('store + DynamoDB Local under SIGKILL: acknowledged batches survive?', async () => {
  const dataDir = await mkdtemp(join('/tmp', 'probe-ddb-'));
  const ddb = await startDynamoDbLocal({ dataDir });
  const raw = new DynamoDBClient({ ...localDynamoDbClientConfig(ddb.endpoint), maxAttempts: 6 });
  await ensureTables(raw);
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoEventStore(client, 'trailkeeper-events');
  const redact = createRedactor();
  const tenantId = 'tnt_01m8000000000000000000000a';
  const acked = new Map<string, number>();
  const kills: number[] = [];
  const t0 = Date.now();
  let stop = false;
  let seq = 0;
  const writer = async (w: number) => {
    while (!stop) {
      const size = 1 + Math.floor(Math.random() * 100);
      const events = Array.from({ length: size }, () => {
        const built = buildStoredEvent(
          { id: `p-${w}-${seq++}`, action: 'a.b', actor: { id: `u${w}` }, team_id: 'tm', metadata: { w } },
          { tenantId, retentionDays: 90 },
          Date.now(),
          redact,
        );
        if (!built.ok) throw new Error('bad');
        return built.event;
      });
      try {
        await store.append(events, 4);
        for (const e of events) acked.set(e.id, Date.now() - t0);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const writers = [0, 1, 2, 3, 4, 5].map(writer);
  for (let k = 0; k < 6; k++) {
    await new Promise((r) => setTimeout(r, 2000 + Math.random() * 3000));
    kills.push(Date.now() - t0);
    await ddb.restart({ signal: 'SIGKILL' });
    kills.push(Date.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;
  await Promise.all(writers);
  const { events } = await scanStoredEvents(ddb.endpoint);
  const seen = new Set(events.map((e) => e.id));
  const lost = [...acked].filter(([id]) => !seen.has(id));
  console.log(
    'acked',
    acked.size,
    'seen',
    seen.size,
    'lost',
    lost.length,
    JSON.stringify(lost.slice(0, 10)),
    'kills',
    kills,
  );
  raw.destroy();
  await ddb.stop();
  await rm(dataDir, { recursive: true, force: true });
  expect(lost).toEqual([]);
});
