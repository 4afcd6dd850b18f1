/**
 * An organism: the state of one virtual machine living in the world.
 *
 * @module
 */

import { DATA_REGISTERS, LOCATION_REGISTERS } from "../../../codec/isa.ts";
import type { Rng } from "./rng.ts";

/** Options for a new {@link Organism}. */
export interface OrganismInit {
  id: number;
  parentId: number;
  birthTick: number;
  generation: number;
  dims: number;
  ip: number;
  /** Axis of the IP direction. */
  dirAxis: number;
  /** Sign of the IP direction, +1 or -1. */
  dirSign: number;
  energy: number;
  rng: Rng;
}

/** Mutable VM state. Positions are flat world indices. */
export class Organism {
  readonly id: number;
  readonly parentId: number;
  readonly birthTick: number;
  readonly generation: number;
  readonly dims: number;
  /** Per-organism random stream (RAND, RNDI). */
  readonly rng: Rng;

  ip: number;
  dirAxis: number;
  dirSign: number;
  /** The two data pointers. */
  readonly dps: Int32Array = new Int32Array(2);
  activeDp = 0;
  /** Data registers, packed molecules. */
  readonly dr: Int32Array = new Int32Array(DATA_REGISTERS);
  /** Location registers, LOCATION_REGISTERS vectors of `dims` components, flat. */
  readonly lr: Int32Array;
  /** Each location register as a view of {@link lr} (made once: a view per access was garbage). */
  readonly lrViews: Int32Array[];
  readonly dataStack: number[] = [];
  /** Location stack, vectors. */
  readonly locationStack: Int32Array[] = [];
  /** Return positions (flat). */
  readonly callStack: number[] = [];
  /** Energy register. */
  er: number;
  /** Entropy register. */
  sr = 0;
  /** Marker register: POKE stamps it into written cells, FORK takes the cells carrying it. */
  mr = 0;
  genomeHash = 0;
  bodySize = 0;
  children = 0;
  instructions = 0;

  lastOpcode = -1;
  /** Positions of the last instruction's cells, opcode first (for disassembly). */
  lastAt = -1;
  lastArgs: number[] = [];
  /** The arrays {@link Organism.argsFor} hands out, one per argument count. */
  readonly #argArrays: number[][] = [];
  lastCost = 0;
  lastFailed = false;
  failureReason = "";

  alive = true;
  /** Tick of death; 0 while alive (nothing dies at tick 0). */
  deathTick = 0;
  deathReason = "";

  /**
   * Per label value, the own label this organism last jumped to; the VM uses it while that
   * label still stands (see Vm's label resolution). Null until the first such jump. State that
   * decides jumps, so a checkpoint carries it.
   */
  labelCache: Map<number, number> | null = null;

  /**
   * Positions this organism owned at some point (body at birth plus writes). Stale entries are
   * checked against the owner grid when used.
   */
  owned: number[] = [];

  constructor(init: OrganismInit) {
    this.id = init.id;
    this.parentId = init.parentId;
    this.birthTick = init.birthTick;
    this.generation = init.generation;
    this.dims = init.dims;
    this.ip = init.ip;
    this.dirAxis = init.dirAxis;
    this.dirSign = init.dirSign;
    this.er = init.energy;
    this.rng = init.rng;
    this.lr = new Int32Array(LOCATION_REGISTERS * init.dims);
    this.lrViews = Array.from(
      { length: LOCATION_REGISTERS },
      (_, l) => this.lr.subarray(l * init.dims, (l + 1) * init.dims),
    );
    this.dps[0] = init.ip;
    this.dps[1] = init.ip;
  }

  #dirVector: number[] = [];
  #dirVectorOf = -1;

  /**
   * Makes `lastArgs` an array of `count` elements and returns it to be filled: one array per
   * count, reused from instruction to instruction (resizing one array whenever the instruction
   * length changed reallocated its storage). A cache, not state: a restored organism starts
   * without it.
   */
  argsFor(count: number): number[] {
    let a = this.#argArrays[count];
    if (a === undefined) a = this.#argArrays[count] = new Array<number>(count).fill(0);
    this.lastArgs = a;
    return a;
  }

  /**
   * The IP direction as a vector: one array per organism, updated when the direction changed
   * (the tick stream reads it at every sample). Read it, do not keep or change it.
   */
  direction(): readonly number[] {
    const key = this.dirAxis * 2 + (this.dirSign > 0 ? 1 : 0);
    if (key !== this.#dirVectorOf) {
      this.#dirVector = new Array<number>(this.dims).fill(0);
      this.#dirVector[this.dirAxis] = this.dirSign;
      this.#dirVectorOf = key;
    }
    return this.#dirVector;
  }

  /** Location register `i` as a vector copy. */
  location(i: number): number[] {
    return Array.from(this.lr.subarray(i * this.dims, (i + 1) * this.dims));
  }
}
