/**
 * Label resolution for jumps and calls: the LABEL cell a label reference (LABELREF) means,
 * matched fuzzily by Hamming distance within the configured tolerance (see {@link
 * LabelResolver.resolve}).
 *
 * @module
 */

import { CONTENT_MASK, MoleculeType, VALUE_MASK, wrapValue } from "../../../codec/mod.ts";
import type { Organism } from "./organism.ts";
import type { World } from "./world.ts";

const LABEL_CONTENT = MoleculeType.LABEL << 20;

/** Masks of all values within Hamming distance 1..3 of 0 over 20 bits, nearest first. */
function hammingMasks(maxDistance: number): Int32Array {
  const out: number[] = [];
  if (maxDistance >= 1) { for (let i = 0; i < 20; i++) out.push(1 << i); }
  if (maxDistance >= 2) {
    for (let i = 0; i < 20; i++) for (let j = i + 1; j < 20; j++) out.push((1 << i) | (1 << j));
  }
  if (maxDistance >= 3) {
    for (let i = 0; i < 20; i++) {
      for (let j = i + 1; j < 20; j++) {
        for (let k = j + 1; k < 20; k++) out.push((1 << i) | (1 << j) | (1 << k));
      }
    }
  }
  return Int32Array.from(out);
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Finds the label a reference means; one per VM (it keeps the search's best so far). */
export class LabelResolver {
  readonly #world: World;
  readonly #cells: Int32Array;
  readonly #owners: Int32Array;
  readonly #masks: Int32Array;
  /** The label #consider found best so far, and its score. */
  #best = -1;
  #bestScore = Infinity;

  /** Labels of `world`, matched within `tolerance` differing bits (0..3). */
  constructor(world: World, tolerance: number) {
    this.#world = world;
    this.#cells = world.cells;
    this.#owners = world.owners;
    this.#masks = hammingMasks(tolerance);
  }

  /**
   * Position of the LABEL best matching `value`: the own label this organism jumped to last
   * for that value while it still stands (labels do not move, and a parent copying itself
   * then stays in its own body instead of jumping into the half-built copy); otherwise own
   * labels first, then the smallest Hamming distance, then the nearest. -1 when none is within
   * the tolerance.
   */
  resolve(o: Organism, value: number): number {
    const cells = this.#cells;
    const owners = this.#owners;
    let cache = o.labelCache;
    if (cache !== null) {
      const at = cache.get(value);
      if (
        at !== undefined &&
        (cells[at]! & CONTENT_MASK) === (LABEL_CONTENT | (value & VALUE_MASK)) &&
        owners[at] === o.id
      ) {
        return at;
      }
    }
    const labels = this.#world.labels;
    this.#best = -1;
    this.#bestScore = Infinity;
    this.#consider(labels.get(value), 0, o);
    if (this.#best < 0 || this.#bestScore >= 1e12) {
      const masks = this.#masks;
      for (let i = 0; i < masks.length; i++) {
        const mask = masks[i]!;
        this.#consider(labels.get(wrapValue(value ^ mask)), popcount(mask) * 1e9, o);
      }
    }
    const best = this.#best;
    if (best >= 0 && owners[best] === o.id) {
      if (cache === null) {
        cache = new Map();
        o.labelCache = cache;
      }
      cache.set(value, best);
    }
    return best;
  }

  /**
   * Scores the labels at `set` for {@link resolve}: own labels before others (1e12), fewer
   * differing bits (`hamScore`, 1e9 each) before nearer; ties to the lower position. A label
   * whose ownership and bits already score worse than the best is not measured.
   */
  #consider(set: Set<number> | undefined, hamScore: number, o: Organism): void {
    if (set === undefined) return;
    const owners = this.#owners;
    const id = o.id;
    // Own labels first: once one is found, no other organism's can win, and their positions
    // (most of a set, in a population of one lineage) are not measured at all.
    for (const pos of set) if (owners[pos] === id) this.#score(pos, hamScore, o);
    if (this.#bestScore < 1e12 + hamScore) return;
    for (const pos of set) if (owners[pos] !== id) this.#score(pos, 1e12 + hamScore, o);
  }

  #score(pos: number, prefix: number, o: Organism): void {
    if (prefix > this.#bestScore) return;
    const score = prefix + this.#world.distance(o.ip, pos);
    if (score < this.#bestScore || (score === this.#bestScore && pos < this.#best)) {
      this.#bestScore = score;
      this.#best = pos;
    }
  }
}
