import assert from "node:assert/strict";
import type { Storage } from "../../resources/storage/storage.ts";
import { copyRun } from "./_test_run.ts";
import { loadSharedRawBatch, MissingBatchError, shareRawBatches } from "./raw_batch.ts";

/** The storage, counting the reads of each key. */
function counting(inner: Storage): { storage: Storage; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      if (prop === "openReader" || prop === "read") {
        return (key: string) => {
          reads.set(key, (reads.get(key) ?? 0) + 1);
          return v.call(target, key);
        };
      }
      return v.bind(target);
    },
  });
  return { storage, reads };
}

Deno.test("loadSharedRawBatch() decodes a batch once for the indexers of a process, then lets it go", async () => {
  const run = await copyRun();
  const { storage, reads } = counting(run.storage);
  const unshare = [shareRawBatches(storage), shareRawBatches(storage), shareRawBatches(storage)];
  const ref = run.batches[0]!;
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => loadSharedRawBatch(storage, ref)));
  assert.equal(reads.get(ref.key), 1);
  assert.ok(a === b && b === c, "the three indexers got one decoded batch");
  assert.equal(a!.chunks.length > 0, true);
  // Taken by all three: no longer kept.
  await loadSharedRawBatch(storage, ref);
  assert.equal(reads.get(ref.key), 2);
  for (const u of unshare) u();
});

Deno.test("loadSharedRawBatch() keeps nothing for a lone indexer, nor a failed read", async () => {
  const run = await copyRun();
  const { storage, reads } = counting(run.storage);
  const unshare = shareRawBatches(storage);
  const ref = run.batches[1]!;
  await loadSharedRawBatch(storage, ref);
  await loadSharedRawBatch(storage, ref);
  assert.equal(reads.get(ref.key), 2);
  const second = shareRawBatches(storage);
  const missing = { ...ref, key: ref.key.replace(/\.pb\.zst$/, ".missing.pb.zst") };
  await assert.rejects(loadSharedRawBatch(storage, missing), MissingBatchError);
  await assert.rejects(loadSharedRawBatch(storage, missing), MissingBatchError);
  assert.equal(reads.get(missing.key) ?? 0, 2, "a failed read is tried again");
  unshare();
  second();
});
