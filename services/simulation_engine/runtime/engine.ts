/**
 * Builds a ready simulation from an engine config: assembles the programs, places them, and
 * wires the standard plugins (energy sources, decay, mutation).
 *
 * @module
 */

import { assemble, type ProgramArtifact } from "../assembler/mod.ts";
import type { EngineConfig, ProgramPlacement } from "./engine_config.ts";
import { Decay } from "./plugins/decay.ts";
import { EnergySources } from "./plugins/energy_sources.ts";
import { Mutation } from "./plugins/mutation.ts";
import { Simulation } from "./simulation.ts";

/** Source of the shipped primordial program. */
export const ANCESTOR_SOURCE: string = Deno.readTextFileSync(
  new URL("../programs/ancestor.evo", import.meta.url),
);

/** The shipped ancestor as a placement: `count` copies with `energy` each. */
export function ancestorPlacement(count = 1, energy = 20000): ProgramPlacement {
  return { name: "ancestor", source: ANCESTOR_SOURCE, count, energy };
}

/** A placed program and the organisms made from it. */
export interface PlacedProgram {
  placement: ProgramPlacement;
  artifact: ProgramArtifact;
  organismIds: number[];
}

/** A simulation with its placed programs and plugins. */
export interface Engine {
  sim: Simulation;
  programs: PlacedProgram[];
  mutation: Mutation;
  energy: EnergySources;
  decay: Decay;
}

/**
 * Assembles and places every program, then runs the plugins' start hooks. The first copy of a
 * program without an origin goes to the world's centre; further copies to seeded random spots.
 * Throws AssemblyError (with file:line:column) for a bad program.
 */
export function createEngine(config: EngineConfig): Engine {
  const energy = new EnergySources(config.energy);
  const decay = new Decay(config.decay);
  const mutation = new Mutation(config.mutation);
  const sim = new Simulation(config, [energy, decay, mutation]);
  const programs: PlacedProgram[] = [];
  for (const placement of config.programs) {
    const artifact = assemble(placement.source, {
      dims: config.shape.length,
      file: `${placement.name}.evo`,
    });
    const ids: number[] = [];
    if (placement.count > 0) {
      const origin = placement.origin ?? config.shape.map((s) => Math.floor(s / 2));
      const placeable = { ...artifact, name: placement.name };
      ids.push(sim.place(placeable, origin, placement.energy).id);
      for (const o of sim.placeRandomly(placeable, placement.count - 1, placement.energy)) {
        ids.push(o.id);
      }
    }
    programs.push({ placement, artifact, organismIds: ids });
  }
  sim.start();
  return { sim, programs, mutation, energy, decay };
}
