import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "../../../codec/mod.ts";
import { checkpointDue, checkpointEngine, type EncodedCheckpoint } from "./checkpoint.ts";
import { restoreEngine } from "./checkpoint_restore.ts";
import { ancestorPlacement, createEngine, type Engine } from "./engine.ts";
import { type EngineConfig, type EngineConfigInput, resolveEngineConfig } from "./engine_config.ts";
import { type EncodedChunk, TickStream } from "./tick_stream.ts";

/**
 * A small world where everything happens within a few thousand ticks: eight ancestors give
 * births from tick ~2000 on, a low entropy limit makes them die from ~3000 on, bodies wait 400
 * ticks to decay, mutations are frequent. 8 samples of 5 ticks per chunk, so a run has many
 * chunk boundaries and ticks inside chunks and between samples.
 */
const BUSY: EngineConfigInput = {
  shape: [100, 100],
  seed: 3,
  thermo: { maxEntropy: 4000 },
  energy: { solarPer1000Ticks: 20000, maxCoveragePerMille: 80 },
  decay: { delayTicks: 400 },
  mutation: {
    substitutionPerMille: 500,
    insertionPerMille: 200,
    deletionPerMille: 200,
    labelRewritePerMille: 200,
  },
};
const INPUT: EngineConfigInput = {
  ...BUSY,
  intervals: { sampling: 5, accumulatedDelta: 2, snapshot: 4, chunk: 2 },
};
const T = 6000;

function config(input: EngineConfigInput = INPUT): EngineConfig {
  return resolveEngineConfig(input, ancestorPlacement(8, 20000));
}

function freshStream(engine: Engine, config: EngineConfig): TickStream {
  return new TickStream(engine.sim, { intervals: config.intervals, runId: "run", clock: () => 0 });
}

/** Digest of the state seen from outside the checkpoint code: cells, organisms, RNG, plugins. */
function stateDigest(engine: Engine): string {
  const { sim } = engine;
  const h = createHash("sha256");
  h.update(new Uint8Array(sim.world.cells.buffer));
  h.update(new Uint8Array(sim.world.owners.buffer));
  const organisms = [...sim.organisms, ...sim.pendingDead].map((o) => ({
    ...o,
    dps: [...o.dps],
    dr: [...o.dr],
    lr: [...o.lr],
    locationStack: o.locationStack.map((v) => [...v]),
    rng: o.rng.state(),
    labelCache: o.labelCache === null ? [] : [...o.labelCache].sort((x, y) => x[0] - y[0]),
  }));
  h.update(JSON.stringify(organisms));
  h.update(JSON.stringify([
    sim.tick,
    sim.rng.state(),
    sim.nextOrganismId,
    sim.organismsCreated,
    sim.births,
    sim.deaths,
    sim.instructionsExecuted,
    engine.energy.state(),
    engine.decay.state(),
    engine.mutation.counts,
  ]));
  return h.digest("hex");
}

/** What a run emitted: chunk bytes by index, checkpoints by tick, the final state. */
interface Run {
  chunks: Map<number, Uint8Array>;
  checkpoints: Map<number, EncodedCheckpoint>;
  /** Checkpoint at the last tick, taken before the flush. */
  final: EncodedCheckpoint;
  digest: string;
}

/** Decides after a tick (and the chunk it closed, if any) whether to take a checkpoint there. */
type CheckpointWhen = (engine: Engine, stream: TickStream, chunk: EncodedChunk | null) => boolean;

/**
 * Runs `engine` to `until` the way the engine service does (observe after every step, flush
 * at the end), taking a checkpoint after each tick `when` accepts, and one at the end before
 * the flush.
 */
function drive(
  engine: Engine,
  stream: TickStream,
  until: number,
  when: CheckpointWhen = () => false,
): Run {
  const { sim } = engine;
  const chunks = new Map<number, Uint8Array>();
  const checkpoints = new Map<number, EncodedCheckpoint>();
  const after = (c: ReturnType<TickStream["observe"]>) => {
    if (c !== null) chunks.set(c.index, c.bytes);
    if (when(engine, stream, c)) checkpoints.set(sim.tick, checkpointEngine(engine, stream));
  };
  after(stream.observe());
  while (sim.tick < until) {
    sim.step();
    after(stream.observe());
  }
  const final = checkpointEngine(engine, stream);
  const last = stream.flush();
  if (last !== null) chunks.set(last.index, last.bytes);
  return { chunks, checkpoints, final, digest: stateDigest(engine) };
}

