import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { writeRunEnd } from "../common/run_end.ts";
import { batchKey, metadataKey } from "../common/storage_layout.ts";
import { BatchList } from "./batch_list.ts";
import { RunStates } from "./run_states.ts";
import type { RunView } from "./run_store.ts";

/** The parts of a view the states read. */
function view(batches: [number, number][], extra: Partial<RunView> = {}): RunView {
  const v = {
    info: { runId: "r" },
    batches: BatchList.of(
      "r",
      batches.map(([a, b]) => ({
        key: batchKey("r", a, b),
        firstTick: a,
        lastTick: b,
        spans: [{ first: a, step: 1, count: b - a + 1 }],
      })),
    ),
    problems: [],
    gaps: [],
    ...extra,
  };
  return v as unknown as RunView;
}

async function withStorage(fn: (s: FilesystemStorage) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "evochora-run-states-" });
  const s = await FilesystemStorage.open({ root });
  try {
    for (const key of [metadataKey("r"), batchKey("r", 0, 95), batchKey("r", 100, 100)]) {
      const w = await s.openWriter(key);
      await w.commit();
    }
    await fn(s);
  } finally {
    await s.close();
    await Deno.remove(root, { recursive: true });
  }
}

const END = {
  runId: "r",
  lastTick: 100,
  chunks: 3,
  batches: 2,
  chunksPerBatch: 2,
  finalBatchKey: batchKey("r", 100, 100),
  batchesStored: 2,
  writer: "p",
  endedAtMs: 0,
};

Deno.test("RunStates: running while fresh, finished once the end record is there, and kept", async () => {
  await withStorage(async (s) => {
    const states = new RunStates(s);
    const before = await states.of(view([[0, 95], [100, 100]]));
    assert.equal(before.state, "running");
    assert.equal(before.endTick, null);
    assert.ok(before.lastActivityMs !== null);
    await writeRunEnd(s, END);
    const after = await states.of(view([[0, 95], [100, 100]]));
    assert.deepEqual([after.state, after.endTick], ["finished", 100]);
    const v = view([[0, 95], [100, 100]]);
    assert.equal(await states.of(v), await states.of(v), "worked out once per view");
  });
});

Deno.test("RunStates: unreadable files make a run corrupt; idle without an end record, incomplete", async () => {
  await withStorage(async (s) => {
    const late = new RunStates(s, { idleAfterMs: 1000, now: () => Date.now() + 60_000 });
    assert.equal((await late.of(view([[0, 95], [100, 100]]))).state, "incomplete");
    const bad = await late.of(
      view([[0, 95]], {
        problems: [{
          key: batchKey("r", 100, 100),
          reason: "it cannot be read: truncated",
          overlaps: false,
        }],
      }),
    );
    assert.equal(bad.state, "corrupt");
    assert.match(bad.reason, /batch_0+100_0+100\.pb\.zst' it cannot be read: truncated/);
  });
});
