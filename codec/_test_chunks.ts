/**
 * Test fixture for the codec tests: the encoded chunks of one small real engine run, made once
 * per test process. The run has what the fast paths must get right: births, deaths (death and
 * failure reasons), mutations, every delta type, organisms near the world's edges.
 *
 * Tests only: it imports the engine, which itself builds on codec/.
 *
 * @module
 */

import { TickStream } from "../services/simulation_engine/runtime/tick_stream.ts";
import { ancestorPlacement, createEngine } from "../services/simulation_engine/runtime/engine.ts";
import { resolveEngineConfig } from "../services/simulation_engine/runtime/engine_config.ts";

/** Ticks of the fixture run: deaths start around tick 4500 with the low entropy limit. */
export const TEST_RUN_TICKS = 6000;

/** The fixture run's world: 256 x 64. */
export const TEST_RUN_SHAPE: readonly number[] = [256, 64];

let cached: Uint8Array[] | undefined;

/**
 * The encoded TickDataChunks of the fixture run, in order (the last one partial). Shared
 * between tests: do not modify.
 */
export function testRunChunks(): readonly Uint8Array[] {
  if (cached !== undefined) return cached;
  const config = resolveEngineConfig({
    shape: [...TEST_RUN_SHAPE],
    seed: 5,
    programs: [ancestorPlacement(16)],
    thermo: { maxEntropy: 6000 },
    mutation: { substitutionPerMille: 300 },
    intervals: { sampling: 10, accumulatedDelta: 2, snapshot: 5, chunk: 2 },
  });
  const { sim } = createEngine(config);
  const stream = new TickStream(sim, { intervals: config.intervals, runId: "codec-ü-run" });
  const chunks: Uint8Array[] = [];
  const keep = (c: { bytes: Uint8Array } | null) => {
    if (c !== null) chunks.push(c.bytes);
  };
  keep(stream.observe());
  for (let t = 0; t < TEST_RUN_TICKS; t++) {
    sim.step();
    keep(stream.observe());
  }
  keep(stream.flush());
  cached = chunks;
  return chunks;
}