/** A fresh engine under `cfg` driven to `until`. */
function runFresh(cfg: EngineConfig, until: number, when?: CheckpointWhen): Run {
  const engine = createEngine(cfg);
  return drive(engine, freshStream(engine, cfg), until, when);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Asserts that `b` emitted exactly A's chunks from index `from` on. */
function assertSameChunksFrom(a: Run, b: Run, from: number, label: string): void {
  const want = [...a.chunks.keys()].filter((i) => i >= from);
  assert.deepEqual([...b.chunks.keys()], want, `${label}: chunk indices`);
  for (const i of want) assert.ok(same(b.chunks.get(i)!, a.chunks.get(i)!), `${label}: chunk ${i}`);
}

/** Restores `checkpoint` under `cfg` and runs on to `until`. */
function continueFrom(checkpoint: EncodedCheckpoint, cfg: EngineConfig, until: number): Run {
  const { engine, stream } = restoreEngine(checkpoint.bytes, cfg, { clock: () => 0 });
  assert.equal(engine.sim.tick, checkpoint.tick);
  return drive(engine, stream, until);
}

/**
 * Where run B takes checkpoints: tick 0 (inside the first chunk), the first chunk boundary
 * (tick 35), a boundary in the middle, a tick between two chunks, a sample tick and a tick
 * between samples inside a chunk, and the first tick after 2500 inside a chunk with deaths
 * waiting for the next sample.
 */
function interestingTicks(): CheckpointWhen {
  const fixed = new Set([0, 35, 1995, 2037, 3010, 3013]);
  let deadPendingTaken = false;
  return ({ sim }, stream) => {
    if (fixed.has(sim.tick)) return true;
    if (deadPendingTaken || sim.tick < 2500 || !stream.isOpen) return false;
    deadPendingTaken = sim.pendingDead.length > 0;
    return deadPendingTaken;
  };
}

let shared: { a: Run; b: Run } | undefined;

/** Run A (uninterrupted) and run B (the same, taking checkpoints), computed once. */
function runs(): { a: Run; b: Run } {
  shared ??= { a: runFresh(CONFIG, T), b: runFresh(CONFIG, T, interestingTicks()) };
  return shared;
}

const CONFIG = config();

Deno.test("taking checkpoints does not change the run's chunks", () => {
  const { a, b } = runs();
  assert.ok(a.chunks.size > 100);
  assertSameChunksFrom(a, b, 0, "run B");
  assert.equal(b.digest, a.digest);
  assert.equal(b.checkpoints.size, 7);
});

Deno.test("a run restored from a checkpoint emits the uninterrupted run's chunks byte for byte", () => {
  const { a, b } = runs();
  for (const cp of [...b.checkpoints.values(), b.final]) {
    const label = `checkpoint at tick ${cp.tick}`;
    const c = continueFrom(cp, CONFIG, T);
    assertSameChunksFrom(a, c, cp.chunks, label);
    assert.equal(c.digest, a.digest, `${label}: final state`);
    assert.ok(same(c.final.bytes, a.final.bytes), `${label}: final checkpoint`);
  }
});

Deno.test("the checkpoints cover chunk boundaries, open chunks, pending deaths, decay and label caches", () => {
  const { b } = runs();
  const decoded = [...b.checkpoints.values()].map((cp) => decodeCheckpoint(cp.bytes));
  const at = (tick: number) => decoded.find((d) => Number(d.tick) === tick)!;
  assert.equal(at(35).stream!.openChunk, undefined, "tick 35 closes chunk 0");
  assert.equal(Number(at(35).stream!.chunkIndex), 1);
  assert.equal(at(2037).stream!.openChunk, undefined, "tick 2037 lies between two chunks");
  assert.equal(at(2037).stream!.tickSampled, true);
  const inside = at(3013).stream!.openChunk!;
  assert.equal(inside.sampleCount, 3, "ticks 3000, 3005, 3010 sampled");
  assert.ok(inside.snapshotChanges.length > 0);
  assert.ok(decoded.some((d) => (d.stream!.openChunk?.sampleChanges.length ?? 0) > 0));
  assert.ok(decoded.some((d) => d.deadPending.length > 0), "no checkpoint with pending deaths");
  assert.ok(decoded.some((d) => d.decay!.cells.length > 0), "no checkpoint with decay pending");
  assert.ok(decoded.some((d) => d.organisms.some((o) => o.labelCacheValues.length > 0)));
  assert.ok(decoded.some((d) => d.organisms.length > 8), "no births by then");
  assert.ok(decoded.some((d) => d.mutation!.substitutions > 0n), "no mutations by then");
});

Deno.test("a restored engine checkpoints to the very bytes it was restored from", () => {
  const { b } = runs();
  for (const cp of [...b.checkpoints.values(), b.final]) {
    const { engine, stream } = restoreEngine(cp.bytes, CONFIG, { clock: () => 0 });
    const again = checkpointEngine(engine, stream);
    assert.ok(same(again.bytes, cp.bytes), `checkpoint at tick ${cp.tick}`);
    assert.deepEqual({ ...again, bytes: null }, { ...cp, bytes: null });
  }
});

Deno.test("checkpoint encode, decode, encode is byte-identical", () => {
  const { b } = runs();
  for (const cp of b.checkpoints.values()) {
    assert.ok(same(encodeCheckpoint(decodeCheckpoint(cp.bytes)), cp.bytes), `tick ${cp.tick}`);
  }
});

Deno.test("a checkpoint taken before the first sample restores to the run from its start", () => {
  const { a } = runs();
  const engine = createEngine(CONFIG);
  const first = checkpointEngine(engine, freshStream(engine, CONFIG));
  assert.equal(first.tick, 0);
  assert.equal(decodeCheckpoint(first.bytes).stream!.tickSampled, false);
  const c = continueFrom(first, CONFIG, T);
  assertSameChunksFrom(a, c, 0, "from tick 0");
  assert.equal(c.digest, a.digest);
});

Deno.test("the final checkpoint of a run continued to twice its length equals the longer run", () => {
  const { a } = runs();
  const half = runFresh(CONFIG, T / 2);
  assert.ok(half.final.insideChunk, "tick 3000 opens a chunk: the short run flushed it short");
  const extended = continueFrom(half.final, CONFIG, T);
  assertSameChunksFrom(a, extended, half.final.chunks, "extended");
  assert.equal(extended.digest, a.digest);
  for (const [i, bytes] of half.chunks) {
    if (i < half.final.chunks) assert.ok(same(bytes, a.chunks.get(i)!), `chunk ${i}`);
  }
});

Deno.test("with the default intervals a checkpoint follows every chunk and each continues exactly", () => {
  const cfg = config({ ...BUSY, seed: 8 });
  assert.equal(cfg.intervals.checkpoint, 1);
  const a = runFresh(cfg, 1500, (_e, _s, c) => c !== null && checkpointDue(cfg.intervals, c));
  assert.deepEqual([...a.checkpoints.keys()], [490, 990, 1490]);
  for (const cp of a.checkpoints.values()) {
    assert.equal(cp.insideChunk, false);
    const c = continueFrom(cp, cfg, 1500);
    assertSameChunksFrom(a, c, cp.chunks, `tick ${cp.tick}`);
    assert.equal(c.digest, a.digest);
  }
});

Deno.test("checkpointDue counts chunks: every Nth chunk, never with 0", () => {
  const chunk = (index: number) => ({
    index,
    firstTick: 0,
    lastTick: 0,
    sampleCount: 1,
    bytes: new Uint8Array(),
  });
  const intervals = (checkpoint: number) => ({ ...CONFIG.intervals, checkpoint });
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].filter((i) => checkpointDue(intervals(3), chunk(i))),
    [2, 5],
  );
  assert.equal([0, 1, 2].some((i) => checkpointDue(intervals(0), chunk(i))), false);
  assert.equal([0, 1, 2].every((i) => checkpointDue(intervals(1), chunk(i))), true);
});

