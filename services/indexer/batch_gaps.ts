/**
 * Gaps between the stored raw batches of a run, and when a gap counts as missing.
 *
 * Batches are written by competing persistence workers, so a run's batches do not appear in
 * tick order: while a run grows, a batch may be stored before the one ahead of it. A gap is
 * therefore only a hole that has a later batch after it (the growing end of a run is never a
 * gap), and it is only declared missing once it has been there for a grace period (seen
 * again after `graceMs`): "not there yet" turns into "missing" with time. A gap that is later
 * partly filled keeps the age of the hole it came from.
 *
 * @module
 */

import type { BatchRef } from "./raw_batch.ts";

/** Sampled ticks of a run that no stored batch holds, with a stored batch after them. */
export interface BatchGap {
  runId: string;
  /** First and last absent sampled tick. */
  firstTick: number;
  lastTick: number;
  /** The stored batch before the hole, or null when the hole starts at tick 0. */
  before: string | null;
  /** The stored batch right after the hole. */
  after: string;
}

/**
 * The gaps of one run's batches (any order; overlapping batches leave no gap). Ticks advance
 * by `sampling` from tick `from` (0: the run's start; ticks before it are known to be stored),
 * and a batch ends one sampling interval before the next starts.
 */
export function findGaps(refs: readonly BatchRef[], sampling: number, from = 0): BatchGap[] {
  const sorted = [...refs].sort((a, b) => a.firstTick - b.firstTick || a.lastTick - b.lastTick);
  const gaps: BatchGap[] = [];
  let next = from;
  let before: string | null = null;
  for (const r of sorted) {
    if (r.firstTick > next) {
      gaps.push({
        runId: r.runId,
        firstTick: next,
        lastTick: Math.max(next, r.firstTick - sampling),
        before,
        after: r.key,
      });
    }
    if (r.lastTick + sampling > next) {
      next = r.lastTick + sampling;
      before = r.key;
    }
  }
  return gaps;
}

/** A gap being watched. */
export interface WatchedGap extends BatchGap {
  /** When the hole was first seen (performance.now()). */
  since: number;
  /** Seen for at least the grace period: an error, no longer "not there yet". */
  missing: boolean;
}

/** One line naming a missing gap, e.g. for a service's status. */
export function describeGap(g: WatchedGap, now: number): string {
  const where = g.before === null
    ? `before batch '${g.after}'`
    : `between batch '${g.before}' and batch '${g.after}'`;
  return `missing: ticks ${g.firstTick}..${g.lastTick} absent ${where} for ` +
    `${Math.round((now - g.since) / 1000)} s`;
}

function overlaps(
  a: { firstTick: number; lastTick: number },
  b: { firstTick: number; lastTick: number },
): boolean {
  return a.firstTick <= b.lastTick && b.firstTick <= a.lastTick;
}

/** The gaps of every run seen by the catch-up, with their age. */
export class GapWatch {
  readonly #graceMs: number;
  readonly #runs = new Map<string, WatchedGap[]>();

  /** `graceMs`: how long a gap may be there before it counts as missing. */
  constructor(graceMs: number) {
    this.#graceMs = Math.max(0, graceMs);
  }

  /**
   * Takes the gaps just found in a run, replacing the previous ones within `span` (default: all
   * ticks; a listing that looked at part of the run keeps the gaps it did not look at), and
   * returns those that were missing before and are now (at least partly) filled.
   */
  observe(
    runId: string,
    gaps: readonly BatchGap[],
    now: number,
    span: { firstTick: number; lastTick: number } = { firstTick: 0, lastTick: Infinity },
  ): WatchedGap[] {
    const all = this.#runs.get(runId) ?? [];
    const old = all.filter((o) => overlaps(o, span));
    const found = gaps.map((g): WatchedGap => {
      let since = now;
      for (const o of old) if (overlaps(o, g) && o.since < since) since = o.since;
      return { ...g, since, missing: now - since >= this.#graceMs };
    });
    const next = [...all.filter((o) => !overlaps(o, span)), ...found]
      .sort((a, b) => a.firstTick - b.firstTick);
    if (next.length === 0) this.#runs.delete(runId);
    else this.#runs.set(runId, next);
    return old.filter((o) =>
      o.missing &&
      !found.some((n) => n.firstTick === o.firstTick && n.lastTick === o.lastTick)
    );
  }

  /** Runs with watched gaps. */
  runs(): string[] {
    return [...this.#runs.keys()];
  }

  /** Every watched gap, missing or not, in run and tick order. */
  all(): WatchedGap[] {
    return [...this.#runs.keys()].sort().flatMap((r) => this.#runs.get(r)!);
  }

  /** The gaps counted as missing. */
  missing(): WatchedGap[] {
    return this.all().filter((g) => g.missing);
  }

  /** The watched gap right before the stored batch `key` of `runId`, if any. */
  before(runId: string, key: string): WatchedGap | undefined {
    return this.#runs.get(runId)?.find((g) => g.after === key);
  }

  /** The missing gap that holds `tick` of `runId`, if any. */
  missingAt(runId: string, tick: number): WatchedGap | undefined {
    return this.#runs.get(runId)?.find((g) =>
      g.missing && g.firstTick <= tick && tick <= g.lastTick
    );
  }
}
