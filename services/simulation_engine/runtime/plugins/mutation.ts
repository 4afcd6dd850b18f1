/**
 * Mutation at birth: substitution, insertion, deletion and label rewrite on the child's body.
 *
 * @module
 */

import type { MutationConfig } from "../engine_config.ts";
import { INSTRUCTIONS } from "../../../../codec/isa.ts";
import {
  CONTENT_MASK,
  MoleculeType,
  pack,
  typeOf,
  valueOf,
  withValue,
} from "../../../../codec/mod.ts";
import type { Organism } from "../organism.ts";
import type { Simulation, SimulationPlugin } from "../simulation.ts";

/** Counts of applied mutations, for statistics and tests. */
export interface MutationCounts {
  substitution: number;
  insertion: number;
  deletion: number;
  labelRewrite: number;
}

/** Mutates newborn bodies. */
export class Mutation implements SimulationPlugin {
  readonly name = "mutation";
  readonly #config: MutationConfig;
  readonly counts: MutationCounts = { substitution: 0, insertion: 0, deletion: 0, labelRewrite: 0 };

  constructor(config: MutationConfig) {
    this.#config = config;
  }

  onBirth(sim: Simulation, child: Organism, body: number[]): void {
    const c = this.#config;
    const rng = sim.rng;
    if (body.length === 0) return;
    if (rng.nextInt(1000) < c.substitutionPerMille) this.#substitute(sim, body);
    if (rng.nextInt(1000) < c.insertionPerMille) this.#insert(sim, child, body);
    if (rng.nextInt(1000) < c.deletionPerMille) this.#delete(sim, child, body);
    if (rng.nextInt(1000) < c.labelRewritePerMille) this.#rewriteLabel(sim, body);
  }

  /** A molecule like `near` but different from it. */
  #randomMolecule(sim: Simulation, near: number): number {
    const rng = sim.rng;
    switch (typeOf(near)) {
      case MoleculeType.DATA: {
        const step = 1 + rng.nextInt(4);
        return withValue(near, valueOf(near) + (rng.nextInt(2) === 0 ? step : -step));
      }
      case MoleculeType.REGISTER:
        return pack(MoleculeType.REGISTER, (valueOf(near) + 1 + rng.nextInt(7)) & 7);
      case MoleculeType.LABEL:
      case MoleculeType.LABELREF:
        return withValue(near, valueOf(near) ^ (1 << rng.nextInt(19)));
      default: {
        // Any opcode but the current one (1..n-1; 0 is the empty cell).
        const n = INSTRUCTIONS.length - 1;
        const current = typeOf(near) === MoleculeType.CODE ? valueOf(near) : 0;
        let op = 1 + rng.nextInt(n);
        if (op === current) op = 1 + (op % n);
        return pack(MoleculeType.CODE, op);
      }
    }
  }

  #substitute(sim: Simulation, body: number[]): void {
    const w = sim.world;
    const f = body[sim.rng.nextInt(body.length)]!;
    const m = w.cells[f]! & CONTENT_MASK;
    w.set(f, this.#randomMolecule(sim, m), w.owners[f]!);
    this.counts.substitution++;
  }

  /** Shifts the run of body cells from a random cell on by one along the child's direction. */
  #insert(sim: Simulation, child: Organism, body: number[]): void {
    const w = sim.world;
    const start = body[sim.rng.nextInt(body.length)]!;
    const run = [start];
    let p = start;
    for (;;) {
      const q = w.step(p, child.dirAxis, child.dirSign);
      if (q < 0 || q === start) return;
      if (w.owners[q] === child.id) {
        run.push(q);
        p = q;
        if (run.length > 4096) return;
        continue;
      }
      if (w.cells[q] !== 0 || w.owners[q] !== 0) return; // no room at the end of the run
      run.push(q);
      break;
    }
    for (let i = run.length - 1; i > 0; i--) {
      w.set(run[i]!, w.cells[run[i - 1]!]!, child.id);
    }
    w.set(start, pack(MoleculeType.CODE, 1 + sim.rng.nextInt(INSTRUCTIONS.length - 1)), child.id);
    body.push(run[run.length - 1]!);
    this.counts.insertion++;
  }

  /** Removes a random body cell, pulling the rest of its run back by one. */
  #delete(sim: Simulation, child: Organism, body: number[]): void {
    const w = sim.world;
    if (body.length < 2) return;
    const start = body[sim.rng.nextInt(body.length)]!;
    const run = [start];
    let p = start;
    for (;;) {
      const q = w.step(p, child.dirAxis, child.dirSign);
      if (q < 0 || q === start || w.owners[q] !== child.id || run.length > 4096) break;
      run.push(q);
      p = q;
    }
    for (let i = 0; i < run.length - 1; i++) w.set(run[i]!, w.cells[run[i + 1]!]!, child.id);
    const last = run[run.length - 1]!;
    w.set(last, 0, 0);
    const k = body.indexOf(last);
    if (k >= 0) body.splice(k, 1);
    this.counts.deletion++;
  }

  #rewriteLabel(sim: Simulation, body: number[]): void {
    const w = sim.world;
    const labels = body.filter((f) => {
      const t = typeOf(w.cells[f]!);
      return t === MoleculeType.LABEL || t === MoleculeType.LABELREF;
    });
    if (labels.length === 0) return;
    const f = labels[sim.rng.nextInt(labels.length)]!;
    const m = w.cells[f]!;
    w.set(f, withValue(m, valueOf(m) ^ (1 << sim.rng.nextInt(19))), w.owners[f]!);
    this.counts.labelRewrite++;
  }
}
