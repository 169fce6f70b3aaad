/**
 * Part 4 — write amplification. Write units per ingested ~1 KB event: the table write plus one
 * write per GSI the item lands in (projection ALL: each costs the item's size, rounded up to
 * 1 KiB). Computed from item sizes of realistic events, cross-checked against the capacity
 * DynamoDB Local reports for a real conditional PutItem (ReturnConsumedCapacity: INDEXES).
 * Also shows where the item's bytes go and what two alternative layouts would cost.
 */
import { gzipSync } from 'node:zlib';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { toItem } from '#shared/adapters/event-store.ts';
import { EVENT_SORT_KEY, EVENTS_TABLE } from '#shared/config/tables.ts';
import { newTenantId } from '#shared/domain/ids.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from '../lib/events.ts';
import { documentItemSize, writeUnits } from '../lib/item-size.ts';
import type { BenchPart, PartResult } from '../lib/part.ts';
import { mean, percentile, round } from '../lib/stats.ts';

const INDEXES = Object.values(EVENTS_TABLE.indexes);

interface Sample {
  eventJsonBytes: number;
  itemBytes: number;
  docBytes: number;
  keyBytes: number;
  indexes: number;
  writeUnits: number;
  /** Same item, GSIs projecting keys only (index item = table key + index key + sort key). */
  keysOnlyUnits: number;
  /** Same layout with `doc` stored gzip-compressed (binary). */
  gzipDocUnits: number;
}

const attrBytes = (name: string, value: unknown): number =>
  typeof value === 'string' ? Buffer.byteLength(name) + Buffer.byteLength(value) : 0;

const sampleOf = (eventJson: string, item: Record<string, unknown>): Sample => {
  const itemBytes = documentItemSize(item);
  const landed = INDEXES.filter((index) => item[index.partitionKey] !== undefined);
  const keyNames = ['pk', EVENT_SORT_KEY, ...INDEXES.map((index) => index.partitionKey)];
  const keyBytes = keyNames.reduce((total, name) => total + attrBytes(name, item[name]), 0);
  const doc = String(item.doc);
  const docBytes = attrBytes('doc', doc);
  const perWrite = writeUnits(itemBytes);
  const keysOnly = landed.reduce(
    (total, index) =>
      total +
      writeUnits(
        attrBytes('pk', item.pk) +
          attrBytes(index.partitionKey, item[index.partitionKey]) +
          attrBytes(EVENT_SORT_KEY, item[EVENT_SORT_KEY]),
      ),
    0,
  );
  const gzipBytes = itemBytes - Buffer.byteLength(doc) + gzipSync(doc).byteLength;
  return {
    eventJsonBytes: Buffer.byteLength(eventJson),
    itemBytes,
    docBytes,
    keyBytes,
    indexes: landed.length,
    writeUnits: perWrite * (1 + landed.length),
    keysOnlyUnits: perWrite + keysOnly,
    gzipDocUnits: writeUnits(gzipBytes) * (1 + landed.length),
  };
};

