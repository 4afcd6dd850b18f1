/**
 * Whether a batch whose index depends on an earlier one (the stats' state after its
 * predecessor) can go on: its prerequisite exists, or the stretch that would have written it
 * is a hole (a missing gap, or an unreadable batch given up on) to pass over. A batch that
 * cannot go on waits, and a prerequisite lost after it was written is written again.
 *
 * @module
 */

import type { GapWatch } from "./batch_gaps.ts";
import type { PassedOver } from "./batch_indexer.ts";
import type { Wait } from "./indexer_problems.ts";
import { type BatchRef, MissingBatchError, type RunInfo } from "./raw_batch.ts";
import type { IndexerParts } from "./_indexer_parts.ts";
import { markWaiting, type Pending } from "./_pending_batches.ts";

/** Longest run of consecutive gaps passed over in one go (bounds the recursion). */
const MAX_CHAINED_GAPS = 1000;

/** What {@link Prerequisites} looks at. */
export interface PrerequisitesDeps extends IndexerParts {
  gaps: GapWatch;
  /** The run's raw batches at the last catch-up. */
  listed: (runId: string) => readonly BatchRef[] | undefined;
}

/** The prerequisites of pending batches, and the holes passed over to meet them. */
export class Prerequisites {
  readonly #d: PrerequisitesDeps;

  /** See {@link PrerequisitesDeps}. */
  constructor(deps: PrerequisitesDeps) {
    this.#d = deps;
  }

  /**
   * Whether the prerequisite `pre` of a pending batch is there, passing over a missing or
   * unreadable stretch before it when there is one; otherwise the batch waits.
   */
  async ready(p: Pending, pre: string, run: RunInfo | null): Promise<boolean> {
    if (await this.#met(pre)) return true;
    if (!p.exists) {
      // A message naming a batch that is not there must not wait forever for its predecessor.
      if (!(await this.#d.storage.exists(p.ref.key))) throw new MissingBatchError(p.ref.key);
      p.exists = true;
    }
    if (await this.#passOverFor(p.ref.runId, pre, run, 0)) return true;
    markWaiting(p, `waits for '${pre}'`, pre);
    this.#healProducer(p.ref.runId, pre);
    return false;
  }

  /** Waits in hand that no gap or failed batch explains (those are reported themselves). */
  unexplainedWaits(): Wait[] {
    const waits: Wait[] = [];
    for (const p of this.#d.pending.values()) {
      if (p.waiting === undefined || p.waitingSince === undefined) continue;
      const pre = p.waitingFor;
      if (pre !== undefined && this.#holeProviding(p.ref.runId, pre, true) !== undefined) continue;
      waits.push({ key: p.ref.key, why: p.waiting, since: p.waitingSince });
    }
    return waits;
  }

  /**
   * When the stored batch that writes `pre` is indexed (its done key exists) but `pre` is not
   * there (lost, or data of an older version that wrote the state last), indexes that batch
   * again: its files are no-clobber, so only the missing prerequisite gets written.
   */
  #healProducer(runId: string, pre: string): void {
    const { indexer, known, pending } = this.#d;
    if (pending.provides(pre)) return;
    const producer = this.#d.listed(runId)?.find((r) => indexer.provides(r) === pre);
    if (producer === undefined || pending.has(producer.key)) return;
    if (!known.has(indexer.doneKey(producer))) return;
    pending.add(producer, [], true, false, true);
  }

  /**
   * Whether a prerequisite exists. A prerequisite that a batch pending here will write is not
   * looked up in storage: that batch comes first in the pass.
   */
  async #met(key: string): Promise<boolean> {
    if (this.#d.known.has(key)) return true;
    if (this.#d.pending.provides(key)) return false;
    return await this.#d.known.exists(key);
  }

  /**
   * The stretch of `runId` that would have written `key`: an unreadable batch given up on, or
   * a gap (only missing ones, unless `anyGap`), as a {@link PassedOver}; or undefined.
   */
  #holeProviding(runId: string, key: string, anyGap: boolean): PassedOver | undefined {
    const { indexer } = this.#d;
    for (const f of this.#d.failed.values()) {
      if (f.ref.runId !== runId || f.kind !== "unreadable") continue;
      if (indexer.provides(f.ref) !== key) continue;
      const { firstTick, lastTick } = f.ref;
      return { runId, firstTick, lastTick, reason: f.reason, batchKey: f.ref.key };
    }
    for (const g of this.#d.gaps.all()) {
      if (g.runId !== runId || !(anyGap || g.missing)) continue;
      const ref = { runId, key: `ticks ${g.firstTick}..${g.lastTick}`, ...ticksOf(g) };
      if (indexer.provides(ref) !== key) continue;
      return { runId, ...ticksOf(g), reason: "missing" };
    }
    return undefined;
  }

  /**
   * Passes over the hole that would have written `key` (and, first, any hole right before it),
   * so that the batch after it can go on. Returns whether `key` now exists.
   */
  async #passOverFor(
    runId: string,
    key: string,
    run: RunInfo | null,
    depth: number,
  ): Promise<boolean> {
    const { indexer } = this.#d;
    const hole = this.#holeProviding(runId, key, false);
    if (indexer.passOver === undefined || hole === undefined || depth > MAX_CHAINED_GAPS) {
      return false;
    }
    const holeRef = { ...ticksOf(hole), runId, key: hole.batchKey ?? `ticks ${hole.firstTick}` };
    const before = indexer.prerequisite(holeRef, run);
    if (
      before !== null && !(await this.#met(before)) &&
      !(await this.#passOverFor(runId, before, run, depth + 1))
    ) {
      return false; // the chain has not reached the hole yet
    }
    if (await indexer.passOver(this.#d.storage, hole, run)) {
      this.#d.metrics.passed_over++;
      this.#d.log.remember(
        `${indexer.kind}: passed over ticks ${hole.firstTick}..${hole.lastTick} of run ` +
          `'${runId}' (${hole.reason}); later carried statistics count only the samples read`,
      );
    }
    this.#d.known.add(key);
    return true;
  }
}

function ticksOf(g: { firstTick: number; lastTick: number }): {
  firstTick: number;
  lastTick: number;
} {
  return { firstTick: g.firstTick, lastTick: g.lastTick };
}
