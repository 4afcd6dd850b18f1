/**
 * The batches an indexer has in hand: named by a BatchInfo or found by the catch-up, until
 * they are indexed or given up on. Their messages stay uncommitted meanwhile.
 *
 * @module
 */

import type { Delivery } from "../../resources/topic/topic.ts";
import type { BatchIndexer } from "./batch_indexer.ts";
import type { BatchRef } from "./raw_batch.ts";

/** One batch in hand. */
export interface Pending {
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

/** The batches in hand by raw key, and the prerequisites they will write. */
export class PendingBatches {
  readonly #indexer: BatchIndexer;
  readonly #attempts: number;
  /** Raw key -> work not yet done. */
  readonly #byKey = new Map<string, Pending>();
  /** Prerequisites that pending batches will write. */
  readonly #provides = new Set<string>();

  /** Batches of `indexer`'s kind, each tried `attempts` times before it is given up. */
  constructor(indexer: BatchIndexer, attempts: number) {
    this.#indexer = indexer;
    this.#attempts = attempts;
  }

  /** Number of batches in hand. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The batch with raw key `key`, if in hand. */
  get(key: string): Pending | undefined {
    return this.#byKey.get(key);
  }

  /** Whether the batch with raw key `key` is in hand. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Every batch in hand. */
  values(): IterableIterator<Pending> {
    return this.#byKey.values();
  }

  /** Whether a batch in hand writes the prerequisite `key`. */
  provides(key: string): boolean {
    return this.#provides.has(key);
  }

  /**
   * Queues `ref`; a `recheck` of a batch given up on gets one attempt before it gives up again;
   * `force` indexes it even though its done key exists.
   */
  add(
    ref: BatchRef,
    deliveries: Delivery[],
    exists: boolean,
    recheck: boolean,
    force = false,
  ): void {
    const provides = this.#indexer.provides(ref);
    this.#byKey.set(ref.key, {
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
    if (provides !== null) this.#provides.add(provides);
  }

  /** Lets go of `p` (done, or given up on). */
  remove(p: Pending): void {
    this.#byKey.delete(p.ref.key);
    if (p.provides !== null) this.#provides.delete(p.provides);
  }

  /** Lets go of every batch. */
  clear(): void {
    this.#byKey.clear();
    this.#provides.clear();
  }

  /** Whether a batch can be tried now (it waits for nothing and is not backing off). */
  hasReady(): boolean {
    const now = performance.now();
    for (const p of this.#byKey.values()) {
      if (p.waiting === undefined && p.notBefore <= now) return true;
    }
    return false;
  }

  /** Number of batches blocked on a predecessor or the metadata. */
  waiting(): number {
    let waiting = 0;
    for (const p of this.#byKey.values()) if (p.waiting !== undefined) waiting++;
    return waiting;
  }

  /** Every batch in hand, in run and tick order. */
  inOrder(): Pending[] {
    return [...this.#byKey.values()].sort((a, b) =>
      a.ref.runId < b.ref.runId
        ? -1
        : a.ref.runId > b.ref.runId
        ? 1
        : a.ref.firstTick - b.ref.firstTick
    );
  }
}

/** `p` cannot go on yet because of `why` (waiting for `prerequisite`, if one). */
export function markWaiting(p: Pending, why: string, prerequisite: string | undefined): void {
  p.waiting = why;
  p.waitingFor = prerequisite;
  p.waitingSince ??= performance.now();
}
