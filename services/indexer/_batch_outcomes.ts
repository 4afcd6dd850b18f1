/**
 * What follows an attempt at a batch: once indexed (or found done), what is known now, the
 * counts and the commit of its messages; after a failure, a wait for metadata still on its
 * way, a retry with backoff, or, after the last attempt, giving it up for now (reported as a
 * problem until it can be indexed; see ./failed_batches.ts).
 *
 * @module
 */

import type { Delivery } from "../../resources/topic/topic.ts";
import type { IndexResult } from "./batch_indexer.ts";
import { MissingBatchError, MissingMetadataError } from "./raw_batch.ts";
import type { IndexerParts } from "./_indexer_parts.ts";
import { noteDone } from "./_indexer_metrics.ts";
import { markWaiting, type Pending } from "./_pending_batches.ts";

/** What {@link BatchOutcomes} works with, and its settings (see IndexerOptions). */
export interface BatchOutcomesDeps extends IndexerParts {
  /** Whether the catch-up found the raw key filling a missing gap (see CatchUp.filled). */
  filled: (key: string) => boolean;
  /** Commits the messages of a batch that is done with. */
  commit: (deliveries: readonly Delivery[]) => Promise<void>;
  /** Attempts per batch before it is given up for now. */
  attempts: number;
  /** Backoff before the second attempt, doubled after each failure. */
  retryBaseMs: number;
}

/** Finishes pending batches, indexed or failed. */
export class BatchOutcomes {
  readonly #d: BatchOutcomesDeps;

  /** See {@link BatchOutcomesDeps}. */
  constructor(deps: BatchOutcomesDeps) {
    this.#d = deps;
  }

  /** After a batch was indexed: what is known now, the counts, the note, the commit. */
  async indexed(p: Pending, result: IndexResult): Promise<void> {
    const { known, metrics: m } = this.#d;
    known.add(p.doneKey);
    if (p.provides !== null) known.add(p.provides);
    if (result.created) m.batches++;
    else m.duplicate_batches++;
    m.rows += result.rows;
    if (result.note !== undefined) this.#d.log.remember(result.note);
    await this.finish(p);
  }

  /** Lets go of a batch that is done (indexed here or before), and commits its messages. */
  async finish(p: Pending): Promise<void> {
    const { metrics: m, log } = this.#d;
    this.#d.pending.remove(p);
    const { key } = p.ref;
    log.clear(key);
    const wasFailed = this.#d.failed.delete(key);
    if (wasFailed || this.#d.filled(key)) {
      m.resumed_batches++;
      log.remember(`resumed '${key}': ${wasFailed ? "it can be read now" : "it appeared"}`);
    }
    noteDone(m, p.ref.lastTick);
    await this.#d.commit(p.deliveries);
  }

  /** After a batch failed: metadata still on its way waits, anything else is a failure. */
  async failedWith(p: Pending, e: unknown): Promise<void> {
    if (e instanceof MissingMetadataError) {
      markWaiting(p, `waits for the run metadata '${e.key}'`, undefined);
      p.notBefore = performance.now() + this.#d.retryBaseMs;
      return;
    }
    await this.#fail(p, e as Error);
  }

  async #fail(p: Pending, e: Error): Promise<void> {
    const { metrics: m, log, attempts } = this.#d;
    const { key } = p.ref;
    p.failures++;
    m.errors++;
    log.report(
      key,
      `${this.#d.indexer.kind} of '${key}' failed (attempt ${p.failures} of ` +
        `${attempts}): ${e.message}`,
    );
    if (p.failures < attempts) {
      m.retries++;
      p.notBefore = performance.now() + this.#d.retryBaseMs * 2 ** (p.failures - 1);
      return;
    }
    const missing = e instanceof MissingBatchError;
    const size = missing ? null : await this.#d.storage.size(key).catch(() => null);
    const reason = missing
      ? `missing: ${e.message} (named by a BatchInfo)`
      : e.message.includes(`'${key}'`)
      ? e.message
      : `Cannot index batch '${key}': ${e.message}`;
    this.#d.failed.add(p.ref, missing ? "missing" : "unreadable", reason, size, performance.now());
    log.clear(key); // the problem says it now
    log.remember(`skipped '${key}' after ${p.failures} attempts: ${e.message}`);
    m.skipped_batches++;
    this.#d.pending.remove(p);
    await this.#d.commit(p.deliveries);
  }
}
