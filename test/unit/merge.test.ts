import { describe, expect, it } from 'vitest';
import { type FetchPage, mergeNewestFirst } from '#shared/domain/merge.ts';

/** Sources are arrays sorted newest first; the fake fetch pages through them and counts reads. */
const fakeFetch = (data: Record<string, string[]>, keep: (s: string) => boolean = () => true) => {
  const reads = { items: 0, calls: 0, cost: 0 };
  const fetch: FetchPage<string, string> = async (source, start, limit) => {
    const all = data[source] ?? [];
    const offset = (start?.offset as number | undefined) ?? 0;
    const slice = all.slice(offset, offset + limit);
    // Billed like a DynamoDB Query: a tenth of a unit per item, at least half a unit per call.
    const cost = Math.max(0.5, slice.length / 10);
    reads.items += slice.length;
    reads.calls += 1;
    reads.cost += cost;
    const next = offset + limit < all.length ? { offset: offset + limit } : undefined;
    const lastKey = slice.at(-1);
    return {
      items: slice.filter(keep),
      next,
      scanned: slice.length,
      cost,
      ...(lastKey === undefined ? {} : { lastKey }),
    };
  };
  return { fetch, reads };
};

const desc = (prefix: string, n: number, step: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => `${String(1000 - offset - i * step).padStart(4, '0')}${prefix}`);

describe('newest-first merge', () => {
  it('merges shards in global order and pages without gaps or repeats', async () => {
    const data = { a: desc('a', 50, 2), b: desc('b', 50, 2, 1) };
    const { fetch } = fakeFetch(data);
    const first = await mergeNewestFirst(['a', 'b'], fetch, (s) => s, 30);
    expect(first.items).toEqual([...data.a, ...data.b].sort().reverse().slice(0, 30));
    expect(first.more).toBe(true);
    const second = await mergeNewestFirst(['a', 'b'], fetch, (s) => s, 100, first.items.at(-1));
    expect(second.items).toEqual([...data.a, ...data.b].sort().reverse().slice(30));
    expect(second.more).toBe(false);
  });

  it('never cuts a page short when filters discard most items', async () => {
    const data = { a: desc('a', 500, 1) };
    const { fetch } = fakeFetch(data, (s) => Number(s.slice(0, 4)) % 10 === 0);
    const page = await mergeNewestFirst(['a'], fetch, (s) => s, 20);
    expect(page.items).toHaveLength(20);
  });

  it('asks a source whose items mostly fail the conditions for enough in few trips, by its match rate', async () => {
    // Four sources (shards) of one partition each, one item in ten passing: a page of 100 needs
    // ~1,000 items read. Asking for the share of the page alone took a round trip per ~10 matches.
    const source = (k: string, offset: number) =>
      Array.from(
        { length: 2_000 },
        (_, i) => `${String(99_999 - i * 4 - offset).padStart(5, '0')}${k}${i % 10 === 0 ? 'y' : 'n'}`,
      );
    const data = Object.fromEntries(['a', 'b', 'c', 'd'].map((k, i) => [k, source(k, i)]));
    const { fetch, reads } = fakeFetch(data, (s) => s.endsWith('y'));
    const page = await mergeNewestFirst(['a', 'b', 'c', 'd'], fetch, (s) => s, 100);
    expect(page.items).toHaveLength(100);
    expect(reads.calls).toBeLessThanOrEqual(16);
    expect(reads.items).toBeLessThanOrEqual(2 * 1_000);
  });

  it('returns each item once when two sources hold it', async () => {
    const { fetch } = fakeFetch({ a: ['0003x', '0002x'], b: ['0003x', '0001x'] });
    const page = await mergeNewestFirst(['a', 'b'], fetch, (s) => s, 10);
    expect(page.items).toEqual(['0003x', '0002x', '0001x']);
  });

  it('reads little beyond what it returns from a single source', async () => {
    const { fetch, reads } = fakeFetch({ a: desc('a', 1000, 1) });
    await mergeNewestFirst(['a'], fetch, (s) => s, 100);
    expect(reads.items).toBeLessThanOrEqual(101);
    expect(reads.calls).toBe(1);
  });
});

describe('newest-first merge across teams', () => {
  it('interleaves many team partitions in global order, page after page, each item once', async () => {
    // 50 teams, each with a few events at its own times (some teams empty).
    const data: Record<string, string[]> = {};
    for (let t = 0; t < 50; t++) data[`team_${t}`] = t % 7 === 0 ? [] : desc(`t${t}`, 6, 50, t);
    const teams = Object.keys(data);
    const all = Object.values(data).flat().sort().reverse();
    const { fetch } = fakeFetch(data);
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 20; page++) {
      const result = await mergeNewestFirst(teams, fetch, (s) => s, 25, before);
      seen.push(...result.items);
      before = result.items.at(-1);
      if (!result.more) break;
    }
    expect(seen).toEqual(all);
  });

  it('asks each team for about its share of the page, not a whole page each', async () => {
    const data: Record<string, string[]> = {};
    for (let t = 0; t < 50; t++) data[`team_${t}`] = desc(`t${String(t).padStart(2, '0')}`, 20, 60, t);
    const { fetch, reads } = fakeFetch(data);
    await mergeNewestFirst(Object.keys(data), fetch, (s) => s, 100);
    // A whole page from each of the 50 would read 1,000 items; shares read about 3 each, plus refills.
    expect(reads.items).toBeLessThan(300);
  });
});

