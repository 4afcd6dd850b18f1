/**
 * Cuts the simulation's states into self-contained chunks: a snapshot, then deltas
 * (incremental, accumulated since the last full state, or full), per the configured intervals.
 *
 * @module
 */

import {
  type CellColumns,
  CellColumnsSchema,
  create,
  DeltaType,
  FORMAT_VERSION,
  type OrganismState,
  OrganismStateSchema,
  type TickDataChunk,
  TickDataChunkSchema,
  TickDataSchema,
  type TickDelta,
  TickDeltaSchema,
  type TickSummary,
  TickSummarySchema,
  type Vector,
  VectorSchema,
} from "../../../proto/mod.ts";
import type { IntervalsConfig } from "./engine_config.ts";
import { MOLECULE_TYPE_COUNT } from "./molecule.ts";
import type { Organism } from "./organism.ts";
import type { Simulation } from "./simulation.ts";
import type { World } from "./world.ts";

/** Options for {@link TickStream}. */
export interface TickStreamOptions {
  intervals: IntervalsConfig;
  /** Written into every chunk; "" for content hashes. */
  runId: string;
  /** Wall clock for `created_at_ms`; default Date.now. Return 0 for reproducible bytes. */
  clock?: () => number;
}

function vector(world: World, flat: number): Vector {
  return create(VectorSchema, { components: world.coords(flat) });
}

/** Full VM state of an organism as a message. */
export function organismState(world: World, o: Organism): OrganismState {
  const dims = world.dims;
  const lrs: Vector[] = [];
  for (let i = 0; i < o.lr.length / dims; i++) {
    lrs.push(create(VectorSchema, { components: o.location(i) }));
  }
  return create(OrganismStateSchema, {
    id: o.id,
    parentId: o.parentId,
    birthTick: BigInt(o.birthTick),
    generation: o.generation,
    ip: vector(world, o.ip),
    dv: create(VectorSchema, { components: o.direction() }),
    dataPointers: [vector(world, o.dps[0]!), vector(world, o.dps[1]!)],
    activeDp: o.activeDp,
    dataRegisters: Array.from(o.dr),
    locationRegisters: lrs,
    dataStack: [...o.dataStack],
    locationStack: o.locationStack.map((v) => create(VectorSchema, { components: Array.from(v) })),
    callStack: o.callStack.map((f) => vector(world, f)),
    energy: o.er,
    entropy: o.sr,
    marker: o.mr,
    genomeHash: o.genomeHash,
    lastOpcode: o.lastOpcode,
    lastArgs: [...o.lastArgs],
    lastCost: o.lastCost,
    lastFailed: o.lastFailed,
    failureReason: o.failureReason,
    instructionsExecuted: BigInt(o.instructions),
    alive: o.alive,
    deathReason: o.deathReason,
    children: o.children,
    bodySize: o.bodySize,
  });
}

/** Every non-empty or owned cell, in position order. */
export function fullCells(world: World): CellColumns {
  const cells = world.cells;
  const owners = world.owners;
  const flat: number[] = [];
  const molecule: number[] = [];
  const owner: number[] = [];
  for (let f = 0; f < world.size; f++) {
    if (cells[f] !== 0 || owners[f] !== 0) {
      flat.push(f);
      molecule.push(cells[f]!);
      owner.push(owners[f]!);
    }
  }
  return create(CellColumnsSchema, { flatIndex: flat, molecule, owner });
}

function changedCells(world: World, positions: Int32Array): CellColumns {
  const sorted = Int32Array.from(positions).sort();
  const molecule = new Array<number>(sorted.length);
  const owner = new Array<number>(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    molecule[i] = world.cells[sorted[i]!]!;
    owner[i] = world.owners[sorted[i]!]!;
  }
  return create(CellColumnsSchema, { flatIndex: Array.from(sorted), molecule, owner });
}

/** Builds chunks from a simulation. Call {@link TickStream.observe} after start and every step. */
export class TickStream {
  readonly #sim: Simulation;
  readonly #iv: IntervalsConfig;
  readonly #runId: string;
  readonly #clock: () => number;
  #chunk: TickDataChunk | null = null;
  #position = 0; // sample position inside the current chunk
  #chunkIndex = 0n;
  #lastBirths = 0;
  #lastDeaths = 0;

