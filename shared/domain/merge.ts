/**
 * Newest-first k-way merge over several DynamoDB partitions (shards, or one partition per action
 * of a list). Pages are fetched lazily per source and sized so that little is read beyond what
 * is returned; a page is never cut short while any source still has items. Pure: the fetch
 * function is injected.
 */

export interface SourcePage<T> {
  items: T[];
  /** Opaque continuation for the same source, or undefined when the source is exhausted. */
  next: Record<string, unknown> | undefined;
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
}

interface SourceState<S, T> {
  source: S;
  buffer: T[];
  next: Record<string, unknown> | undefined;
  started: boolean;
  /** Items this source has contributed to the page so far. */
  taken: number;
}

const MIN_FETCH = 2;
const MAX_FETCH = 1000;

/**
 * Returns up to `limit` items in descending `sortKey` order, skipping duplicates (the same item
 * reachable through two sources) and anything whose sort key is not below `before`.
 */
export const mergeNewestFirst = async <S, T>(
  sources: readonly S[],
  fetch: FetchPage<S, T>,
  sortKey: (item: T) => string,
  limit: number,
  before?: string,
): Promise<MergeResult<T>> => {
  const states: SourceState<S, T>[] = sources.map((source) => ({
    source,
    buffer: [],
    next: undefined,
    started: false,
    taken: 0,
  }));
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
        // far, smoothed), +1 so a source holding exactly that reports its end in the same trip.
        const share = (s.taken + 1) / (takenTotal + liveCount);
        let size = Math.min(MAX_FETCH, Math.max(MIN_FETCH, Math.ceil(remaining * share) + 1));
        // Keep reading while conditions discard a whole page, reading further each round trip.
        do {
          const page = await fetch(s.source, s.next, size);
          s.started = true;
          s.next = page.next;
          s.buffer.push(...page.items.filter((item) => before === undefined || sortKey(item) < before));
          size = Math.min(MAX_FETCH, size * 2);
        } while (s.buffer.length === 0 && s.next !== undefined);
      }),
    );
  };

  while (out.length < limit) {
    await refill();
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
  const more = states.some((s) => s.buffer.length > 0 || live(s));
  return { items: out, more };
};
