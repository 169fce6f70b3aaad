/**
 * Newest-first k-way merge over several DynamoDB partitions (shards, one partition per action or
 * team of a list, or per team of a team admin's scope). Pages are fetched lazily per source and
 * sized so that little is read beyond what is returned; a page is never cut short while any
 * source still has items — unless a work budget is given and spent, and then the merge says how
 * far back it searched, so the caller's cursor continues from there. Pure: the fetch function is
 * injected.
 */

export interface SourcePage<T> {
  items: T[];
  /** Opaque continuation for the same source, or undefined when the source is exhausted. */
  next: Record<string, unknown> | undefined;
  /**
   * How many items the source read for this page, and the sort key of the last one, before any
   * were discarded (conditions): how far back the source has been searched.
   */
  scanned?: number;
  lastKey?: string;
  /** What the read cost (read units): what the work budget counts. Sources that omit it are not budgeted. */
  cost?: number;
}

export type FetchPage<S, T> = (
  source: S,
  start: Record<string, unknown> | undefined,
  limit: number,
) => Promise<SourcePage<T>>;

export interface MergeResult<T> {
  items: T[];
  /** True when some source may still hold items after the last one returned. */
  more: boolean;
  /**
   * Set when the work budget ran out before `limit` items were found: every source has been
   * searched down to this sort key (inclusive), and every item at or above it that matched is in
   * `items`. The next page continues strictly below it.
   */
  scannedUntil?: string;
  /**
   * Per source (in the order given): false when the source is known to hold nothing more below
   * the page — it was read to its end and everything it gave was returned — so a later page of
   * the same query need not read it again.
   */
  live: boolean[];
  /** Per source: how many of `items` it gave (what a later page may weigh it by). */
  taken: number[];
}

interface SourceState<S, T> {
  source: S;
  buffer: T[];
  next: Record<string, unknown> | undefined;
  started: boolean;
  /** Items this source has contributed to the page so far. */
  taken: number;
  /** Sort key of the last item read from the source (before conditions); undefined until known. */
  floor: string | undefined;
  /** Items the source has read, and how many of them passed its conditions: its match rate. */
  scanned: number;
  kept: number;
}

const MIN_FETCH = 2;
const MAX_FETCH = 1000;
/** What an item is assumed to cost before any was read (a 1 KB item, eventually consistent). */
const ASSUMED_UNITS_PER_ITEM = 0.125;

/**
 * Returns up to `limit` items in descending `sortKey` order, skipping duplicates (the same item
 * reachable through two sources) and anything whose sort key is not below `before`.
 *
 * `budget` bounds the work: once the sources' reads have cost that much (read units, counted
 * before conditions discard any item), the merge stops reading and returns what it can prove complete — the
 * items down to the point every live source has been searched to (`scannedUntil`) — even fewer
 * than `limit`, even none. Every source reads at least once per round, so each call progresses.
 * Each fetch asks for no more than the budget has left (its in-flight fetches reserved), so a
 * page overshoots it by at most one minimum-sized read per source.
 *
 * `weights` (one per source, any scale) say what share of the matches each source is expected to
 * hold — e.g. the kind registry's counts — so the first round asks each for about its share.
 */
