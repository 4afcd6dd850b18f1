/**
 * Cuts the simulation's states into self-contained, encoded chunks: a snapshot, then deltas
 * (incremental, accumulated since the last full state, or full), per the configured intervals.
 *
 * The bytes are written straight from the world and the organisms with {@link ProtoWriter}:
 * building protobuf-es messages first cost more than the simulation itself. The output is
 * byte-identical to `toBinary(TickDataChunkSchema, ...)` of the same content (tested).
 *
 * @module
 */

import { DeltaType, FORMAT_VERSION } from "../../../proto/mod.ts";
import type { IntervalsConfig } from "./engine_config.ts";
import { MOLECULE_TYPE_COUNT } from "./molecule.ts";
import type { Organism } from "./organism.ts";
import { LEN, ProtoWriter } from "./proto_writer.ts";
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

/** One finished chunk: an encoded `evochora.v1.TickDataChunk` and what routing needs of it. */
export interface EncodedChunk {
  /** 0-based position in the run. */
  index: number;
  firstTick: number;
  lastTick: number;
  sampleCount: number;
  bytes: Uint8Array;
}

function writeCoords(w: ProtoWriter, world: World, flat: number): void {
  const shape = world.shape;
  const strides = world.strides;
  for (let a = 0; a < shape.length; a++) w.uvarint(Math.floor(flat / strides[a]!) % shape[a]!);
}

function packedCoords(w: ProtoWriter, field: number, world: World, flats: ArrayLike<number>): void {
  if (flats.length === 0) return;
  w.tag(field, LEN);
  const start = w.begin();
  for (let i = 0; i < flats.length; i++) writeCoords(w, world, flats[i]!);
  w.end(start);
}

/** Writes the fields of an `OrganismState` (without tag and length). */
export function writeOrganism(w: ProtoWriter, world: World, o: Organism): void {
  w.intField(1, o.id);
  w.intField(2, o.parentId);
  w.intField(3, o.birthTick);
  w.intField(4, o.generation);
  packedCoords(w, 5, world, [o.ip]);
  w.packedSigned(6, o.direction());
  packedCoords(w, 7, world, o.dps);
  w.intField(8, o.activeDp);
  w.packed(9, o.dr);
  w.packedSigned(10, o.lr);
  w.packed(11, o.dataStack);
  if (o.locationStack.length > 0) {
    const flat: number[] = [];
    for (const v of o.locationStack) for (let i = 0; i < v.length; i++) flat.push(v[i]!);
    w.packedSigned(12, flat);
  }
  packedCoords(w, 13, world, o.callStack);
  w.intField(14, o.er);
  w.intField(15, o.sr);
  w.intField(16, o.mr);
  w.intField(17, o.genomeHash >>> 0);
  w.intField(18, o.lastOpcode);
  w.packed(19, o.lastArgs);
  w.intField(20, o.lastCost);
  w.boolField(21, o.lastFailed);
  w.stringField(22, o.failureReason);
  w.intField(23, o.instructions);
  w.boolField(24, o.alive);
  w.stringField(25, o.deathReason);
  w.intField(26, o.children);
  w.intField(27, o.bodySize);
  w.intField(28, o.deathTick);
  if (o.lastAt >= 0) packedCoords(w, 29, world, [o.lastAt]);
}

/** Builds encoded chunks from a simulation. Call {@link TickStream.observe} after start and every step. */
export class TickStream {
  readonly #sim: Simulation;
  readonly #iv: IntervalsConfig;
  readonly #runId: string;
  readonly #clock: () => number;
  /** Fields 4 (snapshot) and 5 (deltas) of the open chunk. */
  readonly #body = new ProtoWriter(1 << 20);
  #open = false;
  #firstTick = 0;
  #lastTick = 0;
  #samples = 0;
  #chunkIndex = 0;
  #lastBirths = 0;
  #lastDeaths = 0;
  #flat = new Int32Array(0);
  #molecule = new Int32Array(0);
  #owner = new Int32Array(0);

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
   * Organisms that died since the previous sample appear once more, with alive=false.
   */
  observe(): EncodedChunk | null {
    const sim = this.#sim;
    if (!this.isSampleTick()) return null;
    const world = sim.world;
    const w = this.#body;
    const tick = sim.tick;
    const organisms = sim.organisms.concat(sim.takeDead()).sort((a, b) => a.id - b.id);
    if (!this.#open) {
      this.#open = true;
      this.#firstTick = tick;
      w.reset();
      w.tag(4, LEN);
      const msg = w.begin();
      w.intField(1, tick);
      this.#writeFullCells(w, 2, world);
      this.#writeOrganisms(w, 3, world, organisms);
      this.#writeSummary(w, 4);
      w.uint64Field(5, sim.rng.stateHash());
      w.end(msg);
      world.clearSnapshotChanges();
    } else {
      const within = this.#samples % this.#iv.snapshot;
      const type = within === 0
        ? DeltaType.FULL
        : within % this.#iv.accumulatedDelta === 0
        ? DeltaType.ACCUMULATED
        : DeltaType.INCREMENTAL;
      w.tag(5, LEN);
      const msg = w.begin();
      w.intField(1, tick);
      w.intField(2, type);
      if (type === DeltaType.FULL) {
        this.#writeFullCells(w, 3, world);
        world.clearSnapshotChanges();
      } else {
        this.#writeChanged(
          w,
          3,
          world,
          type === DeltaType.ACCUMULATED ? world.snapshotChanges() : world.sampleChanges(),
        );
      }
      this.#writeOrganisms(w, 4, world, organisms);
      this.#writeSummary(w, 5);
      w.uint64Field(6, sim.rng.stateHash());
      w.end(msg);
    }
    world.clearSampleChanges();
    this.#lastTick = tick;
    this.#samples++;
    if (this.#samples >= this.samplesPerChunk) return this.#close();
    return null;
  }

