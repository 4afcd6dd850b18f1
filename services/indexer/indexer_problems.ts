/**
 * What an indexer reports as its current problems: unreadable batches, missing ticks and
 * batches that have waited too long for what comes before them, one line each, with the
 * gauges /metrics shows for them. Problems are facts that are still true; they disappear
 * when the batch is indexed or the gap is filled.
 *
 * @module
 */

import { describeGap, type WatchedGap } from "./batch_gaps.ts";
import type { FailedBatch } from "./failed_batches.ts";

/** A batch in hand that cannot go on yet. */
export interface Wait {
  key: string;
  /** What it waits for, e.g. `waits for 'runs/R/index/state/stats/...json'`. */
  why: string;
  /** Since when (performance.now()). */
  since: number;
}

/** Inputs of {@link describeProblems}. */
export interface ProblemInputs {
  /** Index kind, for messages (`stats`). */
  kind: string;
  failed: readonly FailedBatch[];
  /** Every watched gap; only the missing ones are problems. */
  gaps: readonly WatchedGap[];
  /** Waits not explained by a gap or a failed batch (those are reported themselves). */
  waits: readonly Wait[];
  /** A wait shorter than this is normal (batches arrive out of order). */
  graceMs: number;
  now: number;
}

/** Problem lines and their gauges. */
export interface Problems {
  lines: string[];
  metrics: {
    /** Raw batches that exist but cannot be indexed. */
    unreadable_batches: number;
    /** Tick ranges missing between stored batches, and named batches that are absent. */
    missing_ranges: number;
    /** Gaps seen but within the grace period (not errors: batches arrive out of order). */
    gaps_waiting: number;
    /** Batches in hand waiting longer than the grace period for no known reason. */
    stalled_batches: number;
    problems: number;
  };
}

function covered(f: FailedBatch, gaps: readonly WatchedGap[]): boolean {
  return gaps.some((g) =>
    g.missing && g.runId === f.ref.runId && g.firstTick <= f.ref.firstTick &&
    f.ref.lastTick <= g.lastTick
  );
}

/** The current problems: unreadable batches first, then missing ranges, then stalled waits. */
export function describeProblems(i: ProblemInputs): Problems {
  const lines: string[] = [];
  let unreadable = 0;
  let missing = 0;
  for (const f of i.failed) {
    if (f.kind === "unreadable") {
      unreadable++;
      lines.push(f.reason);
    }
  }
  for (const g of i.gaps) {
    if (!g.missing) continue;
    missing++;
    lines.push(describeGap(g, i.now));
  }
  for (const f of i.failed) {
    // A named batch inside a missing gap is that gap: one problem, not two.
    if (f.kind !== "missing" || covered(f, i.gaps)) continue;
    missing++;
    lines.push(f.reason);
  }
  let stalled = 0;
  for (const w of i.waits) {
    if (i.now - w.since < i.graceMs) continue;
    stalled++;
    lines.push(
      `${i.kind} of '${w.key}' ${w.why} for ${Math.round((i.now - w.since) / 1000)} s`,
    );
  }
  return {
    lines,
    metrics: {
      unreadable_batches: unreadable,
      missing_ranges: missing,
      gaps_waiting: i.gaps.filter((g) => !g.missing).length,
      stalled_batches: stalled,
      problems: lines.length,
    },
  };
}

/** The status' one-line error for `lines`: the first problem and how many more there are. */
export function summarizeProblems(lines: readonly string[]): string | undefined {
  if (lines.length === 0) return undefined;
  if (lines.length === 1) return lines[0];
  return `${lines[0]} (and ${lines.length - 1} more problem${lines.length > 2 ? "s" : ""})`;
}
