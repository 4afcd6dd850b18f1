/**
 * The counters an indexer service keeps; their meaning is listed at IndexerService.status().
 *
 * @module
 */

/** The indexer's counters, shared by the parts that count. */
export interface IndexerMetrics {
  messages: number;
  batches: number;
  duplicate_batches: number;
  rows: number;
  errors: number;
  retries: number;
  skipped_batches: number;
  found_batches: number;
  catch_ups: number;
  listed_batches: number;
  settled_runs: number;
  last_tick: number;
  busy_ms: number;
  resumed_batches: number;
  passed_over: number;
}

/** Counters at their start. */
export function newMetrics(): IndexerMetrics {
  return {
    messages: 0,
    batches: 0,
    duplicate_batches: 0,
    rows: 0,
    errors: 0,
    retries: 0,
    skipped_batches: 0,
    found_batches: 0,
    catch_ups: 0,
    listed_batches: 0,
    settled_runs: 0,
    last_tick: -1,
    busy_ms: 0,
    resumed_batches: 0,
    passed_over: 0,
  };
}

/** Raises `last_tick` to `lastTick` (the highest last tick known done). */
export function noteDone(m: IndexerMetrics, lastTick: number): void {
  if (lastTick > m.last_tick) m.last_tick = lastTick;
}
