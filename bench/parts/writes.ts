/**
 * Part 4 — write amplification. Write units per ingested ~1 KB event: the base-table write plus
 * one write per GSI the item lands in. The adapter's append writes each event with its own
 * conditional PutItem, so the table write costs 1 WCU per started KiB of the item and each GSI
 * write costs its INDEX item (table key + index keys + the projected doc, hash, expires_at),
 * rounded up to 1 KiB, also at 1×. Computed from realistic events with the layout of
 * EVENTS_TABLE, cross-checked item by item against the capacity DynamoDB Local reports for the
 * same conditional PutItem (ReturnConsumedCapacity: INDEXES), which must match exactly. Also
 * shows where the bytes go, what the layout saves against the old one (uncompressed doc,
 * projection ALL), and what the rejected alternative — one TransactWriteItems per batch — would
 * cost on the same items. Then the AWS bill per million events (on-demand, us-east-1): writes,
 * a month of storage (table item + every index item, 100 B overhead each), and the reads of a
 * typical console session measured through listEvents — against the 14-GSI layout before issue 15
 * (the committed bench/results/latest.json of that layout).
 */
import { brotliDecompressSync } from 'node:zlib';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { toItem } from '#shared/adapters/event-store.ts';
import { newTenantId } from '#shared/domain/ids.ts';
import type { BenchContext } from '../lib/context.ts';
import { eventGenerator, HOT_DAY_POPULATION, storedEvent } from '../lib/events.ts';
import { documentItemSize, writeUnits } from '../lib/item-size.ts';
import {
  ALL_KEY_ATTRIBUTES,
  DOC_ATTRIBUTE,
  INDEXES,
  type Item,
  indexesOf,
  indexItemBytes,
  PROJECTED_ATTRIBUTES,
  pick,
  TABLE_KEY_ATTRIBUTES,
} from '../lib/layout.ts';
import { atMost, type BenchPart, type PartResult } from '../lib/part.ts';
import { CONSOLE_SESSION, consoleSession } from '../lib/reads.ts';
import { mean, percentile, round, sum } from '../lib/stats.ts';
import type { Cell } from '../lib/table.ts';

/**
 * What-if only: AWS bills a transactional write at 2 WCU per 1 KB (prepare + commit) and does not
 * document the GSI writes that follow it (DynamoDB Local doubles them; see bench/README.md).
 */
const TRANSACTION_FACTOR = 2;

/** SPEC: write units per event ≤ 8. */
const WCU_TARGET = 8;

/** DynamoDB on-demand, standard table class, us-east-1 (USD). */
const PRICES = {
  writePerMillionUnits: 0.625,
  readPerMillionUnits: 0.125,
  storagePerGbMonth: 0.25,
  /** Per item (table and each index item) for storage billing. */
  storageOverheadBytes: 100,
} as const;
const GB = 2 ** 30;

/**
 * The layout before issue 15 (14 GSIs), from the committed bench/results/latest.json of commit
 * e3d9f39 (full run): write units per event, mean item and index item sizes, index items per
 * event, and the read units per page of the reads part's filters the console session uses.
 */
const BEFORE = {
  gsis: 14,
  writeUnitsPerEvent: 13.669,
  itemBytes: 1362,
  indexItemsPerEvent: 11.669,
  indexItemBytes: 726,
  /** readUnits ÷ pages per filter (1 shard, pages of 100, 5,000 events). */
  readUnitsPerPage: {
    'time only (last day)': 165 / 17,
    'action exact': 26.5 / 3,
    'team + action': 83.5 / 1,
    actor: 66 / 7,
  } as Record<string, number>,
};

interface Bill {
  writeUnitsPerEvent: number;
  storageBytesPerEvent: number;
  sessionReadUnits: number;
}

const dollars = (bill: Bill) => {
  const writes = bill.writeUnitsPerEvent * PRICES.writePerMillionUnits;
  const storageMonth = ((bill.storageBytesPerEvent * 1e6) / GB) * PRICES.storagePerGbMonth;
  const session = (bill.sessionReadUnits / 1e6) * PRICES.readPerMillionUnits;
  return {
    writes,
    storageMonth,
    perMillion: writes + storageMonth,
    session,
    per1000Sessions: session * 1000,
  };
};

