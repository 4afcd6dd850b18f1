/**
 * Builds a ready simulation from an engine config: assembles the programs, places them, and
 * wires the standard plugins (energy sources, decay, mutation).
 *
 * @module
 */

import { assemble, type ProgramArtifact } from "../assembler/mod.ts";
import { ANCESTOR_SOURCE, layOutAncestor } from "./ancestor.ts";
import type { EngineConfig, ProgramPlacement } from "./engine_config.ts";
import { Decay } from "./plugins/decay.ts";
import { EnergySources } from "./plugins/energy_sources.ts";
import { Mutation } from "./plugins/mutation.ts";
import { Simulation } from "./simulation.ts";

export { ANCESTOR_SOURCE, layOutAncestor };

/** The shipped ancestor as a placement: `count` copies with `energy` each. */
export function ancestorPlacement(count = 1, energy = 20000): ProgramPlacement {
  return { name: "ancestor", source: ANCESTOR_SOURCE, count, energy };
}

/** A placed program and the organisms made from it. */
export interface PlacedProgram {
  placement: ProgramPlacement;
  artifact: ProgramArtifact;
  /** Origin of its first copy (where it went, or would have gone with a count of 0). */
  origin: number[];
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

/** Lowest and highest cell position of a program along each axis. */
function bounds(artifact: ProgramArtifact): { min: number[]; max: number[] } {
  const min = new Array<number>(artifact.dims).fill(Infinity);
  const max = new Array<number>(artifact.dims).fill(-Infinity);
  for (const c of artifact.cells) {
    c.pos.forEach((v, i) => {
      if (v < min[i]!) min[i] = v;
      if (v > max[i]!) max[i] = v;
    });
  }
  return { min, max };
}

/**
 * Throws a RangeError naming the program, the world and the body's size when the body cannot
 * fit the world at all: longer than a bounded world, or overlapping itself around a torus.
 */
function checkFits(artifact: ProgramArtifact, name: string, config: EngineConfig): void {
  const { shape, topology } = config;
  const { min, max } = bounds(artifact);
  const span = min.map((m, i) => (artifact.cells.length === 0 ? 0 : max[i]! - m + 1));
  let fits = span.every((s, i) => s <= shape[i]!);
  if (!fits && topology === "torus") {
    // A sparse body may be longer than the world and still not meet itself around it.
    const seen = new Set<string>();
    fits = artifact.cells.every((c) => {
      const key = c.pos.map((v, i) => ((v % shape[i]!) + shape[i]!) % shape[i]!).join("|");
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  if (!fits) {
    throw new RangeError(
      `Cannot place program '${name}' in a ${shape.join("x")} ${topology} world: its body spans ` +
        `${span.join("x")} cells and ${
          topology === "torus" ? "would overlap itself" : "does not fit"
        }; the world needs at least that many cells along each axis`,
    );
  }
}

/**
 * Where the first copy of a program without an origin goes: the world's centre; in a bounded
 * world moved just enough for the whole body to lie inside.
 */
function firstOrigin(artifact: ProgramArtifact, config: EngineConfig): number[] {
  const centre = config.shape.map((s) => Math.floor(s / 2));
  if (config.topology !== "bounded" || artifact.cells.length === 0) return centre;
  const { min, max } = bounds(artifact);
  return centre.map((c, i) => Math.max(-min[i]!, Math.min(c, config.shape[i]! - 1 - max[i]!)));
}

/**
 * Assembles every program (the shipped ancestor in the layout for the world's width, see
 * {@link layOutAncestor}) and checks that each body fits the world, then places them and runs
 * the plugins' start hooks. The first copy of a program without an origin goes to the world's
 * centre (in a bounded world, as near to it as the body fits); further copies to seeded random
 * spots. Throws AssemblyError (with file:line:column) for a bad program and RangeError for a
 * body that does not fit, before anything is placed.
 */
export function createEngine(config: EngineConfig): Engine {
  const energy = new EnergySources(config.energy);
  const decay = new Decay(config.decay);
  const mutation = new Mutation(config.mutation);
  const sim = new Simulation(config, [energy, decay, mutation]);
  const assembled = config.programs.map((placement) => {
    let artifact = assemble(placement.source, {
      dims: config.shape.length,
      file: `${placement.name}.evo`,
    });
    if (placement.source === ANCESTOR_SOURCE) {
      artifact = layOutAncestor(artifact, config.shape[0]!, config.topology);
    }
    if (placement.count > 0) checkFits(artifact, placement.name, config);
    return { placement, artifact };
  });
  const programs: PlacedProgram[] = [];
  for (const { placement, artifact } of assembled) {
    const ids: number[] = [];
    const origin = placement.origin ?? firstOrigin(artifact, config);
    if (placement.count > 0) {
      const placeable = { ...artifact, name: placement.name };
      ids.push(sim.place(placeable, origin, placement.energy).id);
      for (const o of sim.placeRandomly(placeable, placement.count - 1, placement.energy)) {
        ids.push(o.id);
      }
    }
    programs.push({ placement, artifact, origin, organismIds: ids });
  }
  sim.start();
  return { sim, programs, mutation, energy, decay };
}
