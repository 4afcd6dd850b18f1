/**
 * The indexer's periodic catch-up: it lists the raw batches of the known, unsettled runs in
 * storage, from each run's floor on (./raw_floors.ts), and queues those whose done key is
 * missing; it also rechecks the batches given up on, updates each run's gaps, moves the floors
 * and marks finished, fully indexed runs settled (see the module doc of ./indexer_service.ts).
 *
 * @module
 */

import { listKeysUpTo } from "../../resources/storage/list_all_keys.ts";
import { readRunEnd } from "../common/run_end.ts";
import { runIdOf } from "../common/storage_layout.ts";
import { findGaps, type GapWatch } from "./batch_gaps.ts";
import { type BatchRef, batchRef, type RunInfo } from "./raw_batch.ts";
import { inWindow, keptMissing, RawFloors, type RunWindow } from "./raw_floors.ts";
import type { IndexerParts } from "./_indexer_parts.ts";
import { noteDone } from "./_indexer_metrics.ts";

/** What {@link CatchUp} works with, and its settings (see IndexerOptions). */
export interface CatchUpDeps extends IndexerParts {
  gaps: GapWatch;
  /** The run's metadata (for its sampling interval). */
  runInfo: (runId: string) => Promise<RunInfo>;
  /** Interval of the catch-up, ms; 0: none. */
  intervalMs: number;
  /** Interval of listing the runs under `runs/`, ms. */
  discoveryMs: number;
  /** Most raw keys listed of one run. */
  maxListed: number;
  /** Most batches in hand before a catch-up stops taking the ones it found. */
  maxFoundPending: number;
  /** The only runs to look at (no discovery), or undefined for every run under `runs/`. */
  runs: readonly string[] | undefined;
}

/** The catch-up's schedule and what it remembers from one to the next. */
export class CatchUp {
  readonly #d: CatchUpDeps;
  /** Each run's raw batches at the last catch-up (from its floor on). */
  #listedRefs: ReadonlyMap<string, BatchRef[]> = new Map();
  /** Where each run's catch-up listing starts. */
  readonly #floors = new RawFloors();
  /** Raw keys found filling a missing gap, counted as resumed once indexed. */
  readonly #fillers = new Set<string>();
  readonly #knownRuns = new Set<string>();
  /**
   * Finished runs whose every batch is indexed: left out of the catch-up's listings until a
   * BatchInfo names them again (an extended run), so that its cost follows the active runs, not
   * the store.
   */
  readonly #settled = new Set<string>();
  /** Raw keys that were not indexed (nor pending here) at the last catch-up. */
  #missingBefore = new Set<string>();
  #next = 0;
  #nextDiscovery = 0;

  /** See {@link CatchUpDeps}. */
  constructor(deps: CatchUpDeps) {
    this.#d = deps;
    for (const r of deps.runs ?? []) this.#knownRuns.add(r);
  }

