/**
 * A sample's organisms in id order, the order the chunk writer needs. The simulation shuffles
 * its living organisms every tick, so they come in a new order at every sample; sorting them
 * all each time was a sixth of what capturing a sample cost the engine's thread.
 *
 * Ids grow with every birth, so the organisms of a sample are those living at the previous one
 * (in the order already known; each now living or dead since) followed by the newborns (ids
 * above all those), and only the newborns need sorting.
 *
 * @module
 */

import type { Organism } from "./organism.ts";
import type { Simulation } from "./simulation.ts";

/** Organisms per sample up to which {@link byId} sorts by packed keys (index in 21 bits). */
const KEY_INDEX = 2 ** 21;
let keys = new Float64Array(1024);

/**
 * `living` and `dead` together, ascending by id. Sorted as numbers, `id * 2^21 + index`, by the
 * typed array's native sort: a comparator called from Array.prototype.sort was 3-4% of the
 * engine's time.
 */
export function byId(living: readonly Organism[], dead: readonly Organism[]): Organism[] {
  const all = dead.length === 0 ? living.slice() : living.concat(dead);
  const n = all.length;
  if (n >= KEY_INDEX) return all.sort((a, b) => a.id - b.id);
  if (keys.length < n) keys = new Float64Array(n * 2);
  const k = keys.subarray(0, n);
  for (let i = 0; i < n; i++) k[i] = all[i]!.id * KEY_INDEX + i;
  k.sort();
  const out = new Array<Organism>(n);
  for (let i = 0; i < n; i++) out[i] = all[k[i]! % KEY_INDEX]!;
  return out;
}

/**
 * Puts each sample's organisms in id order from the previous sample's order (see the module
 * doc). Give it every sample of one simulation, in tick order. After a restore of the
 * simulation, or when the organisms do not add up to the previous sample's living ones plus
 * newborns, it sorts them all.
 */
export class IdOrder {
  /** The living organisms of the previous sample, ascending by id. */
  #known: Organism[] = [];
  /** The simulation's restore count at the previous sample. */
  #restores = -1;

  /**
   * The organisms of `sim` at this sample, the living and `dead` (those that died since the
   * previous sample) together, ascending by id.
   */
  of(sim: Simulation, dead: readonly Organism[]): Organism[] {
    const living = sim.organisms;
    const known = this.#known;
    // Ids are never reused: an organism above the last known one was born since.
    const max = known.length > 0 ? known[known.length - 1]!.id : -1;
    const fresh: Organism[] = [];
    for (let i = 0; i < living.length; i++) if (living[i]!.id > max) fresh.push(living[i]!);
    for (let i = 0; i < dead.length; i++) if (dead[i]!.id > max) fresh.push(dead[i]!);
    let out: Organism[];
    // Every organism of the previous sample is now living or among the dead, and every other
    // one is a newborn (its id above all known): the counts match unless the organisms were
    // replaced, which only a restore does.
    if (
      sim.restores === this.#restores &&
      known.length + fresh.length === living.length + dead.length
    ) {
      out = fresh.length === 0 ? known : known.concat(fresh.length === 1 ? fresh : byId(fresh, []));
    } else {
      out = byId(living, dead);
    }
    this.#restores = sim.restores;
    this.#known = out.filter((o) => o.alive);
    return out;
  }
}