interface IndexWrite {
  index: string;
  bytes: number;
  units: number;
}

interface Sample {
  eventJsonBytes: number;
  /** The canonical JSON document before compression, and `doc` as stored (name + compressed bytes). */
  docJsonBytes: number;
  docBytes: number;
  itemBytes: number;
  keyBytes: number;
  /** Projected non-key attributes other than the document (hash, expires_at). */
  otherProjectedBytes: number;
  /** Attributes neither key nor projected: none expected (no filter-attribute copies). */
  unprojectedBytes: number;
  /** Base-table write as a PutItem (1×). */
  tableUnits: number;
  indexWrites: IndexWrite[];
  /** The GSI writes (1× each). */
  indexUnits: number;
  /** What the adapter pays: one conditional PutItem, table + GSIs at 1×. */
  writeUnits: number;
  /** What-ifs on the same item. */
  uncompressedDocUnits: number;
  projectionAllUnits: number;
  /** Both: doc uncompressed and every GSI holding the whole item (the old layout, without its filter copies). */
  bothUnits: number;
}

const sampleOf = (eventJson: string, item: Item): Sample => {
  const itemBytes = documentItemSize(item);
  const doc = item[DOC_ATTRIBUTE] as Uint8Array;
  const docJson = brotliDecompressSync(doc).toString('utf8');
  const docBytes = documentItemSize(pick(item, [DOC_ATTRIBUTE]));
  const keyBytes = documentItemSize(pick(item, ALL_KEY_ATTRIBUTES));
  const projectedBytes = documentItemSize(pick(item, PROJECTED_ATTRIBUTES));
  const landed = indexesOf(item);
  const indexWrites = landed.map((index) => {
    const bytes = indexItemBytes(item, index);
    return { index: index.name, bytes, units: writeUnits(bytes) };
  });
  const tableUnits = writeUnits(itemBytes);
  const indexUnits = sum(indexWrites.map((w) => w.units));
  // The same event before the redesign's two size levers: doc as plain JSON, or every GSI holding the whole item.
  const uncompressed = { ...item, [DOC_ATTRIBUTE]: docJson };
  return {
    eventJsonBytes: Buffer.byteLength(eventJson),
    docJsonBytes: Buffer.byteLength(docJson),
    docBytes,
    itemBytes,
    keyBytes,
    otherProjectedBytes: projectedBytes - docBytes,
    unprojectedBytes: itemBytes - keyBytes - projectedBytes,
    tableUnits,
    indexWrites,
    indexUnits,
    writeUnits: tableUnits + indexUnits,
    uncompressedDocUnits:
      writeUnits(documentItemSize(uncompressed)) +
      sum(landed.map((index) => writeUnits(indexItemBytes(uncompressed, index)))),
    projectionAllUnits: (1 + landed.length) * tableUnits,
    bothUnits: (1 + landed.length) * writeUnits(documentItemSize(uncompressed)),
  };
};

/** Table and GSI units out of a ConsumedCapacity (INDEXES), summed over the entries for our table. */
const splitCapacity = (capacity: readonly ConsumedCapacity[] | undefined) => {
  let table = 0;
  const indexes = new Map<string, number>();
  for (const c of capacity ?? []) {
    table += c.Table?.CapacityUnits ?? 0;
    for (const [name, gsi] of Object.entries(c.GlobalSecondaryIndexes ?? {}))
      indexes.set(name, (indexes.get(name) ?? 0) + (gsi.CapacityUnits ?? 0));
  }
  return { table, indexes, indexTotal: sum([...indexes.values()]) };
};

/** A what-if figure against the current layout, as text (so the report keeps it left-aligned). */
const versus =
  (now: number) =>
  (...values: number[]): string => {
    const delta = (value: number) => `${value >= now ? '+' : '−'}${Math.abs(value - now).toFixed(2)}`;
    return `${values.map((v) => v.toFixed(2)).join(' / ')} WCU/event (${values.map(delta).join(' / ')})`;
  };

const histogram = (values: readonly number[]): [number, number][] => {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]);
};

const shares = (entries: readonly [number, number][], total: number): string =>
  entries.map(([k, v]) => `${k}: ${((v / total) * 100).toFixed(0)} %`).join(', ');

