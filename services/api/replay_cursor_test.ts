import assert from "node:assert/strict";
import { DeltaType } from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { replayChunk } from "../../codec/mod.ts";
import { ReplayCursor } from "./replay_cursor.ts";
import { makeRun, readBatches } from "../../tests/fixtures/stored_run.ts";

Deno.test("the replay cursor gives replayChunk's states, whatever order ticks are asked in", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-cursor-" });
  try {
    // Small snapshot periods and several per chunk: FULL, ACCUMULATED and INCREMENTAL deltas.
    const shape = [256, 64];
    const runId = await makeRun(root, {
      ticks: 700,
      engine: {
        shape,
        seed: 11,
        intervals: { sampling: 5, accumulatedDelta: 3, snapshot: 4, chunk: 3 },
      },
    });
    const storage = await FilesystemStorage.open({ root });
    const chunks = (await readBatches(storage, runId)).flatMap((b) => b.chunks);
    const types = new Set(chunks.flatMap((c) => c.deltas.map((d) => d.deltaType)));
    assert.deepEqual(
      [...types].sort(),
      [DeltaType.INCREMENTAL, DeltaType.ACCUMULATED, DeltaType.FULL].sort(),
    );
    const size = shape[0]! * shape[1]!;
    for (const chunk of chunks) {
      const ref = new Map<number, [Int32Array, Int32Array]>();
      for (const s of replayChunk(chunk, size)) {
        ref.set(s.tick, [s.cells.slice(), s.owners.slice()]);
      }
      const ticks = [...ref.keys()];
      const order = [...ticks, ...ticks.slice().reverse(), ticks[2] ?? 0, ticks[1] ?? 0, ...ticks];
      const cursor = new ReplayCursor(chunk, size);
      for (const t of order) {
        assert.ok(cursor.seek(t), `tick ${t}`);
        assert.equal(cursor.tick, t);
        assert.deepEqual(cursor.cells, ref.get(t)![0], `cells at ${t}`);
        assert.deepEqual(cursor.owners, ref.get(t)![1], `owners at ${t}`);
      }
      assert.equal(cursor.seek(ticks[0]! + 1), false, "a tick between samples is not found");
    }
    await storage.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
