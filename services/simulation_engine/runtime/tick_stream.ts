/**
 * Cuts the simulation's states into self-contained, encoded chunks: a snapshot, then deltas
 * (incremental, accumulated since the last full state, or full), per the configured intervals.
 *
 * This is the engine's adapter to codec/chunk_writer.ts: it decides what each sample holds and
 * feeds the world's cells, the organisms ({@link organismStateFields}) and the summary to the
 * codec's writers, which encode them straight into bytes. The output is byte-identical to
 * `toBinary(TickDataChunkSchema, ...)` of the same content (tested).
 *
 * @module
 */

import {
  beginSample,
  decodeTickDataChunk,
  DELTA_LAYOUT,
  encodeChunk,
  endSample,
  OrganismColumnsWriter,
  ProtoWriter,
  type SampleLayout,
  SNAPSHOT_LAYOUT,
  type TickSummaryFields,
  writeCellColumns,
  writeTickSummaryField,
} from "../../../codec/mod.ts";
import { DeltaType } from "../../../proto/mod.ts";
import type { IntervalsConfig } from "./engine_config.ts";
import type { Organism } from "./organism.ts";
import { emptyOrganismStateFields, organismStateFields } from "./organism_state.ts";
import type { Simulation } from "./simulation.ts";
import type { World } from "./world.ts";

/** Options for {@link TickStream}. */
export interface TickStreamOptions {
  intervals: IntervalsConfig;
  /** Written into every chunk; "" for content hashes. */
  runId: string;
  /** Wall clock for `created_at_ms`; default Date.now. Return 0 for reproducible bytes. */
  clock?: () => number;
  /** Continue where a stream stood ({@link TickStream.state}); the simulation is restored first. */
  from?: TickStreamState;
}

/** The samples of a chunk written so far. */
export interface OpenChunkState {
  firstTick: number;
  lastTick: number;
  sampleCount: number;
  /** The encoded samples: fields 4 (snapshot) and 5 (deltas) of the TickDataChunk. */
  body: Uint8Array;
}

/**
 * Where a stream stands between two ticks: what a checkpoint needs so that the chunks after a
 * restore are byte-identical to those of the uninterrupted run.
 */
export interface TickStreamState {
  /** Index of the open chunk, or of the next one. */
  chunkIndex: number;
  /** True when nothing is left to observe at the current tick (observed, or no sample tick). */
  tickSampled: boolean;
  /** Births and deaths at the previous sample: a summary counts the difference. */
  lastBirths: number;
  lastDeaths: number;
  /** The open chunk; null between chunks. */
  open: OpenChunkState | null;
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

/**
 * Copies every non-empty or owned cell of `world` into the columns, in position order; returns
 * how many. A function of its own: V8 compiles this loop on-stack while it runs, and code after
 * the loop in the same function (never run by then) made that compiled code bail out on every
 * full sample (seen with --trace-deopt).
 */
function collectOccupied(
  world: World,
  flat: Int32Array,
  molecule: Int32Array,
  owner: Int32Array,
): number {
  const cells = world.cells;
  const owners = world.owners;
  const size = world.size;
  let n = 0;
  for (let f = 0; f < size; f++) {
    const m = cells[f]!;
    const o = owners[f]!;
    if (m !== 0 || o !== 0) {
      flat[n] = f;
      molecule[n] = m;
      owner[n] = o;
      n++;
    }
  }
  return n;
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
  /** The tick last given to observe(): a second call at the same tick does nothing. */
  #observedTick = -1;
  #flat = new Int32Array(0);
  #molecule = new Int32Array(0);
  #owner = new Int32Array(0);
  /** Reused for every organism and summary written: no allocation per sample. */
  readonly #organism = emptyOrganismStateFields();
  /** The organisms as columns of changes since the previous sample (format 2). */
  readonly #organisms = new OrganismColumnsWriter();
  readonly #summary: TickSummaryFields = {
    organismsAlive: 0,
    organismsCreated: 0,
    births: 0,
    deaths: 0,
    totalEnergy: 0,
    totalEntropy: 0,
    maxGeneration: 0,
    distinctGenomes: 0,
    // World.typeCounts' type: filling keeps the field type (see emptyOrganismStateFields).
    moleculeCounts: new Float64Array(0),
    instructionsExecuted: 0,
  };

  constructor(sim: Simulation, options: TickStreamOptions) {
    this.#sim = sim;
    this.#iv = options.intervals;
    this.#runId = options.runId;
    this.#clock = options.clock ?? Date.now;
    if (options.from !== undefined) this.#continueFrom(options.from);
  }

