/**
 * Test helper: an organism's fields for the codec's writers, a living one in a 16x16 world with
 * plain values, and whatever `overrides` change.
 *
 * @module
 */

import type { Grid, OrganismStateFields } from "./chunk_writer.ts";

/** The 16x16 world the helper's positions lie in. */
export const GRID_16: Grid = { shape: [16, 16], strides: [1, 16] };

/** See the module doc. */
export function organismFields(
  id: number,
  overrides: Partial<OrganismStateFields> = {},
): OrganismStateFields {
  return {
    id,
    parentId: 0,
    birthTick: 0,
    generation: 0,
    ip: 17,
    dv: [1, 0],
    dataPointers: [17, 18],
    activeDp: 0,
    dataRegisters: [0, 0, 0, 0],
    locationRegisters: [0, 0, 0, 0],
    dataStack: [],
    locationStack: [],
    callStack: [],
    energy: 100,
    entropy: 0,
    marker: 0,
    genomeHash: 0,
    lastOpcode: -1,
    lastArgs: [],
    lastCost: 0,
    lastFailed: false,
    failureReason: "",
    instructionsExecuted: 0,
    alive: true,
    deathReason: "",
    children: 0,
    bodySize: 0,
    deathTick: 0,
    lastPosition: -1,
    ...overrides,
  };
}
