/**
 * The contract between the indexer service and the three index kinds (stats, organisms,
 * catalog): which key marks a batch as done, what must exist first, how to index it.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { BatchRef, RawBatch, RunInfo } from "./raw_batch.ts";

/** The index kinds. */
export type IndexKind = "stats" | "organisms" | "catalog";

/** What indexing one batch produced. */
export interface IndexResult {
  /** Rows (or entries) derived from the batch. */
  rows: number;
  /** false when every file existed already (another instance or an earlier attempt). */
  created: boolean;
}

/** One index kind. */
export interface BatchIndexer {
  readonly kind: IndexKind;
  /** Whether {@link index} needs the run's metadata (world size, sampling interval). */
  readonly needsRunInfo: boolean;
  /** The key whose existence means the batch is indexed (written last). */
  doneKey(ref: BatchRef): string;
  /** Prefix under which every done key of a run lies (listed by the catch-up). */
  donePrefix(runId: string): string;
  /**
   * A key that must exist before the batch can be indexed (the stats indexer's state after the
   * previous batch), or null.
   */
  prerequisite(ref: BatchRef, run: RunInfo | null): string | null;
  /** Derives and writes the batch's files with no-clobber commits, the done key last. */
  index(storage: Storage, batch: RawBatch, run: RunInfo | null): Promise<IndexResult>;
  /**
   * Called once a batch is given up because its raw file is corrupt (after the prerequisite
   * was met), so that batches depending on it can proceed. Optional.
   */
  passOver?(storage: Storage, ref: BatchRef, run: RunInfo | null, reason: string): Promise<void>;
}
