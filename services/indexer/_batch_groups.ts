/**
 * Batches indexed together: with an offload, the pending batches that go to it in one request
 * (one message each way for several batches, where in-process every message this thread
 * handles waits for the engine's next slice), and indexing such a group in order.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { BatchIndexer, IndexOffload, IndexResult } from "./batch_indexer.ts";
import { loadSharedRawBatch, type RunInfo } from "./raw_batch.ts";
import type { Pending } from "./_pending_batches.ts";

/** Most batches sent to an offload in one request. */
const GROUP_MAX = 8;

/**
 * The batches from `items[i]` on (in run and tick order) that go to an offload in one request:
 * due, of one run, and for a kind whose batches depend on earlier ones, each the successor of
 * the one before (the offload indexes a request's batches in order, so each finds the state
 * before it). `runs`: the facts of the runs whose first batch was looked at.
 */
export function offloadGroup(
  items: readonly Pending[],
  i: number,
  indexer: BatchIndexer,
  runs: ReadonlyMap<string, RunInfo>,
): Pending[] {
  const group = [items[i]!];
  const now = performance.now();
  for (let j = i + 1; j < items.length && group.length < GROUP_MAX; j++) {
    const p = items[j]!;
    const last = group[group.length - 1]!;
    if (p.notBefore > now || p.force || p.ref.runId !== last.ref.runId) break;
    if (last.provides !== null) {
      // The run's facts are known once its first batch was looked at; until then, one at a time.
      const info = runs.get(p.ref.runId);
      if (indexer.needsRunInfo && info === undefined) break;
      if (indexer.prerequisite(p.ref, info ?? null) !== last.provides) break;
    }
    group.push(p);
  }
  return group;
}

/** Where {@link indexGroup} indexes. */
export interface GroupIndexing {
  indexer: BatchIndexer;
  storage: Storage;
  /** The offload to index on, or undefined to index here. */
  offload: IndexOffload | undefined;
}

/**
 * Indexes the batches in order, on the offload or here, stopping at the first failure: per
 * batch its result, its error, or undefined when it was not tried.
 */
export async function indexGroup(
  go: readonly Pending[],
  run: RunInfo | null,
  { indexer, storage, offload }: GroupIndexing,
): Promise<(IndexResult | Error | undefined)[]> {
  if (go.length === 0) return [];
  if (offload !== undefined) {
    const kind = indexer.kind;
    return await offload.index(go.map((p) => ({ kind, ref: p.ref, run, skipIfDone: !p.force })));
  }
  const outcomes: (IndexResult | Error)[] = [];
  for (const p of go) {
    try {
      const batch = await loadSharedRawBatch(storage, p.ref);
      outcomes.push(await indexer.index(storage, batch, run));
    } catch (e) {
      outcomes.push(e instanceof Error ? e : new Error(String(e)));
      break;
    }
  }
  return outcomes;
}
