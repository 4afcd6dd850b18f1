/**
 * The contract between the indexer service and the three index kinds (stats, organisms,
 * catalog): which key marks a batch as done, what must exist first, how to index it, and how
 * to go on past ticks that cannot be read.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { CarriedGap } from "../common/index_schema.ts";
import type { BatchRef, RawBatch, RunInfo } from "./raw_batch.ts";

/** The index kinds. */
export type IndexKind = "stats" | "organisms" | "catalog";

/** What indexing one batch produced. */
export interface IndexResult {
  /** Rows (or entries) derived from the batch. */
  rows: number;
  /** false when every file existed already (another instance or an earlier attempt). */
  created: boolean;
  /** Something the operator should know although nothing failed (shown in recent errors). */
  note?: string;
}

/** Ticks of a run that an ordered index kind goes on without (see {@link BatchIndexer.passOver}). */
export interface PassedOver extends CarriedGap {
  runId: string;
}

/** One index kind. */
export interface BatchIndexer {
  readonly kind: IndexKind;
  /** Whether {@link index} needs the run's metadata (world size, sampling interval). */
  readonly needsRunInfo: boolean;
  /**
   * The key whose existence means the batch's own index file is written (written last). A
   * batch without it is indexed (again) whenever its raw file can be read.
   */
  doneKey(ref: BatchRef): string;
  /** Prefix under which every done key of a run lies (listed by the catch-up). */
  donePrefix(runId: string): string;
  /**
   * A key that must exist before the batch can be indexed (the stats indexer's state after the
   * previous batch), or null.
   */
  prerequisite(ref: BatchRef, run: RunInfo | null): string | null;
  /** The prerequisite of the next batch that indexing this one writes, or null. */
  provides(ref: BatchRef): string | null;
  /** Derives and writes the batch's files with no-clobber commits, the done key last. */
  index(storage: Storage, batch: RawBatch, run: RunInfo | null): Promise<IndexResult>;
  /**
   * Writes what the batch after `gap` needs so that it can be indexed without the gap's ticks
   * (missing or unreadable raw data), for kinds whose batches depend on earlier ones. Throws
   * when the gap's own prerequisite is not there yet. Returns false when it existed already.
   * Absent for kinds with independent batches.
   */
  passOver?(storage: Storage, gap: PassedOver, run: RunInfo | null): Promise<boolean>;
}

/** One batch to index elsewhere (see {@link IndexOffload}). */
export interface OffloadRequest {
  kind: IndexKind;
  ref: BatchRef;
  run: RunInfo | null;
  /**
   * When the batch's done key exists, answer at once with nothing created (rows 0) instead of
   * indexing it again.
   */
  skipIfDone: boolean;
}

/**
 * Indexes batches somewhere else: on a worker thread with its own storage and event loop
 * (services/runner/index_thread.ts), so that neither the reading and writing nor the decoding
 * waits for the indexer's thread (in-process, the engine's).
 */
export interface IndexOffload {
  /**
   * Indexes the batches in order, each as {@link BatchIndexer.index} after loadRawBatch would, and
   * stops at the first failure: per batch its result, its error (MissingBatchError and
   * CorruptBatchError as here), or undefined when it was not tried.
   */
  index(requests: readonly OffloadRequest[]): Promise<(IndexResult | Error | undefined)[]>;
}