/** Run B's checkpoint at the end of chunk 0 (tick 35), for the refusal tests. */
function someCheckpoint(): Uint8Array {
  return runs().b.checkpoints.get(35)!.bytes;
}

Deno.test("restoring under another config is refused naming the field that differs", () => {
  const bytes = someCheckpoint();
  const cases: [EngineConfigInput, RegExp][] = [
    [{ ...INPUT, seed: 4 }, /seed is "3" in the checkpoint, "4" in this config/],
    [
      { ...INPUT, thermo: { maxEnergy: 50000 } },
      /thermo\.maxEnergy is 60000 in the checkpoint, 50000 in this config/,
    ],
    [{ ...INPUT, shape: [128, 100] }, /shape\[0\] is 100 in the checkpoint, 128 in this config/],
    [
      { ...INPUT, intervals: { ...INPUT.intervals, sampling: 10 } },
      /intervals\.sampling is 5 in the checkpoint, 10 in this config/,
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => restoreEngine(bytes, config(input)), (e: unknown) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(
        e.message,
        /^Cannot restore checkpoint: it was taken with another engine config: /,
      );
      assert.match(e.message, message);
      return true;
    });
  }
  const others = resolveEngineConfig(INPUT, ancestorPlacement(9, 20000));
  assert.throws(
    () => restoreEngine(bytes, others),
    /programs\[0\]\.count is 8 in the checkpoint, 9 in this config/,
  );
});

