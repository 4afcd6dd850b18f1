/**
 * Energy sources: initial seeding, solar drops at random cells, and geysers that keep
 * emitting into their neighbourhood.
 *
 * @module
 */

import type { EnergyConfig } from "../engine_config.ts";
import { MoleculeType, pack } from "../../../../codec/mod.ts";
import type { Simulation, SimulationPlugin } from "../simulation.ts";

/** The state of {@link EnergySources} between ticks. */
export interface EnergySourcesState {
  /** Flat positions. */
  geysers: number[];
  solarAccumulator: number;
}

/** Adds ENERGY molecules to the world according to {@link EnergyConfig}. */
export class EnergySources implements SimulationPlugin {
  readonly name = "energy-sources";
  readonly #config: EnergyConfig;
  readonly #molecule: number;
  #geysers: number[] = [];
  #solarAccumulator = 0;

  constructor(config: EnergyConfig) {
    this.#config = config;
    this.#molecule = pack(MoleculeType.ENERGY, config.value);
  }

  /** Positions of the geysers (flat), chosen at start. */
  get geysers(): readonly number[] {
    return this.#geysers;
  }

  /** What carries over between ticks: the geysers and the solar remainder (per 1000 ticks). */
  state(): EnergySourcesState {
    return { geysers: [...this.#geysers], solarAccumulator: this.#solarAccumulator };
  }

  /** Continues from a {@link EnergySources.state} (restoring a checkpoint; no start hook then). */
  restore(state: EnergySourcesState): void {
    this.#geysers = [...state.geysers];
    this.#solarAccumulator = state.solarAccumulator;
  }

  start(sim: Simulation): void {
    const w = sim.world;
    for (let i = 0; i < this.#config.initialCount; i++) this.#drop(sim, sim.rng.nextInt(w.size));
    this.#geysers = [];
    for (let i = 0; i < this.#config.geysers; i++) this.#geysers.push(sim.rng.nextInt(w.size));
  }

  afterTick(sim: Simulation): void {
    const c = this.#config;
    const w = sim.world;
    if (w.typeCounts[MoleculeType.ENERGY]! * 1000 >= w.size * c.maxCoveragePerMille) return;
    this.#solarAccumulator += c.solarPer1000Ticks;
    while (this.#solarAccumulator >= 1000) {
      this.#solarAccumulator -= 1000;
      this.#drop(sim, sim.rng.nextInt(w.size));
    }
    if (this.#geysers.length > 0 && sim.tick % c.geyserInterval === 0) {
      const r = c.geyserRadius;
      const v: number[] = new Array(w.dims);
      for (const g of this.#geysers) {
        for (let a = 0; a < w.dims; a++) v[a] = sim.rng.nextInt(2 * r + 1) - r;
        const f = w.offset(g, v);
        if (f >= 0) this.#drop(sim, f);
      }
    }
  }

  #drop(sim: Simulation, f: number): void {
    const w = sim.world;
    if (w.cells[f] === 0 && w.owners[f] === 0) w.set(f, this.#molecule, 0);
  }
}
