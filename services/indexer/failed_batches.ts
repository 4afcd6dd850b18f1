/**
 * Raw batches an indexer gave up on for now: unreadable (corrupt, or failing for another
 * reason after every attempt) or named by a BatchInfo but absent. They stay reported until
 * they are indexed, and are tried again when they could have changed: at once when their size
 * in storage changes (a batch that appears, or is replaced), otherwise after a recheck
 * interval that doubles with each failed recheck up to a ceiling (a corrupt batch is read
 * again now and then, in case it was replaced by one of the same size).
 *
 * @module
 */

import type { BatchRef } from "./raw_batch.ts";

/** Why a batch is given up on for now. */
export type FailureKind = "unreadable" | "missing";

/** One batch given up on for now. */
export interface FailedBatch {
  ref: BatchRef;
  kind: FailureKind;
  /** One line naming the batch and the reason. */
  reason: string;
  /** Its size in storage when it failed (null when absent). */
  size: number | null;
  /** Not rechecked before this time (performance.now()) unless its size changes. */
  nextCheck: number;
  /** Failed rechecks so far (the backoff exponent). */
  rechecks: number;
}

/** The batches given up on for now, by raw key. */
export class FailedBatches {
  readonly #byKey = new Map<string, FailedBatch>();
  readonly #recheckMs: number;
  readonly #recheckMaxMs: number;

  /** First recheck after `recheckMs`, doubling up to `recheckMaxMs`. */
  constructor(recheckMs: number, recheckMaxMs: number) {
    this.#recheckMs = Math.max(0, recheckMs);
    this.#recheckMaxMs = Math.max(this.#recheckMs, recheckMaxMs);
  }

  /** Number of batches given up on. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The entry of `key`, if given up on. */
  get(key: string): FailedBatch | undefined {
    return this.#byKey.get(key);
  }

  /** Every entry, in key order. */
  values(): FailedBatch[] {
    return [...this.#byKey.values()].sort((a, b) => (a.ref.key < b.ref.key ? -1 : 1));
  }

  /** Gives `ref` up for now; a batch failing again backs off further. */
  add(ref: BatchRef, kind: FailureKind, reason: string, size: number | null, now: number): void {
    const before = this.#byKey.get(ref.key);
    const rechecks = before === undefined ? 0 : before.rechecks + 1;
    const wait = Math.min(this.#recheckMaxMs, this.#recheckMs * 2 ** rechecks);
    this.#byKey.set(ref.key, { ref, kind, reason, size, nextCheck: now + wait, rechecks });
  }

  /** Forgets `key` (indexed, or gone); returns whether it was given up on. */
  delete(key: string): boolean {
    return this.#byKey.delete(key);
  }

  /** Makes `key` due for a recheck at the next opportunity (e.g. a new BatchInfo names it). */
  wake(key: string): void {
    const f = this.#byKey.get(key);
    if (f !== undefined) f.nextCheck = 0;
  }

  /** Whether `key` should be tried again now, given its current size in storage. */
  due(key: string, size: number | null, now: number): boolean {
    const f = this.#byKey.get(key);
    if (f === undefined) return false;
    return size !== f.size || now >= f.nextCheck;
  }
}