  /** Closes and returns the partial chunk at the end of a finite run, if any. */
  flush(): EncodedChunk | null {
    return this.#open ? this.#close() : null;
  }

  #close(): EncodedChunk {
    const head = new ProtoWriter(64 + this.#runId.length * 3);
    head.stringField(1, this.#runId);
    head.intField(2, this.#firstTick);
    head.intField(3, this.#lastTick);
    const tail = new ProtoWriter(64);
    tail.intField(6, FORMAT_VERSION);
    tail.intField(7, this.#chunkIndex);
    tail.intField(8, this.#samples);
    tail.intField(9, this.#clock());
    const body = this.#body;
    const bytes = new Uint8Array(head.pos + body.pos + tail.pos);
    bytes.set(head.buf.subarray(0, head.pos), 0);
    bytes.set(body.buf.subarray(0, body.pos), head.pos);
    bytes.set(tail.buf.subarray(0, tail.pos), head.pos + body.pos);
    const chunk: EncodedChunk = {
      index: this.#chunkIndex,
      firstTick: this.#firstTick,
      lastTick: this.#lastTick,
      sampleCount: this.#samples,
      bytes,
    };
    this.#open = false;
    this.#samples = 0;
    this.#chunkIndex++;
    return chunk;
  }

  #columns(n: number): void {
    if (this.#flat.length >= n) return;
    this.#flat = new Int32Array(n);
    this.#molecule = new Int32Array(n);
    this.#owner = new Int32Array(n);
  }

  /** Every non-empty or owned cell, in position order, as a CellColumns field. */
  #writeFullCells(w: ProtoWriter, field: number, world: World): void {
    const cells = world.cells;
    const owners = world.owners;
    this.#columns(world.size);
    const flat = this.#flat;
    const molecule = this.#molecule;
    const owner = this.#owner;
    let n = 0;
    for (let f = 0; f < world.size; f++) {
      const m = cells[f]!;
      const o = owners[f]!;
      if (m !== 0 || o !== 0) {
        flat[n] = f;
        molecule[n] = m;
        owner[n] = o;
        n++;
      }
    }
    this.#writeColumns(w, field, n);
  }

  #writeChanged(w: ProtoWriter, field: number, world: World, positions: Int32Array): void {
    this.#columns(positions.length);
    const flat = this.#flat.subarray(0, positions.length);
    flat.set(positions);
    flat.sort();
    const molecule = this.#molecule;
    const owner = this.#owner;
    for (let i = 0; i < flat.length; i++) {
      molecule[i] = world.cells[flat[i]!]!;
      owner[i] = world.owners[flat[i]!]!;
    }
    this.#writeColumns(w, field, flat.length);
  }

  #writeColumns(w: ProtoWriter, field: number, n: number): void {
    w.tag(field, LEN);
    const msg = w.begin();
    w.packed(1, this.#flat, 0, n);
    w.packed(2, this.#molecule, 0, n);
    w.packed(3, this.#owner, 0, n);
    w.end(msg);
  }

  #writeOrganisms(w: ProtoWriter, field: number, world: World, organisms: Organism[]): void {
    for (const o of organisms) {
      w.tag(field, LEN);
      const msg = w.begin();
      writeOrganism(w, world, o);
      w.end(msg);
    }
  }

  #writeSummary(w: ProtoWriter, field: number): void {
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
    w.tag(field, LEN);
    const msg = w.begin();
    w.intField(1, sim.organisms.length);
    w.intField(2, sim.organismsCreated);
    w.intField(3, sim.births - this.#lastBirths);
    w.intField(4, sim.deaths - this.#lastDeaths);
    w.intField(5, energy);
    w.intField(6, entropy);
    w.intField(7, maxGen);
    w.intField(8, genomes.size);
    w.packed(9, sim.world.typeCounts, 0, MOLECULE_TYPE_COUNT);
    w.intField(10, sim.instructionsExecuted);
    w.end(msg);
    this.#lastBirths = sim.births;
    this.#lastDeaths = sim.deaths;
  }
}
