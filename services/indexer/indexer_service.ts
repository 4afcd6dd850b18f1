/**
 * The indexer service: one of N competing instances of one index kind (stats, organisms or
 * catalog). It consumes BatchInfo notifications, indexes the raw batch they name, and commits
 * them only after the derived files are durable. Storage is the shared state:
 *
 * - Idempotent: every derived file is keyed by its raw batch and committed without clobbering,
 *   so a batch indexed twice (a redelivery, a restart, two instances racing) changes nothing.
 *   A batch whose done key (see {@link BatchIndexer.doneKey}) exists is skipped.
 * - Ordered where needed: a stats batch waits, uncommitted, until the state after its
 *   predecessor exists (written by this or another instance); the rest are independent.
 * - Restart-safe: on start and every `catchUpIntervalMs` it lists the raw batches in storage
 *   and indexes those lacking their done key (a finished run whose every batch is indexed is
 *   settled: no longer listed until a BatchInfo names it again), so an instance started late
 *   (messages it never saw, or past the topic's retention) still catches up. A run is listed
 *   from its floor on (./raw_floors.ts: the end of its indexed, gap-free beginning; gauge
 *   `listed_batches`), so that a catch-up costs what is unfinished, not the run's length.
 *   After the first catch-up, a batch is taken only once two catch-ups in a row found it
 *   missing, so that competing instances leave each other's fresh batches alone. Runs are found
 *   from the messages and by listing the runs under `runs/` at start (and every
 *   `discoveryIntervalMs`, 10 minutes by default, as a safety net).
 * - Never crashes on bad input, and never stops at it: an undecodable BatchInfo is skipped at
 *   once. A batch that cannot be read is retried `attempts` times with backoff, then given up
 *   for now and reported as a problem (status `problems` and `error`, gauge
 *   `unreadable_batches`); it is tried again when its size changes, when a BatchInfo names it
 *   again, and otherwise after `recheckMs`, doubling up to `recheckMaxMs`.
 * - Missing ticks: the catch-up compares each run's stored batches. A hole with a later batch
 *   after it that is still there after `gapGraceMs` is reported as missing (gauge
 *   `missing_ranges`); a younger hole is a batch not there yet (competing persistence workers
 *   write out of order; gauge `gaps_waiting`), and so is the growing end of a run. Gap
 *   detection rides on the catch-up (none when it is off).
 * - Going on past a gap: batches after it are indexed as usual. For the stats, whose
 *   `genomes_new` and `genomes_ever` carry from batch to batch, the chain passes over a missing
 *   or unreadable stretch ({@link BatchIndexer.passOver}; the rule is documented in
 *   ./stats_indexer.ts). When the batch appears (or a good one replaces an unreadable one), it
 *   is indexed and its problem disappears from the status.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { BatchInfoSchema, fromBinary } from "../../proto/mod.ts";
import { ClosedError } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import type { Consumer, Delivery, Topic } from "../../resources/topic/topic.ts";
import { runIdOf } from "../common/storage_layout.ts";
import { runConsumerLoop } from "../common/consumer_loop.ts";
import { readRunEnd } from "../common/run_end.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import { findGaps, GapWatch } from "./batch_gaps.ts";
import { inWindow, keptMissing, RawFloors, type RunWindow } from "./raw_floors.ts";
import { listKeysUpTo } from "../../resources/storage/list_all_keys.ts";
import {
  type BatchIndexer,
  type IndexKind,
  type IndexOffload,
  type IndexResult,
  type PassedOver,
} from "./batch_indexer.ts";
import { FailedBatches } from "./failed_batches.ts";
import { describeProblems, summarizeProblems, type Wait } from "./indexer_problems.ts";
import { INDEXERS } from "./index_kinds.ts";
import {
  type BatchRef,
  batchRef,
  loadRunInfo,
  loadSharedRawBatch,
  MissingBatchError,
  MissingMetadataError,
  type RunInfo,
  shareRawBatches,
} from "./raw_batch.ts";

/** Options for {@link IndexerService}. */
export interface IndexerOptions {
  name: string;
  kind: IndexKind;
  /** The BatchInfo topic. */
  input: Topic;
  storage: Storage;
  /** Consumer group, default `${kind}-indexer`: instances of one group compete. */
  group?: string;
  /** Longest wait for new messages when idle, default 200 ms. */
  drainTimeoutMs?: number;
  /**
   * Interval of the storage catch-up, default 2000 ms. 0 turns the catch-up off (also at
   * start): the instance then indexes only what the topic delivers, and detects no gaps.
   */
  catchUpIntervalMs?: number;
  /**
   * Interval of listing the runs under `runs/` to find runs no message named, default 10
   * minutes: new runs are known from their BatchInfo messages, and from the listing at start;
   * this is a safety net. Between two, only the known, unsettled runs' raw batches are listed.
   */
  discoveryIntervalMs?: number;
  /**
   * Most batches in hand before a catch-up stops taking the ones it found, default 256: an
   * indexer thousands of batches behind leaves its backlog in storage, not in memory.
   */
  maxFoundPending?: number;
  /**
   * Most raw keys a catch-up lists of one run, default 4096: a run far behind is looked at a
   * window at a time (./raw_floors.ts), so a catch-up costs the same however long the backlog.
   */
  maxListedBatches?: number;
  /** Restrict the catch-up to these runs (no discovery). Default: every run under `runs/`. */
  runs?: readonly string[];
  /** Attempts per batch before it is given up for now, default 3. */
  attempts?: number;
  /** Backoff before the second attempt, doubled after each failure; default 200 ms. */
  retryBaseMs?: number;
  /** Messages per drain, default 100. */
  maxRecords?: number;
  /**
   * How long a hole between stored batches (or a batch waiting for its predecessor) may last
   * before it is reported as missing, default 60000 ms: competing persistence workers store
   * batches out of order, and a worker's crash delays a batch until its records are
   * redelivered.
   */
  gapGraceMs?: number;
  /** First recheck of a batch given up on, default 30000 ms; doubles after each failure. */
  recheckMs?: number;
  /** Longest interval between rechecks, default 600000 ms. */
  recheckMaxMs?: number;
  /**
   * Index batches there (reading, decoding, statistics, Parquet, writing), e.g. on a worker
   * thread shared with the process' other indexers (the wiring makes and closes it). Absent:
   * on the calling thread.
   */
  offload?: IndexOffload;
}

