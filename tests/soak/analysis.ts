/**
 * What a soak run's memory samples say: the level after warm-up, the steady level, the slope
 * (least squares over the samples after warm-up) and a leak verdict. Pure functions.
 *
 * @module
 */

/** One memory sample of a process, bytes; `tMs` counts from the process' start. */
export interface MemoryPoint {
  tMs: number;
  rss: number;
  heapUsed: number;
  external: number;
  /**
   * Bytes the process's caches account for (the API's byte-bounded caches, which fill up to
   * their configured budget by design); 0 or absent for processes without such caches.
   */
  cached?: number;
}

/** The figures of one process. */
export interface MemoryFigures {
  samples: number;
  /** RSS right after the warm-up: the median of the first (up to) five samples after it. */
  warmRss: number;
  /** RSS at the end: the median of the last (up to) five samples. */
  endRss: number;
  /** Median RSS after warm-up. */
  steadyRss: number;
  peakRss: number;
  /** Least-squares slope of RSS after warm-up, bytes per minute. */
  rssSlopePerMin: number;
  /** Median V8 heap used after warm-up. */
  steadyHeap: number;
  heapSlopePerMin: number;
  /** Median external (ArrayBuffer) bytes after warm-up. */
  steadyExternal: number;
  /** Seconds covered after warm-up. */
  steadySeconds: number;
  /** Cache bytes at the end (median of the last samples). */
  endCached: number;
  /** RSS minus cache bytes: after warm-up, at the end, and the median after warm-up. */
  warmUncached: number;
  endUncached: number;
  steadyUncached: number;
  /** RSS minus cache bytes, the median of the last quarter of the samples after warm-up. */
  lateUncached: number;
}

/** Samples whose median stands for the level at the start and at the end of the window. */
const EDGE = 5;

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let sx = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Figures of one process from its samples. Throws a RangeError when no sample lies at or
 * after `warmupMs` (the run was shorter than its warm-up, or the process stopped reporting).
 */
export function analyze(points: readonly MemoryPoint[], warmupMs: number): MemoryFigures {
  const steady = points.filter((p) => p.tMs >= warmupMs);
  if (steady.length === 0) {
    throw new RangeError(
      `no memory sample after the warm-up of ${warmupMs} ms (${points.length} samples)`,
    );
  }
  const minutes = steady.map((p) => p.tMs / 60_000);
  return {
    samples: points.length,
    // Medians of a few samples: one sample taken right after (or before) a GC is not a level.
    warmRss: median(steady.slice(0, EDGE).map((p) => p.rss)),
    endRss: median(steady.slice(-EDGE).map((p) => p.rss)),
    steadyRss: median(steady.map((p) => p.rss)),
    peakRss: Math.max(...points.map((p) => p.rss)),
    rssSlopePerMin: slope(minutes, steady.map((p) => p.rss)),
    steadyHeap: median(steady.map((p) => p.heapUsed)),
    heapSlopePerMin: slope(minutes, steady.map((p) => p.heapUsed)),
    steadyExternal: median(steady.map((p) => p.external)),
    steadySeconds: (steady[steady.length - 1]!.tMs - steady[0]!.tMs) / 1000,
    endCached: median(steady.slice(-EDGE).map((p) => p.cached ?? 0)),
    warmUncached: median(steady.slice(0, EDGE).map(uncached)),
    endUncached: median(steady.slice(-EDGE).map(uncached)),
    steadyUncached: median(steady.map(uncached)),
    lateUncached: median(steady.slice(-Math.max(EDGE, Math.ceil(steady.length / 4))).map(uncached)),
  };
}

function uncached(p: MemoryPoint): number {
  return p.rss - (p.cached ?? 0);
}

/** Limits of {@link leakVerdict}. */
export interface LeakLimits {
  /** Largest allowed rise of RSS from the warm level to the end (and to the steady median). */
  marginBytes: number;
}

/**
 * Why these figures show a leak, or undefined when they do not: RSS at the end more than
 * `marginBytes`, and the median of the run's last quarter more than half of it, above RSS at
 * the end of the warm-up. A level that merely fluctuates passes; growth that continues, or a
 * rise late in the run that lasts, does not. Memory the process's caches account for is left
 * out: a cache filling up to its budget is not a leak.
 */
export function leakVerdict(f: MemoryFigures, limits: LeakLimits): string | undefined {
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const rise = f.endUncached - f.warmUncached;
  // Both must rise: a few high samples at the end (GC not yet run) are not a leak. (The median
  // of the whole run passed a rise in its last third: the API's 391 MiB to 2.6 GiB from minute
  // 16 of 22.)
  const lateRise = f.lateUncached - f.warmUncached;
  if (rise > limits.marginBytes && lateRise > limits.marginBytes / 2) {
    const caches = f.endCached > 0 ? `, not counting ${mb(f.endCached)} of caches at the end` : "";
    return `RSS rose from ${mb(f.warmRss)} after warm-up to ${mb(f.endRss)} at the end ` +
      `(+${mb(rise)}${caches}, limit +${mb(limits.marginBytes)}; slope ${
        mb(f.rssSlopePerMin)
      }/min over ${f.steadySeconds.toFixed(0)} s)`;
  }
  return undefined;
}
