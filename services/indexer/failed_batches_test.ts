import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { batchKey } from "../common/storage_layout.ts";
import { FailedBatches } from "./failed_batches.ts";
import type { BatchRef } from "./raw_batch.ts";

const ref: BatchRef = { runId: "r", key: batchKey("r", 0, 90), firstTick: 0, lastTick: 90 };

Deno.test("a batch given up on is due again when its size changes or its recheck time comes", () => {
  const failed = new FailedBatches(100, 350);
  failed.add(ref, "unreadable", "bad", 42, 0);
  strictEqual(failed.due(ref.key, 42, 99), false);
  strictEqual(failed.due(ref.key, 43, 1), true, "replaced by another object");
  strictEqual(failed.due(ref.key, null, 1), true, "gone");
  strictEqual(failed.due(ref.key, 42, 100), true);
  // Each failed recheck waits twice as long, up to the ceiling.
  failed.add(ref, "unreadable", "bad", 42, 100);
  strictEqual(failed.due(ref.key, 42, 299), false);
  strictEqual(failed.due(ref.key, 42, 300), true);
  failed.add(ref, "unreadable", "bad", 42, 300);
  strictEqual(failed.due(ref.key, 42, 649), false);
  strictEqual(failed.due(ref.key, 42, 650), true);
  failed.add(ref, "unreadable", "bad", 42, 650);
  strictEqual(failed.due(ref.key, 42, 651), false);
  failed.wake(ref.key);
  strictEqual(failed.due(ref.key, 42, 651), true, "woken by a new BatchInfo");
  strictEqual(failed.due("other", null, 1e9), false);
});

Deno.test("a batch named but absent appears as a size change", () => {
  const failed = new FailedBatches(1e9, 1e9);
  failed.add(ref, "missing", "missing: not there", null, 0);
  strictEqual(failed.due(ref.key, null, 1), false);
  strictEqual(failed.due(ref.key, 1234, 1), true);
  deepStrictEqual(failed.values().map((f) => [f.kind, f.reason]), [[
    "missing",
    "missing: not there",
  ]]);
  strictEqual(failed.delete(ref.key), true);
  strictEqual(failed.size, 0);
});
