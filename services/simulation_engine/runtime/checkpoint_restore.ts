/**
 * Restoring a checkpoint (see checkpoint.ts): an engine and a tick stream that continue exactly
 * where the checkpointed ones stood, so that every chunk emitted afterwards is byte-identical
 * to the uninterrupted run's.
 *
 * The engine is first built from the config as at the start of a run (programs assembled and
 * placed: that yields the same placed programs for the run's metadata and proves the config
 * builds), then every piece of state is replaced by the checkpoint's.
 *
 * @module
 */

import { CheckpointError, decodeCheckpoint } from "../../../codec/mod.ts";
import type { Checkpoint } from "../../../proto/mod.ts";
import { configMismatch } from "./checkpoint_config.ts";
import { createEngine, type Engine } from "./engine.ts";
import type { EngineConfig } from "./engine_config.ts";
import { ENGINE_VERSION } from "./metadata.ts";
import { fromSteps, organismFromCheckpoint } from "./organism_checkpoint.ts";
import { type OpenChunkState, TickStream, type TickStreamState } from "./tick_stream.ts";

/** Options of {@link restoreEngine}. */
export interface RestoreOptions {
  /** Run id written into the chunks; default the checkpoint's. */
  runId?: string;
  /** Wall clock for the chunks' `created_at_ms`; default Date.now. */
  clock?: () => number;
  /** A capturing stream (TickStreamOptions.capture). */
  capture?: boolean;
}

/** A restored engine and the tick stream that continues its chunks. */
export interface RestoredEngine {
  engine: Engine;
  stream: TickStream;
  /** The tick the checkpoint was taken after (the engine's tick now). */
  tick: number;
  /** The run id the checkpoint was taken in. */
  runId: string;
}

function refuse(why: string): never {
  throw new CheckpointError(`Cannot restore checkpoint: ${why}`);
}

/** A required sub-message, or a CheckpointError naming it. */
function part<T>(value: T | undefined, name: string): T {
  return value ?? refuse(`it has no ${name}`);
}

/** Refuses a checkpoint of another engine version or config, naming what differs. */
function checkCompatible(cp: Checkpoint, config: EngineConfig): void {
  if (cp.engineVersion !== ENGINE_VERSION) {
    refuse(
      `it was taken by engine ${cp.engineVersion || "(unknown)"}, this is engine ` +
        `${ENGINE_VERSION}, whose rules continue the same state differently`,
    );
  }
  const mismatch = configMismatch(cp.configJson, config);
  if (mismatch !== null) refuse(`it was taken with another engine config: ${mismatch}`);
  const shape = part(cp.world, "world").shape;
  if (shape.join("x") !== config.shape.join("x")) {
    refuse(`its world is ${shape.join("x")}, the config's ${config.shape.join("x")}`);
  }
}

/** Puts the checkpoint's world, organisms, counters, RNG and plugin state into `engine`. */
function restoreSimulation(engine: Engine, cp: Checkpoint): void {
  const { sim } = engine;
  const world = part(cp.world, "world");
  sim.world.load(fromSteps(world.positionSteps), world.molecules, world.owners);
  const dims = sim.world.dims;
  const counters = part(cp.counters, "counters");
  sim.restore({
    tick: Number(cp.tick),
    organisms: cp.organisms.map((m) => organismFromCheckpoint(m, dims)),
    dead: cp.deadPending.map((m) => organismFromCheckpoint(m, dims)),
    nextOrganismId: counters.nextOrganismId,
    organismsCreated: Number(counters.organismsCreated),
    births: Number(counters.births),
    deaths: Number(counters.deaths),
    instructionsExecuted: Number(counters.instructionsExecuted),
    maxGeneration: counters.maxGeneration,
  });
  const words = part(cp.rng, "rng").words;
  if (words.length !== 4) refuse(`its rng has ${words.length} state words, expected 4`);
  sim.rng.setState(words);
  const energy = part(cp.energySources, "energy_sources");
  engine.energy.restore({ geysers: energy.geysers, solarAccumulator: energy.solarAccumulator });
  const decay = part(cp.decay, "decay");
  engine.decay.restore({ dueTicks: decay.dueTicks.map(Number), cells: decay.cells });
  const m = part(cp.mutation, "mutation");
  Object.assign(engine.mutation.counts, {
    substitution: Number(m.substitutions),
    insertion: Number(m.insertions),
    deletion: Number(m.deletions),
    labelRewrite: Number(m.labelRewrites),
  });
}

/** The stream's state from the checkpoint; an open chunk's pending changes go to the world. */
function restoreStreamState(engine: Engine, cp: Checkpoint): TickStreamState {
  const s = part(cp.stream, "stream");
  let open: OpenChunkState | null = null;
  if (s.openChunk !== undefined) {
    const c = s.openChunk;
    open = {
      firstTick: Number(c.firstTick),
      lastTick: Number(c.lastTick),
      sampleCount: c.sampleCount,
      body: c.body,
    };
    engine.sim.world.markChanged(c.sampleChanges, c.snapshotChanges);
  }
  return {
    chunkIndex: Number(s.chunkIndex),
    tickSampled: s.tickSampled,
    lastBirths: Number(s.lastBirths),
    lastDeaths: Number(s.lastDeaths),
    open,
  };
}

/**
 * Restores a checkpoint (its bytes, or the decoded message) under `config`, which must be the
 * config it was taken with (`intervals.checkpoint` aside). Throws a {@link CheckpointError}
 * naming the reason for a newer format version, bytes that do not parse, another engine
 * version, another config (naming the first field that differs) or missing parts.
 */
export function restoreEngine(
  checkpoint: Uint8Array | Checkpoint,
  config: EngineConfig,
  options: RestoreOptions = {},
): RestoredEngine {
  const cp = checkpoint instanceof Uint8Array ? decodeCheckpoint(checkpoint) : checkpoint;
  checkCompatible(cp, config);
  const engine = createEngine(config);
  let from: TickStreamState;
  try {
    restoreSimulation(engine, cp);
    from = restoreStreamState(engine, cp);
  } catch (e) {
    // The parts' own checks (a position outside the world, columns of different lengths)
    // throw RangeErrors; they are reported as what they are here: a bad checkpoint.
    if (e instanceof CheckpointError) throw e;
    refuse(e instanceof Error ? e.message : String(e));
  }
  const runId = options.runId ?? cp.runId;
  const stream = new TickStream(engine.sim, {
    intervals: config.intervals,
    runId,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    capture: options.capture ?? false,
    from,
  });
  return { engine, stream, tick: engine.sim.tick, runId: cp.runId };
}