const sizes = (values: readonly number[]): string =>
  `${Math.round(mean(values))} / ${percentile(values, 95)} / ${Math.max(...values)} B`;

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

    // Cross-check: the adapter's write — a PutItem conditioned on the key not existing, as
    // DynamoEventStore.append sends it — must cost exactly the model's table and index parts.
    const put = {
      puts: checked,
      table: { matched: 0, model: 0, reported: 0 },
      indexes: { writes: 0, matched: 0, model: 0, reported: 0, indexSetMismatches: 0 },
      mismatches: [] as { item: number; index: string; model: number; reported: number }[],
    };
    for (let i = 0; i < checked; i++) {
      ctx.progress.tick(i + 1, checked, 'PutItem checks');
      const sample = samples[i] as Sample;
      const out = await ctx.dynamo.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: items[i],
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEY_ATTRIBUTES[0] as string },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      const reported = splitCapacity(out.ConsumedCapacity ? [out.ConsumedCapacity] : []);
      put.table.model += sample.tableUnits;
      put.table.reported += reported.table;
      if (reported.table === sample.tableUnits) put.table.matched += 1;
      else if (put.mismatches.length < 5)
        put.mismatches.push({ item: i, index: 'table', model: sample.tableUnits, reported: reported.table });
      if (reported.indexes.size !== sample.indexWrites.length) put.indexes.indexSetMismatches += 1;
      for (const w of sample.indexWrites) {
        const units = reported.indexes.get(w.index) ?? 0;
        put.indexes.writes += 1;
        put.indexes.model += w.units;
        put.indexes.reported += units;
        if (units === w.units) put.indexes.matched += 1;
        else if (put.mismatches.length < 5)
          put.mismatches.push({ item: i, index: w.index, model: w.units, reported: units });
      }
    }

    const pickAll = (f: (s: Sample) => number) => samples.map(f);
    const units = pickAll((s) => s.writeUnits);
    const meanUnits = mean(units);
    const indexWrites = samples.flatMap((s) => s.indexWrites);
    const indexBytes = indexWrites.map((w) => w.bytes);
    const tableHistogram = histogram(pickAll((s) => s.tableUnits));
    const indexHistogram = histogram(indexWrites.map((w) => w.units));
    const meanOf = (f: (s: Sample) => number) => mean(pickAll(f));
    const landedMean = meanOf((s) => s.indexWrites.length);
    const tablePart = meanOf((s) => s.tableUnits);
    const indexPart = meanOf((s) => s.indexUnits);
    // The rejected alternative on the same items: one TransactWriteItems per batch, table 2×,
    // GSIs at 1× (AWS does not say) or 2× (what DynamoDB Local reports for a transaction).
    const transactional = {
      gsis_1x: round(TRANSACTION_FACTOR * tablePart + indexPart, 3),
      gsis_2x: round(TRANSACTION_FACTOR * (tablePart + indexPart), 3),
    };
    const whatIf = {
      transact_write_items_per_batch: transactional,
      uncompressed_doc: round(
        meanOf((s) => s.uncompressedDocUnits),
        3,
      ),
      projection_all: round(
        meanOf((s) => s.projectionAllUnits),
        3,
      ),
      uncompressed_doc_and_projection_all: round(
        meanOf((s) => s.bothUnits),
        3,
      ),
    };
    const perEvent = versus(meanUnits);

    // The AWS bill: writes, a month of storage, and a console session's reads (measured here).
    ctx.progress.step('console session reads');
    const storageBytes = mean(
      samples.map(
        (s) =>
          s.itemBytes +
          sum(s.indexWrites.map((w) => w.bytes)) +
          PRICES.storageOverheadBytes * (1 + s.indexWrites.length),
      ),
    );
    const session = await consoleSession(ctx, await ctx.seededTenant(1));
    const sessionUnits = sum(session.map((step) => step.readUnits));
    const beforeSession = CONSOLE_SESSION.flatMap((step) =>
      Array.from({ length: step.pages }, () => BEFORE.readUnitsPerPage[step.before] ?? 0),
    );
    const before: Bill = {
      writeUnitsPerEvent: BEFORE.writeUnitsPerEvent,
      storageBytesPerEvent:
        BEFORE.itemBytes +
        BEFORE.indexItemsPerEvent * BEFORE.indexItemBytes +
        PRICES.storageOverheadBytes * (1 + BEFORE.indexItemsPerEvent),
      sessionReadUnits: sum(beforeSession),
    };
    const after: Bill = {
      writeUnitsPerEvent: meanUnits,
      storageBytesPerEvent: storageBytes,
      sessionReadUnits: sessionUnits,
    };
    const billBefore = dollars(before);
    const billAfter = dollars(after);
    const usd = (v: number, digits = 4) => `$${v.toFixed(digits)}`;
    const costRows: Cell[][] = [
      ['write units per event', BEFORE.writeUnitsPerEvent.toFixed(2), meanUnits.toFixed(2)],
      [
        `writes per million events (${usd(PRICES.writePerMillionUnits, 3)} per million WRU)`,
        usd(billBefore.writes, 3),
        usd(billAfter.writes, 3),
      ],
      [
        'stored bytes per event (table item + index items, +100 B each)',
        `${Math.round(before.storageBytesPerEvent)} B`,
        `${Math.round(after.storageBytesPerEvent)} B`,
      ],
      [
        `storage per million events per month (${usd(PRICES.storagePerGbMonth, 2)} per GB-month)`,
        usd(billBefore.storageMonth, 3),
        usd(billAfter.storageMonth, 3),
      ],
      [
        'aws_cost_per_million_events_usd (writes + 1 month of storage)',
        usd(billBefore.perMillion, 3),
        usd(billAfter.perMillion, 3),
      ],
      [
        `console session read units (${session.length} pages of 100)`,
        before.sessionReadUnits.toFixed(1),
        sessionUnits.toFixed(1),
      ],
      [
        `reads per 1,000 console sessions (${usd(PRICES.readPerMillionUnits, 3)} per million RRU)`,
        usd(billBefore.per1000Sessions, 5),
        usd(billAfter.per1000Sessions, 5),
      ],
    ];
    const keyNames = `${TABLE_KEY_ATTRIBUTES.join(', ')}, ${[...new Set(INDEXES.map((i) => i.sortKey))].join(', ')}, ≤ ${INDEXES.length} index pks`;
    const otherProjected = PROJECTED_ATTRIBUTES.filter((name) => name !== DOC_ATTRIBUTE).join(' + ');

    return {
      headlines: [
        atMost(
          'write_units_per_event',
          round(meanUnits, 2),
          WCU_TARGET,
          `WCU per ~${Math.round(meanOf((s) => s.eventJsonBytes))} B event, one conditional PutItem: table 1× + ${landedMean.toFixed(1)} of ${INDEXES.length} GSIs 1×, each ceil(index item/1 KiB) (before: ${BEFORE.writeUnitsPerEvent.toFixed(2)}, ${BEFORE.gsis} GSIs)`,
        ),
        {
          key: 'aws_cost_per_million_events_usd',
          value: round(billAfter.perMillion, 4),
          note: `DynamoDB on-demand us-east-1: writes ${usd(billAfter.writes, 3)} + 1 month of storage ${usd(billAfter.storageMonth, 3)} (before: ${usd(billBefore.perMillion, 3)}); console session ${sessionUnits.toFixed(1)} RRU (before ${before.sessionReadUnits.toFixed(1)})`,
        },
      ],
      figures: {
        aws_write_cost_per_million_events_usd: round(billAfter.writes, 4),
        aws_storage_cost_per_million_events_month_usd: round(billAfter.storageMonth, 4),
        aws_console_session_read_units: round(sessionUnits, 2),
        aws_cost_per_million_events_usd_before: round(billBefore.perMillion, 4),
        write_units_per_event_before: BEFORE.writeUnitsPerEvent,
      },
      details: {
        events: count,
        write: 'one conditional PutItem per event',
        table_write_factor: 1,
        gsi_write_factor: 1,
        event_json_bytes_mean: round(
          meanOf((s) => s.eventJsonBytes),
          0,
        ),
        doc_json_bytes_mean: round(
          meanOf((s) => s.docJsonBytes),
          0,
        ),
        doc_bytes_mean: round(
          meanOf((s) => s.docBytes),
          0,
        ),
        item_bytes: {
          mean: round(
            meanOf((s) => s.itemBytes),
            0,
          ),
          p50: percentile(
            pickAll((s) => s.itemBytes),
            50,
          ),
          p95: percentile(
            pickAll((s) => s.itemBytes),
            95,
          ),
          max: Math.max(...pickAll((s) => s.itemBytes)),
        },
        key_bytes_mean: round(
          meanOf((s) => s.keyBytes),
          0,
        ),
        other_projected_bytes_mean: round(
          meanOf((s) => s.otherProjectedBytes),
          0,
        ),
        unprojected_bytes_mean: round(
          meanOf((s) => s.unprojectedBytes),
          1,
        ),
        index_item_bytes: {
          mean: round(mean(indexBytes), 0),
          p50: percentile(indexBytes, 50),
          p95: percentile(indexBytes, 95),
          max: Math.max(...indexBytes),
        },
        indexes_per_event_mean: round(landedMean, 3),
        index_writes_per_event: Object.fromEntries(
          INDEXES.map((index) => [
            index.name,
            round(indexWrites.filter((w) => w.index === index.name).length / count, 3),
          ]),
        ),
        wcu_per_table_write_histogram: Object.fromEntries(tableHistogram.map(([k, v]) => [String(k), v])),
        wcu_per_index_write_histogram: Object.fromEntries(indexHistogram.map(([k, v]) => [String(k), v])),
        write_units_per_event: {
          mean: round(meanUnits, 3),
          p50: percentile(units, 50),
          p95: percentile(units, 95),
          table_part: round(tablePart, 3),
          index_part: round(indexPart, 3),
        },
        what_if: whatIf,
        dynamodb_local_check: put,
        aws_cost: {
          prices: PRICES,
          gb_bytes: GB,
          before: {
            ...before,
            ...billBefore,
            source: 'committed bench/results/latest.json of the 14-GSI layout (e3d9f39)',
          },
          after: { ...after, ...billAfter },
          console_session: session.map((step) => ({ ...step, readUnits: round(step.readUnits, 2) })),
          console_session_before: CONSOLE_SESSION.map((step) => ({
            what: step.what,
            filter_then: step.before,
            pages: step.pages,
            read_units_per_page: round(BEFORE.readUnitsPerPage[step.before] ?? 0, 2),
          })),
          kind_registry_writes:
            'not in write_units_per_event: ingest registers a new kind or (email, actor) pair once per container, and adds counts at most once a minute per kind (withKindRegistry), so a busy tenant pays ≈ (kinds ÷ events per minute) WCU per event: < 0.01 at 100 events/s with 50 kinds',
        },
      },
      tables: [
        {
          title: `Write amplification: ${count.toLocaleString('en-US')} realistic events, item layout of toItem(), ${INDEXES.length} GSIs projecting ${PROJECTED_ATTRIBUTES.join(', ')}`,
          columns: ['measure', 'value'],
          rows: [
            ['event JSON as sent (mean)', `${Math.round(meanOf((s) => s.eventJsonBytes))} B`],
            [
              `${DOC_ATTRIBUTE}: canonical JSON → brotli (mean)`,
              `${Math.round(meanOf((s) => s.docJsonBytes))} B → ${Math.round(meanOf((s) => s.docBytes))} B (${((meanOf((s) => s.docBytes) / meanOf((s) => s.docJsonBytes)) * 100).toFixed(0)} %, incl. name)`,
            ],
            ['stored base item (mean / p95 / max)', sizes(pickAll((s) => s.itemBytes))],
            [
              `  of which ${DOC_ATTRIBUTE} (compressed, binary)`,
              `${Math.round(meanOf((s) => s.docBytes))} B`,
            ],
            [`  of which key attributes (${keyNames})`, `${Math.round(meanOf((s) => s.keyBytes))} B`],
            [`  of which ${otherProjected}`, `${Math.round(meanOf((s) => s.otherProjectedBytes))} B`],
            [
              '  of which anything else (no filter-attribute copies)',
              `${Math.round(meanOf((s) => s.unprojectedBytes))} B`,
            ],
            [
              `index item: ${TABLE_KEY_ATTRIBUTES.join(', ')} + index keys + ${PROJECTED_ATTRIBUTES.join(', ')} (mean / p95 / max)`,
              sizes(indexBytes),
            ],
            ['WCU per table write, 1× (share of items)', shares(tableHistogram, count)],
            ['WCU per GSI write (share of index writes)', shares(indexHistogram, indexWrites.length)],
            ['GSIs the item lands in (mean)', `${landedMean.toFixed(2)} of ${INDEXES.length}`],
            [
              'write units per event (mean / p95)',
              `${meanUnits.toFixed(2)} / ${percentile(units, 95)} = table ${tablePart.toFixed(2)} + GSIs ${indexPart.toFixed(2)} (one PutItem, all 1×)`,
            ],
            [
              `what if: one TransactWriteItems per batch (table ${TRANSACTION_FACTOR}×, GSIs 1× / ${TRANSACTION_FACTOR}×)`,
              perEvent(transactional.gsis_1x, transactional.gsis_2x),
            ],
            [`what if: ${DOC_ATTRIBUTE} stored uncompressed (as before)`, perEvent(whatIf.uncompressed_doc)],
            ['what if: GSIs project ALL (as before)', perEvent(whatIf.projection_all)],
            [
              'what if: both (the old layout without its filter-attribute copies)',
              perEvent(whatIf.uncompressed_doc_and_projection_all),
            ],
            [
              'DynamoDB Local, conditional PutItem (INDEXES): table',
              `${put.table.matched}/${checked} equal; model ${put.table.model} vs reported ${put.table.reported} WCU`,
            ],
            [
              'DynamoDB Local, conditional PutItem (INDEXES): GSIs',
              `${put.indexes.matched}/${put.indexes.writes} index writes equal; model ${put.indexes.model} vs reported ${put.indexes.reported} WCU${put.indexes.indexSetMismatches > 0 ? `; ${put.indexes.indexSetMismatches} items landed in other GSIs than modelled` : ''}`,
            ],
          ],
          notes: [
            'DynamoEventStore.append writes each event with its own PutItem conditioned on attribute_not_exists(pk): the table write and every GSI write are billed 1×, ceil(size/1 KiB).',
            'a GSI write costs its index item: the table key, the index keys and the projected attributes present on the item, rounded up to 1 KiB. The DynamoDB Local PutItem check must match the model exactly.',
            `what-if TransactWriteItems: AWS documents the transactional table write at ${TRANSACTION_FACTOR}× and says nothing of the GSI writes (first figure: 1×); DynamoDB Local bills them ${TRANSACTION_FACTOR}× in a one-item transaction (second figure). Transactions are no longer probed (see bench/README.md).`,
          ],
        },
        {
          title: 'AWS cost (DynamoDB on-demand, us-east-1, standard table class): before (14 GSIs) and after',
          columns: ['measure', `before (${BEFORE.gsis} GSIs)`, `after (${INDEXES.length} GSIs)`],
          rows: costRows,
          notes: [
            `prices: ${usd(PRICES.writePerMillionUnits, 3)} per million write request units, ${usd(PRICES.readPerMillionUnits, 3)} per million read request units, ${usd(PRICES.storagePerGbMonth, 2)} per GB-month (GB = 2^30 B; ${PRICES.storageOverheadBytes} B of overhead per table item and per index item). No free tier, no reserved capacity, no streams or backups.`,
            `before: the committed full run of the 14-GSI layout (${BEFORE.writeUnitsPerEvent} WCU/event; item ${BEFORE.itemBytes} B + ${BEFORE.indexItemsPerEvent} index items of ${BEFORE.indexItemBytes} B); its session is modelled from that run's read units per page of the same filters (${CONSOLE_SESSION.map((s) => s.before).join(', ')}).`,
            `after: measured now — this part's items, and the session read through listEvents on the reads part's tenant: ${session.map((s) => `${s.what}${s.page > 1 ? ` p${s.page}` : ''} ${s.readUnits.toFixed(1)} RU via ${s.path}`).join('; ')}.`,
            'the kind registry (control table) adds a write per new kind or (email, actor) pair per container and a count flush at most once a minute per kind: negligible per event for a busy tenant, not included.',
          ],
        },
      ],
    };
  },
};
