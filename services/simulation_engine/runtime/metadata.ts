/**
 * The run's SimulationMetadata: everything known at its start.
 *
 * @module
 */

import {
  create,
  FORMAT_VERSION,
  IntervalsSchema,
  ProgramInfoSchema,
  type SimulationMetadata,
  SimulationMetadataSchema,
  Topology,
  VectorSchema,
} from "../../../proto/mod.ts";
import type { Engine } from "./engine.ts";
import { INSTRUCTIONS } from "../../../codec/isa.ts";
import { MOLECULE_TYPE_NAMES } from "../../../codec/mod.ts";

/** Version of the engine's rules; changes whenever the same seed would give other states. */
export const ENGINE_VERSION = "1.1.0";

/** JSON of the resolved engine config (bigints as strings). */
export function configJson(engine: Engine): string {
  return JSON.stringify(
    engine.sim.config,
    (_k, v) => (typeof v === "bigint" ? v.toString() : v),
  );
}

/** Builds the metadata of a run. `startedAtMs` 0 keeps the bytes reproducible. */
export function buildMetadata(
  engine: Engine,
  runId: string,
  startedAtMs: number,
): SimulationMetadata {
  const c = engine.sim.config;

  return create(SimulationMetadataSchema, {
    runId,
    seed: c.seed,
    shape: [...c.shape],
    topology: c.topology === "torus" ? Topology.TORUS : Topology.BOUNDED,
    intervals: create(IntervalsSchema, {
      sampling: c.intervals.sampling,
      accumulatedDelta: c.intervals.accumulatedDelta,
      snapshot: c.intervals.snapshot,
      chunk: c.intervals.chunk,
    }),
    resolvedConfigJson: configJson(engine),
    programs: engine.programs.map((p) => {
      const first = engine.sim.organisms.find((o) => o.id === p.organismIds[0]);
      return create(ProgramInfoSchema, {
        name: p.placement.name,
        source: p.placement.source,
        origin: create(VectorSchema, { components: [...p.origin] }),
        direction: create(VectorSchema, { components: [...p.artifact.direction] }),
        energy: p.placement.energy,
        genomeHash: first?.genomeHash ?? 0,
        cellCount: p.artifact.cells.length,
        organismIds: p.organismIds,
      });
    }),
    formatVersion: FORMAT_VERSION,
    startedAtMs: BigInt(startedAtMs),
    moleculeTypes: [...MOLECULE_TYPE_NAMES],
    instructionNames: INSTRUCTIONS.map((i) => i.name),
    engineVersion: ENGINE_VERSION,
  });
}
