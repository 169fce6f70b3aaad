/**
 * The contract between the bench runner and its parts. A part measures one concern and hands
 * back headline figures (top-level numbers of latest.json), a details object (kept verbatim in
 * latest.json) and tables for the printed report. Adding a measurement = one module in
 * bench/parts/ plus one line in bench/parts/index.ts.
 */
import type { BenchContext } from './context.ts';
import type { Table } from './table.ts';

/** A headline figure compared with its target. `null` = could not be measured this run. */
export interface Headline {
  /** Key in latest.json, e.g. `ingest_ratio`. */
  key: string;
  value: number | null;
  /** Human target, e.g. `≥ 0.70`; undefined for context figures without a target. */
  target?: string;
  /** Whether the value meets the target; undefined when there is no target. */
  met?: boolean;
  /** One line saying what the number is. */
  note: string;
}

export interface PartResult {
  headlines: Headline[];
  /** Extra top-level numbers for latest.json that are not headlines (e.g. `recommended_shards`). */
  figures?: Record<string, number | null>;
  details: Record<string, unknown>;
  tables: Table[];
}

export interface BenchPart {
  /** Key under `parts` in latest.json. */
  readonly name: string;
  readonly title: string;
  /**
   * Whether the part uses the local stack (ctx.stack, ctx.dynamo, tenants). Parts that do not
   * run after the stack has been stopped, so the JVM does not add noise to their timings.
   */
  readonly needsStack: boolean;
  /**
   * Runs in a child process of its own (it starts its own local stack, whose handlers must not be
   * the modules this process already loaded for the shared stack).
   */
  readonly isolated?: boolean;
  run(ctx: BenchContext): Promise<PartResult>;
}

/** `value ≥ min` as a Headline. */
export const atLeast = (key: string, value: number | null, min: number, note: string): Headline => ({
  key,
  value,
  target: `≥ ${min.toLocaleString('en-US')}`,
  ...(value === null ? {} : { met: value >= min }),
  note,
});

/** `value ≤ max` as a Headline. */
export const atMost = (
  key: string,
  value: number | null,
  max: number,
  note: string,
  unit = '',
): Headline => ({
  key,
  value,
  target: `≤ ${max.toLocaleString('en-US')}${unit}`,
  ...(value === null ? {} : { met: value <= max }),
  note,
});
