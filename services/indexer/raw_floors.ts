/**
 * Where each run's catch-up listing starts. A run's floor is the last raw batch of its
 * beginning that is indexed and has no hole before it: nothing there can change any more (a
 * batch that arrives late fills a hole, and holes lie after the floor), so the catch-up lists
 * only the floor and the keys after it. Without floors every catch-up (every two seconds by
 * default) listed every batch of every growing run: its cost, and the garbage of its S3 LIST
 * pages, grew with the run's length.
 *
 * Keys sort by tick (see storage_layout.ts's batchKey), so "after the floor's key" is "later
 * ticks". A run far behind (a backlog of thousands of batches) is listed a window at a time,
 * from the floor on, so that a catch-up's cost is bounded by the window, not by the backlog.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import { listKeysUpTo } from "../../resources/storage/list_all_keys.ts";
import { rawPrefix, runIdOf } from "../common/storage_layout.ts";
import type { BatchRef } from "./raw_batch.ts";

/** One catch-up's look at a run: a window of its raw keys (see {@link RawFloors.list}). */
export interface RunWindow {
  /** The keys, in order; the window's anchor (the floor, or where the last window ended) first. */
  keys: string[];
  /** Whether the window starts at the floor (or the run's start): nothing before it is open. */
  fromFloor: boolean;
  /** Whether the window reaches the run's last key. */
  complete: boolean;
}

/** Each run's floor batch (see the module doc), and where its next window starts. */
export class RawFloors {
  readonly #floors = new Map<string, BatchRef>();
  /** The last key of a run's previous window, when that window did not reach the run's end. */
  readonly #resume = new Map<string, string>();

  /** The run's floor, or undefined while its beginning is not indexed (or was forgotten). */
  get(runId: string): BatchRef | undefined {
    return this.#floors.get(runId);
  }

  /**
   * The run's next window of at most `max` keys after its anchor. The first window starts at
   * the floor; one that stops short of the run's end is followed by one from where it stopped,
   * and so on to the end; then the next starts at the floor again. A run far behind is thus
   * looked at in bounded pieces, and all of it in turn, even while a hole holds its floor.
   */
  async list(storage: Storage, runId: string, max = Infinity): Promise<RunWindow> {
    const floor = this.#floors.get(runId)?.key;
    const anchor = this.#resume.get(runId) ?? floor;
    const window = await listKeysUpTo(storage, rawPrefix(runId), { after: anchor, max });
    const last = window.keys.at(-1);
    if (window.more && last !== undefined) this.#resume.set(runId, last);
    else this.#resume.delete(runId);
    return {
      keys: anchor === undefined ? window.keys : [anchor, ...window.keys],
      fromFloor: anchor === floor,
      complete: !window.more,
    };
  }

  /**
   * What a window of the run (`refs`: its batches) says about holes: they are looked for from
   * tick `from` on (its first batch, the floor or where the last window ended, is stored), and
   * the gaps it finds replace those watched within `span` (up to its last batch, unless it
   * reached the run's end). A missing window counts as the whole run from its floor.
   */
  lookedAt(
    runId: string,
    w: RunWindow | undefined,
    refs: readonly BatchRef[],
  ): { from: number; span: { firstTick: number; lastTick: number } } {
    const fromFloor = w?.fromFloor !== false;
    const first = refs.reduce((n, r) => Math.min(n, r.firstTick), Infinity);
    return {
      from: fromFloor ? this.#floors.get(runId)?.firstTick ?? 0 : first,
      span: {
        firstTick: fromFloor ? 0 : first,
        lastTick: w?.complete !== false
          ? Infinity
          : refs.reduce((n, r) => Math.max(n, r.lastTick), 0),
      },
    };
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

/** Whether `key` lies in the part of its run that `windows` looked at. */
export function inWindow(windows: ReadonlyMap<string, RunWindow>, key: string): boolean {
  const runId = runIdOf(key);
  const w = runId === null ? undefined : windows.get(runId);
  const first = w?.keys[0];
  if (w === undefined || first === undefined) return false;
  return (w.fromFloor || key >= first) && (w.complete || key <= w.keys.at(-1)!);
}

/**
 * The keys to remember as missing after a catch-up: those `missing` now, and those missing
 * before that lie outside what this catch-up looked at (a later window sees them again), at
 * most `max` in all (one forgotten is only taken a catch-up later).
 */
export function keptMissing(
  before: ReadonlySet<string>,
  missing: ReadonlySet<string>,
  windows: ReadonlyMap<string, RunWindow>,
  max: number,
): Set<string> {
  const kept = new Set(missing);
  for (const key of before) {
    if (kept.size >= max) break;
    if (!inWindow(windows, key)) kept.add(key);
  }
  return kept;
}
