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
 *   and indexes those lacking their done key, so an instance started late (messages it never
 *   saw, or past the topic's retention) still catches up. After the first catch-up, a batch is
 *   taken only once two catch-ups in a row found it missing, so that competing instances leave
 *   each other's fresh batches alone. Runs are found by listing `runs/` at start and every
 *   `discoveryIntervalMs`, and from the messages.
 * - Never crashes on bad input: an undecodable BatchInfo is skipped at once; a batch that
 *   cannot be read is retried `attempts` times with backoff, then skipped and reported in
 *   status (a corrupt batch is then passed over, see {@link BatchIndexer.passOver}).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { BatchInfoSchema, fromBinary } from "../../proto/mod.ts";
import { ClosedError } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import type { Consumer, Delivery, Topic } from "../../resources/topic/topic.ts";
import { rawPrefix, runIdOf } from "../common/storage_layout.ts";
import { runConsumerLoop } from "../common/consumer_loop.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import type { BatchIndexer, IndexKind } from "./batch_indexer.ts";
import { catalogIndexer } from "./catalog_indexer.ts";
import { organismIndexer } from "./organism_indexer.ts";
import {
  type BatchRef,
  batchRef,
  CorruptBatchError,
  listAllKeys,
  loadRawBatch,
  loadRunInfo,
  MissingBatchError,
  MissingMetadataError,
  type RunInfo,
} from "./raw_batch.ts";
import { statsIndexer } from "./stats_indexer.ts";

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
   * start): the instance then indexes only what the topic delivers.
   */
  catchUpIntervalMs?: number;
  /**
   * Interval of listing all of `runs/` to find runs no message named, default
   * 10 x catchUpIntervalMs (between two, only the known runs' raw batches are listed).
   */
  discoveryIntervalMs?: number;
  /** Restrict the catch-up to these runs (no discovery). Default: every run under `runs/`. */
  runs?: readonly string[];
  /** Attempts per batch before it is skipped, default 3. */
  attempts?: number;
  /** Backoff before the second attempt, doubled after each failure; default 200 ms. */
  retryBaseMs?: number;
  /** Messages per drain, default 100. */
  maxRecords?: number;
}

/** The index kinds by name. */
export const INDEXERS: Readonly<Record<IndexKind, BatchIndexer>> = {
  stats: statsIndexer,
  organisms: organismIndexer,
  catalog: catalogIndexer,
};

/** Errors kept for {@link IndexerService.recentErrors}. */
const RECENT_ERRORS = 20;

interface Pending {
  ref: BatchRef;
  doneKey: string;
  /** Messages naming this batch (none when the catch-up found it). */
  deliveries: Delivery[];
  failures: number;
  /** Not tried again before this time (performance.now()). */
  notBefore: number;
  /** Why it waits (a missing prerequisite or metadata), or undefined. */
  waiting: string | undefined;
  /** The raw batch is known to exist (listed, or checked before waiting on a prerequisite). */
  exists: boolean;
}

