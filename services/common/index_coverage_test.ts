import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { describeMissingIndexes, indexCoverage, indexFileKey } from "./index_coverage.ts";
import { batchKey } from "./storage_layout.ts";

async function put(s: FilesystemStorage, key: string): Promise<void> {
  const w = await s.openWriter(key);
  await w.commit();
}

Deno.test("index coverage counts each kind's files against the raw batches and names the missing", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-coverage-" });
  const s = await FilesystemStorage.open({ root });
  try {
    const ranges = [[0, 95], [100, 195], [200, 200]] as const;
    for (const [a, b] of ranges) await put(s, batchKey("r", a, b));
    for (const [a, b] of ranges) await put(s, indexFileKey("catalog", "r", a, b));
    await put(s, indexFileKey("stats", "r", 0, 95));
    await put(s, indexFileKey("stats", "r", 300, 395)); // of no stored batch: not counted
    const c = await indexCoverage(s, "r", ["stats", "organisms", "catalog"]);
    assert.equal(c.rawBatches, 3);
    assert.equal(c.complete, false);
    assert.deepEqual(c.kinds.map((k) => [k.kind, k.written, k.lag]), [
      ["stats", 1, 2],
      ["organisms", 0, 3],
      ["catalog", 3, 0],
    ]);
    assert.deepEqual(c.kinds[0]!.missing, [
      "runs/r/index/stats/0000000/0000000000000000100_0000000000000000195.parquet",
      "runs/r/index/stats/0000000/0000000000000000200_0000000000000000200.parquet",
    ]);
    const lines = describeMissingIndexes(c);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^stats: 2 of 3 index files missing \(runs\/r\/index\/stats\//);
    assert.equal((await indexCoverage(s, "r", ["catalog"])).complete, true);
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
});