export { INDEXERS };

/** Most batches sent to an offload in one request. */
const GROUP_MAX = 8;

/** Default interval of listing the whole store for runs no message named, ms. */
const DEFAULT_DISCOVERY_MS = 600_000;

/** Errors kept for {@link IndexerService.recentErrors}. */
const RECENT_ERRORS = 20;

/** Longest run of consecutive gaps passed over in one go (bounds the recursion). */
const MAX_CHAINED_GAPS = 1000;

interface Pending {
  ref: BatchRef;
  doneKey: string;
  /** The next batch's prerequisite that this one writes, or null. */
  provides: string | null;
  /** Messages naming this batch (none when the catch-up found it). */
  deliveries: Delivery[];
  failures: number;
  /** Not tried again before this time (performance.now()). */
  notBefore: number;
  /** Why it waits (a missing prerequisite or metadata), or undefined. */
  waiting: string | undefined;
  /** Since when it waits (performance.now()). */
  waitingSince: number | undefined;
  /** The prerequisite it waits for. */
  waitingFor: string | undefined;
  /** The raw batch is known to exist (listed, or checked before waiting on a prerequisite). */
  exists: boolean;
  /** Index it even though its done key exists (the prerequisite it writes was lost). */
  force: boolean;
}

/** Indexes raw batches of every run into one index kind. */
export class IndexerService implements Service {
  readonly name: string;
  readonly kind: string;
  readonly #life: Lifecycle;
  readonly #indexer: BatchIndexer;
  readonly #offload: IndexOffload | undefined;
  readonly #storage: Storage;
  readonly #input: Topic;
  readonly #group: string;
  readonly #drainTimeoutMs: number;
  readonly #catchUpMs: number;
  readonly #discoveryMs: number;
  readonly #attempts: number;
  readonly #retryBaseMs: number;
  readonly #maxRecords: number;
  readonly #maxFoundPending: number;
  readonly #maxListed: number;
  readonly #graceMs: number;
  readonly #fixedRuns: readonly string[] | undefined;
  #consumer: Consumer | null = null;
  readonly #recent: string[] = [];
  /** Errors that are still true, by source (`drain`, `catch-up`, a raw key), oldest first. */
  readonly #transient = new Map<string, string>();
  /** Raw key -> work not yet done. */
  readonly #pending = new Map<string, Pending>();
  /** Prerequisites that pending batches will write. */
  readonly #pendingProvides = new Set<string>();
  /** Keys known to exist (done keys and prerequisites; storage never deletes). */
  readonly #known = new Set<string>();
  /** Raw batches given up on for now. */
  readonly #failed: FailedBatches;
  /** Holes between each run's stored batches. */
  readonly #gaps: GapWatch;
  /** Each run's raw batches at the last catch-up (from its floor on). */
  #listedRefs: ReadonlyMap<string, BatchRef[]> = new Map();
  /** Where each run's catch-up listing starts. */
  readonly #floors = new RawFloors();
  /** Raw keys found filling a missing gap, counted as resumed once indexed. */
  readonly #fillers = new Set<string>();
  readonly #runInfo = new Map<string, RunInfo>();
  readonly #knownRuns = new Set<string>();
  /** Unregisters this indexer as a reader of the process's shared decoded batches. */
  #unshare: (() => void) | undefined;
  /**
   * Finished runs whose every batch is indexed: left out of the catch-up's listings until a
   * BatchInfo names them again (an extended run), so that its cost follows the active runs, not
   * the store.
   */
  readonly #settled = new Set<string>();
  /** Raw keys that were not indexed (nor pending here) at the last catch-up. */
  #missingBefore = new Set<string>();
  #nextCatchUp = 0;
  #nextDiscovery = 0;
  readonly #m = {
    messages: 0,
    batches: 0,
    duplicate_batches: 0,
    rows: 0,
    errors: 0,
    retries: 0,
    skipped_batches: 0,
    found_batches: 0,
    catch_ups: 0,
    listed_batches: 0,
    settled_runs: 0,
    last_tick: -1,
    busy_ms: 0,
    resumed_batches: 0,
    passed_over: 0,
  };

  constructor(options: IndexerOptions) {
    this.name = options.name;
    this.#indexer = INDEXERS[options.kind];
    this.#offload = options.offload;
    if (this.#indexer === undefined) {
      throw new RangeError(
        `Unknown indexer kind '${options.kind}': expected stats, organisms or catalog`,
      );
    }
    this.kind = `${options.kind}-indexer`;
    this.#storage = options.storage;
    this.#input = options.input;
    this.#group = options.group ?? `${options.kind}-indexer`;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 200;
    this.#catchUpMs = options.catchUpIntervalMs ?? 2000;
    this.#discoveryMs = options.discoveryIntervalMs ?? DEFAULT_DISCOVERY_MS;
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#retryBaseMs = options.retryBaseMs ?? 200;
    this.#maxRecords = options.maxRecords ?? 100;
    this.#maxFoundPending = Math.max(1, options.maxFoundPending ?? 256);
    this.#maxListed = Math.max(2, options.maxListedBatches ?? 4096);
    this.#graceMs = Math.max(0, options.gapGraceMs ?? 60_000);
    this.#failed = new FailedBatches(options.recheckMs ?? 30_000, options.recheckMaxMs ?? 600_000);
    this.#gaps = new GapWatch(this.#graceMs);
    this.#fixedRuns = options.runs;
    for (const r of options.runs ?? []) this.#knownRuns.add(r);
    this.#life = new Lifecycle(this.name, this.kind);
  }

  /** See Service.done. */
  get done(): Promise<void> {
    return this.#life.done;
  }

  /** Joins the consumer group and starts the loop; the first catch-up runs inside it. */
  start(): Promise<void> {
    return this.#life.start(
      () => {
        this.#consumer = this.#input.subscribe({ group: this.#group, member: this.name });
        this.#unshare ??= shareRawBatches(this.#storage);
      },
      (signal) =>
        runConsumerLoop({
          consumer: this.#consumer!,
          signal,
          maxRecords: this.#maxRecords,
          drainTimeoutMs: () => (this.#hasReady() ? 0 : this.#drainTimeoutMs),
          beforeDrain: async () => {
            const now = performance.now();
            if (this.#catchUpMs > 0 && now >= this.#nextCatchUp) {
              this.#nextCatchUp = now + this.#catchUpMs;
              await this.#guard("catch-up", "catch-up", () => this.#catchUp());
            }
          },
          onDrainError: (message) => {
            this.#m.errors++;
            this.#report("drain", `draining '${this.#input.name}': ${message}`);
          },
          handle: async (deliveries) => {
            this.#transient.delete("drain"); // the drain worked
            for (const d of deliveries) await this.#accept(d);
            await this.#processPending();
          },
          // Uncommitted messages go to whoever gets the partitions next; pending work found by
          // the catch-up is found again by the next instance.
          onEnd: () => {
            this.#pending.clear();
            this.#pendingProvides.clear();
          },
        }),
    );
  }

  /** Records an error from `source`: shown in status until that source succeeds again. */
  #report(source: string, message: string): void {
    this.#transient.delete(source);
    this.#transient.set(source, message);
    this.#remember(message);
  }

  /** Keeps `message` for {@link recentErrors} only. */
  #remember(message: string): void {
    this.#recent.push(message);
    if (this.#recent.length > RECENT_ERRORS) this.#recent.shift();
  }

  /**
   * The last errors and notices (at most 20), oldest first: what the status' current `error`
   * and `problems` no longer show (retries that later worked, problems that were resolved).
   */
  recentErrors(): readonly string[] {
    return [...this.#recent];
  }

  /** Runs `f`, turning an unexpected error into a status error instead of a crash. */
  async #guard(source: string, what: string, f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.#m.errors++;
      this.#report(source, `${what} failed: ${(e as Error).message}`);
    }
  }

  #hasReady(): boolean {
    const now = performance.now();
    for (const p of this.#pending.values()) {
      if (p.waiting === undefined && p.notBefore <= now) return true;
    }
    return false;
  }

  /** Takes a BatchInfo in: an undecodable one is reported and committed (skipped). */
  async #accept(d: Delivery): Promise<void> {
    this.#m.messages++;
    let ref: BatchRef;
    try {
      ref = refOfBatchInfo(d.value);
    } catch (e) {
      this.#m.errors++;
      this.#m.skipped_batches++;
      // A dropped message stays a fact worth showing: nothing later clears it.
      this.#report(
        "batch-info",
        `skipped undecodable BatchInfo at ${this.#input.name}/${d.partition}@${d.offset}` +
          ` (key '${d.key}'): ${(e as Error).message}`,
      );
      await this.#commit([d]);
      return;
    }
    this.#knownRuns.add(ref.runId);
    this.#settled.delete(ref.runId);
    const doneKey = this.#indexer.doneKey(ref);
    if (this.#known.has(doneKey)) {
      await this.#commit([d]);
      return;
    }
    const p = this.#pending.get(ref.key);
    if (p !== undefined) p.deliveries.push(d);
    // Named again while given up on: it may have been rewritten, so try it once more now.
    else if (this.#failed.get(ref.key) !== undefined) this.#addPending(ref, [d], false, true);
    else this.#addPending(ref, [d], false, false);
  }

  /**
   * Queues `ref`; a `recheck` of a batch given up on gets one attempt before it gives up again;
   * `force` indexes it even though its done key exists.
   */
  #addPending(
    ref: BatchRef,
    deliveries: Delivery[],
    exists: boolean,
    recheck: boolean,
    force = false,
  ): void {
    const provides = this.#indexer.provides(ref);
    this.#pending.set(ref.key, {
      ref,
      doneKey: this.#indexer.doneKey(ref),
      provides,
      deliveries,
      failures: recheck ? this.#attempts - 1 : 0,
      notBefore: 0,
      waiting: undefined,
      waitingSince: undefined,
      waitingFor: undefined,
      exists,
      force,
    });
    if (provides !== null) this.#pendingProvides.add(provides);
  }

  #removePending(p: Pending): void {
    this.#pending.delete(p.ref.key);
    if (p.provides !== null) this.#pendingProvides.delete(p.provides);
  }

  async #commit(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    try {
      await this.#consumer!.commit(deliveries);
    } catch (e) {
      if (e instanceof ClosedError) return; // stopping: they are delivered again
      throw e;
    }
  }

  /** Works through the pending batches in run and tick order (stats chains in one pass). */
  async #processPending(): Promise<void> {
    if (this.#pending.size === 0) return;
    const items = [...this.#pending.values()].sort((a, b) =>
      a.ref.runId < b.ref.runId
        ? -1
        : a.ref.runId > b.ref.runId
        ? 1
        : a.ref.firstTick - b.ref.firstTick
    );
    for (let i = 0; i < items.length; i++) {
      if (this.#life.stopping) return;
      const p = items[i]!;
      if (p.notBefore > performance.now()) continue;
      const t = performance.now();
      const group = this.#groupFrom(items, i);
      i += group.length - 1;
      await this.#guard(p.ref.key, `indexing '${p.ref.key}'`, () => this.#process(group));
      this.#m.busy_ms += performance.now() - t;
      // Let the rest of the process (an in-process engine, other services) run.
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * The batches from `items[i]` on that are indexed together: with an offload, those that go
   * in one request (due, of one run, and for a kind whose batches depend on earlier ones, each
   * the successor of the one before: the offload indexes a request's batches in order, so each
   * finds the state before it); one message each way for several batches, where in-process
   * every message this thread handles waits for the engine's next slice. Without, one.
   */
  #groupFrom(items: readonly Pending[], i: number): Pending[] {
    const group = [items[i]!];
    if (this.#offload === undefined) return group;
    const now = performance.now();
    for (let j = i + 1; j < items.length && group.length < GROUP_MAX; j++) {
      const p = items[j]!;
      const last = group[group.length - 1]!;
      if (p.notBefore > now || p.force || p.ref.runId !== last.ref.runId) break;
      if (last.provides !== null) {
        // The run's facts are known once its first batch was looked at; until then, one at a time.
        const info = this.#runInfo.get(p.ref.runId);
        if (this.#indexer.needsRunInfo && info === undefined) break;
        if (this.#indexer.prerequisite(p.ref, info ?? null) !== last.provides) break;
      }
      group.push(p);
    }
    return group;
  }

  /**
   * Indexes a group (see {@link #groupFrom}): the first batch's checks here (the others'
   * prerequisites come from the group), then the group; a failure ends it (the batches after
   * it wait for the next pass).
   */
  async #process(group: Pending[]): Promise<void> {
    const go: Pending[] = [];
    let run: RunInfo | null = null;
    let current = group[0]!;
    try {
      for (const p of group) {
        current = p;
        // With an offload, the look for the done key happens there (on this thread, each
        // storage round trip of an in-process indexer waits for the engine's next slice).
        const done = this.#offload === undefined
          ? await this.#exists(p.doneKey)
          : this.#known.has(p.doneKey);
        if (!p.force && done) {
          this.#m.duplicate_batches++;
          await this.#finish(p);
          continue;
        }
        run = this.#indexer.needsRunInfo ? await this.#run(p.ref.runId) : null;
        const pre = this.#indexer.prerequisite(p.ref, run);
        if (go.length === 0 && pre !== null && !(await this.#ready(p, pre, run))) return;
        p.waiting = p.waitingSince = p.waitingFor = undefined;
        go.push(p);
      }
    } catch (e) {
      await this.#failedWith(current, e);
      return;
    }
    const outcomes = await this.#indexGroup(go, run);
    for (let k = 0; k < go.length; k++) {
      const outcome = outcomes[k];
      if (outcome === undefined) break; // not tried: after a failure
      if (outcome instanceof Error) {
        await this.#failedWith(go[k]!, outcome);
        break;
      }
      await this.#indexed(go[k]!, outcome);
    }
  }

  /** Indexes the batches in order, on the offload or here, stopping at the first failure. */
  async #indexGroup(
    go: readonly Pending[],
    run: RunInfo | null,
  ): Promise<(IndexResult | Error | undefined)[]> {
    if (go.length === 0) return [];
    if (this.#offload !== undefined) {
      const kind = this.#indexer.kind;
      return await this.#offload.index(
        go.map((p) => ({ kind, ref: p.ref, run, skipIfDone: !p.force })),
      );
    }
    const outcomes: (IndexResult | Error)[] = [];
    for (const p of go) {
      try {
        const batch = await loadSharedRawBatch(this.#storage, p.ref);
        outcomes.push(await this.#indexer.index(this.#storage, batch, run));
      } catch (e) {
        outcomes.push(e instanceof Error ? e : new Error(String(e)));
        break;
      }
    }
    return outcomes;
  }

  /** After a batch was indexed: what is known now, the counts, the note, the commit. */
  async #indexed(p: Pending, result: IndexResult): Promise<void> {
    this.#known.add(p.doneKey);
    if (p.provides !== null) this.#known.add(p.provides);
    if (result.created) this.#m.batches++;
    else this.#m.duplicate_batches++;
    this.#m.rows += result.rows;
    if (result.note !== undefined) this.#remember(result.note);
    await this.#finish(p);
  }

  /** After a batch failed: metadata still on its way waits, anything else is a failure. */
  async #failedWith(p: Pending, e: unknown): Promise<void> {
    if (e instanceof MissingMetadataError) {
      this.#wait(p, `waits for the run metadata '${e.key}'`, undefined);
      p.notBefore = performance.now() + this.#retryBaseMs;
      return;
    }
    await this.#fail(p, e as Error);
  }

  /** Whether `key` exists (remembered once seen: storage never deletes). */
  async #exists(key: string): Promise<boolean> {
    if (this.#known.has(key)) return true;
    if (await this.#storage.exists(key)) {
      this.#known.add(key);
      return true;
    }
    return false;
  }

  async #run(runId: string): Promise<RunInfo> {
    let info = this.#runInfo.get(runId);
    if (info === undefined) {
      info = await loadRunInfo(this.#storage, runId);
      this.#runInfo.set(runId, info);
    }
    return info;
  }

  #wait(p: Pending, why: string, prerequisite: string | undefined): void {
    p.waiting = why;
    p.waitingFor = prerequisite;
    p.waitingSince ??= performance.now();
  }

  /**
   * Whether the prerequisite `pre` of a pending batch is there, passing over a missing or
   * unreadable stretch before it when there is one; otherwise the batch waits.
   */
  async #ready(p: Pending, pre: string, run: RunInfo | null): Promise<boolean> {
    if (await this.#prerequisiteMet(pre)) return true;
    if (!p.exists) {
      // A message naming a batch that is not there must not wait forever for its predecessor.
      if (!(await this.#storage.exists(p.ref.key))) throw new MissingBatchError(p.ref.key);
      p.exists = true;
    }
    if (await this.#passOverFor(p.ref.runId, pre, run, 0)) return true;
    this.#wait(p, `waits for '${pre}'`, pre);
    this.#healProducer(p.ref.runId, pre);
    return false;
  }

  /**
   * When the stored batch that writes `pre` is indexed (its done key exists) but `pre` is not
   * there (lost, or data of an older version that wrote the state last), indexes that batch
   * again: its files are no-clobber, so only the missing prerequisite gets written.
   */
  #healProducer(runId: string, pre: string): void {
    if (this.#pendingProvides.has(pre)) return;
    const producer = this.#listedRefs.get(runId)?.find((r) => this.#indexer.provides(r) === pre);
    if (producer === undefined || this.#pending.has(producer.key)) return;
    if (!this.#known.has(this.#indexer.doneKey(producer))) return;
    this.#addPending(producer, [], true, false, true);
  }

  /**
   * Whether a prerequisite exists. A prerequisite that a batch pending here will write is not
   * looked up in storage: that batch comes first in the pass.
   */
  async #prerequisiteMet(key: string): Promise<boolean> {
    if (this.#known.has(key)) return true;
    if (this.#pendingProvides.has(key)) return false;
    return await this.#exists(key);
  }

  /**
   * The stretch of `runId` that would have written `key`: an unreadable batch given up on, or
   * a gap (only missing ones, unless `anyGap`), as a {@link PassedOver}; or undefined.
   */
  #holeProviding(runId: string, key: string, anyGap: boolean): PassedOver | undefined {
    for (const f of this.#failed.values()) {
      if (f.ref.runId !== runId || f.kind !== "unreadable") continue;
      if (this.#indexer.provides(f.ref) !== key) continue;
      const { firstTick, lastTick } = f.ref;
      return { runId, firstTick, lastTick, reason: f.reason, batchKey: f.ref.key };
    }
    for (const g of this.#gaps.all()) {
      if (g.runId !== runId || !(anyGap || g.missing)) continue;
      const ref = { runId, key: `ticks ${g.firstTick}..${g.lastTick}`, ...ticksOf(g) };
      if (this.#indexer.provides(ref) !== key) continue;
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
    const indexer = this.#indexer;
    const hole = this.#holeProviding(runId, key, false);
    if (indexer.passOver === undefined || hole === undefined || depth > MAX_CHAINED_GAPS) {
      return false;
    }
    const holeRef = { ...ticksOf(hole), runId, key: hole.batchKey ?? `ticks ${hole.firstTick}` };
    const before = indexer.prerequisite(holeRef, run);
    if (
      before !== null && !(await this.#prerequisiteMet(before)) &&
      !(await this.#passOverFor(runId, before, run, depth + 1))
    ) {
      return false; // the chain has not reached the hole yet
    }
    if (await indexer.passOver(this.#storage, hole, run)) {
      this.#m.passed_over++;
      this.#remember(
        `${indexer.kind}: passed over ticks ${hole.firstTick}..${hole.lastTick} of run ` +
          `'${runId}' (${hole.reason}); later carried statistics count only the samples read`,
      );
    }
    this.#known.add(key);
    return true;
  }

  async #finish(p: Pending): Promise<void> {
    this.#removePending(p);
    const { key } = p.ref;
    this.#transient.delete(key);
    const wasFailed = this.#failed.delete(key);
    if (wasFailed || this.#fillers.delete(key)) {
      this.#m.resumed_batches++;
      this.#remember(`resumed '${key}': ${wasFailed ? "it can be read now" : "it appeared"}`);
    }
    if (p.ref.lastTick > this.#m.last_tick) this.#m.last_tick = p.ref.lastTick;
    await this.#commit(p.deliveries);
  }

  async #fail(p: Pending, e: Error): Promise<void> {
    const { key } = p.ref;
    p.failures++;
    this.#m.errors++;
    this.#report(
      key,
      `${this.#indexer.kind} of '${key}' failed (attempt ${p.failures} of ` +
        `${this.#attempts}): ${e.message}`,
    );
    if (p.failures < this.#attempts) {
      this.#m.retries++;
      p.notBefore = performance.now() + this.#retryBaseMs * 2 ** (p.failures - 1);
      return;
    }
    const missing = e instanceof MissingBatchError;
    const size = missing ? null : await this.#storage.size(key).catch(() => null);
    const reason = missing
      ? `missing: ${e.message} (named by a BatchInfo)`
      : e.message.includes(`'${key}'`)
      ? e.message
      : `Cannot index batch '${key}': ${e.message}`;
    this.#failed.add(p.ref, missing ? "missing" : "unreadable", reason, size, performance.now());
    this.#transient.delete(key); // the problem says it now
    this.#remember(`skipped '${key}' after ${p.failures} attempts: ${e.message}`);
    this.#m.skipped_batches++;
    this.#removePending(p);
    await this.#commit(p.deliveries);
  }

  /**
   * Lists raw batches in storage and queues those not indexed yet (all of them the first time,
   * later only those that were missing at the previous catch-up too, so that competing
   * instances do not redo each other's fresh work), rechecks the batches given up on, and
   * updates each run's gaps.
   */
  async #catchUp(): Promise<void> {
    this.#m.catch_ups++;
    const now = performance.now();
    const windows = await this.#listRaw(now);
    const keys = [...windows.values()].flatMap((w) => w.keys);
    this.#m.listed_batches = keys.length;
    const listed = new Set(keys);
    const missing = new Set<string>();
    const byRun = new Map<string, BatchRef[]>();
    for (const key of keys) {
      const ref = batchRef(key);
      if (ref === null) continue;
      let refs = byRun.get(ref.runId);
      if (refs === undefined) byRun.set(ref.runId, refs = []);
      refs.push(ref);
      if (this.#pending.has(key)) continue;
      if (this.#failed.get(key) !== undefined) {
        const size = await this.#storage.size(key);
        if (this.#failed.due(key, size, now)) this.#addPending(ref, [], true, true);
        continue;
      }
      if (this.#isIndexed(ref, listed)) continue;
      missing.add(key);
      if (this.#gaps.missingAt(ref.runId, ref.firstTick) !== undefined) this.#fillers.add(key);
      // After the first catch-up, a batch is taken only when it was missing last time too:
      // the member its BatchInfo went to has had a whole interval to index it.
      if (this.#m.catch_ups > 1 && !this.#missingBefore.has(key)) continue;
      // A backlog waits in storage, not here: the earliest first, the rest at later catch-ups.
      if (this.#pending.size >= this.#maxFoundPending) continue;
      this.#m.found_batches++;
      this.#addPending(ref, [], true, false);
    }
    // Remembered across windows (a run far behind is seen again only after a round of them),
    // within a bound: one forgotten is taken a round later.
    const remembered = 4 * this.#maxListed;
    this.#missingBefore = keptMissing(this.#missingBefore, missing, windows, remembered);
    this.#listedRefs = byRun;
    for (const f of this.#failed.values()) {
      // An unreadable batch that is gone is a gap now (reported as such once it lasts).
      if (f.kind === "unreadable" && inWindow(windows, f.ref.key) && !listed.has(f.ref.key)) {
        this.#failed.delete(f.ref.key);
      }
    }
    await this.#watchGaps(byRun, windows, now);
    await this.#settle(byRun, missing, windows);
    this.#transient.delete("catch-up");
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
    for (const p of this.#pending.values()) busy.add(p.ref.runId);
    for (const f of this.#failed.values()) busy.add(f.ref.runId);
    for (const g of this.#gaps.all()) busy.add(g.runId);
    for (const [runId, refs] of byRun) {
      if (busy.has(runId) || this.#settled.has(runId) || refs.length === 0) continue;
      const w = windows.get(runId);
      if (w === undefined || !w.fromFloor || !w.complete) continue; // not all of it looked at
      const last = refs.reduce((n, r) => Math.max(n, r.lastTick), -1);
      const { end } = await readRunEnd(this.#storage, runId);
      if (end !== null && end.lastTick === last) this.#settled.add(runId);
    }
    this.#m.settled_runs = this.#settled.size;
  }

  /**
   * The raw keys to look at: a window of each known, unsettled run's, from its floor on. Now
   * and then (and first) the runs under `runs/` are listed too, to find runs no BatchInfo
   * named (the runs, not their keys: a listing of every key grew with the store).
   */
  async #listRaw(now: number): Promise<Map<string, RunWindow>> {
    if (this.#fixedRuns === undefined && now >= this.#nextDiscovery) {
      this.#nextDiscovery = now + this.#discoveryMs;
      for (const run of await this.#storage.listChildren("runs/")) this.#knownRuns.add(run);
    }
    const windows = new Map<string, RunWindow>();
    for (const run of this.#knownRuns) {
      if (this.#settled.has(run)) continue;
      const w = await this.#floors.list(this.#storage, run, this.#maxListed);
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
    const anchor = w.fromFloor ? this.#floors.get(runId) : batchRef(w.keys[0] ?? "");
    const after = anchor === undefined || anchor === null
      ? undefined
      : this.#indexer.doneKey(anchor);
    if (after !== undefined && !this.#known.has(after) && await this.#storage.exists(after)) {
      this.#known.add(after);
    }
    const max = Math.max(1, w.keys.length);
    const done = await listKeysUpTo(this.#storage, this.#indexer.donePrefix(runId), { after, max });
    for (const k of done.keys) this.#known.add(k);
  }

  /** Whether the batch's done key is known to exist (see #listDone). */
  #isIndexed(ref: BatchRef, listed: ReadonlySet<string>): boolean {
    const doneKey = this.#indexer.doneKey(ref);
    if (listed.has(doneKey)) this.#known.add(doneKey);
    if (!this.#known.has(doneKey)) return false;
    if (ref.lastTick > this.#m.last_tick) this.#m.last_tick = ref.lastTick;
    return true;
  }

  /** Updates the gaps of the listed runs (runs without usable metadata have none yet). */
  async #watchGaps(
    byRun: ReadonlyMap<string, BatchRef[]>,
    windows: ReadonlyMap<string, RunWindow>,
    now: number,
  ): Promise<void> {
    for (const runId of this.#gaps.runs()) {
      if (!byRun.has(runId)) this.#gaps.observe(runId, [], now); // its raw batches are gone
    }
    for (const [runId, refs] of byRun) {
      let sampling: number;
      try {
        sampling = (await this.#run(runId)).sampling;
      } catch {
        continue; // without the sampling interval holes cannot be told from batch ends
      }
      const { from, span } = this.#floors.lookedAt(runId, windows.get(runId), refs);
      for (const g of this.#gaps.observe(runId, findGaps(refs, sampling, from), now, span)) {
        this.#remember(
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
    const indexed = (r: BatchRef) =>
      !this.#pending.has(r.key) && this.#known.has(this.#indexer.doneKey(r));
    for (const r of this.#floors.advance(runId, refs, sampling, indexed)) {
      this.#known.delete(this.#indexer.doneKey(r));
      const provides = this.#indexer.provides(r);
      if (provides !== null) this.#known.delete(provides);
    }
  }

  /**
   * Finishes the batch in hand, then leaves the group: uncommitted messages go to the next
   * owner of their partitions, unfinished catch-up work to the next catch-up. Idempotent.
   */
  async stop(): Promise<void> {
    try {
      await this.#life.stop();
    } finally {
      this.#unshare?.();
    }
  }

  /** Waits in hand that no gap or failed batch explains (those are reported themselves). */
  #unexplainedWaits(): Wait[] {
    const waits: Wait[] = [];
    for (const p of this.#pending.values()) {
      if (p.waiting === undefined || p.waitingSince === undefined) continue;
      const pre = p.waitingFor;
      if (pre !== undefined && this.#holeProviding(p.ref.runId, pre, true) !== undefined) continue;
      waits.push({ key: p.ref.key, why: p.waiting, since: p.waitingSince });
    }
    return waits;
  }

  /**
   * State, current problems, error and metrics. `problems` lists what is still wrong, one line
   * each (unreadable batches with their key and reason, missing tick ranges, batches waiting
   * longer than the grace period); `error` is the first problem, or else the latest error
   * that is still true (a failing drain or catch-up, a batch being retried, a skipped
   * BatchInfo). Metrics: messages, batches (indexed here), duplicate_batches (found done or
   * written by someone else first), rows, errors, retries, skipped_batches (given up, counted
   * each time), found_batches (by the catch-up), catch_ups, settled_runs (finished, fully
   * indexed runs the catch-up no longer lists), last_tick (highest last tick known
   * done), busy_ms, resumed_batches (indexed after being given up on or missing),
   * passed_over (stretches an ordered index went on without), pending (batches in hand),
   * waiting (of those, blocked on a predecessor or the metadata), lag (uncommitted messages of
   * the group), failed_batches (given up on for now), unreadable_batches, missing_ranges,
   * gaps_waiting (holes within the grace period), stalled_batches, problems.
   */
  status(): ServiceStatus {
    const now = performance.now();
    let waiting = 0;
    for (const p of this.#pending.values()) if (p.waiting !== undefined) waiting++;
    let lag = 0;
    try {
      lag = this.#input.stats().lag[this.#group] ?? 0;
    } catch {
      // A closed topic has no lag to report.
    }
    const problems = describeProblems({
      kind: this.#indexer.kind,
      failed: this.#failed.values(),
      gaps: this.#gaps.all(),
      waits: this.#unexplainedWaits(),
      graceMs: this.#graceMs,
      now,
    });
    const s = this.#life.status({
      ...this.#m,
      busy_ms: Math.round(this.#m.busy_ms),
      pending: this.#pending.size,
      waiting,
      lag,
      failed_batches: this.#failed.size,
      ...problems.metrics,
    });
    if (s.state !== "failed") {
      const error = summarizeProblems(problems.lines) ?? [...this.#transient.values()].at(-1);
      if (error === undefined) delete s.error;
      else s.error = error;
    }
    if (problems.lines.length > 0) s.problems = problems.lines;
    return s;
  }
}

function ticksOf(g: { firstTick: number; lastTick: number }): {
  firstTick: number;
  lastTick: number;
} {
  return { firstTick: g.firstTick, lastTick: g.lastTick };
}

/** The raw batch a BatchInfo names; throws naming what does not fit. */
function refOfBatchInfo(bytes: Uint8Array): BatchRef {
  const info = fromBinary(BatchInfoSchema, bytes);
  const r = batchRef(info.storageKey);
  if (r === null) throw new RangeError(`storage key '${info.storageKey}' is not a raw batch`);
  if (r.runId !== info.runId) {
    throw new RangeError(`storage key '${info.storageKey}' is not in run '${info.runId}'`);
  }
  if (BigInt(r.firstTick) !== info.firstTick || BigInt(r.lastTick) !== info.lastTick) {
    throw new RangeError(
      `ticks ${info.firstTick}..${info.lastTick} do not match key '${info.storageKey}'`,
    );
  }
  return r;
}
