/**
 * The simulation runtime: world, organisms, instruction set, thermodynamics, plugins and the
 * chunked tick stream.
 *
 * @module
 */

export * from "./engine_config.ts";
export {
  ANCESTOR_DIMS,
  ANCESTOR_EXTENT,
  ANCESTOR_MIN_SIZE,
  ancestorShapeProblem,
  checkAncestorShape,
  UnsupportedShapeError,
} from "./ancestor.ts";
export * from "./engine.ts";
export { checkpointDue, checkpointEngine, type EncodedCheckpoint } from "./checkpoint.ts";
export { type RestoredEngine, restoreEngine, type RestoreOptions } from "./checkpoint_restore.ts";
export { checkpointConfigJson } from "./checkpoint_config.ts";
export * from "../../../codec/isa.ts";
export * from "./metadata.ts";
export { Organism } from "./organism.ts";
export { Rng } from "./rng.ts";
export {
  genomeHash,
  type PlaceableProgram,
  Simulation,
  type SimulationPlugin,
} from "./simulation.ts";
export {
  type EncodedChunk,
  encodedChunk,
  type OpenChunkState,
  TickStream,
  type TickStreamOptions,
  type TickStreamState,
} from "./tick_stream.ts";
export { emptyOrganismStateFields, organismStateFields } from "./organism_state.ts";
export { type Topology, World } from "./world.ts";
