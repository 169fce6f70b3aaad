import { describe, expect, it } from 'vitest';
import { type FetchPage, mergeNewestFirst } from '#shared/domain/merge.ts';

/** Sources are arrays sorted newest first; the fake fetch pages through them and counts reads. */
const fakeFetch = (data: Record<string, string[]>, keep: (s: string) => boolean = () => true) => {
  const reads = { items: 0, calls: 0 };
  const fetch: FetchPage<string, string> = async (source, start, limit) => {
    const all = data[source] ?? [];
    const offset = (start?.offset as number | undefined) ?? 0;
    const slice = all.slice(offset, offset + limit);
    reads.items += slice.length;
    reads.calls += 1;
    const next = offset + limit < all.length ? { offset: offset + limit } : undefined;
    return { items: slice.filter(keep), next };
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