export const mergeNewestFirst = async <S, T>(
  sources: readonly S[],
  fetch: FetchPage<S, T>,
  sortKey: (item: T) => string,
  limit: number,
  before?: string,
  budget: number = Number.POSITIVE_INFINITY,
  weights?: readonly number[],
): Promise<MergeResult<T>> => {
  const weightTotal = weights?.reduce((sum, w) => sum + w, 0) ?? 0;
  /** A source's expected share of the matches before any was taken (uniform without weights). */
  const prior = (index: number, live: number): number =>
    weights !== undefined && weightTotal > 0 ? (weights[index] ?? 0) / weightTotal : 1 / Math.max(1, live);
  const states: (SourceState<S, T> & { index: number })[] = sources.map((source, index) => ({
    index,
    source,
    buffer: [],
    next: undefined,
    started: false,
    taken: 0,
    floor: undefined,
    scanned: 0,
    kept: 0,
  }));
  let spentUnits = 0;
  let reservedUnits = 0;
  let itemsRead = 0;
  const spent = () => spentUnits >= budget;
  const perItem = () => (itemsRead > 0 && spentUnits > 0 ? spentUnits / itemsRead : ASSUMED_UNITS_PER_ITEM);
  /**
   * The most items one more fetch of one of `sources` sources may ask for within what the budget
   * has left, less what fetches in flight may still cost.
   */
  const affordable = (sources: number): number => {
    if (!Number.isFinite(budget)) return MAX_FETCH;
    const left = budget - spentUnits - reservedUnits;
    return Math.max(MIN_FETCH, Math.floor(left / perItem() / Math.max(1, sources)));
  };
  /** A source may stop at the budget once it says how far it has read, below where it started. */
  const positioned = (s: SourceState<S, T>) =>
    s.floor !== undefined && (before === undefined || s.floor < before);
  const live = (s: SourceState<S, T>) => !s.started || s.next !== undefined;
  const out: T[] = [];
  let lastKey: string | undefined;

  const refill = async () => {
    const empty = states.filter((s) => s.buffer.length === 0 && live(s));
    if (empty.length === 0) return;
    const remaining = limit - out.length;
    const liveCount = states.filter(live).length;
    const takenTotal = states.reduce((sum, s) => sum + s.taken, 0);
    await Promise.all(
      empty.map(async (s) => {
        // Ask each source for its expected share of what is still missing (its observed share so
        // far, smoothed by its prior), divided by the share of its items that passed the
        // conditions so far (smoothed: 1 before any was read) — so a path read with a condition
        // most items fail asks for enough in one trip, not a page of small Queries — +1 so a
        // source holding exactly that reports its end in the same trip.
        const share = (s.taken + liveCount * prior(s.index, liveCount)) / (takenTotal + liveCount);
        const rate = (s.kept + 1) / (s.scanned + 1);
        let size = Math.min(MAX_FETCH, Math.max(MIN_FETCH, Math.ceil((remaining * share) / rate) + 1));
        // Keep reading while conditions discard a whole page, reading further each round trip
        // (never more than the budget has left, shared among the sources still reading).
        do {
          const ask = Math.min(size, affordable(empty.length));
          const reserve = ask * perItem();
          reservedUnits += reserve;
          const page = await fetch(s.source, s.next, ask).finally(() => {
            reservedUnits -= reserve;
          });
          s.started = true;
          s.next = page.next;
          spentUnits += page.cost ?? 0;
          itemsRead += page.scanned ?? page.items.length;
          s.scanned += page.scanned ?? page.items.length;
          s.kept += page.items.length;
          if (page.lastKey !== undefined) s.floor = page.lastKey;
          s.buffer.push(...page.items.filter((item) => before === undefined || sortKey(item) < before));
          size = Math.min(MAX_FETCH, size * 2);
        } while (s.buffer.length === 0 && s.next !== undefined && !(spent() && positioned(s)));
      }),
    );
  };

  /**
   * When the budget is spent and a live source has nothing buffered, its next item is unknown:
   * the point down to which every live source has been searched (the highest of their floors),
   * or undefined when that cannot be said (a source that reports no position).
   */
  const stopPoint = (): string | undefined => {
    const live = states.filter((s) => s.next !== undefined);
    if (!live.some((s) => s.buffer.length === 0)) return undefined;
    if (!live.every(positioned)) return undefined;
    return live.reduce((p, s) => ((s.floor as string) > p ? (s.floor as string) : p), '');
  };

  let scannedUntil: string | undefined;
  while (out.length < limit) {
    await refill();
    if (spent()) {
      scannedUntil = stopPoint();
      if (scannedUntil !== undefined) break;
    }
    let best: SourceState<S, T> | undefined;
    for (const s of states) {
      const head = s.buffer[0];
      if (head === undefined) continue;
      if (best === undefined || sortKey(head) > sortKey(best.buffer[0] as T)) best = s;
    }
    if (best === undefined) break;
    const item = best.buffer.shift() as T;
    best.taken += 1;
    const key = sortKey(item);
    if (key === lastKey) continue;
    lastKey = key;
    out.push(item);
  }
  if (scannedUntil !== undefined) {
    // Everything buffered at or above the stop point is complete across the sources: return it.
    const point = scannedUntil;
    const rest = states
      .flatMap((s) => s.buffer.filter((item) => sortKey(item) >= point))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : sortKey(a) > sortKey(b) ? -1 : 0));
    for (const item of rest) {
      if (out.length >= limit) break;
      const key = sortKey(item);
      if (key === lastKey) continue;
      lastKey = key;
      out.push(item);
    }
    // A full page continues from its last item as usual.
    if (out.length >= limit) scannedUntil = undefined;
  }
  const holds = states.map((s) => s.buffer.length > 0 || live(s));
  const more = scannedUntil !== undefined || holds.some(Boolean);
  return {
    items: out,
    more,
    live: holds,
    taken: states.map((s) => s.taken),
    ...(scannedUntil === undefined ? {} : { scannedUntil }),
  };
};
