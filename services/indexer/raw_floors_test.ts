import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { batchKey } from "../common/storage_layout.ts";
import type { BatchRef } from "./raw_batch.ts";
import { RawFloors } from "./raw_floors.ts";

function ref(firstTick: number, lastTick: number): BatchRef {
  return { runId: "r", key: batchKey("r", firstTick, lastTick), firstTick, lastTick };
}

const [a, b, c, d] = [ref(0, 90), ref(100, 190), ref(200, 290), ref(300, 390)];
const all = () => true;

Deno.test("advance() moves the floor over indexed batches from tick 0 and returns those left behind", () => {
  const floors = new RawFloors();
  deepStrictEqual(floors.advance("r", [c, a, b], 10, all), [a, b]);
  strictEqual(floors.get("r"), c);
  // From the floor on: the floor itself and what was listed after it.
  deepStrictEqual(floors.advance("r", [c, d], 10, all), [c]);
  strictEqual(floors.get("r"), d);
});

Deno.test("advance() stops before a hole and before a batch not indexed yet", () => {
  const floors = new RawFloors();
  deepStrictEqual(floors.advance("r", [b, c], 10, all), [], "a hole at tick 0");
  strictEqual(floors.get("r"), undefined);
  deepStrictEqual(floors.advance("r", [a, c, d], 10, all), []);
  strictEqual(floors.get("r"), a, "batch b is missing");
  deepStrictEqual(floors.advance("r", [a, b, c, d], 10, (r) => r !== c), [a]);
  strictEqual(floors.get("r"), b, "batch c is not indexed");
});

Deno.test("list() returns the floor's key and the keys after it", async () => {
  const root = await Deno.makeTempDir();
  const storage = await FilesystemStorage.open({ root });
  try {
    for (const r of [a, b, c, d]) {
      const w = await storage.openWriter(r.key);
      await w.commit();
    }
    const floors = new RawFloors();
    deepStrictEqual(await floors.list(storage, "r"), [a.key, b.key, c.key, d.key]);
    floors.advance("r", [a, b], 10, all);
    deepStrictEqual(await floors.list(storage, "r"), [b.key, c.key, d.key]);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});
