import assert from "node:assert/strict";
import { ZstdWorker } from "./zstd_worker.ts";

Deno.test("ZstdWorker decompresses small and large data back to the same bytes", async () => {
  const worker = new ZstdWorker();
  try {
    // Small results come out of Buffer's shared pool on the worker, which cannot be transferred.
    for (const size of [0, 1, 16, 4000, 70000, 3_000_000]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) % 251);
      const compressed = await worker.compress(data.slice(), 3);
      const back = await worker.decompress(compressed);
      assert.deepEqual(back, data, `${size} bytes`);
    }
  } finally {
    worker.close();
  }
});
