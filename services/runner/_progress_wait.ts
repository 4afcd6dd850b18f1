/**
 * Waiting for a counter to move, for loops that would otherwise poll something expensive
 * (a storage listing) on a timer.
 *
 * @module
 */

/** Options of {@link progressOrTimeout}. */
export interface ProgressWait {
  /** A cheap reading that changes when there may be something new to see. */
  progress: () => number;
  /** The reading the caller has already seen. */
  seen: number;
  /** Returns after this long even without progress (for changes made elsewhere). */
  maxMs: number;
  /** How often `progress` is read (default 20 ms). */
  everyMs?: number;
  /** Returns early when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * Resolves once `progress()` differs from `seen`, after `maxMs`, or on abort, whichever comes
 * first: `true` when the reading moved.
 */
export async function progressOrTimeout(o: ProgressWait): Promise<boolean> {
  if (!(o.maxMs >= 0)) throw new RangeError(`Invalid wait ${o.maxMs} ms: expected 0 or more`);
  const until = performance.now() + o.maxMs;
  const every = o.everyMs ?? 20;
  for (;;) {
    if (o.progress() !== o.seen) return true;
    const left = until - performance.now();
    if (left <= 0 || o.signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, Math.min(every, left)));
  }
}
