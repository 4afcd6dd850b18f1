/**
 * Ending a run: the worker that stored the batch holding the run's final chunk writes the end
 * record (see services/common/run_end.ts), once the run's batches are in storage. Competing
 * workers store batches out of order, and a crashed worker's batch comes back only when its
 * records are redelivered, so the final batch's records stay uncommitted while the worker waits
 * (a crash meanwhile redelivers them, and the next owner ends the run). The wait is bounded:
 * after `waitMs` the record is written anyway, naming how many batches were stored, and readers
 * that find batches missing call the run corrupt.
 *
 * @module
 */

import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { writeRunEnd } from "../common/run_end.ts";
import { parseBatchKey, rawPrefix } from "../common/storage_layout.ts";

/** The run's end as the worker with its final chunk knows it. */
export interface RunEnding {
  runId: string;
  /** Index of the run's final chunk. */
  finalIndex: number;
  chunksPerBatch: number;
  /** Last tick of the final chunk. */
  lastTick: number;
  /** The batch that holds the final chunk (stored already). */
  finalBatchKey: string;
  /** When the worker first tried to end the run (performance.now()). */
  since: number;
}

/** What one attempt did. */
export interface EndAttempt {
  /** The end record is in storage (written now, or found there). */
  ended: boolean;
  /** Whether this attempt created it. */
  created: boolean;
  /** Batches of the run found in storage, and how many the run has. */
  stored: number;
  expected: number;
}

/** Batches a run of `finalIndex + 1` chunks has. */
export function batchesOf(finalIndex: number, chunksPerBatch: number): number {
  return Math.floor(finalIndex / chunksPerBatch) + 1;
}

/** Distinct batches of the run stored up to `lastTick`. */
async function storedBatches(storage: Storage, runId: string, lastTick: number): Promise<number> {
  let n = 0;
  for (const key of await listAllKeys(storage, rawPrefix(runId))) {
    const r = parseBatchKey(key);
    if (r !== null && r.lastTick <= lastTick) n++;
  }
  return n;
}

/**
 * Writes the end record when every batch of the run is stored, or when `waitMs` have passed
 * since `e.since`; otherwise reports how many are stored. Storage errors propagate.
 */
export async function tryEndRun(
  storage: Storage,
  e: RunEnding,
  writer: string,
  waitMs: number,
  now: number,
): Promise<EndAttempt> {
  const expected = batchesOf(e.finalIndex, e.chunksPerBatch);
  const stored = await storedBatches(storage, e.runId, e.lastTick);
  if (stored < expected && now - e.since < waitMs) {
    return { ended: false, created: false, stored, expected };
  }
  const created = await writeRunEnd(storage, {
    runId: e.runId,
    lastTick: e.lastTick,
    chunks: e.finalIndex + 1,
    batches: expected,
    chunksPerBatch: e.chunksPerBatch,
    finalBatchKey: e.finalBatchKey,
    batchesStored: stored,
    writer,
    endedAtMs: Date.now(),
  });
  return { ended: true, created, stored, expected };
}
