/**
 * Where each run's catch-up listing starts. A run's floor is the last raw batch of its
 * beginning that is indexed and has no hole before it: nothing there can change any more (a
 * batch that arrives late fills a hole, and holes lie after the floor), so the catch-up lists
 * only the floor and the keys after it. Without floors every catch-up (every two seconds by
 * default) listed every batch of every growing run: its cost, and the garbage of its S3 LIST
 * pages, grew with the run's length.
 *
 * Keys sort by tick (see storage_layout.ts's batchKey), so "after the floor's key" is "later
 * ticks".
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import { rawPrefix } from "../common/storage_layout.ts";
import type { BatchRef } from "./raw_batch.ts";

/** Each run's floor batch (see the module doc). */
export class RawFloors {
  readonly #floors = new Map<string, BatchRef>();

  /** The run's floor, or undefined while its beginning is not indexed (or was forgotten). */
  get(runId: string): BatchRef | undefined {
    return this.#floors.get(runId);
  }

  /** The run's raw keys from its floor on: the floor's key first, then every key after it. */
  async list(storage: Storage, runId: string): Promise<string[]> {
    const floor = this.#floors.get(runId);
    const keys = await listAllKeys(storage, rawPrefix(runId), floor?.key);
    return floor === undefined ? keys : [floor.key, ...keys];
  }

  /**
   * Moves the run's floor over the batches of `refs` (the floor and the batches listed after
   * it, any order) that go on from it without a hole (ticks advance by `sampling` from tick 0)
   * and are `indexed`. Returns the batches passed and left behind: every one before the new
   * floor.
   */
  advance(
    runId: string,
    refs: readonly BatchRef[],
    sampling: number,
    indexed: (ref: BatchRef) => boolean,
  ): BatchRef[] {
    const sorted = [...refs].sort((a, b) => a.firstTick - b.firstTick || a.lastTick - b.lastTick);
    const start = this.#floors.get(runId);
    let floor = start;
    let next = floor === undefined ? 0 : floor.lastTick + sampling;
    const passed: BatchRef[] = [];
    for (const r of sorted) {
      if (r.key === start?.key || r.lastTick + sampling <= next) continue;
      if (r.firstTick > next || !indexed(r)) break;
      if (floor !== undefined) passed.push(floor);
      floor = r;
      next = r.lastTick + sampling;
    }
    if (floor !== undefined) this.#floors.set(runId, floor);
    return passed;
  }
}
