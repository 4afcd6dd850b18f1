import assert from "node:assert/strict";
import { DeltaType, fromBinary, TickDataChunkSchema, toBinary } from "../../../proto/mod.ts";
import {
  capturedBuffers,
  ChunkBodyWriter,
  decodeTickDataChunk,
  encodeCapturedChunk,
  replayChunk,
} from "../../../codec/mod.ts";
import { ancestorPlacement, createEngine } from "./engine.ts";
import { resolveEngineConfig } from "./engine_config.ts";
import { TickStream } from "./tick_stream.ts";

interface Expected {
  cells: Int32Array;
  owners: Int32Array;
  organisms: string;
}

interface Key {
  id: number;
  energy: number;
  entropy: number;
  alive: boolean;
  dataRegisters: ArrayLike<number>;
  instructionsExecuted: number | bigint;
  lastOpcode: number;
}

function organismKey(list: Key[]) {
  return list.map((o) =>
    `${o.id}:${o.energy}:${o.entropy}:${o.alive}:${[...Array.from(o.dataRegisters)]}:` +
    `${o.instructionsExecuted}:${o.lastOpcode}`
  ).join(",");
}

Deno.test("replaying every chunk reproduces the engine's world and organisms at each sample", () => {
  const config = resolveEngineConfig(
    {
      shape: [256, 64],
      seed: 7,
      intervals: { sampling: 3, accumulatedDelta: 2, snapshot: 4, chunk: 2 },
    },
    ancestorPlacement(1, 20000),
  );
  const engine = createEngine(config);
  const sim = engine.sim;
  const stream = new TickStream(sim, { intervals: config.intervals, runId: "r", clock: () => 0 });
  const expected = new Map<number, Expected>();
  const chunks: Uint8Array[] = [];
  const record = () => {
    if (!stream.isSampleTick()) return;
    const alive = sim.organisms.map((o) => ({
      id: o.id,
      energy: o.er,
      entropy: o.sr,
      alive: true,
      dataRegisters: o.dr.slice(),
      instructionsExecuted: o.instructions,
      lastOpcode: o.lastOpcode,
    }));
    expected.set(sim.tick, {
      cells: sim.world.cells.slice(),
      owners: sim.world.owners.slice(),
      organisms: organismKey(alive.sort((a, b) => a.id - b.id)),
    });
  };
  record();
  let c = stream.observe();
  for (let t = 0; t < 3000; t++) {
    sim.step();
    record();
    c = stream.observe();
    if (c !== null) chunks.push(c.bytes);
  }
  c = stream.flush();
  if (c !== null) chunks.push(c.bytes);
  assert.ok(sim.organismsCreated > 1, "the ancestor should have reproduced");
  let samples = 0;
  const types = new Set<DeltaType>();
  for (const bytes of chunks) {
    const chunk = decodeTickDataChunk(bytes);
    for (const d of chunk.deltas) types.add(d.deltaType);
    for (const state of replayChunk(chunk, sim.world.size)) {
      const want = expected.get(state.tick);
      assert.ok(want, `unexpected sample tick ${state.tick}`);
      assert.deepEqual(state.cells, want.cells, `cells at tick ${state.tick}`);
      assert.deepEqual(state.owners, want.owners, `owners at tick ${state.tick}`);
      const alive = state.organisms.filter((o) => o.alive);
      assert.equal(organismKey(alive), want.organisms, `organisms at tick ${state.tick}`);
      samples++;
    }
  }
  assert.equal(samples, expected.size);
  assert.deepEqual(
    [...types].sort(),
    [DeltaType.INCREMENTAL, DeltaType.ACCUMULATED, DeltaType.FULL].sort(),
  );
});

Deno.test("chunks are self-contained: each starts with a snapshot and spans its ticks", () => {
  const config = resolveEngineConfig(
    {
      shape: [32, 32],
      seed: 3,
      intervals: { sampling: 5, accumulatedDelta: 3, snapshot: 6, chunk: 1 },
    },
    ancestorPlacement(0),
  );
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "x" });
  const encoded = [];
  stream.observe();
  for (let t = 0; t < 100; t++) {
    engine.sim.step();
    const c = stream.observe();
    if (c) encoded.push(c);
  }
  const last = stream.flush();
  if (last) encoded.push(last);
  const chunks = encoded.map((e) => fromBinary(TickDataChunkSchema, e.bytes));
  encoded.forEach((e, i) => {
    assert.equal(e.index, i);
    assert.equal(BigInt(e.firstTick), chunks[i]!.firstTick);
    assert.equal(BigInt(e.lastTick), chunks[i]!.lastTick);
    assert.equal(e.sampleCount, chunks[i]!.sampleCount);
  });
  assert.equal(chunks.length, 4); // 21 samples (ticks 0..100 by 5), 6 per chunk
  chunks.forEach((c, i) => {
    assert.equal(c.chunkIndex, BigInt(i));
    assert.equal(c.snapshot?.tick, c.firstTick);
    assert.equal(c.sampleCount, 1 + c.deltas.length);
    assert.equal(c.deltas.at(-1)?.tick ?? c.firstTick, c.lastTick);
  });
  assert.equal(chunks[0]!.firstTick, 0n);
  assert.equal(chunks[3]!.lastTick, 100n);
  assert.equal(chunks[3]!.sampleCount, 3);
});

