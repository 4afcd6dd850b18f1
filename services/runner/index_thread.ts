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

import { WorkerRpc } from "../../resources/worker/worker_rpc.ts";
import {
  CorruptBatchError,
  type IndexOffload,
  type IndexResult,
  MissingBatchError,
  type OffloadRequest,
} from "../indexer/mod.ts";
import type { ResolvedResource } from "./config.ts";

/** What the thread is asked: batches in order, and the storage (opened once per thread). */
export interface ThreadRequest {
  requests: readonly OffloadRequest[];
  storage: { name: string; config: ResolvedResource };
}

/** Per batch: its result, its error (by name and message), or nothing when not tried. */
export type ThreadOutcome =
  | { result: IndexResult }
  | { error: { name: string; message: string } }
  | null;

/** The offload thread of one storage; terminate it with {@link IndexThread.close}. */
export class IndexThread implements IndexOffload {
  readonly #rpc = new WorkerRpc<ThreadRequest, ThreadOutcome[]>(
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
  async index(
    requests: readonly OffloadRequest[],
  ): Promise<(IndexResult | Error | undefined)[]> {
    const outcomes = await this.#rpc.call({ requests, storage: this.storage });
    return requests.map((r, i) => {
      const o = outcomes[i] ?? null;
      if (o === null) return undefined;
      if ("result" in o) return o.result;
      const { key } = r.ref;
      if (o.error.name === "MissingBatchError") return new MissingBatchError(key);
      if (o.error.name === "CorruptBatchError") return new CorruptBatchError(key, o.error.message);
      return new Error(o.error.message);
    });
  }

  /** Terminates the thread; pending batches reject (their indexers retry them). */
  close(): void {
    this.#rpc.close();
  }
}
