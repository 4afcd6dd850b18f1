/**
 * An {@link Organism}'s complete VM state for the checkpoint writer, and back from the decoded
 * `CheckpointOrganism`: every field the VM reads or the tick stream writes, its own random
 * stream and label cache. Positions stay flat world indices, exactly as the engine holds them.
 *
 * @module
 */

import { CheckpointError, type CheckpointOrganismFields } from "../../../codec/mod.ts";
import type { CheckpointOrganism } from "../../../proto/mod.ts";
import { Organism } from "./organism.ts";
import { Rng } from "./rng.ts";

/** The four state words of `rng` as unsigned integers (the proto field is uint32). */
export function rngWords(rng: Rng): number[] {
  return rng.state().map((w) => w >>> 0);
}

/** The label cache's entries sorted by label value: a Map's order is history, not state. */
function sortedLabelCache(o: Organism): [number, number][] {
  return o.labelCache === null ? [] : [...o.labelCache].sort((a, b) => a[0] - b[0]);
}

/**
 * The state of `o` for the checkpoint writer. Arrays are shared with the organism, not copied:
 * write before the organism changes.
 */
export function organismCheckpointFields(o: Organism): CheckpointOrganismFields {
  const cache = sortedLabelCache(o);
  return {
    id: o.id,
    parentId: o.parentId,
    birthTick: o.birthTick,
    generation: o.generation,
    ip: o.ip,
    dirAxis: o.dirAxis,
    dirSign: o.dirSign,
    dataPointers: o.dps,
    activeDp: o.activeDp,
    dataRegisters: o.dr,
    locationRegisters: o.lr,
    dataStack: o.dataStack,
    locationStack: o.locationStack,
    callStack: o.callStack,
    energy: o.er,
    entropy: o.sr,
    marker: o.mr,
    genomeHash: o.genomeHash,
    bodySize: o.bodySize,
    children: o.children,
    instructions: o.instructions,
    lastOpcode: o.lastOpcode,
    lastPosition: o.lastAt,
    lastArgs: o.lastArgs,
    lastCost: o.lastCost,
    lastFailed: o.lastFailed,
    failureReason: o.failureReason,
    alive: o.alive,
    deathTick: o.deathTick,
    deathReason: o.deathReason,
    owned: o.owned,
    rng: rngWords(o.rng),
    labelCacheValues: cache.map(([value]) => value),
    labelCachePositions: cache.map(([, at]) => at),
  };
}

/** Positions from steps (each the difference to the previous position, the first to 0). */
export function fromSteps(steps: readonly number[]): number[] {
  const out = new Array<number>(steps.length);
  let p = 0;
  for (let i = 0; i < steps.length; i++) {
    p += steps[i]!;
    out[i] = p;
  }
  return out;
}

/** Throws a CheckpointError naming the organism and the field when `actual` is not `expected`. */
function expectLength(m: CheckpointOrganism, field: string, actual: number, expected: number) {
  if (actual !== expected) {
    throw new CheckpointError(
      `Cannot restore checkpoint: organism ${m.id} has ${actual} values in ${field}, ` +
        `expected ${expected}`,
    );
  }
}

/** Checks the shape of the arrays that {@link organismFromCheckpoint} copies into fixed ones. */
function checkShape(m: CheckpointOrganism, dims: number, template: Organism): void {
  expectLength(m, "data_pointers", m.dataPointers.length, template.dps.length);
  expectLength(m, "data_registers", m.dataRegisters.length, template.dr.length);
  expectLength(m, "location_registers", m.locationRegisters.length, template.lr.length);
  expectLength(m, "location_stack", m.locationStack.length % dims, 0);
  expectLength(m, "rng.words", m.rng?.words.length ?? 0, 4);
  expectLength(m, "label_cache_positions", m.labelCachePositions.length, m.labelCacheValues.length);
}

/** Rebuilds an organism of a `dims`-dimensional world from its message. */
export function organismFromCheckpoint(m: CheckpointOrganism, dims: number): Organism {
  const o = new Organism({
    id: m.id,
    parentId: m.parentId,
    birthTick: Number(m.birthTick),
    generation: m.generation,
    dims,
    ip: m.ip,
    dirAxis: m.dirAxis,
    dirSign: m.dirSign,
    energy: m.energy,
    rng: new Rng(0),
  });
  checkShape(m, dims, o);
  o.rng.setState(m.rng!.words);
  o.dps.set(m.dataPointers);
  o.activeDp = m.activeDp;
  o.dr.set(m.dataRegisters);
  o.lr.set(m.locationRegisters);
  o.dataStack.push(...m.dataStack);
  for (let i = 0; i < m.locationStack.length; i += dims) {
    o.locationStack.push(Int32Array.from(m.locationStack.slice(i, i + dims)));
  }
  o.callStack.push(...m.callStack);
  o.sr = m.entropy;
  o.mr = m.marker;
  o.genomeHash = m.genomeHash;
  o.bodySize = m.bodySize;
  o.children = m.children;
  o.instructions = Number(m.instructions);
  o.lastOpcode = m.lastOpcode;
  o.lastAt = m.lastPosition;
  o.lastArgs = [...m.lastArgs];
  o.lastCost = m.lastCost;
  o.lastFailed = m.lastFailed;
  o.failureReason = m.failureReason;
  o.alive = m.alive;
  o.deathTick = Number(m.deathTick);
  o.deathReason = m.deathReason;
  o.owned = fromSteps(m.ownedSteps);
  if (m.labelCacheValues.length > 0) {
    o.labelCache = new Map(m.labelCacheValues.map((v, i) => [v, m.labelCachePositions[i]!]));
  }
  return o;
}