Deno.test("the direct writer's bytes equal protobuf-es's encoding of the same chunk", () => {
  const config = resolveEngineConfig(
    { shape: [256, 64], seed: 21, intervals: { sampling: 2, accumulatedDelta: 2, snapshot: 3 } },
    ancestorPlacement(2, 20000),
  );
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "run-ü-1" });
  let compared = 0;
  stream.observe();
  for (let t = 0; t < 2500; t++) {
    engine.sim.step();
    const c = stream.observe();
    if (c === null) continue;
    const message = fromBinary(TickDataChunkSchema, c.bytes);
    assert.deepEqual(toBinary(TickDataChunkSchema, message), c.bytes, `chunk ${c.index}`);
    compared++;
  }
  assert.ok(compared > 100);
});

Deno.test("observe records a tick once: a second call at the same tick does nothing", () => {
  const config = resolveEngineConfig(
    { shape: [32, 32], seed: 3, intervals: { sampling: 1, snapshot: 2, chunk: 1 } },
    ancestorPlacement(0),
  );
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "x" });
  assert.equal(stream.observe(), null);
  assert.equal(stream.observe(), null, "tick 0 again");
  assert.equal(stream.state().open?.sampleCount, 1);
  engine.sim.step();
  assert.equal(stream.observe()?.sampleCount, 2);
  assert.equal(stream.observe(), null, "tick 1 again");
  assert.equal(stream.state().open, null);
  assert.equal(stream.state().chunkIndex, 1);
});

for (const capture of [false, true]) {
  const what = capture ? "a capturing stream" : "a stream";
  Deno.test(`${what} continued from another's state finishes its open chunk with the same bytes`, () => {
    const config = resolveEngineConfig(
      { shape: [32, 32], seed: 3, intervals: { sampling: 2, snapshot: 5, chunk: 1 } },
      ancestorPlacement(0),
    );
    const engine = createEngine(config);
    const options = { intervals: config.intervals, runId: "x", clock: () => 0 };
    const a = new TickStream(engine.sim, options);
    a.observe();
    for (let t = 0; t < 4; t++) {
      engine.sim.step();
      a.observe();
    }
    const state = a.state();
    assert.equal(state.open?.sampleCount, 3);
    assert.equal(state.tickSampled, true);
    const b = new TickStream(engine.sim, { ...options, from: state, capture });
    assert.equal(b.observe(), null, "tick 4 was observed before");
    assert.deepEqual(b.state(), state);
    const writer = new ChunkBodyWriter({ shape: [32, 32], strides: [1, 32] });
    const rest = capture ? encodeCapturedChunk(b.flushCapture()!, writer) : b.flush()?.bytes;
    assert.deepEqual(rest, a.flush()?.bytes);
  });
}

/** Two engines of one config, one stream encoding as it goes, the other capturing. */
function twinStreams(ticks: number) {
  const config = resolveEngineConfig(
    {
      shape: [64, 64],
      seed: 11,
      intervals: { sampling: 2, accumulatedDelta: 2, snapshot: 4, chunk: 2 },
    },
    ancestorPlacement(2),
  );
  const a = createEngine(config);
  const b = createEngine(config);
  const options = { intervals: config.intervals, runId: "r", clock: () => 0 };
  const encoding = new TickStream(a.sim, options);
  const capturing = new TickStream(b.sim, { ...options, capture: true });
  const writer = new ChunkBodyWriter({ shape: [64, 64], strides: [1, 64] });
  const step = (): { encoded: Uint8Array[]; captured: Uint8Array[] } => {
    const encoded: Uint8Array[] = [];
    const captured: Uint8Array[] = [];
    for (let t = 0; t < ticks; t++) {
      if (t > 0) {
        a.sim.step();
        b.sim.step();
      }
      const e = encoding.observe();
      if (e !== null) encoded.push(e.bytes);
      const c = capturing.capture();
      if (c === null) continue;
      // As to and from a worker: the arrays move, and come back for the next chunks.
      const moved = structuredClone(c, { transfer: capturedBuffers(c) });
      captured.push(encodeCapturedChunk(moved, writer));
      capturing.recycle(moved);
    }
    return { encoded, captured };
  };
  return { encoding, capturing, writer, step };
}

Deno.test("a capturing stream's chunks, encoded elsewhere from their captures, equal the encoding stream's", () => {
  const { step } = twinStreams(1500);
  const { encoded, captured } = step();
  assert.ok(encoded.length > 20, `${encoded.length} chunks`);
  assert.equal(captured.length, encoded.length);
  captured.forEach((bytes, i) => assert.deepEqual(bytes, encoded[i], `chunk ${i}`));
});

Deno.test("a capturing stream's state inside a chunk equals the encoding stream's, and both continue alike", () => {
  const { encoding, capturing, writer, step } = twinStreams(1003);
  step();
  const state = capturing.state();
  assert.ok(state.open !== null && state.open.sampleCount > 1, "inside a chunk");
  assert.deepEqual(state, encoding.state());
  const expected = encoding.flush()!.bytes;
  assert.deepEqual(capturing.observe(), null, "the tick was observed");
  const last = capturing.flushCapture()!;
  assert.deepEqual(encodeCapturedChunk(last, writer), expected);
});

Deno.test("capture() on a stream made without capture is refused", () => {
  const config = resolveEngineConfig({ shape: [32, 32], seed: 3 }, ancestorPlacement(0));
  const stream = new TickStream(createEngine(config).sim, {
    intervals: config.intervals,
    runId: "x",
  });
  assert.throws(() => stream.capture(), TypeError);
});
