/**
 * The events table's storage layout as the bench prices it, derived from EVENTS_TABLE (never
 * from hard-coded attribute names): which GSIs an item lands in, and what each index item holds
 * — the table's key attributes, the index's key attributes and the projected non-key attributes
 * present on the item. A GSI write costs the index item's size, and so does reading it back.
 */
import { EVENTS_TABLE, type IndexDefinition, type TableDefinition } from '#shared/config/tables.ts';
import { documentItemSize } from './item-size.ts';

export type Item = Record<string, unknown>;

const table: TableDefinition = EVENTS_TABLE;

/** The events table's GSIs, in definition order. */
export const INDEXES: readonly IndexDefinition[] = Object.values(table.indexes);

/** Key attributes of the base table (partition key, and sort key if any). */
export const TABLE_KEY_ATTRIBUTES: readonly string[] = [
  table.partitionKey,
  ...(table.sortKey === undefined ? [] : [table.sortKey]),
];

/** Every attribute that is a key of the table or of some GSI. */
export const ALL_KEY_ATTRIBUTES: readonly string[] = [
  ...new Set([...TABLE_KEY_ATTRIBUTES, ...INDEXES.flatMap((index) => [index.partitionKey, index.sortKey])]),
];

/** Non-key attributes projected into at least one GSI. */
export const PROJECTED_ATTRIBUTES: readonly string[] = [
  ...new Set(INDEXES.flatMap((index) => index.projection)),
];

/** The attributes an index item of `index` carries (present on the item or not). */
export const indexAttributes = (index: IndexDefinition): readonly string[] => [
  ...new Set([...TABLE_KEY_ATTRIBUTES, index.partitionKey, index.sortKey, ...index.projection]),
];

/** Does the item land in the index? (Sparse GSIs: only when it carries both index key attributes.) */
export const landsIn = (item: Item, index: IndexDefinition): boolean =>
  item[index.partitionKey] !== undefined && item[index.sortKey] !== undefined;

/** The GSIs the item lands in. */
export const indexesOf = (item: Item): IndexDefinition[] => INDEXES.filter((index) => landsIn(item, index));

/** The attributes of `item` named in `names` that it carries. */
export const pick = (item: Item, names: readonly string[]): Item =>
  Object.fromEntries(names.filter((name) => item[name] !== undefined).map((name) => [name, item[name]]));

/** The index item DynamoDB keeps for `item` in `index`, or undefined when it does not land there. */
export const indexItem = (item: Item, index: IndexDefinition): Item | undefined =>
  landsIn(item, index) ? pick(item, indexAttributes(index)) : undefined;

/** Size of the index item of `item` in `index` (0 when it does not land there). */
export const indexItemBytes = (item: Item, index: IndexDefinition): number => {
  const projected = indexItem(item, index);
  return projected === undefined ? 0 : documentItemSize(projected);
};

/**
 * The attribute holding the event document (brotli-compressed canonical JSON, binary): named by
 * toItem, and projected into every index (checked here so a rename fails loudly).
 */
export const DOC_ATTRIBUTE = 'doc';
// The seal index is the sealer's (hashes only); every index a read is served from projects the document.
if (!INDEXES.every((index) => index.name === 'bySeal' || index.projection.includes(DOC_ATTRIBUTE)))
  throw new Error(
    `bench/lib/layout.ts: every read index must project \`${DOC_ATTRIBUTE}\`; update the bench`,
  );
