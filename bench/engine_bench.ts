/**
 * Engine benchmarks: organism-instructions/s and ticks/s by world size and population, bytes
 * per snapshot and delta, chunk encoding speed, and the zstd-3 ratio on real chunks.
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import {
  fromBinary,
  TickDataChunkSchema,
  TickDataSchema,
  TickDeltaSchema,
  toBinary,
} from "../proto/mod.ts";
import {
  ancestorPlacement,
  createEngine,
  type EncodedChunk,
  resolveEngineConfig,
  TickStream,
} from "../services/simulation_engine/runtime/mod.ts";
import { cpuSeconds, type Figure, type Suite } from "./_harness.ts";

const WORLDS: [string, number[]][] = [
  ["256x256", [256, 256]],
  ["1024x1024", [1024, 1024]],
  ["2048x1152", [2048, 1152]],
];

function throughput(shape: number[], organisms: number, ticks: number) {
  const config = resolveEngineConfig(
    { shape, seed: 1, mutation: {} },
    ancestorPlacement(organisms, 20000),
  );
  const { sim } = createEngine(config);
  const placed = sim.organisms.length;
  const i0 = sim.instructionsExecuted;
  const start = performance.now();
  for (let t = 0; t < ticks; t++) sim.step();
  const secs = (performance.now() - start) / 1000;
  return {
    placed,
    ips: (sim.instructionsExecuted - i0) / secs,
    tps: ticks / secs,
    alive: sim.organisms.length,
  };
}

/** Instructions per second across world sizes and populations. */
export const engineThroughput: Suite = {
  name: "engine: organism-instructions/s (one core)",
  run() {
    const out: Figure[] = [];
    let base = 0;
    for (const [label, shape] of WORLDS) {
      for (const n of [100, 1000]) {
        const ticks = n === 100 ? 3000 : 600;
        const r = throughput(shape, n, ticks);
        if (base === 0) base = r.ips;
        out.push({
          name: `${label}, ${r.placed} organisms placed (asked ${n}), ${ticks} ticks`,
          value: r.ips,
          unit: "instr/s",
          ratio: r.ips / base,
          ratioOf: "of 256x256/100",
        });
        out.push({
          name: `${label}, ${r.placed} organisms: ticks/s`,
          value: r.tps,
          unit: "ticks/s",
        });
      }
    }
    return out;
  },
};

/**
 * The engine alone, as the pipeline suites compare against it: the default 256x256 world
 * (seed 42) with its tick stream for `ticks` ticks, the chunks dropped. Wall ms and CPU seconds.
 */
export function engineAloneRun(ticks: number): { ms: number; cpu: number } {
  const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "bench" });
  const t = performance.now();
  const c = cpuSeconds();
  stream.observe();
  for (let i = 0; i < ticks; i++) {
    engine.sim.step();
    stream.observe();
  }
  stream.flush();
  return { ms: performance.now() - t, cpu: cpuSeconds() - c };
}

/** Runs the default 256x256 world and collects its encoded chunks. */
export function evolvedChunks(
  ticks: number,
): {
  chunks: EncodedChunk[];
  engineMs: number;
  streamMs: number;
  /** Organism-instructions and wall ms (simulation and tick stream) over the last third. */
  late: { instructions: number; ms: number };
} {
  const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "bench" });
  const chunks: EncodedChunk[] = [];
  let engineMs = 0;
  let streamMs = 0;
  const late = { instructions: 0, ms: 0 };
  stream.observe();
  for (let t = 0; t < ticks; t++) {
    if (t === Math.floor(ticks * 2 / 3)) late.instructions = -engine.sim.instructionsExecuted;
    const a = performance.now();
    engine.sim.step();
    const b = performance.now();
    const c = stream.observe();
    const e = performance.now();
    streamMs += e - b;
    engineMs += b - a;
    if (t >= Math.floor(ticks * 2 / 3)) late.ms += e - a;
    if (c) chunks.push(c);
  }
  late.instructions += engine.sim.instructionsExecuted;
  const last = stream.flush();
  if (last) chunks.push(last);
  return { chunks, engineMs, streamMs, late };
}

/** Sizes and compression of real chunks from an evolved 256x256 run. */
export const chunkFigures: Suite = {
  name: "engine: chunk sizes, encoding and zstd-3 (256x256, seed 42, default intervals)",
  run() {
    const ticks = 30000;
    const { chunks: all, engineMs, streamMs, late } = evolvedChunks(ticks);
    const evolved = all.slice(Math.floor(all.length * 2 / 3)); // ticks 20000..30000
    const raw = all.reduce((n, c) => n + c.bytes.length, 0);
    let decodeMs = performance.now();
    const messages = evolved.map((c) => fromBinary(TickDataChunkSchema, c.bytes));
    decodeMs = performance.now() - decodeMs;
    const evolvedRaw = evolved.reduce((n, c) => n + c.bytes.length, 0);
    let snapBytes = 0;
    let deltaBytes = 0;
    let deltas = 0;
    for (const c of messages) {
      snapBytes += toBinary(TickDataSchema, c.snapshot!).length;
      for (const d of c.deltas) {
        deltaBytes += toBinary(TickDeltaSchema, d).length;
        deltas++;
      }
    }
    let protoEsMs = performance.now();
    for (const c of messages) toBinary(TickDataChunkSchema, c);
    protoEsMs = performance.now() - protoEsMs;
    let zMs = performance.now();
    let stored = 0;
    for (const c of evolved) {
      stored += zstdCompressSync(c.bytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } })
        .length;
    }
    zMs = performance.now() - zMs;
    const streamMBs = raw / 1e6 / (streamMs / 1000);
    const iv = resolveEngineConfig({ shape: [256, 256] }, ancestorPlacement()).intervals;
    const chunkSamples = iv.snapshot * iv.chunk;
    const chunkTicks = chunkSamples * iv.sampling;
    const protoEsMBs = evolvedRaw / 1e6 / (protoEsMs / 1000);
    const zMBs = evolvedRaw / 1e6 / (zMs / 1000);
    return [
      { name: "bytes per snapshot (TickData)", value: snapBytes / messages.length, unit: "B" },
      { name: "bytes per delta (TickDelta)", value: deltaBytes / Math.max(1, deltas), unit: "B" },
      {
        name: `bytes per chunk (${chunkTicks} ticks, ${chunkSamples} samples)`,
        value: evolvedRaw / evolved.length,
        unit: "B",
      },
      { name: "tick stream: sample + encode, direct writer", value: streamMBs, unit: "MB/s" },
      {
        name: "protobuf-es toBinary of the same chunks",
        value: protoEsMBs,
        unit: "MB/s",
        ratio: streamMBs / protoEsMBs,
        ratioOf: "direct writer vs protobuf-es",
      },
      {
        name: "protobuf-es fromBinary (readers)",
        value: evolvedRaw / 1e6 / (decodeMs / 1000),
        unit: "MB/s",
      },
      {
        name: "zstd-3 compress of the same bytes",
        value: zMBs,
        unit: "MB/s",
        ratio: zMBs / streamMBs,
        ratioOf: "of the tick stream",
      },
      { name: "zstd-3 ratio (raw / compressed)", value: evolvedRaw / stored, unit: "×" },
      {
        name: `tick stream time / engine time over ${ticks} ticks`,
        value: streamMs / engineMs,
        unit: "×",
      },
      {
        name: `end to end (simulation + tick stream), ticks ${ticks * 2 / 3}..${ticks}`,
        value: late.instructions / (late.ms / 1000),
        unit: "instr/s",
      },
    ];
  },
};
