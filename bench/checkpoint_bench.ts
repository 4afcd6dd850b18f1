/**
 * Checkpoint cost on the evolved 256x256 world (seed 42, default intervals: a checkpoint after
 * every chunk): bytes per checkpoint raw and zstd-3, time to take (capture + encode)
 * and to restore one, and the engine's ticks/s (simulation + tick stream) with checkpoints at
 * the default cadence vs without, over the same ticks from the same state, side by side.
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import {
  ancestorPlacement,
  checkpointDue,
  checkpointEngine,
  createEngine,
  type EncodedCheckpoint,
  type EncodedChunk,
  type EngineConfig,
  resolveEngineConfig,
  restoreEngine,
  TickStream,
} from "../services/simulation_engine/runtime/mod.ts";
import { decodeCheckpoint } from "../codec/mod.ts";
import type { Figure, Suite } from "./_harness.ts";

const WARM_UP_TICKS = 20000;
const MEASURED_TICKS = 10000;

function zstd3(bytes: Uint8Array): number {
  return zstdCompressSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } }).length;
}

/** Runs a fresh 256x256 engine to WARM_UP_TICKS and returns the checkpoint taken there. */
function evolvedCheckpoint(config: EngineConfig): EncodedCheckpoint {
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "bench" });
  stream.observe();
  while (engine.sim.tick < WARM_UP_TICKS) {
    engine.sim.step();
    stream.observe();
  }
  return checkpointEngine(engine, stream);
}

/** One measured stretch from `start`: ticks/s, and what the checkpoints (if on) cost. */
function stretch(start: EncodedCheckpoint, config: EngineConfig, checkpoints: boolean) {
  const { engine, stream } = restoreEngine(start.bytes, config);
  const taken: EncodedCheckpoint[] = [];
  const chunks: EncodedChunk[] = [];
  let checkpointMs = 0;
  const t0 = performance.now();
  const until = start.tick + MEASURED_TICKS;
  while (engine.sim.tick < until) {
    engine.sim.step();
    const c = stream.observe();
    if (c === null) continue;
    chunks.push(c);
    if (checkpoints && checkpointDue(config.intervals, c)) {
      const t = performance.now();
      taken.push(checkpointEngine(engine, stream));
      checkpointMs += performance.now() - t;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  return { tps: MEASURED_TICKS / secs, taken, chunks, checkpointMs };
}

/** Median of the restore times of `checkpoints` (decode + rebuild), in ms. */
function restoreMs(checkpoints: EncodedCheckpoint[], config: EngineConfig) {
  const decode: number[] = [];
  const restore: number[] = [];
  for (const cp of checkpoints) {
    let t = performance.now();
    decodeCheckpoint(cp.bytes);
    decode.push(performance.now() - t);
    t = performance.now();
    restoreEngine(cp.bytes, config);
    restore.push(performance.now() - t);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { decode: median(decode), restore: median(restore) };
}

/** Checkpoint size and cost, and engine ticks/s with checkpoints on vs off. */
export const checkpointFigures: Suite = {
  name: "checkpoint: size, write and restore time, engine ticks/s on vs off " +
    `(256x256, seed 42, default intervals, ticks ${WARM_UP_TICKS}..` +
    `${WARM_UP_TICKS + MEASURED_TICKS})`,
  run() {
    const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
    const start = evolvedCheckpoint(config);
    // Alternating rounds from the same state: the machine's load drifts, both sides share it.
    const off: number[] = [];
    const on: number[] = [];
    let measured = stretch(start, config, true);
    for (let round = 0; round < 2; round++) {
      off.push(stretch(start, config, false).tps);
      measured = stretch(start, config, true);
      on.push(measured.tps);
    }
    const { taken, chunks, checkpointMs } = measured;
    const raw = taken.reduce((n, c) => n + c.bytes.length, 0) / taken.length;
    const sample = taken.filter((_, i) => i % 5 === 0);
    const zstd = sample.reduce((n, c) => n + zstd3(c.bytes), 0) / sample.length;
    const chunkBytes = chunks.reduce((n, c) => n + c.bytes.length, 0) / chunks.length;
    const times = restoreMs(sample, config);
    const best = (v: number[]) => Math.max(...v);
    const writeMs = checkpointMs / taken.length;
    const { sampling, snapshot, chunk } = config.intervals;
    const chunkTicks = sampling * snapshot * chunk;
    const figures: Figure[] = [
      {
        name: `checkpoints taken (one per chunk of ${chunkTicks} ticks)`,
        value: taken.length,
        unit: "",
      },
      { name: "organisms alive at the last checkpoint", value: organismsAt(taken), unit: "" },
      {
        name: "bytes per checkpoint (raw)",
        value: raw,
        unit: "B",
        ratio: raw / chunkBytes,
        ratioOf: "of a chunk's bytes",
      },
      {
        name: "bytes per checkpoint (zstd-3)",
        value: zstd,
        unit: "B",
        ratio: raw / zstd,
        ratioOf: "compression",
      },
      { name: "write: capture + encode per checkpoint", value: writeMs, unit: "ms" },
      { name: "read: decode per checkpoint", value: times.decode, unit: "ms" },
      { name: "restore: decode + rebuild engine and stream", value: times.restore, unit: "ms" },
      { name: "engine + tick stream, checkpoints off", value: best(off), unit: "ticks/s" },
      {
        name: "engine + tick stream, checkpoints after every chunk",
        value: best(on),
        unit: "ticks/s",
        ratio: best(on) / best(off),
        ratioOf: "of checkpoints off",
      },
      {
        name: "share of the run spent taking checkpoints",
        value: checkpointMs / (MEASURED_TICKS / measured.tps * 1000),
        unit: "×",
      },
    ];
    return figures;
  },
};

function organismsAt(taken: EncodedCheckpoint[]): number {
  const last = taken.at(-1);
  return last === undefined ? 0 : decodeCheckpoint(last.bytes).organisms.length;
}