Deno.test("the checkpoint cadence may differ when restoring: it changes no chunk", () => {
  const { a, b } = runs();
  const cp = b.checkpoints.get(1995)!;
  const cfg = config({ ...INPUT, intervals: { ...INPUT.intervals, checkpoint: 0 } });
  const c = continueFrom(cp, cfg, T);
  assertSameChunksFrom(a, c, cp.chunks, "cadence 0");
});

Deno.test("a checkpoint of a newer format version is refused naming both versions", () => {
  const message = decodeCheckpoint(someCheckpoint());
  message.formatVersion = CHECKPOINT_FORMAT_VERSION + 2;
  const newer = encodeCheckpoint(message);
  assert.throws(
    () => restoreEngine(newer, CONFIG),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError);
      assert.equal(
        e.message,
        `Cannot restore checkpoint: format version ${
          CHECKPOINT_FORMAT_VERSION + 2
        } is newer than this engine reads (${CHECKPOINT_FORMAT_VERSION}); restore it with a newer Evochora`,
      );
      return true;
    },
  );
});

Deno.test("a checkpoint of another engine version is refused naming both versions", () => {
  const message = decodeCheckpoint(someCheckpoint());
  message.engineVersion = "0.9.0";
  assert.throws(
    () => restoreEngine(encodeCheckpoint(message), CONFIG),
    /^CheckpointError: Cannot restore checkpoint: it was taken by engine 0\.9\.0, this is engine \d/,
  );
});

Deno.test("bytes that are no checkpoint are refused with the reason", () => {
  assert.throws(
    () => restoreEngine(new Uint8Array(0), CONFIG),
    /do not start with a format version/,
  );
  assert.throws(
    () => restoreEngine(new TextEncoder().encode("hello, world"), CONFIG),
    /do not start with a format version/,
  );
  const truncated = someCheckpoint().subarray(0, 5000);
  assert.throws(
    () => restoreEngine(truncated, CONFIG),
    /^CheckpointError: Cannot restore checkpoint: its 5000 bytes do not parse/,
  );
});

Deno.test("a checkpoint with parts missing is refused naming the part", () => {
  const message = decodeCheckpoint(someCheckpoint());
  message.counters = undefined;
  assert.throws(
    () => restoreEngine(encodeCheckpoint(message), CONFIG),
    /Cannot restore checkpoint: it has no counters/,
  );
});

Deno.test("a checkpoint whose cells lie outside the world is refused as a bad checkpoint", () => {
  const message = decodeCheckpoint(someCheckpoint());
  message.world!.positionSteps[0] = 10 ** 6;
  assert.throws(
    () => restoreEngine(encodeCheckpoint(message), CONFIG),
    /^CheckpointError: Cannot restore checkpoint: Cell position \d+ lies outside a world of 10000 cells/,
  );
});
