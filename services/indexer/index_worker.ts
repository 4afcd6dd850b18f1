/**
 * Index derivation on a worker thread shared by the indexers of one process: decoding a batch,
 * replaying it, the statistics and the Parquet encoding run there, so that indexing does not
 * take the event loop's thread (in an in-process pipeline, the engine's). The indexers read the
 * batch's stored bytes and what it needs (the stats state before it), and write what comes
 * back; the thread keeps the last few decoded batches, which the three kinds ask for in turn.
 *
 * @module
 */

import { WorkerRequestError, WorkerRpc } from "../../resources/worker/worker_rpc.ts";
import type { Derived, IndexKind } from "./batch_indexer.ts";
import { type BatchRef, CorruptBatchError, type RunInfo } from "./raw_batch.ts";

/** One derivation asked of the thread (see ./_index_worker.ts). */
export interface DeriveRequest {
  kind: IndexKind;
  ref: BatchRef;
  /** The batch's stored bytes (copied to the thread). */
  stored: Uint8Array;
  run: RunInfo | null;
  prepared: unknown;
}

/** The index derivation thread; terminate it with {@link IndexWorker.close}. */
export class IndexWorker {
  readonly #rpc = new WorkerRpc<DeriveRequest, Derived>(
    new URL("./_index_worker.ts", import.meta.url),
    "index",
  );

  /** Starts the thread now rather than on the first batch (loading its modules takes a while). */
  warmUp(): void {
    this.#rpc.warmUp();
  }

  /**
   * The files of `kind` for the batch whose stored bytes are `stored`. Throws
   * CorruptBatchError when they are not a readable batch, as decoding on this thread would.
   */
  async derive(request: DeriveRequest): Promise<Derived> {
    try {
      return await this.#rpc.call(request);
    } catch (e) {
      if (e instanceof WorkerRequestError && e.errorName === "CorruptBatchError") {
        throw new CorruptBatchError(request.ref.key, e.message, { cause: e });
      }
      throw e;
    }
  }

  /** Terminates the thread; pending derivations reject. */
  close(): void {
    this.#rpc.close();
  }
}
