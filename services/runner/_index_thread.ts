/**
 * Worker side of {@link IndexThread}: opens the storage once, keeps the last few decoded
 * batches (the three index kinds ask for the same batch in turn) and indexes each request.
 *
 * @module
 */

import { serveRequests } from "../../resources/worker/worker_rpc.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import {
  decodeRawBatch,
  indexBatch,
  INDEXERS,
  type IndexResult,
  type RawBatch,
  readRawBatch,
} from "../indexer/mod.ts";
import type { ThreadRequest } from "./index_thread.ts";
import { buildResource } from "./resources.ts";

let storage: Promise<Storage> | undefined;

/** Decoded batches kept (as promises: the kinds' requests overlap), newest last. */
const KEPT = 3;
const decoded = new Map<string, Promise<RawBatch>>();

function batchOf(s: Storage, request: ThreadRequest): Promise<RawBatch> {
  const { ref } = request;
  let batch = decoded.get(ref.key);
  if (batch === undefined) {
    batch = readRawBatch(s, ref).then((bytes) => decodeRawBatch(ref, bytes));
    decoded.set(ref.key, batch);
    batch.catch(() => decoded.delete(ref.key));
    for (const k of decoded.keys()) {
      if (decoded.size <= KEPT) break;
      decoded.delete(k);
    }
  }
  return batch;
}

serveRequests<ThreadRequest>(async (request) => {
  storage ??= buildResource(request.storage.name, request.storage.config).then((r) => {
    if (r.role !== "storage") throw new TypeError(`'${r.kind}' is not a storage`);
    return r.instance;
  });
  const s = await storage;
  const indexer = INDEXERS[request.kind];
  if (request.skipIfDone && await s.exists(indexer.doneKey(request.ref))) {
    const nothing: IndexResult = { rows: 0, created: false };
    return { value: nothing };
  }
  const batch = await batchOf(s, request);
  return { value: await indexBatch(s, indexer, batch, request.run) };
});
