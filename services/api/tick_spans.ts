/**
 * Sampled ticks as arithmetic spans (`first`, `first + step`, ... `count` ticks), so that a run's
 * ticks are held and searched in space proportional to its batches, never to the numbers a file
 * name or a header claims.
 *
 * @module
 */

/** `count` ticks from `first`, `step` apart (step >= 1, count >= 1). */
export interface TickSpan {
  first: number;
  step: number;
  count: number;
}

/** The last tick of a span. */
export function spanLast(s: TickSpan): number {
  return s.first + (s.count - 1) * s.step;
}

/** Ascending ticks as spans (each as long as possible). Throws RangeError when not ascending. */
export function spansOf(ticks: readonly number[]): TickSpan[] {
  const out: TickSpan[] = [];
  let current: TickSpan | undefined;
  let previous = -Infinity;
  for (const t of ticks) {
    if (!(t > previous)) throw new RangeError(`ticks are not ascending at ${t}`);
    previous = t;
    if (current === undefined) {
      current = { first: t, step: 1, count: 1 };
    } else if (current.count === 1) {
      current.step = t - current.first;
      current.count = 2;
    } else if (t - spanLast(current) === current.step) {
      current.count++;
    } else {
      out.push(current);
      current = { first: t, step: 1, count: 1 };
    }
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** How many ticks the spans hold. */
export function tickCount(spans: readonly TickSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.count;
  return n;
}

/** Whether `tick` is one of the spans' ticks (spans ascending and disjoint). */
export function hasTick(spans: readonly TickSpan[], tick: number): boolean {
  const s = spans[spanIndex(spans, tick)];
  return s !== undefined && tick <= spanLast(s) && (tick - s.first) % s.step === 0;
}

/** The spans' ticks nearest below and above `tick` (both exclusive), or null. */
export function neighbours(
  spans: readonly TickSpan[],
  tick: number,
): { below: number | null; above: number | null } {
  const i = spanIndex(spans, tick);
  const s = spans[i];
  if (s === undefined) return { below: null, above: spans[0]?.first ?? null };
  const k = Math.ceil((tick - s.first) / s.step) - 1;
  const below = k < 0
    ? (i > 0 ? spanLast(spans[i - 1]!) : null)
    : s.first + Math.min(k, s.count - 1) * s.step;
  const next = Math.floor((tick - s.first) / s.step) + 1;
  const above = next < s.count ? s.first + next * s.step : (spans[i + 1]?.first ?? null);
  return { below, above };
}

/** The spans' ticks, one number each (for tests and small answers only). */
export function ticksOf(spans: readonly TickSpan[]): number[] {
  const out: number[] = [];
  for (const s of spans) {
    for (let k = 0; k < s.count; k++) out.push(s.first + k * s.step);
  }
  return out;
}

/**
 * Ascending, disjoint span lists (one per batch) as one list, with a span continued across
 * lists where the progression goes on: an evenly sampled run is one span however many batches
 * hold it. The inputs are not modified.
 */
export function joinSpans(lists: Iterable<readonly TickSpan[]>): TickSpan[] {
  const out: TickSpan[] = [];
  for (const spans of lists) for (const s of spans) joinSpan(out, s);
  return out;
}

/**
 * Adds `s` (after every tick of `out`) to the joined list `out`: continues its last span (which
 * is modified) where the progression goes on, else appends a copy of `s`.
 */
export function joinSpan(out: TickSpan[], s: TickSpan): void {
  const last = out.at(-1);
  const gap = last === undefined ? 0 : s.first - spanLast(last);
  if (last !== undefined && last.count === 1 && (s.count === 1 || s.step === gap)) {
    last.step = gap;
    last.count += s.count;
  } else if (last !== undefined && gap === last.step && (s.count === 1 || s.step === gap)) {
    last.count += s.count;
  } else {
    out.push({ ...s });
  }
}

/** Index of the last span whose first tick is <= tick, or -1. */
function spanIndex(spans: readonly TickSpan[], tick: number): number {
  return lastAtOrBelow(spans.length, (i) => spans[i]!.first, tick);
}

/**
 * Index of the last of `length` ascending values (`valueAt(i)`) that is <= `v`, or -1: the
 * span, batch or chunk a tick falls in, by binary search.
 */
export function lastAtOrBelow(length: number, valueAt: (i: number) => number, v: number): number {
  let lo = 0;
  let hi = length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (valueAt(mid) <= v) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