  constructor(sim: Simulation, options: TickStreamOptions) {
    this.#sim = sim;
    this.#iv = options.intervals;
    this.#runId = options.runId;
    this.#clock = options.clock ?? Date.now;
  }

  /** Samples per chunk. */
  get samplesPerChunk(): number {
    return this.#iv.snapshot * this.#iv.chunk;
  }

  /** Whether the current tick is sampled. */
  isSampleTick(): boolean {
    return this.#sim.tick % this.#iv.sampling === 0;
  }

  /**
   * Records the current tick if it is a sample tick. Returns the chunk it completes, if any.
   * Organisms that died since the previous sample appear with alive=false.
   */
  observe(): TickDataChunk | null {
    const sim = this.#sim;
    if (!this.isSampleTick()) return null;
    const world = sim.world;
    const organisms = sim.organisms.map((o) => organismState(world, o));
    for (const d of sim.takeDead()) organisms.push(organismState(world, d));
    organisms.sort((a, b) => a.id - b.id);
    const summary = this.#summary();
    const tick = BigInt(sim.tick);
    const rngStateHash = sim.rng.stateHash();
    const pos = this.#position;
    if (this.#chunk === null) {
      this.#chunk = create(TickDataChunkSchema, {
        runId: this.#runId,
        firstTick: tick,
        lastTick: tick,
        snapshot: create(TickDataSchema, {
          tick,
          cells: fullCells(world),
          organisms,
          summary,
          rngStateHash,
        }),
        formatVersion: FORMAT_VERSION,
        chunkIndex: this.#chunkIndex,
        sampleCount: 1,
      });
      world.clearSnapshotChanges();
    } else {
      const within = pos % this.#iv.snapshot;
      let type: DeltaType;
      let cells: CellColumns;
      if (within === 0) {
        type = DeltaType.FULL;
        cells = fullCells(world);
      } else if (within % this.#iv.accumulatedDelta === 0) {
        type = DeltaType.ACCUMULATED;
        cells = changedCells(world, world.snapshotChanges());
      } else {
        type = DeltaType.INCREMENTAL;
        cells = changedCells(world, world.sampleChanges());
      }
      if (type === DeltaType.FULL) world.clearSnapshotChanges();
      const delta: TickDelta = create(TickDeltaSchema, {
        tick,
        deltaType: type,
        changedCells: cells,
        organisms,
        summary,
        rngStateHash,
      });
      this.#chunk.deltas.push(delta);
      this.#chunk.lastTick = tick;
      this.#chunk.sampleCount++;
    }
    world.clearSampleChanges();
    this.#position++;
    if (this.#position >= this.samplesPerChunk) return this.#close();
    return null;
  }

  /** Closes and returns the partial chunk at the end of a finite run, if any. */
  flush(): TickDataChunk | null {
    return this.#chunk === null ? null : this.#close();
  }

  #close(): TickDataChunk {
    const c = this.#chunk!;
    c.createdAtMs = BigInt(this.#clock());
    this.#chunk = null;
    this.#position = 0;
    this.#chunkIndex++;
    return c;
  }

  #summary(): TickSummary {
    const sim = this.#sim;
    let energy = 0;
    let entropy = 0;
    let maxGen = 0;
    const genomes = new Set<number>();
    for (const o of sim.organisms) {
      energy += o.er;
      entropy += o.sr;
      if (o.generation > maxGen) maxGen = o.generation;
      genomes.add(o.genomeHash);
    }
    const counts = Array.from(sim.world.typeCounts.subarray(0, MOLECULE_TYPE_COUNT));
    const s = create(TickSummarySchema, {
      organismsAlive: sim.organisms.length,
      organismsCreated: BigInt(sim.organismsCreated),
      births: sim.births - this.#lastBirths,
      deaths: sim.deaths - this.#lastDeaths,
      totalEnergy: BigInt(energy),
      totalEntropy: BigInt(entropy),
      maxGeneration: maxGen,
      distinctGenomes: genomes.size,
      moleculeCounts: counts,
      instructionsExecuted: BigInt(sim.instructionsExecuted),
    });
    this.#lastBirths = sim.births;
    this.#lastDeaths = sim.deaths;
    return s;
  }
}