  #continueFrom(from: TickStreamState): void {
    this.#chunkIndex = from.chunkIndex;
    this.#observedTick = from.tickSampled ? this.#sim.tick : -1;
    this.#lastBirths = from.lastBirths;
    this.#lastDeaths = from.lastDeaths;
    const open = from.open;
    if (open === null) return;
    this.#open = true;
    this.#firstTick = open.firstTick;
    this.#lastTick = open.lastTick;
    this.#samples = open.sampleCount;
    const w = this.#body;
    w.reset();
    w.ensure(open.body.length);
    w.buf.set(open.body, 0);
    w.pos = open.body.length;
    // The next sample's organisms are written as changes since the open chunk's last sample.
    const chunk = decodeTickDataChunk(encodeChunk({
      runId: "",
      firstTick: open.firstTick,
      lastTick: open.lastTick,
      chunkIndex: from.chunkIndex,
      sampleCount: open.sampleCount,
      createdAtMs: 0,
    }, w));
    this.#organisms.restore((chunk.deltas.at(-1) ?? chunk.snapshot)?.organisms ?? []);
  }

  /** The run id written into every chunk. */
  get runId(): string {
    return this.#runId;
  }

  /** Whether a chunk is open (samples written, not yet returned). */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Where the stream stands, for a checkpoint; the open chunk's samples are copied. */
  state(): TickStreamState {
    return {
      chunkIndex: this.#chunkIndex,
      tickSampled: this.#observedTick === this.#sim.tick || !this.isSampleTick(),
      lastBirths: this.#lastBirths,
      lastDeaths: this.#lastDeaths,
      open: this.#open
        ? {
          firstTick: this.#firstTick,
          lastTick: this.#lastTick,
          sampleCount: this.#samples,
          body: this.#body.bytes(),
        }
        : null,
    };
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
   * Organisms that died since the previous sample appear once more, with alive=false. Once per
   * tick: a second call at the same tick (e.g. the first call after restoring a checkpoint of
   * an observed tick) does nothing.
   */
  observe(): EncodedChunk | null {
    const sim = this.#sim;
    if (sim.tick === this.#observedTick) return null;
    this.#observedTick = sim.tick;
    if (!this.isSampleTick()) return null;
    const world = sim.world;
    const w = this.#body;
    const tick = sim.tick;
    const organisms = byId(sim.organisms, sim.takeDead());
    const snapshot = !this.#open;
    if (snapshot) {
      this.#open = true;
      this.#firstTick = tick;
      w.reset();
    }
    const layout: SampleLayout = snapshot ? SNAPSHOT_LAYOUT : DELTA_LAYOUT;
    // The snapshot is a full state too; the layout drops its type (TickData has none).
    const type = snapshot ? DeltaType.FULL : this.#deltaType();
    const msg = beginSample(w, layout, tick, type);
    if (type === DeltaType.FULL) {
      this.#writeFullCells(w, layout.cells, world);
      world.clearSnapshotChanges();
      // A full state compares its organisms with the empty state too: it stands alone.
      this.#organisms.reset();
    } else {
      this.#writeChanged(
        w,
        layout.cells,
        world,
        type === DeltaType.ACCUMULATED ? world.snapshotChanges() : world.sampleChanges(),
      );
    }
    this.#writeSummary(w, layout.summary);
    this.#addOrganisms(world, organisms);
    endSample(w, layout, sim.rng.stateHash(), msg, this.#organisms);
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

  /** The type of the next delta: full every `snapshot` samples, else accumulated or not. */
  #deltaType(): DeltaType {
    const within = this.#samples % this.#iv.snapshot;
    return within === 0
      ? DeltaType.FULL
      : within % this.#iv.accumulatedDelta === 0
      ? DeltaType.ACCUMULATED
      : DeltaType.INCREMENTAL;
  }

  #close(): EncodedChunk {
    const bytes = encodeChunk({
      runId: this.#runId,
      firstTick: this.#firstTick,
      lastTick: this.#lastTick,
      chunkIndex: this.#chunkIndex,
      sampleCount: this.#samples,
      createdAtMs: this.#clock(),
    }, this.#body);
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
    this.#columns(world.size);
    const n = collectOccupied(world, this.#flat, this.#molecule, this.#owner);
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
    writeCellColumns(w, field, this.#flat, this.#molecule, this.#owner, n);
  }

  #addOrganisms(world: World, organisms: Organism[]): void {
    const fields = this.#organism;
    for (const o of organisms) this.#organisms.add(organismStateFields(o, fields), world);
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
    const s = this.#summary;
    s.organismsAlive = sim.organisms.length;
    s.organismsCreated = sim.organismsCreated;
    s.births = sim.births - this.#lastBirths;
    s.deaths = sim.deaths - this.#lastDeaths;
    s.totalEnergy = energy;
    s.totalEntropy = entropy;
    s.maxGeneration = maxGen;
    s.distinctGenomes = genomes.size;
    s.moleculeCounts = sim.world.typeCounts;
    s.instructionsExecuted = sim.instructionsExecuted;
    writeTickSummaryField(w, field, s);
    this.#lastBirths = sim.births;
    this.#lastDeaths = sim.deaths;
  }
}

/** Organisms per sample up to which {@link byId} sorts by packed keys (index in 21 bits). */
const KEY_INDEX = 2 ** 21;
let keys = new Float64Array(1024);

/**
 * The living (in the order of the last tick's shuffle) and the dead organisms, ascending by id.
 * Sorted as numbers, `id * 2^21 + index`, by the typed array's native sort: a comparator
 * called from Array.prototype.sort was 3-4% of the engine's time.
 */
function byId(living: Organism[], dead: Organism[]): Organism[] {
  const all = dead.length === 0 ? living : living.concat(dead);
  const n = all.length;
  if (n >= KEY_INDEX) return all.slice().sort((a, b) => a.id - b.id);
  if (keys.length < n) keys = new Float64Array(n * 2);
  const k = keys.subarray(0, n);
  for (let i = 0; i < n; i++) k[i] = all[i]!.id * KEY_INDEX + i;
  k.sort();
  const out = new Array<Organism>(n);
  for (let i = 0; i < n; i++) out[i] = all[k[i]! % KEY_INDEX]!;
  return out;
}
