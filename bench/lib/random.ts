/**
 * Deterministic randomness for synthetic data: a seeded PRNG, weighted choice and a Zipf
 * sampler, so every run generates the same events and the figures are comparable across runs.
 */

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for synthetic workloads. Returns floats in [0, 1). */
export const seededRng = (seed: number): Rng => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

export const intBelow = (rng: Rng, n: number): number => Math.floor(rng() * n);

export const pick = <T>(rng: Rng, items: readonly T[]): T => {
  const item = items[intBelow(rng, items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

/** Index into a cumulative distribution (binary search). */
const sampleCdf = (cdf: Float64Array, u: number): number => {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cdf[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const toCdf = (weights: readonly number[]): Float64Array => {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => {
    total += w;
    cdf[i] = total;
  });
  for (let i = 0; i < cdf.length; i++) cdf[i] = (cdf[i] as number) / total;
  return cdf;
};

/** Picks items in proportion to their weights. */
export const weighted = <T>(items: readonly T[], weightOf: (item: T) => number): ((rng: Rng) => T) => {
  const cdf = toCdf(items.map(weightOf));
  return (rng) => items[sampleCdf(cdf, rng())] as T;
};

/** Zipf over ranks 0..n-1 with exponent `s`: rank k has weight 1/(k+1)^s (rank 0 is the hottest). */
export const zipf = (n: number, s: number): ((rng: Rng) => number) => {
  const cdf = toCdf(Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s));
  return (rng) => sampleCdf(cdf, rng());
};