/** Indexes raw batches of every run into one index kind. */
export class IndexerService implements Service {
  readonly name: string;
  readonly kind: string;
  readonly #life: Lifecycle;
  readonly #indexer: BatchIndexer;
  readonly #storage: Storage;
  readonly #input: Topic;
  readonly #group: string;
  readonly #drainTimeoutMs: number;
  readonly #catchUpMs: number;
  readonly #discoveryMs: number;
  readonly #attempts: number;
  readonly #retryBaseMs: number;
  readonly #maxRecords: number;
  readonly #fixedRuns: readonly string[] | undefined;
  #consumer: Consumer | null = null;
  readonly #recent: string[] = [];
  /** Raw key -> work not yet done. */
  readonly #pending = new Map<string, Pending>();
  /** Done keys of the pending batches. */
  readonly #pendingDoneKeys = new Set<string>();
  /** Done keys known to exist. */
  readonly #doneKeys = new Set<string>();
  /** Raw keys given up on (until restart). */
  readonly #failed = new Set<string>();
  readonly #runInfo = new Map<string, RunInfo>();
  readonly #knownRuns = new Set<string>();
  /** Runs whose done keys were listed once. */
  readonly #listedDone = new Set<string>();
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
    last_tick: -1,
    busy_ms: 0,
  };

  constructor(options: IndexerOptions) {
    this.name = options.name;
    this.#indexer = INDEXERS[options.kind];
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
    this.#discoveryMs = options.discoveryIntervalMs ?? 10 * this.#catchUpMs;
    this.#attempts = Math.max(1, options.attempts ?? 3);
    this.#retryBaseMs = options.retryBaseMs ?? 200;
    this.#maxRecords = options.maxRecords ?? 100;
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
              await this.#guard("catch-up", () => this.#catchUp());
            }
          },
          onDrainError: (message) => {
            this.#m.errors++;
            this.#report(`draining '${this.#input.name}': ${message}`);
          },
          handle: async (deliveries) => {
            for (const d of deliveries) await this.#accept(d);
            await this.#processPending();
          },
          // Uncommitted messages go to whoever gets the partitions next; pending work found by
          // the catch-up is found again by the next instance.
          onEnd: () => {
            this.#pending.clear();
            this.#pendingDoneKeys.clear();
          },
        }),
    );
  }

  /** Records an error: the status shows the last one, {@link recentErrors} the last few. */
  #report(message: string): void {
    this.#life.error = message;
    this.#recent.push(message);
    if (this.#recent.length > RECENT_ERRORS) this.#recent.shift();
  }

  /** The last errors (at most 20), oldest first: what the status' single `error` hides. */
  recentErrors(): readonly string[] {
    return [...this.#recent];
  }

  /** Runs `f`, turning an unexpected error into a status error instead of a crash. */
  async #guard(what: string, f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.#m.errors++;
      this.#report(`${what} failed: ${(e as Error).message}`);
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
      const info = fromBinary(BatchInfoSchema, d.value);
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
      ref = r;
    } catch (e) {
      this.#m.errors++;
      this.#m.skipped_batches++;
      this.#report(
        `skipped undecodable BatchInfo at ${this.#input.name}/${d.partition}@${d.offset}` +
          ` (key '${d.key}'): ${(e as Error).message}`,
      );
      await this.#commit([d]);
      return;
    }
    this.#knownRuns.add(ref.runId);
    const doneKey = this.#indexer.doneKey(ref);
    if (this.#doneKeys.has(doneKey) || this.#failed.has(ref.key)) {
      await this.#commit([d]);
      return;
    }
    const p = this.#pending.get(ref.key);
    if (p !== undefined) p.deliveries.push(d);
    else this.#addPending(ref, [d], false);
  }

  #addPending(ref: BatchRef, deliveries: Delivery[], exists: boolean): void {
    const doneKey = this.#indexer.doneKey(ref);
    this.#pending.set(ref.key, {
      ref,
      doneKey,
      deliveries,
      failures: 0,
      notBefore: 0,
      waiting: undefined,
      exists,
    });
    this.#pendingDoneKeys.add(doneKey);
  }

  #removePending(p: Pending): void {
    this.#pending.delete(p.ref.key);
    this.#pendingDoneKeys.delete(p.doneKey);
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
    for (const p of items) {
      if (this.#life.stopping) return;
      if (p.notBefore > performance.now()) continue;
      const t = performance.now();
      await this.#guard(`indexing '${p.ref.key}'`, () => this.#process(p));
      this.#m.busy_ms += performance.now() - t;
      // Let the rest of the process (an in-process engine, other services) run.
      await new Promise((r) => setImmediate(r));
    }
  }

  async #isDone(key: string): Promise<boolean> {
    if (this.#doneKeys.has(key)) return true;
    if (await this.#storage.exists(key)) {
      this.#doneKeys.add(key);
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

  async #process(p: Pending): Promise<void> {
    const { ref } = p;
    try {
      if (await this.#isDone(p.doneKey)) {
        this.#m.duplicate_batches++;
        await this.#finish(p);
        return;
      }
      const run = this.#indexer.needsRunInfo ? await this.#run(ref.runId) : null;
      const pre = this.#indexer.prerequisite(ref, run);
      if (pre !== null && !p.exists) {
        // A message naming a batch that is not there must not wait forever for its predecessor.
        if (!(await this.#storage.exists(ref.key))) throw new MissingBatchError(ref.key);
        p.exists = true;
      }
      if (pre !== null && !(await this.#prerequisiteMet(pre))) {
        p.waiting = `waits for '${pre}'`;
        return;
      }
      p.waiting = undefined;
      const batch = await loadRawBatch(this.#storage, ref);
      const result = await this.#indexer.index(this.#storage, batch, run);
      this.#doneKeys.add(p.doneKey);
      if (result.created) this.#m.batches++;
      else this.#m.duplicate_batches++;
      this.#m.rows += result.rows;
      await this.#finish(p);
    } catch (e) {
      if (e instanceof MissingMetadataError) {
        p.waiting = e.message;
        p.notBefore = performance.now() + this.#retryBaseMs;
        return;
      }
      await this.#fail(p, e as Error);
    }
  }

  /**
   * Whether a prerequisite exists. A prerequisite that a batch pending here will write is not
   * looked up in storage: that batch comes first in the pass.
   */
  async #prerequisiteMet(key: string): Promise<boolean> {
    if (this.#doneKeys.has(key)) return true;
    if (this.#pendingDoneKeys.has(key)) return false;
    return await this.#isDone(key);
  }

  async #finish(p: Pending): Promise<void> {
    this.#removePending(p);
    if (p.ref.lastTick > this.#m.last_tick) this.#m.last_tick = p.ref.lastTick;
    await this.#commit(p.deliveries);
  }

  async #fail(p: Pending, e: Error): Promise<void> {
    p.failures++;
    this.#m.errors++;
    this.#report(
      `${this.#indexer.kind} of '${p.ref.key}' failed (attempt ${p.failures} of ` +
        `${this.#attempts}): ${e.message}`,
    );
    if (p.failures < this.#attempts) {
      this.#m.retries++;
      p.notBefore = performance.now() + this.#retryBaseMs * 2 ** (p.failures - 1);
      return;
    }
    if (e instanceof CorruptBatchError && this.#indexer.passOver !== undefined) {
      try {
        const run = this.#indexer.needsRunInfo ? await this.#run(p.ref.runId) : null;
        await this.#indexer.passOver(this.#storage, p.ref, run, e.message);
        this.#doneKeys.add(p.doneKey);
      } catch (e2) {
        // Keep it pending: passing over needs the prerequisite, which may still come.
        this.#report(`passing over '${p.ref.key}' failed: ${(e2 as Error).message}`);
        p.notBefore = performance.now() + this.#retryBaseMs * 2 ** this.#attempts;
        return;
      }
    }
    this.#report(`skipped '${p.ref.key}' after ${p.failures} attempts: ${e.message}`);
    this.#m.skipped_batches++;
    this.#failed.add(p.ref.key);
    this.#removePending(p);
    await this.#commit(p.deliveries);
  }

  /**
   * Lists raw batches in storage and queues those not indexed yet: all of them the first time,
   * later only those that were missing at the previous catch-up too (so that competing
   * instances do not redo each other's fresh work).
   */
  async #catchUp(): Promise<void> {
    this.#m.catch_ups++;
    const now = performance.now();
    const discover = this.#fixedRuns === undefined && now >= this.#nextDiscovery;
    let keys: string[];
    if (discover) {
      this.#nextDiscovery = now + this.#discoveryMs;
      keys = await listAllKeys(this.#storage, "runs/");
    } else {
      keys = [];
      for (const run of this.#knownRuns) {
        keys.push(...await listAllKeys(this.#storage, rawPrefix(run)));
      }
    }
    const listed = new Set(keys);
    const missing = new Set<string>();
    if (discover) {
      for (const k of keys) {
        const run = runIdOf(k);
        if (run !== null) {
          this.#knownRuns.add(run);
          this.#listedDone.add(run); // the listing holds the run's done keys too
        }
      }
    }
    for (const key of keys) {
      const ref = batchRef(key);
      if (ref === null || this.#pending.has(key) || this.#failed.has(key)) continue;
      const doneKey = this.#indexer.doneKey(ref);
      if (!this.#listedDone.has(ref.runId)) {
        for (const k of await listAllKeys(this.#storage, this.#indexer.donePrefix(ref.runId))) {
          this.#doneKeys.add(k);
        }
        this.#listedDone.add(ref.runId);
      }
      if (listed.has(doneKey)) this.#doneKeys.add(doneKey);
      if (this.#doneKeys.has(doneKey)) {
        if (ref.lastTick > this.#m.last_tick) this.#m.last_tick = ref.lastTick;
        continue;
      }
      missing.add(key);
      // After the first catch-up, a batch is taken only when it was missing last time too:
      // the member its BatchInfo went to has had a whole interval to index it.
      if (this.#m.catch_ups > 1 && !this.#missingBefore.has(key)) continue;
      this.#m.found_batches++;
      this.#addPending(ref, [], true);
    }
    this.#missingBefore = missing;
  }

  /**
   * Finishes the batch in hand, then leaves the group: uncommitted messages go to the next
   * owner of their partitions, unfinished catch-up work to the next catch-up. Idempotent.
   */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  /**
   * State, last error and metrics: messages, batches (indexed here), duplicate_batches (found
   * done or written by someone else first), rows, errors, retries, skipped_batches,
   * found_batches (by the catch-up), catch_ups, last_tick (highest last tick known done),
   * busy_ms, pending (batches in hand), waiting (of those, blocked on a predecessor or the
   * metadata), lag (uncommitted messages of the group), failed_batches.
   */
  status(): ServiceStatus {
    let waiting = 0;
    for (const p of this.#pending.values()) if (p.waiting !== undefined) waiting++;
    let lag = 0;
    try {
      lag = this.#input.stats().lag[this.#group] ?? 0;
    } catch {
      // A closed topic has no lag to report.
    }
    return this.#life.status({
      ...this.#m,
      busy_ms: Math.round(this.#m.busy_ms),
      pending: this.#pending.size,
      waiting,
      lag,
      failed_batches: this.#failed.size,
    });
  }
}
