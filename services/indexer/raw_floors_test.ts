import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { batchKey } from "../common/storage_layout.ts";
import type { BatchRef } from "./raw_batch.ts";
import { inWindow, keptMissing, RawFloors } from "./raw_floors.ts";

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
    const whole = { fromFloor: true, complete: true };
    deepStrictEqual(await floors.list(storage, "r"), {
      keys: [a.key, b.key, c.key, d.key],
      ...whole,
    });
    floors.advance("r", [a, b], 10, all);
    deepStrictEqual(await floors.list(storage, "r"), { keys: [b.key, c.key, d.key], ...whole });
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("list() with max looks at a run a window at a time, each from where the last ended, then from the floor again", async () => {
  const root = await Deno.makeTempDir();
  const storage = await FilesystemStorage.open({ root });
  try {
    const e = ref(400, 490);
    for (const r of [a, b, c, d, e]) await (await storage.openWriter(r.key)).commit();
    const floors = new RawFloors();
    floors.advance("r", [a], 10, all); // the floor: a (b is not indexed, so it stays there)
    const keys = async () => {
      const w = await floors.list(storage, "r", 2);
      return [
        w.keys.map((k) =>
          k === a.key ? "a" : k === b.key ? "b" : k === c.key ? "c" : k === d.key ? "d" : "e"
        ).join(""),
        w.fromFloor,
        w.complete,
      ];
    };
    deepStrictEqual(await keys(), ["abc", true, false]);
    deepStrictEqual(await keys(), ["cde", false, true], "the end: e is the last key");
    deepStrictEqual(await keys(), ["abc", true, false], "from the floor again");
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("inWindow() and keptMissing() keep what a window did not look at", () => {
  const windows = new Map([["r", { keys: [b.key, c.key], fromFloor: false, complete: false }]]);
  deepStrictEqual([a, b, c, d].map((r) => inWindow(windows, r.key)), [false, true, true, false]);
  strictEqual(inWindow(windows, batchKey("other", 0, 9)), false);
  const floorToEnd = new Map([["r", { keys: [b.key], fromFloor: true, complete: true }]]);
  deepStrictEqual([a, b, c, d].map((r) => inWindow(floorToEnd, r.key)), [true, true, true, true]);
  const kept = keptMissing(new Set([a.key, c.key, d.key]), new Set([b.key]), windows, 10);
  deepStrictEqual([...kept].sort(), [a.key, b.key, d.key], "c was looked at and is not missing");
  strictEqual(keptMissing(new Set([a.key, d.key]), new Set([b.key]), windows, 2).size, 2);
});
