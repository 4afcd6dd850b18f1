import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { create, DeltaType, TickDataChunkSchema } from "../proto/mod.ts";
import { ChunkReplayer, replayChunk } from "./chunk_replay.ts";
import { decodeLeanChunk } from "./lean_chunk.ts";
import { decodeTickDataChunk } from "./chunk_decoder.ts";
import { ReplayCursor } from "../services/api/replay_cursor.ts";
import { TEST_RUN_SHAPE, testRunChunks } from "./_test_chunks.ts";

/** A 4-cell world: snapshot, incremental, accumulated, full, incremental. */
function sampleChunk(extra: { deltaType: DeltaType; tick: bigint }[] = []) {
  return create(TickDataChunkSchema, {
    snapshot: { tick: 0n, cells: { flatIndex: [0, 2], molecule: [10, 20], owner: [1, 0] } },
    deltas: [
      {
        tick: 1n,
        deltaType: DeltaType.INCREMENTAL,
        changedCells: { flatIndex: [1], molecule: [11], owner: [2] },
      },
      {
        tick: 2n,
        deltaType: DeltaType.ACCUMULATED,
        changedCells: { flatIndex: [3], molecule: [33], owner: [0] },
      },
      {
        tick: 3n,
        deltaType: DeltaType.FULL,
        changedCells: { flatIndex: [2], molecule: [22], owner: [3] },
      },
      {
        tick: 4n,
        deltaType: DeltaType.INCREMENTAL,
        changedCells: { flatIndex: [0], molecule: [5], owner: [0] },
      },
      ...extra,
    ],
  });
}

Deno.test("replayChunk applies incremental, accumulated and full deltas on the right base", () => {
  // The yielded arrays are reused: copy each state as it comes.
  const states = [];
  for (const s of replayChunk(sampleChunk(), 4)) {
    states.push({ tick: s.tick, cells: [...s.cells], owners: [...s.owners] });
  }
  deepStrictEqual(states, [
    { tick: 0, cells: [10, 0, 20, 0], owners: [1, 0, 0, 0] },
    // Incremental: on top of the previous sample.
    { tick: 1, cells: [10, 11, 20, 0], owners: [1, 2, 0, 0] },
    // Accumulated: on top of the snapshot, so cell 1 is gone again.
    { tick: 2, cells: [10, 0, 20, 33], owners: [1, 0, 0, 0] },
    // Full: replaces everything and becomes the base.
    { tick: 3, cells: [0, 0, 22, 0], owners: [0, 0, 3, 0] },
    { tick: 4, cells: [5, 0, 22, 0], owners: [0, 0, 3, 0] },
  ]);
});

Deno.test("replayChunk rejects chunks it cannot replay, naming what is wrong", () => {
  throws(() => [...replayChunk(create(TickDataChunkSchema, { chunkIndex: 7n }), 4)], /7 has no/);
  throws(() => [...replayChunk(sampleChunk(), 2)], /position 2 is outside a world of 2 cells/);
  throws(
    () => [...replayChunk(sampleChunk([{ tick: 9n, deltaType: 99 as DeltaType }]), 4)],
    /tick 9 has unknown type 99/,
  );
  const uneven = create(TickDataChunkSchema, {
    snapshot: { cells: { flatIndex: [0, 1], molecule: [1], owner: [1, 1] } },
  });
  throws(() => [...replayChunk(uneven, 4)], /2 positions, 1 molecules, 2 owners/);
  equal([...replayChunk(create(TickDataChunkSchema, { snapshot: {} }), 4)].length, 1);
});

Deno.test("ChunkReplayer lists every position that changed since the previous state, and reuses its buffers across chunks", () => {
  const [w, h] = TEST_RUN_SHAPE;
  const size = w! * h!;
  const replayer = new ChunkReplayer(size);
  let listed = 0;
  let states = 0;
  for (const bytes of testRunChunks()) {
    const chunk = decodeLeanChunk(bytes);
    const fresh = [...replayChunk(chunk, size)].length;
    // The API's cursor replays independently: the reused buffers must hold the same states.
    const cursor = new ReplayCursor(decodeTickDataChunk(bytes), size);
    let prev: { cells: Int32Array; owners: Int32Array } | null = null;
    let n = 0;
    for (const s of replayer.replay(chunk)) {
      n++;
      ok(cursor.seek(s.tick));
      deepStrictEqual([s.cells, s.owners], [cursor.cells, cursor.owners], `tick ${s.tick}`);
      if (prev !== null && s.changed !== null) {
        const listedHere = new Set(s.changed);
        equal(listedHere.size, s.changed.length, `tick ${s.tick}: positions listed once`);
        for (let i = 0; i < size; i++) {
          if (listedHere.has(i)) continue;
          if (s.cells[i] !== prev.cells[i] || s.owners[i] !== prev.owners[i]) {
            throw new Error(`tick ${s.tick}: position ${i} changed but is not listed`);
          }
        }
        listed += s.changed.length;
      } else equal(prev === null || s.changed === null, true);
      prev = { cells: s.cells.slice(), owners: s.owners.slice() };
      states++;
    }
    equal(n, fresh, "as many states as a fresh replay");
  }
  ok(states > 100 && listed > 0 && listed < states * size / 4, `${listed} listed in ${states}`);
});
