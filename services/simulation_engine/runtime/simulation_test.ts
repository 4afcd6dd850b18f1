import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeTickDataChunk, replayChunk } from "../../../codec/mod.ts";
import { ancestorPlacement, createEngine } from "./engine.ts";
import { type EngineConfigInput, resolveEngineConfig } from "./engine_config.ts";
import { TickStream } from "./tick_stream.ts";

function runHash(input: EngineConfigInput, ticks: number): string {
  const config = resolveEngineConfig(input, ancestorPlacement());
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, {
    intervals: config.intervals,
    runId: "",
    clock: () => 0,
  });
  const hash = createHash("sha256");
  const emit = (c: ReturnType<TickStream["observe"]>) => {
    if (c) hash.update(c.bytes);
  };
  emit(stream.observe());
  for (let t = 0; t < ticks; t++) {
    engine.sim.step();
    emit(stream.observe());
  }
  emit(stream.flush());
  return hash.digest("hex");
}

Deno.test("the same seed gives byte-identical chunks, another seed other chunks", () => {
  const a = runHash({ shape: [256, 64], seed: 11 }, 4000);
  const b = runHash({ shape: [256, 64], seed: 11 }, 4000);
  const c = runHash({ shape: [256, 64], seed: 12 }, 4000);
  assert.equal(a, b);
  assert.notEqual(a, c);
});

Deno.test("the shipped ancestor evolves: a population with many generations and genomes", () => {
  // A cheaper pin of the 100000-tick acceptance run (see README): same world, fewer ticks.
  const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
  const { sim, mutation } = createEngine(config);
  for (let t = 0; t < 25000; t++) sim.step();
  const genomes = new Set(sim.organisms.map((o) => o.genomeHash));
  const maxGeneration = Math.max(...sim.organisms.map((o) => o.generation));
  assert.ok(sim.organisms.length >= 50, `alive ${sim.organisms.length}`);
  assert.ok(maxGeneration >= 5, `max generation ${maxGeneration}`);
  assert.ok(genomes.size >= 5, `distinct genomes ${genomes.size}`);
  assert.ok(mutation.counts.substitution > 0);
});

Deno.test("a 3D world runs a program that reproduces along z and replays exactly", () => {
  const source = `
START:
  SMRI DATA:1
  SETI %DR0 DATA:7
  POKE %DR0 0|0|1
  SETI %DR1 DATA:500
  SEEK 0|0|1
  FORK %DR1 0|0|1
  NOP^3
`;
  const config = resolveEngineConfig({
    shape: [48, 16, 8],
    topology: "bounded",
    seed: 5,
    energy: { initialCount: 20, solarPer1000Ticks: 0, geysers: 0 },
    intervals: { sampling: 1, accumulatedDelta: 2, snapshot: 3, chunk: 1 },
    programs: [{ name: "z", source, count: 1, energy: 5000 }],
  });
  const engine = createEngine(config);
  const sim = engine.sim;
  const stream = new TickStream(sim, { intervals: config.intervals, runId: "3d" });
  const states = new Map<number, Int32Array>();
  const chunks = [stream.observe()];
  for (let t = 0; t < 12; t++) {
    sim.step();
    states.set(sim.tick, sim.world.cells.slice());
    chunks.push(stream.observe());
  }
  chunks.push(stream.flush());
  const child = sim.organisms.find((o) => o.parentId !== 0);
  assert.ok(child, "FORK should have created a child");
  // The child's body is the one marked cell, and its IP started there heading up the z axis.
  assert.equal(sim.world.owners[sim.world.flatOf([24, 8, 5])], child.id);
  assert.equal(child.bodySize, 1);
  assert.equal(child.direction().join(","), "0,0,1");
  let checked = 0;
  for (const c of chunks) {
    if (c === null) continue;
    for (const s of replayChunk(decodeTickDataChunk(c.bytes), sim.world.size)) {
      if (s.tick === 0) continue;
      const want = states.get(s.tick)!;
      const diff = [...want.keys()].filter((i) => want[i] !== s.cells[i]);
      assert.deepEqual(
        diff,
        [],
        `tick ${s.tick}: cells ${diff.slice(0, 5).map((i) => `${i}:${want[i]}/${s.cells[i]}`)}`,
      );
      checked++;
    }
  }
  assert.equal(checked, 12);
});
