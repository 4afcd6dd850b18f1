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
import { runConsumerLoop } from "../common/consumer_loop.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import { GapWatch } from "./batch_gaps.ts";
import type { BatchIndexer, IndexKind, IndexOffload } from "./batch_indexer.ts";
import { FailedBatches } from "./failed_batches.ts";
import { describeProblems, summarizeProblems } from "./indexer_problems.ts";
import { INDEXERS } from "./index_kinds.ts";
import {
  type BatchRef,
  batchRef,
  loadRunInfo,
  type RunInfo,
  shareRawBatches,
} from "./raw_batch.ts";
import { BatchOutcomes } from "./_batch_outcomes.ts";
import { indexGroup, offloadGroup } from "./_batch_groups.ts";
import { CatchUp } from "./_catch_up.ts";
import { ErrorLog } from "./_error_log.ts";
import { newMetrics } from "./_indexer_metrics.ts";
import { KnownKeys } from "./_known_keys.ts";
import { type Pending, PendingBatches } from "./_pending_batches.ts";
import { Prerequisites } from "./_prerequisites.ts";

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

/** Default interval of listing the whole store for runs no message named, ms. */
const DEFAULT_DISCOVERY_MS = 600_000;

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
  readonly #maxRecords: number;
  readonly #graceMs: number;
  #consumer: Consumer | null = null;
  readonly #log = new ErrorLog();
  readonly #m = newMetrics();
  /** The batches in hand. */
  readonly #pending: PendingBatches;
  /** Keys known to exist (done keys and prerequisites; storage never deletes). */
  readonly #known: KnownKeys;
  /** Raw batches given up on for now. */
  readonly #failed: FailedBatches;
  /** Holes between each run's stored batches. */
  readonly #gaps: GapWatch;
  readonly #runInfo = new Map<string, RunInfo>();
  readonly #catchUp: CatchUp;
  readonly #prerequisites: Prerequisites;
  readonly #outcomes: BatchOutcomes;
  /** Unregisters this indexer as a reader of the process's shared decoded batches. */
  #unshare: (() => void) | undefined;

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
    this.#maxRecords = options.maxRecords ?? 100;
    this.#graceMs = Math.max(0, options.gapGraceMs ?? 60_000);
    const attempts = Math.max(1, options.attempts ?? 3);
    this.#pending = new PendingBatches(this.#indexer, attempts);
    this.#known = new KnownKeys(this.#storage);
    this.#failed = new FailedBatches(options.recheckMs ?? 30_000, options.recheckMaxMs ?? 600_000);
    this.#gaps = new GapWatch(this.#graceMs);
    const shared = {
      storage: this.#storage,
      indexer: this.#indexer,
      known: this.#known,
      pending: this.#pending,
      failed: this.#failed,
      metrics: this.#m,
      log: this.#log,
    };
    this.#catchUp = new CatchUp({
      ...shared,
      gaps: this.#gaps,
      runInfo: (runId) => this.#run(runId),
      intervalMs: options.catchUpIntervalMs ?? 2000,
      discoveryMs: options.discoveryIntervalMs ?? DEFAULT_DISCOVERY_MS,
      maxListed: Math.max(2, options.maxListedBatches ?? 4096),
      maxFoundPending: Math.max(1, options.maxFoundPending ?? 256),
      runs: options.runs,
    });
    this.#prerequisites = new Prerequisites({
      ...shared,
      gaps: this.#gaps,
      listed: (runId) => this.#catchUp.listed(runId),
    });
    this.#outcomes = new BatchOutcomes({
      ...shared,
      filled: (key) => this.#catchUp.filled(key),
      commit: (deliveries) => this.#commit(deliveries),
      attempts,
      retryBaseMs: options.retryBaseMs ?? 200,
    });
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
          drainTimeoutMs: () => (this.#pending.hasReady() ? 0 : this.#drainTimeoutMs),
          beforeDrain: async () => {
            if (!this.#catchUp.due(performance.now())) return;
            await this.#guard("catch-up", "catch-up", async () => {
              await this.#catchUp.run();
              this.#log.clear("catch-up");
            });
          },
          onDrainError: (message) => {
            this.#m.errors++;
            this.#log.report("drain", `draining '${this.#input.name}': ${message}`);
          },
          handle: async (deliveries) => {
            this.#log.clear("drain"); // the drain worked
            for (const d of deliveries) await this.#accept(d);
            await this.#processPending();
          },
          // Uncommitted messages go to whoever gets the partitions next; pending work found by
          // the catch-up is found again by the next instance.
          onEnd: () => this.#pending.clear(),
        }),
    );
  }

  /**
   * The last errors and notices (at most 20), oldest first: what the status' current `error`
   * and `problems` no longer show (retries that later worked, problems that were resolved).
   */
  recentErrors(): readonly string[] {
    return this.#log.recent();
  }

  /** Runs `f`, turning an unexpected error into a status error instead of a crash. */
  async #guard(source: string, what: string, f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.#m.errors++;
      this.#log.report(source, `${what} failed: ${(e as Error).message}`);
    }
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
      this.#log.report(
        "batch-info",
        `skipped undecodable BatchInfo at ${this.#input.name}/${d.partition}@${d.offset}` +
          ` (key '${d.key}'): ${(e as Error).message}`,
      );
      await this.#commit([d]);
      return;
    }
    this.#catchUp.named(ref.runId);
    const doneKey = this.#indexer.doneKey(ref);
    if (this.#known.has(doneKey)) {
      await this.#commit([d]);
      return;
    }
    const p = this.#pending.get(ref.key);
    if (p !== undefined) p.deliveries.push(d);
    // Named again while given up on: it may have been rewritten, so try it once more now.
    else if (this.#failed.get(ref.key) !== undefined) this.#pending.add(ref, [d], false, true);
    else this.#pending.add(ref, [d], false, false);
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
    const items = this.#pending.inOrder();
    for (let i = 0; i < items.length; i++) {
      if (this.#life.stopping) return;
      const p = items[i]!;
      if (p.notBefore > performance.now()) continue;
      const t = performance.now();
      // With an offload, several batches go in one request; without, one at a time.
      const group = this.#offload === undefined
        ? [p]
        : offloadGroup(items, i, this.#indexer, this.#runInfo);
      i += group.length - 1;
      await this.#guard(p.ref.key, `indexing '${p.ref.key}'`, () => this.#process(group));
      this.#m.busy_ms += performance.now() - t;
      // Let the rest of the process (an in-process engine, other services) run.
      await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Indexes a group (see offloadGroup): the first batch's checks here (the others'
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
          ? await this.#known.exists(p.doneKey)
          : this.#known.has(p.doneKey);
        if (!p.force && done) {
          this.#m.duplicate_batches++;
          await this.#outcomes.finish(p);
          continue;
        }
        run = this.#indexer.needsRunInfo ? await this.#run(p.ref.runId) : null;
        const pre = this.#indexer.prerequisite(p.ref, run);
        if (go.length === 0 && pre !== null && !(await this.#prerequisites.ready(p, pre, run))) {
          return;
        }
        p.waiting = p.waitingSince = p.waitingFor = undefined;
        go.push(p);
      }
    } catch (e) {
      await this.#outcomes.failedWith(current, e);
      return;
    }
    const where = { indexer: this.#indexer, storage: this.#storage, offload: this.#offload };
    const outcomes = await indexGroup(go, run, where);
    for (let k = 0; k < go.length; k++) {
      const outcome = outcomes[k];
      if (outcome === undefined) break; // not tried: after a failure
      if (outcome instanceof Error) {
        await this.#outcomes.failedWith(go[k]!, outcome);
        break;
      }
      await this.#outcomes.indexed(go[k]!, outcome);
    }
  }

  async #run(runId: string): Promise<RunInfo> {
    let info = this.#runInfo.get(runId);
    if (info === undefined) {
      info = await loadRunInfo(this.#storage, runId);
      this.#runInfo.set(runId, info);
    }
    return info;
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

  /**
   * Batches whose index file this service has written or found written: grows whenever a file
   * of its kind appears through it, so that a waiter can list storage only then.
   */
  get outcomes(): number {
    return this.#m.batches + this.#m.duplicate_batches;
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
      waits: this.#prerequisites.unexplainedWaits(),
      graceMs: this.#graceMs,
      now,
    });
    const s = this.#life.status({
      ...this.#m,
      busy_ms: Math.round(this.#m.busy_ms),
      pending: this.#pending.size,
      waiting: this.#pending.waiting(),
      lag,
      failed_batches: this.#failed.size,
      ...problems.metrics,
    });
    if (s.state !== "failed") {
      const error = summarizeProblems(problems.lines) ?? this.#log.latest();
      if (error === undefined) delete s.error;
      else s.error = error;
    }
    if (problems.lines.length > 0) s.problems = problems.lines;
    return s;
  }
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