  /** Whether a catch-up is due at `now`; if so, the next one is due an interval later. */
  due(now: number): boolean {
    if (this.#d.intervalMs <= 0 || now < this.#next) return false;
    this.#next = now + this.#d.intervalMs;
    return true;
  }

  /** A BatchInfo named the run: it is looked at (again) from the next catch-up on. */
  named(runId: string): void {
    this.#knownRuns.add(runId);
    this.#settled.delete(runId);
  }

  /** The run's raw batches at the last catch-up (from its floor on). */
  listed(runId: string): readonly BatchRef[] | undefined {
    return this.#listedRefs.get(runId);
  }

  /** Whether the catch-up found `key` filling a missing gap (forgotten now: it is indexed). */
  filled(key: string): boolean {
    return this.#fillers.delete(key);
  }

  /**
   * Lists raw batches in storage and queues those not indexed yet (all of them the first time,
   * later only those that were missing at the previous catch-up too, so that competing
   * instances do not redo each other's fresh work), rechecks the batches given up on, and
   * updates each run's gaps.
   */
  async run(): Promise<void> {
    const { metrics: m, pending, failed } = this.#d;
    m.catch_ups++;
    const now = performance.now();
    const windows = await this.#listRaw(now);
    const keys = [...windows.values()].flatMap((w) => w.keys);
    m.listed_batches = keys.length;
    const listed = new Set(keys);
    const missing = new Set<string>();
    const byRun = new Map<string, BatchRef[]>();
    for (const key of keys) {
      const ref = batchRef(key);
      if (ref === null) continue;
      let refs = byRun.get(ref.runId);
      if (refs === undefined) byRun.set(ref.runId, refs = []);
      refs.push(ref);
      if (pending.has(key)) continue;
      if (failed.get(key) !== undefined) {
        const size = await this.#d.storage.size(key);
        if (failed.due(key, size, now)) pending.add(ref, [], true, true);
        continue;
      }
      if (this.#isIndexed(ref, listed)) continue;
      missing.add(key);
      if (this.#d.gaps.missingAt(ref.runId, ref.firstTick) !== undefined) this.#fillers.add(key);
      // After the first catch-up, a batch is taken only when it was missing last time too:
      // the member its BatchInfo went to has had a whole interval to index it.
      if (m.catch_ups > 1 && !this.#missingBefore.has(key)) continue;
      // A backlog waits in storage, not here: the earliest first, the rest at later catch-ups.
      if (pending.size >= this.#d.maxFoundPending) continue;
      m.found_batches++;
      pending.add(ref, [], true, false);
    }
    // Remembered across windows (a run far behind is seen again only after a round of them),
    // within a bound: one forgotten is taken a round later.
    const remembered = 4 * this.#d.maxListed;
    this.#missingBefore = keptMissing(this.#missingBefore, missing, windows, remembered);
    this.#listedRefs = byRun;
    for (const f of failed.values()) {
      // An unreadable batch that is gone is a gap now (reported as such once it lasts).
      if (f.kind === "unreadable" && inWindow(windows, f.ref.key) && !listed.has(f.ref.key)) {
        failed.delete(f.ref.key);
      }
    }
    await this.#watchGaps(byRun, windows, now);
    await this.#settle(byRun, missing, windows);
  }

  /**
   * Marks runs settled that are finished (their end record names their last listed batch) and
   * fully indexed: nothing missing, pending, failed or in a gap.
   */
  async #settle(
    byRun: ReadonlyMap<string, BatchRef[]>,
    missing: ReadonlySet<string>,
    windows: ReadonlyMap<string, RunWindow>,
  ) {
    const busy = new Set<string>();
    for (const key of missing) busy.add(runIdOf(key) ?? "");
    for (const p of this.#d.pending.values()) busy.add(p.ref.runId);
    for (const f of this.#d.failed.values()) busy.add(f.ref.runId);
    for (const g of this.#d.gaps.all()) busy.add(g.runId);
    for (const [runId, refs] of byRun) {
      if (busy.has(runId) || this.#settled.has(runId) || refs.length === 0) continue;
      const w = windows.get(runId);
      if (w === undefined || !w.fromFloor || !w.complete) continue; // not all of it looked at
      const last = refs.reduce((n, r) => Math.max(n, r.lastTick), -1);
      const { end } = await readRunEnd(this.#d.storage, runId);
      if (end !== null && end.lastTick === last) this.#settled.add(runId);
    }
    this.#d.metrics.settled_runs = this.#settled.size;
  }

  /**
   * The raw keys to look at: a window of each known, unsettled run's, from its floor on. Now
   * and then (and first) the runs under `runs/` are listed too, to find runs no BatchInfo
   * named (the runs, not their keys: a listing of every key grew with the store).
   */
  async #listRaw(now: number): Promise<Map<string, RunWindow>> {
    const { storage } = this.#d;
    if (this.#d.runs === undefined && now >= this.#nextDiscovery) {
      this.#nextDiscovery = now + this.#d.discoveryMs;
      for (const run of await storage.listChildren("runs/")) this.#knownRuns.add(run);
    }
    const windows = new Map<string, RunWindow>();
    for (const run of this.#knownRuns) {
      if (this.#settled.has(run)) continue;
      const w = await this.#floors.list(storage, run, this.#d.maxListed);
      windows.set(run, w);
      await this.#listDone(run, w);
    }
    return windows;
  }

  /**
   * Learns which batches of the window are indexed: the run's done keys after the window's
   * anchor, as many as the window has keys (done keys sort by tick, as raw keys do), and the
   * anchor's own unless known (the floor's stays known). (Listing every done key of a run when
   * first seen held them all, a key per batch of a long run, until the floor passed them.)
   */
  async #listDone(runId: string, w: RunWindow): Promise<void> {
    const { storage, indexer, known } = this.#d;
    const anchor = w.fromFloor ? this.#floors.get(runId) : batchRef(w.keys[0] ?? "");
    const after = anchor === undefined || anchor === null ? undefined : indexer.doneKey(anchor);
    if (after !== undefined) await known.exists(after);
    const max = Math.max(1, w.keys.length);
    const done = await listKeysUpTo(storage, indexer.donePrefix(runId), { after, max });
    for (const k of done.keys) known.add(k);
  }

  /** Whether the batch's done key is known to exist (see #listDone). */
  #isIndexed(ref: BatchRef, listed: ReadonlySet<string>): boolean {
    const doneKey = this.#d.indexer.doneKey(ref);
    if (listed.has(doneKey)) this.#d.known.add(doneKey);
    if (!this.#d.known.has(doneKey)) return false;
    noteDone(this.#d.metrics, ref.lastTick);
    return true;
  }

  /** Updates the gaps of the listed runs (runs without usable metadata have none yet). */
  async #watchGaps(
    byRun: ReadonlyMap<string, BatchRef[]>,
    windows: ReadonlyMap<string, RunWindow>,
    now: number,
  ): Promise<void> {
    const { gaps } = this.#d;
    for (const runId of gaps.runs()) {
      if (!byRun.has(runId)) gaps.observe(runId, [], now); // its raw batches are gone
    }
    for (const [runId, refs] of byRun) {
      let sampling: number;
      try {
        sampling = (await this.#d.runInfo(runId)).sampling;
      } catch {
        continue; // without the sampling interval holes cannot be told from batch ends
      }
      const { from, span } = this.#floors.lookedAt(runId, windows.get(runId), refs);
      for (const g of gaps.observe(runId, findGaps(refs, sampling, from), now, span)) {
        this.#d.log.remember(
          `ticks ${g.firstTick}..${g.lastTick} of run '${runId}' are no longer missing`,
        );
      }
      this.#raiseFloor(runId, refs, sampling);
    }
  }

  /**
   * Moves the run's floor over its indexed, gap-free beginning, and forgets what the batches
   * left behind needed: their done keys, and what each provides (but the floor's, which the
   * next batch needs). Memory then follows the unfinished work, not the run's length.
   */
  #raiseFloor(runId: string, refs: readonly BatchRef[], sampling: number): void {
    const { indexer, known, pending } = this.#d;
    const indexed = (r: BatchRef) => !pending.has(r.key) && known.has(indexer.doneKey(r));
    for (const r of this.#floors.advance(runId, refs, sampling, indexed)) {
      known.delete(indexer.doneKey(r));
      const provides = indexer.provides(r);
      if (provides !== null) known.delete(provides);
    }
  }
}
