/**
 * A run as one listing saw it ({@link RunView}), and what is answered from the listing alone:
 * the batch that holds a sampled tick, the files that cannot be read.
 *
 * @module
 */

import type { BatchProblem, BatchRef, TickGap } from "./batch_listing.ts";
import type { BatchList, ListedCatalog } from "./batch_list.ts";
import { ApiHttpError, notFound } from "./errors.ts";
import type { RunInfo } from "./run_info.ts";
import { hasTick, neighbours } from "./tick_spans.ts";

/** A run as listed at one moment: its batches, ascending, and the catalog entries present. */
export interface RunView {
  info: RunInfo;
  /** Served batches, ascending and disjoint, with their sampled ticks. */
  batches: BatchList;
  /** Catalog entries by raw batch key (batches the catalog indexer has not reached are absent). */
  catalog: ListedCatalog;
  /** File sizes of the raw batches this listing listed (the others are in the catalog). */
  sizes: ReadonlyMap<string, number>;
  /** Files under the run's raw prefix that are not served (unreadable, stray, overlapping). */
  problems: BatchProblem[];
  /** Ticks between served batches that no batch holds (missing, or not written yet). */
  gaps: TickGap[];
  /** When the listing was taken (ms, the store's clock). */
  listedAt: number;
}

/** The files of a view set aside because they cannot be read (not merely overlapping). */
export function unreadableBatches(view: RunView): BatchProblem[] {
  return view.problems.filter((p) => !p.overlaps);
}

/** The batch holding a sampled tick; 404 naming the nearest sampled ticks otherwise. */
export function locateTick(view: RunView, tick: number): BatchRef {
  const { batches } = view;
  if (batches.length === 0) throw tickNotStored(view.info.runId, tick, null, null, null);
  const i = batches.floorIndex(tick);
  const range: [number, number] = [batches.firstTick(0), batches.at(-1)!.lastTick];
  const batch = i < 0 ? undefined : batches.at(i);
  if (batch !== undefined && hasTick(batch.spans, tick)) return batch;
  const inBatch = batch === undefined
    ? { below: null, above: null }
    : neighbours(batch.spans, tick);
  const below = inBatch.below ?? null;
  const above = inBatch.above ?? (i + 1 < batches.length ? batches.firstTick(i + 1) : null);
  const bad = unreadableBatches(view).find((p) =>
    p.firstTick !== undefined && p.lastTick !== undefined && p.firstTick <= tick &&
    tick <= p.lastTick
  );
  if (bad !== undefined) {
    throw new ApiHttpError(
      502,
      "corrupt_batch",
      `Cannot serve tick ${tick}: batch '${bad.key}' ${bad.reason}`,
    );
  }
  const gap = view.gaps.find((g) => g.after < tick && tick < g.before);
  if (gap !== undefined) {
    const err = notFound(
      `Tick ${tick} is not stored: run '${view.info.runId}' has no batch for ticks after ` +
        `${gap.after} and before ${gap.before} (missing from storage, or not written yet); ` +
        `nearest sampled ticks: ${gap.after} and ${gap.before}`,
    );
    err.nearestTicks = [gap.after, gap.before];
    throw err;
  }
  throw tickNotStored(view.info.runId, tick, below, above, range);
}

/** 404 for a tick that is not a stored sample, naming the nearest sampled ticks. */
function tickNotStored(
  runId: string,
  tick: number,
  below: number | null,
  above: number | null,
  range: [number, number] | null,
): ApiHttpError {
  const nearest = [below, above].filter((t): t is number => t !== null);
  const where = range === null
    ? `run '${runId}' has no stored ticks yet`
    : tick < range[0] || tick > range[1]
    ? `run '${runId}' holds ticks ${range[0]}..${range[1]}`
    : `it is not a sampled tick of run '${runId}'`;
  const err = notFound(
    `Tick ${tick} is not stored: ${where}` +
      (nearest.length > 0 ? `; nearest sampled ticks: ${nearest.join(" and ")}` : ""),
  );
  err.nearestTicks = nearest;
  return err;
}
