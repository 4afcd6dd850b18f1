/**
 * The indexers' offload thread (services/indexer's IndexOffload): a worker thread with its own
 * storage instance and event loop reads each batch (decoding it once for the three kinds),
 * derives the index files and writes them. In an in-process pipeline the indexers' thread is
 * the engine's, which yields to the event loop only between slices of simulation: each storage
 * round trip of an indexer there waited for the next slice. On the thread, an indexer's batch
 * costs its thread one message each way.
 *
 * @module
 */

import { WorkerRequestError, WorkerRpc } from "../../resources/worker/worker_rpc.ts";
import {
  CorruptBatchError,
  type IndexOffload,
  type IndexResult,
  MissingBatchError,
  type OffloadRequest,
} from "../indexer/mod.ts";
import type { ResolvedResource } from "./config.ts";

/** What the thread is asked: a batch, and the storage it is in (opened once per thread). */
export interface ThreadRequest extends OffloadRequest {
  storage: { name: string; config: ResolvedResource };
}

/** The offload thread of one storage; terminate it with {@link IndexThread.close}. */
export class IndexThread implements IndexOffload {
  readonly #rpc = new WorkerRpc<ThreadRequest, IndexResult>(
    new URL("./_index_thread.ts", import.meta.url),
    "index",
  );

  /** `config` is the storage resource the indexers read and write. */
  constructor(readonly storage: { name: string; config: ResolvedResource }) {}

  /** Starts the thread now rather than on the first batch (loading its modules takes a while). */
  warmUp(): void {
    this.#rpc.warmUp();
  }

  /** See IndexOffload.index. */
  async index(request: OffloadRequest): Promise<IndexResult> {
    try {
      return await this.#rpc.call({ ...request, storage: this.storage });
    } catch (e) {
      if (!(e instanceof WorkerRequestError)) throw e;
      const { key } = request.ref;
      if (e.errorName === "MissingBatchError") throw new MissingBatchError(key);
      if (e.errorName === "CorruptBatchError") {
        throw new CorruptBatchError(key, e.message, { cause: e });
      }
      throw new Error(e.message, { cause: e });
    }
  }

  /** Terminates the thread; pending batches reject (their indexers retry them). */
  close(): void {
    this.#rpc.close();
  }
}
