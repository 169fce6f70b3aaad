/** The bench's parts, in the order they run. Adding a measurement = one module + one line here. */
import type { BenchPart } from '../lib/part.ts';
import { archivePart } from './archive.ts';
import { bundlesPart } from './bundles.ts';
import { consolePart } from './console.ts';
import { exportPart } from './export.ts';
import { ingestPart } from './ingest.ts';
import { integrityPart } from './integrity.ts';
import { limitsPart } from './limits.ts';
import { partitionsPart } from './partitions.ts';
import { peoplePart } from './people.ts';
import { readsPart } from './reads.ts';
import { streamsPart } from './streams.ts';
import { writesPart } from './writes.ts';

export const PARTS: readonly BenchPart[] = [
  ingestPart,
  limitsPart,
  readsPart,
  peoplePart,
  partitionsPart,
  writesPart,
  exportPart,
  archivePart,
  integrityPart,
  consolePart,
  bundlesPart,
  streamsPart,
];
