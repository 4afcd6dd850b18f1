/**
 * Worker side of {@link IndexWorker}: decodes batches (keeping the last few: the three index
 * kinds ask for the same batch in turn) and derives index files.
 *
 * @module
 */

import { ownBytes, serveRequests } from "../../resources/worker/worker_rpc.ts";
import type { Derived } from "./batch_indexer.ts";
import { INDEXERS } from "./index_kinds.ts";
import type { DeriveRequest } from "./index_worker.ts";
import { decodeRawBatch, type RawBatch } from "./raw_batch.ts";

/** Decoded batches kept, newest last. */
const KEPT = 3;
const decoded = new Map<string, RawBatch>();

function batchOf(request: DeriveRequest): RawBatch {
  const { ref, stored } = request;
  let batch = decoded.get(ref.key);
  if (batch === undefined) {
    batch = decodeRawBatch(ref, stored);
    decoded.set(ref.key, batch);
    for (const k of decoded.keys()) {
      if (decoded.size <= KEPT) break;
      decoded.delete(k);
    }
  }
  return batch;
}

serveRequests<DeriveRequest>((request) => {
  const derived: Derived = INDEXERS[request.kind].derive(
    batchOf(request),
    request.run,
    request.prepared,
  );
  const files = derived.files.map((f) => ({ key: f.key, bytes: ownBytes(f.bytes) }));
  return {
    value: { ...derived, files },
    transfer: files.map((f) => f.bytes.buffer as ArrayBuffer),
  };
});
