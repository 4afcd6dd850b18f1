/**
 * Taking a checkpoint: the complete restorable state of an engine and its tick stream between
 * two ticks, as an `evochora.v1.Checkpoint` (proto/evochora/v1/checkpoint.proto). Restoring it
 * (checkpoint_restore.ts) and running on emits byte-identical chunks to the uninterrupted run.
 *
 * A checkpoint can be taken between any two ticks. Between chunks (after the chunk that a
 * sample closed, the default cadence) it holds no chunk data; inside a chunk it also carries the
 * samples encoded so far and the world's pending changes, so that the chunk completes exactly
 * as it would have.
 *
 * @module
 */

import {
  type CheckpointFields,
  type CheckpointOpenChunkFields,
  ProtoWriter,
  writeCheckpoint,
} from "../../../codec/mod.ts";
import { checkpointConfigJson } from "./checkpoint_config.ts";
import type { Engine } from "./engine.ts";
import type { IntervalsConfig } from "./engine_config.ts";
import { ENGINE_VERSION } from "./metadata.ts";
import { organismCheckpointFields, rngWords } from "./organism_checkpoint.ts";
import type { TickStream } from "./tick_stream.ts";
import type { World } from "./world.ts";

/** One encoded checkpoint and where it stands in the run. */
export interface EncodedCheckpoint {
  /** The tick it was taken after. */
  tick: number;
  /** Chunks completed before it: the index of the chunk a restore emits next. */
  chunks: number;
  /** Whether it was taken inside a chunk (then it also carries that chunk's samples so far). */
  insideChunk: boolean;
  bytes: Uint8Array;
}

/** Whether the cadence (`intervals.checkpoint`, in chunks) asks for a checkpoint after `chunk`. */
export function checkpointDue(intervals: IntervalsConfig, chunk: { index: number }): boolean {
  return intervals.checkpoint > 0 && (chunk.index + 1) % intervals.checkpoint === 0;
}

/** A sorted copy of a change list (its order is the order of first change, not state). */
function sorted(changes: Int32Array): Int32Array {
  return changes.slice().sort();
}

/** The stream's position; inside a chunk with its samples and the world's pending changes. */
function streamFields(stream: TickStream, world: World): CheckpointFields["stream"] {
  const s = stream.state();
  // Between chunks the pending changes are left out: the next sample is a full state.
  const openChunk: CheckpointOpenChunkFields | null = s.open === null ? null : {
    ...s.open,
    sampleChanges: sorted(world.sampleChanges()),
    snapshotChanges: sorted(world.snapshotChanges()),
  };
  return { ...s, openChunk };
}

/** The checkpoint of `engine` and `stream` as the writer's plain fields (arrays shared). */
function checkpointFields(engine: Engine, stream: TickStream): CheckpointFields {
  const { sim } = engine;
  const counts = engine.mutation.counts;
  return {
    engineVersion: ENGINE_VERSION,
    runId: stream.runId,
    configJson: checkpointConfigJson(sim.config),
    tick: sim.tick,
    shape: sim.world.shape,
    cells: sim.world.cells,
    owners: sim.world.owners,
    organisms: sim.organisms.map(organismCheckpointFields),
    deadPending: sim.pendingDead.map(organismCheckpointFields),
    counters: {
      nextOrganismId: sim.nextOrganismId,
      organismsCreated: sim.organismsCreated,
      births: sim.births,
      deaths: sim.deaths,
      instructionsExecuted: sim.instructionsExecuted,
      maxGeneration: sim.maxGeneration,
    },
    rng: rngWords(sim.rng),
    energySources: engine.energy.state(),
    decay: engine.decay.state(),
    mutation: {
      substitutions: counts.substitution,
      insertions: counts.insertion,
      deletions: counts.deletion,
      labelRewrites: counts.labelRewrite,
    },
    stream: streamFields(stream, sim.world),
  };
}

/** Reused between checkpoints: its buffer grows to a checkpoint's size once. */
const WRITER = new ProtoWriter(1 << 20);

/**
 * The complete restorable state of `engine` and `stream` (built on the engine's simulation)
 * at the current tick, encoded as an `evochora.v1.Checkpoint`. Take it between ticks: after
 * `sim.step()`, before or after `stream.observe()`. Deterministic: the same state gives the
 * same bytes.
 */
export function checkpointEngine(engine: Engine, stream: TickStream): EncodedCheckpoint {
  const fields = checkpointFields(engine, stream);
  return {
    tick: fields.tick,
    chunks: fields.stream.chunkIndex,
    insideChunk: fields.stream.openChunk !== null,
    bytes: writeCheckpoint(fields, WRITER),
  };
}
