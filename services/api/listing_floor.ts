/**
 * How much of a run's previous listing the next one takes over without listing it again. A
 * growing run's listing (once a second while a client polls) listed every raw batch and
 * every catalog entry: its S3 LIST pages and its garbage grew with the run's length. The
 * beginning of a run that is served from the catalog, with no gap and no problem in it, does
 * not change any more: a batch that arrives late fills a gap and sorts after it, and a file
 * that is set aside is a problem. So the next listing lists only the keys after it.
 *
 * @module
 */

import type { BatchProblem, TickGap } from "./batch_listing.ts";
import type { BatchList } from "./batch_list.ts";

/** What a listing found, as far as {@link takenOver} looks. */
export interface ListedBatches {
  /** Served batches, ascending; the settled ones are taken over as they are. */
  batches: BatchList;
  catalog: { has(key: string): boolean };
  problems: readonly BatchProblem[];
  gaps: readonly TickGap[];
}

/**
 * How many of the listing's first batches stay as they are: from tick 0 on, each in the
 * catalog, up to the first gap, and before (by key) every file set aside. The listing's own
 * settled batches (those it took over) stay: its gaps and problems all lie after them.
 */
export function takenOver(listed: ListedBatches): number {
  const { batches } = listed;
  if (batches.length === 0 || batches.firstTick(0) !== 0) return 0;
  let lastTick = Infinity;
  for (const g of listed.gaps) lastTick = Math.min(lastTick, g.after);
  let firstProblem: string | undefined;
  for (const p of listed.problems) {
    if (firstProblem === undefined || p.key < firstProblem) firstProblem = p.key;
  }
  let n = batches.settledCount;
  for (const b of batches.tail) {
    if (b.lastTick > lastTick || !listed.catalog.has(b.key)) break;
    if (firstProblem !== undefined && b.key >= firstProblem) break;
    n++;
  }
  return n;
}
