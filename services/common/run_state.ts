/**
 * A run's state, as every reader (inspect, runs, delete, the API, the web client) infers it from
 * storage. Nothing infers "finished" from the absence of data:
 *
 * - `running`: no end record (or batches beyond it: the run was extended) and recent activity
 *   (see {@link activityOf}); also a run whose end record exists while batches before it are
 *   still being stored.
 * - `finished`: an end record, and storage holds what it names (its batches, up to its tick).
 * - `incomplete`: no end record and no recent activity: the run died (SIGKILL, a lost host)
 *   and can only be continued.
 * - `corrupt`: verification failed: files that cannot be read, overlapping or duplicated ticks,
 *   dead letters (records the pipeline gave up on), an unusable end record, or an end record
 *   whose batches are not all there long after it was written.
 *
 * @module
 */

import type { ObjectInfo } from "../../resources/storage/storage.ts";

/** The states of a run. */
export type RunState = "running" | "finished" | "incomplete" | "corrupt";

/** Every state, in the order of {@link RunState}. */
export const RUN_STATES: readonly RunState[] = ["running", "finished", "incomplete", "corrupt"];

/**
 * A run is idle (no progress) after this long without a new object, ms, at least: see
 * {@link activityOf} for how slow runs get more.
 */
export const DEFAULT_IDLE_MS = 120_000;

/** What a reader found in storage about one run. */
export interface RunFacts {
  /** The end record's last tick and batch count, or null when there is none. */
  end: { lastTick: number; batches: number } | null;
  /** Raw batches stored (served, readable or not yet read). */
  storedBatches: number;
  /** The highest last tick of the stored batches, or null when none. */
  storedLastTick: number | null;
  /** Holes between stored batches (ticks no batch holds), one line each. */
  gaps: readonly string[];
  /** Hard verification failures, one line each (any makes the run corrupt). */
  problems: readonly string[];
  /** When the run last stored something, ms since the epoch, or null when unknown. */
  lastActivityMs: number | null;
  /** How long without activity makes the run idle, ms. */
  idleAfterMs: number;
  /** Now, ms since the epoch. */
  nowMs: number;
}

/** A state and why, in one line. */
export interface RunStateVerdict {
  state: RunState;
  reason: string;
}

/** The state the facts imply. */
export function inferRunState(f: RunFacts): RunStateVerdict {
  const idleMs = f.lastActivityMs === null ? Infinity : f.nowMs - f.lastActivityMs;
  const active = idleMs < f.idleAfterMs;
  const quiet = f.lastActivityMs === null
    ? "nothing stored"
    : `no progress for ${formatDuration(idleMs)}`;
  if (f.problems.length > 0) return { state: "corrupt", reason: f.problems[0]! };
  const end = f.end;
  if (end !== null && (f.storedLastTick === null || f.storedLastTick <= end.lastTick)) {
    const short = f.storedBatches < end.batches || f.storedLastTick !== end.lastTick ||
      f.gaps.length > 0;
    if (!short) return { state: "finished", reason: `ended at tick ${end.lastTick}` };
    const what = `the end record names ${end.batches} batches up to tick ${end.lastTick}; ` +
      `${f.storedBatches} are stored` + (f.gaps.length > 0 ? ` (${f.gaps[0]})` : "");
    return active
      ? { state: "running", reason: `finishing: ${what}` }
      : { state: "corrupt", reason: `${what}, and ${quiet}` };
  }
  const extended = end === null ? "" : ` (extended past its end at tick ${end.lastTick})`;
  if (active) {
    return {
      state: "running",
      reason: `last stored tick ${f.storedLastTick ?? "none"}, active ${
        formatDuration(idleMs)
      } ago${extended}`,
    };
  }
  return {
    state: "incomplete",
    reason: `no end record${extended}, ${quiet}; last stored tick ${f.storedLastTick ?? "none"}`,
  };
}

/** When a run last stored something, and how long without that makes it idle. */
export interface RunActivity {
  /** The newest object's time, ms since the epoch, or null when there is none. */
  lastActivityMs: number | null;
  /** The idle threshold for this run, ms. */
  idleAfterMs: number;
}

/**
 * The activity of a run from the times of its raw batches, metadata and end records (not its
 * indexes: indexers catching up on a dead run are no progress of the run). A slow run gets a
 * longer idle threshold: three times the median interval between its recent batches, at least
 * `minIdleMs`.
 */
export function activityOf(
  objects: readonly Pick<ObjectInfo, "key" | "modifiedMs">[],
  minIdleMs = DEFAULT_IDLE_MS,
): RunActivity {
  let last: number | null = null;
  const batchTimes: number[] = [];
  for (const o of objects) {
    if (last === null || o.modifiedMs > last) last = o.modifiedMs;
    if (o.key.includes("/raw/")) batchTimes.push(o.modifiedMs);
  }
  batchTimes.sort((a, b) => a - b);
  const intervals = batchTimes.slice(1).map((t, i) => t - batchTimes[i]!).sort((a, b) => a - b);
  const median = intervals.length === 0 ? 0 : intervals[Math.floor(intervals.length / 2)]!;
  return { lastActivityMs: last, idleAfterMs: Math.max(minIdleMs, 3 * median) };
}

/** 95000 -> "1 min 35 s", for messages. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "ever";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}
