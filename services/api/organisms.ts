/**
 * Organism states of a sample, as the API's JSON shapes: the summary rows of a tick and one
 * organism's full state with its last instruction disassembled.
 *
 * @module
 */

import type { OrganismState } from "../../proto/mod.ts";
import { disassemble } from "../../codec/mod.ts";
import { formatMolecule } from "../../codec/mod.ts";
import type { OrganismDetail, OrganismSummary } from "./api_types.ts";

/** Splits flattened coordinates into vectors of `dims` components. */
export function vectors(flat: readonly number[], dims: number): number[][] {
  if (!Number.isInteger(dims) || dims < 1) {
    throw new RangeError(`Cannot split coordinates into vectors of ${dims} components`);
  }
  const out: number[][] = [];
  for (let i = 0; i + dims <= flat.length; i += dims) out.push(flat.slice(i, i + dims));
  return out;
}

/** The last instruction as text, e.g. `SETI %DR0 DATA:5`; empty before the first one. */
export function lastInstruction(o: OrganismState, dims: number): string {
  // The opcode as a CODE molecule: type 0, so the packed molecule is the opcode itself.
  return o.lastOpcode < 0 ? "" : disassemble(o.lastOpcode, [...o.lastArgs], dims);
}

/** One row of GET /api/runs/:run/organisms/:tick. */
export function organismSummary(o: OrganismState, dims: number): OrganismSummary {
  return {
    id: o.id,
    parentId: o.parentId,
    birthTick: Number(o.birthTick),
    generation: o.generation,
    energy: o.energy,
    entropy: o.entropy,
    ip: [...o.ip],
    dv: [...o.dv],
    genomeHash: o.genomeHash,
    bodySize: o.bodySize,
    children: o.children,
    alive: o.alive,
    lastInstruction: lastInstruction(o, dims),
    lastFailed: o.lastFailed,
  };
}

/** GET /api/runs/:run/organisms/:tick/:id. */
export function organismDetail(o: OrganismState, tick: number, dims: number): OrganismDetail {
  return {
    ...organismSummary(o, dims),
    tick,
    dataPointers: vectors(o.dataPointers, dims),
    activeDp: o.activeDp,
    dataRegisters: o.dataRegisters.map(formatMolecule),
    locationRegisters: vectors(o.locationRegisters, dims),
    dataStack: o.dataStack.map(formatMolecule),
    locationStack: vectors(o.locationStack, dims),
    callStack: vectors(o.callStack, dims),
    marker: o.marker,
    lastInstructionPosition: o.lastPosition.length > 0 ? [...o.lastPosition] : null,
    lastCost: o.lastCost,
    failureReason: o.failureReason,
    instructionsExecuted: Number(o.instructionsExecuted),
    deathReason: o.deathReason,
  };
}
