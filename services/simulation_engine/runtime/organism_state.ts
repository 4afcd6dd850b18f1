/**
 * The engine side of the chunk writer: an {@link Organism}'s registers and pointers as the
 * plain {@link OrganismStateFields} that codec/chunk_writer.ts encodes. The codec knows no
 * engine class; this mapping is the only place where engine names meet wire names.
 *
 * @module
 */

import type { OrganismStateFields } from "../../../codec/mod.ts";
import type { Organism } from "./organism.ts";

/**
 * Fields of no organism, to be filled by {@link organismStateFields}. The arrays have the types
 * an Organism's have, so that filling never changes the object's field types (which would
 * throw away optimized code using it).
 */
export function emptyOrganismStateFields(): OrganismStateFields {
  const locationStack: Int32Array[] = [];
  return {
    id: 0,
    parentId: 0,
    birthTick: 0,
    generation: 0,
    ip: 0,
    dv: [],
    dataPointers: new Int32Array(0),
    activeDp: 0,
    dataRegisters: new Int32Array(0),
    locationRegisters: new Int32Array(0),
    dataStack: [],
    locationStack,
    callStack: [],
    energy: 0,
    entropy: 0,
    marker: 0,
    genomeHash: 0,
    lastOpcode: 0,
    lastArgs: [],
    lastCost: 0,
    lastFailed: false,
    failureReason: "",
    instructionsExecuted: 0,
    alive: false,
    deathReason: "",
    children: 0,
    bodySize: 0,
    deathTick: 0,
    lastPosition: -1,
  };
}

/**
 * Fills `out` with the state of `o` and returns it. Arrays are shared with the organism, not
 * copied: encode before the organism changes. Reusing one `out` keeps the hot path free of
 * allocations (the direction vector aside).
 */
export function organismStateFields(
  o: Organism,
  out: OrganismStateFields = emptyOrganismStateFields(),
): OrganismStateFields {
  out.id = o.id;
  out.parentId = o.parentId;
  out.birthTick = o.birthTick;
  out.generation = o.generation;
  out.ip = o.ip;
  out.dv = o.direction();
  out.dataPointers = o.dps;
  out.activeDp = o.activeDp;
  out.dataRegisters = o.dr;
  out.locationRegisters = o.lr;
  out.dataStack = o.dataStack;
  out.locationStack = o.locationStack;
  out.callStack = o.callStack;
  out.energy = o.er;
  out.entropy = o.sr;
  out.marker = o.mr;
  out.genomeHash = o.genomeHash;
  out.lastOpcode = o.lastOpcode;
  out.lastArgs = o.lastArgs;
  out.lastCost = o.lastCost;
  out.lastFailed = o.lastFailed;
  out.failureReason = o.failureReason;
  out.instructionsExecuted = o.instructions;
  out.alive = o.alive;
  out.deathReason = o.deathReason;
  out.children = o.children;
  out.bodySize = o.bodySize;
  out.deathTick = o.deathTick;
  out.lastPosition = o.lastAt;
  return out;
}