describe('newest-first merge under a work budget', () => {
  /**
   * Pages through with the budget, as listEvents does with its cursors (each page's reads start
   * below its cursor, as the store's key condition does); returns every page.
   */
  const pageThrough = async (
    data: Record<string, string[]>,
    keep: (s: string) => boolean,
    limit: number,
    budget: number,
  ) => {
    const pages: { items: string[]; scannedUntil?: string }[] = [];
    let before: string | undefined;
    for (let i = 0; i < 200; i++) {
      const below = before;
      const { fetch } = fakeFetch(
        Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, v.filter((s) => below === undefined || s < below)]),
        ),
        keep,
      );
      const page = await mergeNewestFirst(Object.keys(data), fetch, (s) => s, limit, before, budget);
      pages.push({
        items: page.items,
        ...(page.scannedUntil === undefined ? {} : { scannedUntil: page.scannedUntil }),
      });
      if (!page.more) break;
      before = page.scannedUntil ?? page.items.at(-1);
    }
    return { pages };
  };

  it('stops reading at the budget and says how far back it searched, with what it found so far', async () => {
    const data = { a: desc('a', 900, 1) };
    const rare = (s: string) => Number(s.slice(0, 4)) % 100 === 0;
    const { fetch, reads } = fakeFetch(data, rare);
    // A budget of 5 units: about 50 items.
    const page = await mergeNewestFirst(['a'], fetch, (s) => s, 10, undefined, 5);
    expect(reads.items).toBeLessThan(100);
    expect(page.more).toBe(true);
    expect(page.scannedUntil).toBeDefined();
    // Exactly the matches at or above the point it searched down to.
    expect(page.items).toEqual(data.a.filter((s) => rare(s) && s >= (page.scannedUntil as string)));
  });

  it('pages through every match exactly once, across budget stops and several sources', async () => {
    const data: Record<string, string[]> = {};
    for (let t = 0; t < 6; t++) data[`s${t}`] = desc(`s${t}`, 150, 6, t);
    const keep = (s: string) => Number(s.slice(0, 4)) % 7 === 0;
    const { pages } = await pageThrough(data, keep, 10, 4);
    const all = Object.values(data).flat().filter(keep).sort().reverse();
    expect(pages.flatMap((p) => p.items)).toEqual(all);
    expect(pages.some((p) => p.scannedUntil !== undefined && p.items.length < 10)).toBe(true);
  });

  it('answers a full page from its last item as usual when the budget allows it', async () => {
    const { fetch } = fakeFetch({ a: desc('a', 300, 1) });
    const page = await mergeNewestFirst(['a'], fetch, (s) => s, 20, undefined, 100);
    expect(page.items).toHaveLength(20);
    expect(page.scannedUntil).toBeUndefined();
  });

  it('never reads much past the budget, however many sources and however rare the matches', async () => {
    const data: Record<string, string[]> = {};
    for (let t = 0; t < 40; t++) data[`s${t}`] = desc(`s${t}`, 900, 1, t);
    const { fetch, reads } = fakeFetch(data, () => false);
    const page = await mergeNewestFirst(Object.keys(data), fetch, (s) => s, 100, undefined, 30);
    expect(page.items).toEqual([]);
    expect(page.more).toBe(true);
    expect(page.scannedUntil).toBeDefined();
    // The last round may overshoot by at most one minimum-sized read per source.
    expect(reads.cost).toBeLessThanOrEqual(30 + 40 * 0.5);
    expect(reads.cost).toBeGreaterThanOrEqual(30);
  });

  it('asks each source for its weighted share first, so a big source is not read in small steps', async () => {
    const data = { big: desc('b', 500, 1), small: desc('s', 500, 50) };
    const asked: Record<string, number[]> = { big: [], small: [] };
    const { fetch } = fakeFetch(data);
    const spy: FetchPage<string, string> = (source, start, limit) => {
      asked[source]?.push(limit);
      return fetch(source, start, limit);
    };
    const page = await mergeNewestFirst(['big', 'small'], spy, (s) => s, 100, undefined, 1_000, [49, 1]);
    expect(page.items).toHaveLength(100);
    expect(asked.big?.[0]).toBeGreaterThanOrEqual(90);
    expect(asked.small?.[0]).toBeLessThanOrEqual(5);
    expect(asked.big).toHaveLength(1);
  });

  it('cannot stop a source that reports no position: it reads on', async () => {
    const items = desc('a', 300, 1);
    const fetch: FetchPage<string, string> = async (_source, start, limit) => {
      const offset = (start?.offset as number | undefined) ?? 0;
      const slice = items.slice(offset, offset + limit);
      const next = offset + limit < items.length ? { offset: offset + limit } : undefined;
      return { items: slice.filter((s) => s.startsWith('0701')), next, scanned: slice.length };
    };
    const page = await mergeNewestFirst(['a'], fetch, (s) => s, 5, undefined, 10);
    expect(page.items).toEqual(['0701a']);
    expect(page.scannedUntil).toBeUndefined();
  });

  it('says which sources are spent: read to their end with everything they gave returned', async () => {
    const data = { big: desc('b', 40, 1), small: desc('s', 3, 1, 5), none: [] as string[] };
    const { fetch } = fakeFetch(data);
    const page = await mergeNewestFirst(['big', 'small', 'none'], fetch, (s) => s, 20);
    expect(page.items).toHaveLength(20);
    expect(page.live).toEqual([true, false, false]);
    // A source whose last items wait below the page is not spent.
    const cut = await mergeNewestFirst(['big', 'small'], fetch, (s) => s, 2);
    expect(cut.live).toEqual([true, true]);
    const end = await mergeNewestFirst(['big', 'small'], fetch, (s) => s, 100);
    expect([end.more, end.live]).toEqual([false, [false, false]]);
  });
});
