import { rejects } from "node:assert/strict";
import { IndexWorker } from "./index_worker.ts";
import { CorruptBatchError } from "./raw_batch.ts";

Deno.test("IndexWorker.derive rejects bytes that are no batch with CorruptBatchError naming the key", async () => {
  const worker = new IndexWorker();
  const key = "runs/r/raw/0000000/batch_0000000000000000000_0000000000000000009.pb.zst";
  try {
    await rejects(
      worker.derive({
        kind: "catalog",
        ref: { runId: "r", key, firstTick: 0, lastTick: 9 },
        stored: Uint8Array.of(1, 2, 3),
        run: null,
        prepared: undefined,
      }),
      (e: unknown) =>
        e instanceof CorruptBatchError && e.key === key &&
        /Cannot read batch '.*': zstd stream is truncated or corrupt/.test(e.message),
    );
  } finally {
    worker.close();
  }
});
