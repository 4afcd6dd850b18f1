/**
 * Worker side of {@link IndexThread}: opens the storage once, keeps the last few decoded
 * batches (the three index kinds ask for the same batch in turn) and indexes each request.
 *
 * @module
 */

import { serveRequests } from "../../resources/worker/worker_rpc.ts";
import type { Storage } from "../../resources/storage/storage.ts";
// The indexer's modules one by one, not its mod.ts: each module an isolate loads costs memory.
import type { IndexResult, OffloadRequest } from "../indexer/batch_indexer.ts";
import { INDEXERS } from "../indexer/index_kinds.ts";
import { loadRawBatch, type RawBatch } from "../indexer/raw_batch.ts";
import type { ThreadOutcome, ThreadRequest } from "./index_thread.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { ResolvedResource } from "./config.ts";
import { resolve } from "node:path";

let storage: Promise<Storage> | undefined;

/**
 * Decoded batches kept (as promises: the kinds' requests overlap), newest last. One: the kinds
 * ask for a batch at about the same time (a notification reaches all three, and in a catch-up
 * they walk their groups in step), so a second or third kept batch saved no decoding (the three
 * kinds over a stored 61-batch run: 5.2-5.6 s either way) and cost 20-30 MiB at the peak.
 */
const KEPT = 1;
const decoded = new Map<string, Promise<RawBatch>>();

function batchOf(s: Storage, request: OffloadRequest): Promise<RawBatch> {
  const { ref } = request;
  let batch = decoded.get(ref.key);
  if (batch === undefined) {
    batch = loadRawBatch(s, ref);
    decoded.set(ref.key, batch);
    batch.catch(() => decoded.delete(ref.key));
    for (const k of decoded.keys()) {
      if (decoded.size <= KEPT) break;
      decoded.delete(k);
    }
  }
  return batch;
}

/**
 * Opens the thread's storage. A filesystem needs nothing else: the other resource kinds (and
 * their clients' modules, tens of MB in every isolate that loads them) only when asked for.
 */
async function open(name: string, config: ResolvedResource): Promise<Storage> {
  if (config.kind === "filesystem") {
    return await FilesystemStorage.open({ root: resolve(config.root) });
  }
  const { buildResource } = await import("./resources.ts");
  const r = await buildResource(name, config);
  if (r.role !== "storage") throw new TypeError(`Resource '${name}' is not a storage`);
  return r.instance;
}

/** Indexes one batch of a request. */
async function indexOne(s: Storage, request: OffloadRequest): Promise<IndexResult> {
  const indexer = INDEXERS[request.kind];
  if (request.skipIfDone && await s.exists(indexer.doneKey(request.ref))) {
    return { rows: 0, created: false };
  }
  const batch = await batchOf(s, request);
  return await indexer.index(s, batch, request.run);
}

serveRequests<ThreadRequest>(async ({ requests, storage: where }) => {
  storage ??= open(where.name, where.config);
  const s = await storage;
  const outcomes: ThreadOutcome[] = requests.map(() => null);
  // In order, and no further after a failure: a later batch may need what this one writes.
  for (let i = 0; i < requests.length; i++) {
    try {
      outcomes[i] = { result: await indexOne(s, requests[i]!) };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      outcomes[i] = { error: { name: error.name, message: error.message } };
      break;
    }
  }
  return { value: outcomes };
});
