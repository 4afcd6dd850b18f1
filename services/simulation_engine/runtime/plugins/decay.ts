/**
 * Decay of dead bodies: some ticks after a death each body cell that nobody took over
 * vanishes, or turns into ENERGY (recycling).
 *
 * @module
 */

import type { DecayConfig } from "../engine_config.ts";
import { MoleculeType, pack, typeOf } from "../../../../codec/mod.ts";
import type { Organism } from "../organism.ts";
import type { Simulation, SimulationPlugin } from "../simulation.ts";

/** The cells of {@link Decay} waiting to decay. */
export interface DecayState {
  dueTicks: number[];
  /** Flat positions, in the order they decay. */
  cells: number[];
}

/** Schedules and applies body decay. */
export class Decay implements SimulationPlugin {
  readonly name = "decay";
  readonly #config: DecayConfig;
  readonly #energy: number;
  // FIFO of (due tick, cell): due ticks are non-decreasing because the delay is constant.
  #due: number[] = [];
  #cells: number[] = [];
  #head = 0;

  constructor(config: DecayConfig) {
    this.#config = config;
    this.#energy = pack(MoleculeType.ENERGY, config.energyValue);
  }

  /** Cells waiting to decay. */
  get pending(): number {
    return this.#cells.length - this.#head;
  }

  /** Cells waiting to decay, oldest first, and the tick each is due. */
  state(): DecayState {
    return { dueTicks: this.#due.slice(this.#head), cells: this.#cells.slice(this.#head) };
  }

  /** Continues from a {@link Decay.state} (restoring a checkpoint). */
  restore(state: DecayState): void {
    if (state.dueTicks.length !== state.cells.length) {
      throw new RangeError(
        `Decay state has ${state.dueTicks.length} due ticks for ${state.cells.length} cells`,
      );
    }
    this.#due = [...state.dueTicks];
    this.#cells = [...state.cells];
    this.#head = 0;
  }

  onDeath(sim: Simulation, _dead: Organism, body: number[]): void {
    const due = sim.tick + this.#config.delayTicks;
    for (const f of body) {
      this.#due.push(due);
      this.#cells.push(f);
    }
  }

  afterTick(sim: Simulation): void {
    const w = sim.world;
    while (this.#head < this.#cells.length && this.#due[this.#head]! <= sim.tick) {
      const f = this.#cells[this.#head]!;
      this.#head++;
      const m = w.cells[f]!;
      if (w.owners[f] !== 0 || m === 0 || typeOf(m) === MoleculeType.ENERGY) continue;
      const toEnergy = sim.rng.nextInt(1000) < this.#config.energyPerMille;
      w.set(f, toEnergy ? this.#energy : 0, 0);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#cells.length) {
      this.#cells = this.#cells.slice(this.#head);
      this.#due = this.#due.slice(this.#head);
      this.#head = 0;
    }
  }
}