export const writesPart: BenchPart = {
  name: 'writes',
  title: 'Write amplification (WCU per event)',
  needsStack: true,
  async run(ctx: BenchContext): Promise<PartResult> {
    const count = ctx.quick ? 1_000 : 5_000;
    const checked = ctx.quick ? 50 : 200;
    const tenantId = newTenantId();
    const nowMs = Date.now();
    const next = eventGenerator({
      seed: 3,
      population: HOT_DAY_POPULATION,
      occurredAt: (_n, rng) => nowMs - Math.floor(rng() * 3_600_000),
      idOf: (n) => `evt_wa_${n}`,
    });
    ctx.progress.step('sizing items');
    const inputs = Array.from({ length: count }, (_, n) => next(n));
    const items = inputs.map((input) => toItem(storedEvent(input, tenantId, nowMs), 1));
    const samples = items.map((item, i) => sampleOf(JSON.stringify(inputs[i]), item));

    // Cross-check: the capacity DynamoDB Local reports for the adapter's own conditional put.
    let matched = 0;
    let reportedTotal = 0;
    let modelTotal = 0;
    const mismatches: { id: string; model: number; reported: number }[] = [];
    for (let i = 0; i < checked; i++) {
      ctx.progress.tick(i + 1, checked, 'PutItem checks');
      const item = items[i] as Record<string, unknown>;
      const out = await ctx.dynamo.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      const reported = out.ConsumedCapacity?.CapacityUnits ?? NaN;
      const model = (samples[i] as Sample).writeUnits;
      reportedTotal += reported;
      modelTotal += model;
      if (reported === model) matched += 1;
      else if (mismatches.length < 5) mismatches.push({ id: String(item.id), model, reported });
    }

    const pick = (f: (s: Sample) => number) => samples.map(f);
    const units = pick((s) => s.writeUnits);
    const meanUnits = mean(units);
    const wcuHistogram = new Map<number, number>();
    for (const s of samples)
      wcuHistogram.set(writeUnits(s.itemBytes), (wcuHistogram.get(writeUnits(s.itemBytes)) ?? 0) + 1);
    const histogram = [...wcuHistogram.entries()].sort((a, b) => a[0] - b[0]);

    return {
      headlines: [
        {
          key: 'write_units_per_event',
          value: round(meanUnits, 2),
          note: `WCU per ~${Math.round(mean(pick((s) => s.eventJsonBytes)))} B event: table + ${mean(pick((s) => s.indexes)).toFixed(1)} GSIs, each ceil(item/1 KiB)`,
        },
      ],
      details: {
        events: count,
        event_json_bytes_mean: round(mean(pick((s) => s.eventJsonBytes)), 0),
        item_bytes: {
          mean: round(mean(pick((s) => s.itemBytes)), 0),
          p50: percentile(
            pick((s) => s.itemBytes),
            50,
          ),
          p95: percentile(
            pick((s) => s.itemBytes),
            95,
          ),
          max: Math.max(...pick((s) => s.itemBytes)),
        },
        doc_bytes_mean: round(mean(pick((s) => s.docBytes)), 0),
        key_bytes_mean: round(mean(pick((s) => s.keyBytes)), 0),
        indexes_per_event_mean: round(mean(pick((s) => s.indexes)), 3),
        wcu_per_write_histogram: Object.fromEntries(histogram.map(([k, v]) => [String(k), v])),
        write_units_per_event: {
          mean: round(meanUnits, 3),
          p50: percentile(units, 50),
          p95: percentile(units, 95),
        },
        what_if: {
          gsis_keys_only: round(mean(pick((s) => s.keysOnlyUnits)), 3),
          doc_gzip: round(mean(pick((s) => s.gzipDocUnits)), 3),
        },
        dynamodb_local_check: {
          puts: checked,
          matched,
          model_total: modelTotal,
          reported_total: reportedTotal,
          mismatches,
        },
      },
      tables: [
        {
          title: `Write amplification: ${count.toLocaleString('en-US')} realistic events, item layout of toItem()`,
          columns: ['measure', 'value'],
          rows: [
            ['event JSON as sent (mean)', `${Math.round(mean(pick((s) => s.eventJsonBytes)))} B`],
            [
              'stored item (mean / p95 / max)',
              `${Math.round(mean(pick((s) => s.itemBytes)))} / ${percentile(
                pick((s) => s.itemBytes),
                95,
              )} / ${Math.max(...pick((s) => s.itemBytes))} B`,
            ],
            ['  of which doc (canonical JSON)', `${Math.round(mean(pick((s) => s.docBytes)))} B`],
            [
              '  of which key attributes (pk, sk, 8 index pks)',
              `${Math.round(mean(pick((s) => s.keyBytes)))} B`,
            ],
            [
              '  of which filter attributes (copies of doc fields)',
              `${Math.round(mean(pick((s) => s.itemBytes - s.docBytes - s.keyBytes)))} B`,
            ],
            [
              'WCU per write (items at 1 / 2 / 3 / … KiB)',
              histogram.map(([k, v]) => `${k}: ${((v / count) * 100).toFixed(0)} %`).join(', '),
            ],
            ['GSIs the item lands in (mean)', mean(pick((s) => s.indexes)).toFixed(2)],
            ['write units per event (mean / p95)', `${meanUnits.toFixed(2)} / ${percentile(units, 95)}`],
            ['what if: GSIs project keys only', mean(pick((s) => s.keysOnlyUnits)).toFixed(2)],
            ['what if: doc stored gzip-compressed', mean(pick((s) => s.gzipDocUnits)).toFixed(2)],
            [
              'DynamoDB Local check (PutItem, INDEXES)',
              `${matched}/${checked} equal; model ${modelTotal} vs reported ${reportedTotal} WCU`,
            ],
          ],
        },
      ],
    };
  },
};
