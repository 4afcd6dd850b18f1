/**
 * The engine alone with its chunks encoded on the engine's thread (the default on two cores)
 * and on a chunk encoder thread (services/simulation_engine/chunk_encoder_thread.ts), in
 * alternating rounds of one process: ticks/s, and what the tick stream costs the engine's
 * thread beside the simulation in each case.
 *
 * @module
 */

import {
  ancestorPlacement,
  createEngine,
  type EncodedChunk,
  resolveEngineConfig,
  TickStream,
} from "../services/simulation_engine/runtime/mod.ts";
import { ChunkEncoderThread } from "../services/simulation_engine/chunk_encoder_thread.ts";
import type { Figure, Suite } from "./_harness.ts";

/** One round's wall time, and the engine thread's time in the simulation and the tick stream. */
interface Round {
  ms: number;
  simMs: number;
  /** Sampling and encoding (inline), or capturing and handing over (worker). */
  streamMs: number;
  /** Of streamMs: waiting for the encoder thread to catch up (worker only). */
  waitMs: number;
  bytes: number;
}

/**
 * The default 256x256 world (seed 42) for `ticks`, encoding inline, on `encoder`, or (encoder
 * "none") not at all: each capture is handed straight back, which measures capturing alone.
 */
async function engineRound(
  ticks: number,
  encoder?: ChunkEncoderThread | "none",
): Promise<Round> {
  const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
  const engine = createEngine(config);
  const stream = new TickStream(engine.sim, {
    intervals: config.intervals,
    runId: "bench",
    capture: encoder !== undefined,
  });
  const r: Round = { ms: 0, simMs: 0, streamMs: 0, waitMs: 0, bytes: 0 };
  // Up to three chunks being encoded, as the engine service lets its encoder work ahead.
  const pending: Promise<EncodedChunk>[] = [];
  const observe = async () => {
    if (encoder === undefined) {
      r.bytes += stream.observe()?.bytes.length ?? 0;
      return;
    }
    const capture = stream.capture();
    if (capture === null) return;
    if (encoder === "none") return stream.recycle(capture);
    pending.push(encoder.encode(capture, stream.recycle));
    if (pending.length > 3) {
      const w = performance.now();
      r.bytes += (await pending.shift()!).bytes.length;
      r.waitMs += performance.now() - w;
    }
  };
  const start = performance.now();
  await observe();
  for (let t = 0; t < ticks; t++) {
    const a = performance.now();
    engine.sim.step();
    const b = performance.now();
    await observe();
    r.streamMs += performance.now() - b;
    r.simMs += b - a;
  }
  for (const p of pending) r.bytes += (await p).bytes.length;
  r.ms = performance.now() - start;
  return r;
}

function best(rounds: Round[]): Round {
  return rounds.reduce((a, b) => (b.ms < a.ms ? b : a));
}

/** See the module doc. */
export const encoderThreadFigures: Suite = {
  name: "engine: chunks encoded on the engine's thread vs on a chunk encoder thread " +
    "(256x256, seed 42, 30000 ticks)",
  async run(): Promise<Figure[]> {
    const ticks = 30000;
    const encoder = new ChunkEncoderThread();
    encoder.warmUp();
    try {
      await engineRound(3000, encoder); // the thread's code compiled before the rounds
      const inline: Round[] = [];
      const worker: Round[] = [];
      const captureOnly: Round[] = [];
      for (let i = 0; i < 3; i++) {
        inline.push(await engineRound(ticks));
        worker.push(await engineRound(ticks, encoder));
        captureOnly.push(await engineRound(ticks, "none"));
      }
      const a = best(inline);
      const b = best(worker);
      const c = best(captureOnly);
      if (a.bytes !== b.bytes) throw new Error(`chunk bytes differ: ${a.bytes} vs ${b.bytes}`);
      return [
        { name: "engine alone, encoding inline", value: ticks / (a.ms / 1000), unit: "ticks/s" },
        {
          name: "engine alone, encoding on a chunk encoder thread",
          value: ticks / (b.ms / 1000),
          unit: "ticks/s",
          ratio: a.ms / b.ms,
          ratioOf: "encoding inline",
        },
        {
          name: "inline: tick stream (sample + encode) time / simulation time",
          value: a.streamMs / a.simMs,
          unit: "×",
        },
        {
          name: "encoder thread: tick stream on the engine's thread (capture, hand over, " +
            "waits) / simulation time",
          value: b.streamMs / b.simMs,
          unit: "×",
        },
        {
          name: "capturing alone (each capture handed straight back, nothing encoded) / " +
            "simulation time",
          value: c.streamMs / c.simMs,
          unit: "×",
        },
        {
          name: "encoder thread: of which waiting for the encoder / simulation time",
          value: b.waitMs / b.simMs,
          unit: "×",
        },
        { name: "chunk bytes (equal in both)", value: b.bytes / 1e6, unit: "MB" },
      ];
    } finally {
      encoder.close();
    }
  },
};
