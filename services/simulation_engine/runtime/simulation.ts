/**
 * The tick loop: organisms execute one instruction each per tick in a seeded priority order,
 * plugins add energy, decay bodies and mutate newborns.
 *
 * @module
 */

import type { EngineConfig } from "./engine_config.ts";
import { CONTENT_MASK, markerOf } from "../../../codec/mod.ts";
import { Organism } from "./organism.ts";
import { Rng } from "./rng.ts";
import { Vm, type VmHost } from "./vm.ts";
import { World } from "./world.ts";

/** A program ready to place: cells relative to its origin. */
export interface PlaceableProgram {
  readonly name: string;
  readonly cells: readonly { readonly pos: readonly number[]; readonly molecule: number }[];
  readonly entry: readonly number[];
  readonly direction: readonly number[];
}

/** Hooks run by the simulation, in the order the plugins are given. */
export interface SimulationPlugin {
  readonly name: string;
  /** Once, after the programs are placed and before tick 1. */
  start?(sim: Simulation): void;
  /** After every organism has executed in a tick. */
  afterTick?(sim: Simulation): void;
  /** A child was created from `body` (its cells); may change them, and the list. */
  onBirth?(sim: Simulation, child: Organism, body: number[]): void;
  /** An organism died; `body` lists the cells it owned (already unowned). */
  onDeath?(sim: Simulation, dead: Organism, body: number[]): void;
}

/** Hash of a body: its molecules ordered by position relative to `origin`. 32-bit FNV-1a. */
export function genomeHash(world: World, body: readonly number[], origin: number): number {
  const keyed = body.map((f) => [world.relative(f, origin), world.cells[f]! & CONTENT_MASK]);
  keyed.sort((a, b) => a[0]! - b[0]!);
  let h = 0x811c9dc5;
  for (const [rel, m] of keyed) {
    for (const word of [rel!, m!]) {
      for (let s = 0; s < 32; s += 8) {
        h ^= (word >>> s) & 0xff;
        h = Math.imul(h, 0x01000193);
      }
    }
  }
  return h >>> 0;
}

/** What {@link Simulation.restore} sets: all of a simulation but its world, RNG and plugins. */
export interface SimulationState {
  tick: number;
  /** Living organisms, in the order the next tick shuffles. */
  organisms: Organism[];
  /** Died since the last sample, not yet taken by {@link Simulation.takeDead}. */
  dead: Organism[];
  nextOrganismId: number;
  organismsCreated: number;
  births: number;
  deaths: number;
  instructionsExecuted: number;
  maxGeneration: number;
}

/** A running simulation. Deterministic: the same config and programs give the same states. */
export class Simulation implements VmHost {
  readonly config: EngineConfig;
  readonly world: World;
  /** World-level random stream: priorities, plugins, placement. */
  readonly rng: Rng;
  readonly plugins: readonly SimulationPlugin[];
  tick = 0;
  /** Alive organisms. */
  organisms: Organism[] = [];
  /** Organisms that died since {@link Simulation.takeDead} was last called. */
  #dead: Organism[] = [];
  #restores = 0;
  #born: Organism[] = [];
  #nextId = 1;
  readonly #vm: Vm;
  readonly #seen: Uint8Array;

  organismsCreated = 0;
  births = 0;
  deaths = 0;
  instructionsExecuted = 0;
  maxGeneration = 0;

  constructor(config: EngineConfig, plugins: readonly SimulationPlugin[] = []) {
    this.config = config;
    this.world = new World({ shape: config.shape, topology: config.topology });
    this.rng = new Rng(config.seed);
    this.plugins = plugins;
    this.#vm = new Vm(this.world, config.thermo, this);
    this.#seen = new Uint8Array(this.world.size);
  }

  /** The VM, for disassembly helpers and tests. */
  get vm(): Vm {
    return this.#vm;
  }

  /**
   * Places a program with its origin at `origin` (coordinates). Throws RangeError when a cell
   * falls outside a bounded world or onto an occupied cell.
   */
  place(program: PlaceableProgram, origin: readonly number[], energy: number): Organism {
    const w = this.world;
    const taken = new Set<number>();
    const positions = program.cells.map((c) => {
      const f = w.flatOf(c.pos.map((v, i) => v + (origin[i] ?? 0)));
      if (f < 0) {
        throw new RangeError(
          `Cannot place program '${program.name}' at ${origin.join("|")}: cell ${
            c.pos.join("|")
          } falls outside the world`,
        );
      }
      if (w.cells[f] !== 0 || w.owners[f] !== 0 || taken.has(f)) {
        throw new RangeError(
          `Cannot place program '${program.name}' at ${origin.join("|")}: cell ${
            c.pos.join("|")
          } is occupied${taken.has(f) ? " by the program itself (the world is too small)" : ""}`,
        );
      }
      taken.add(f);
      return f;
    });
    const ip = w.flatOf(program.entry.map((v, i) => v + (origin[i] ?? 0)));
    const axis = program.direction.findIndex((c) => c !== 0);
    const o = new Organism({
      id: this.#nextId++,
      parentId: 0,
      birthTick: this.tick,
      generation: 0,
      dims: w.dims,
      ip: ip < 0 ? positions[0] ?? 0 : ip,
      dirAxis: axis < 0 ? 0 : axis,
      dirSign: axis < 0 ? 1 : Math.sign(program.direction[axis]!),
      energy,
      rng: this.rng.fork(),
    });
    // Empty cells of the program stay unowned: nothing would free them at death.
    program.cells.forEach((c, i) => {
      const m = c.molecule & CONTENT_MASK;
      w.set(positions[i]!, m, m === 0 ? 0 : o.id);
    });
    o.owned = positions.filter((_, i) => (program.cells[i]!.molecule & CONTENT_MASK) !== 0);
    o.genomeHash = genomeHash(w, o.owned, o.ip);
    o.bodySize = o.owned.length;
    this.organisms.push(o);
    this.organismsCreated++;
    return o;
  }

