import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { readRunTarget, writeRunTarget } from "./run_target.ts";
import { runTargetKey } from "./storage_layout.ts";

Deno.test("a run's target is recorded, replaced by the next start, and null when absent or garbled", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-target-" });
  const storage = new FilesystemStorage({ root });
  try {
    assert.equal(await readRunTarget(storage, "r"), null);
    await writeRunTarget(storage, "r", 40000);
    assert.equal(await readRunTarget(storage, "r"), 40000);
    await writeRunTarget(storage, "r", 0);
    assert.equal(await readRunTarget(storage, "r"), 0);
    await storage.delete(runTargetKey("r"));
    const w = await storage.openWriter(runTargetKey("r"));
    await w.write(new TextEncoder().encode('{"ticks": -3}'));
    await w.commit();
    assert.equal(await readRunTarget(storage, "r"), null);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});
