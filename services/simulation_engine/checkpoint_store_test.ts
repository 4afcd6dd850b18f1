import { deepStrictEqual, equal } from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { ZstdWorker } from "../../resources/storage/zstd_worker.ts";
import { readStoredCheckpoint, storeCheckpoint } from "./checkpoint_store.ts";
import { checkpointKey } from "../common/storage_layout.ts";

Deno.test("a checkpoint compressed on the zstd thread is stored with the bytes it has inline", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-ckpt-store-" });
  const zstd = new ZstdWorker();
  try {
    const storage = await FilesystemStorage.open({ root });
    const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);
    const inline = await storeCheckpoint(storage, "inline", 990, bytes);
    const offThread = await storeCheckpoint(storage, "worker", 990, bytes, zstd);
    equal(inline.created && offThread.created, true);
    deepStrictEqual(
      await storage.read(checkpointKey("worker", 990)),
      await storage.read(checkpointKey("inline", 990)),
    );
    // The caller's bytes are left as they were: the thread compressed a copy.
    equal(bytes.length, 300_000);
    deepStrictEqual(await readStoredCheckpoint(storage, "worker", 990), bytes);
  } finally {
    zstd.close();
    await Deno.remove(root, { recursive: true });
  }
});