  /**
   * Places `count` copies at seeded random free positions (up to 200 tries each).
   * Returns the placed organisms.
   */
  placeRandomly(program: PlaceableProgram, count: number, energy: number): Organism[] {
    const out: Organism[] = [];
    for (let n = 0; n < count; n++) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const origin = this.world.shape.map((s) => this.rng.nextInt(s));
        if (!this.#fits(program, origin)) continue;
        out.push(this.place(program, origin, energy));
        break;
      }
    }
    return out;
  }

  #fits(program: PlaceableProgram, origin: readonly number[]): boolean {
    const w = this.world;
    const taken = new Set<number>();
    for (const c of program.cells) {
      const f = w.flatOf(c.pos.map((v, i) => v + (origin[i] ?? 0)));
      if (f < 0 || w.cells[f] !== 0 || w.owners[f] !== 0 || taken.has(f)) return false;
      taken.add(f);
    }
    return true;
  }

  /** Runs the plugins' start hooks. Call once after placing programs. */
  start(): void {
    for (const p of this.plugins) p.start?.(this);
  }

  /** Advances the world by one tick. */
  step(): void {
    this.tick++;
    const list = this.organisms;
    const rng = this.rng;
    // Seeded priority: a fresh permutation every tick decides who acts first on a contested cell.
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const t = list[i]!;
      list[i] = list[j]!;
      list[j] = t;
    }
    const maxEntropy = this.config.thermo.maxEntropy;
    let died = false;
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      this.#vm.execute(o);
      this.instructionsExecuted++;
      if (o.er <= 0) {
        this.#kill(o, "energy exhausted");
        died = true;
      } else if (o.sr >= maxEntropy) {
        this.#kill(o, "entropy limit reached");
        died = true;
      }
    }
    if (died) this.organisms = list.filter((o) => o.alive);
    if (this.#born.length > 0) {
      for (const c of this.#born) this.organisms.push(c);
      this.#born = [];
    }
    for (const p of this.plugins) p.afterTick?.(this);
  }

  /** The id the next organism will get. */
  get nextOrganismId(): number {
    return this.#nextId;
  }

  /** Organisms that died since {@link Simulation.takeDead} was last called, left in place. */
  get pendingDead(): readonly Organism[] {
    return this.#dead;
  }

  /**
   * Takes over a restored state (a checkpoint's), between two ticks. The world, the RNG and
   * the plugins are restored through their own methods.
   */
  restore(state: SimulationState): void {
    this.#restores++;
    this.tick = state.tick;
    this.organisms = state.organisms;
    this.#dead = state.dead;
    this.#born = [];
    this.#nextId = state.nextOrganismId;
    this.organismsCreated = state.organismsCreated;
    this.births = state.births;
    this.deaths = state.deaths;
    this.instructionsExecuted = state.instructionsExecuted;
    this.maxGeneration = state.maxGeneration;
  }

  /**
   * How many times {@link restore} replaced the state: organism objects seen before a change of
   * it are not this simulation's any more.
   */
  get restores(): number {
    return this.#restores;
  }

  /** Organisms that died since the last call (for output of their final state). */
  takeDead(): Organism[] {
    const d = this.#dead;
    this.#dead = [];
    return d;
  }

  #kill(o: Organism, reason: string): void {
    o.alive = false;
    o.deathTick = this.tick;
    o.deathReason = reason;
    const body = this.#liveCells(o, () => true);
    for (const f of body) this.world.setOwner(f, 0);
    o.owned = [];
    this.deaths++;
    this.#dead.push(o);
    for (const p of this.plugins) p.onDeath?.(this, o, body);
  }

  /** Distinct cells in `o.owned` still owned by `o` and passing `filter`. */
  #liveCells(o: Organism, filter: (f: number) => boolean): number[] {
    const seen = this.#seen;
    const owners = this.world.owners;
    const out: number[] = [];
    for (const f of o.owned) {
      if (seen[f] === 1 || owners[f] !== o.id || !filter(f)) continue;
      seen[f] = 1;
      out.push(f);
    }
    for (const f of out) seen[f] = 0;
    return out;
  }

  /** VmHost: creates the child of `parent` from its cells carrying the parent's marker. */
  fork(parent: Organism, ip: number, axis: number, sign: number, energy: number): string | null {
    const cells = this.world.cells;
    const mr = parent.mr;
    const body = this.#liveCells(parent, (f) => markerOf(cells[f]!) === mr);
    if (body.length === 0) return "no cells carry the marker";
    const child = new Organism({
      id: this.#nextId++,
      parentId: parent.id,
      birthTick: this.tick,
      generation: parent.generation + 1,
      dims: this.world.dims,
      ip,
      dirAxis: axis,
      dirSign: sign,
      energy,
      rng: this.rng.fork(),
    });
    for (const f of body) this.world.set(f, cells[f]! & CONTENT_MASK, child.id);
    parent.owned = this.#liveCells(parent, () => true);
    for (const p of this.plugins) p.onBirth?.(this, child, body);
    child.owned = body;
    child.genomeHash = genomeHash(this.world, body, ip);
    child.bodySize = body.length;
    parent.children++;
    this.organismsCreated++;
    this.births++;
    if (child.generation > this.maxGeneration) this.maxGeneration = child.generation;
    this.#born.push(child);
    return null;
  }
}
