/**
 * Cuts the simulation's states into self-contained, encoded chunks: a snapshot, then deltas
 * (incremental, accumulated since the last full state, or full), per the configured intervals.
 *
 * This is the engine's adapter to the codec: it decides what each sample holds and feeds the
 * world's cells, the organisms ({@link organismStateFields}) and the summary to a sample sink
 * (codec/sample_sink.ts). By default that is codec/chunk_body_writer.ts, which encodes them
 * straight into bytes; a stream made with `capture` gives them to codec/chunk_capture.ts instead,
 * which only copies them, and the chunk is encoded later, e.g. on the engine's chunk encoder
 * thread, into the same bytes. The output is byte-identical to `toBinary(TickDataChunkSchema,
 * ...)` of the same content (tested).
 *
 * @module
 */

import {
  type CapturedChunk,
  ChunkBodyWriter,
  ChunkCapture,
  type ChunkFields,
  decodeTickDataChunk,
  emptyTickSummary,
  encodeCapturedChunk,
  encodeChunk,
  ProtoWriter,
  replayCapture,
  type SampleSink,
  type TickSummaryFields,
} from "../../../codec/mod.ts";
import { DeltaType } from "../../../proto/mod.ts";
import type { IntervalsConfig } from "./engine_config.ts";
import { DistinctCounter } from "./distinct_counter.ts";
import { IdOrder } from "./id_order.ts";
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
  /**
   * Capture the samples as values and leave the encoding to the caller
   * ({@link TickStream.capture}, e.g. on another thread) instead of encoding them as they come.
   */
  capture?: boolean;
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

/**
 * Builds chunks from a simulation. Call {@link TickStream.observe} (or, capturing,
 * {@link TickStream.capture}) after start and every step.
 */
export class TickStream {
  readonly #sim: Simulation;
  readonly #iv: IntervalsConfig;
  readonly #runId: string;
  readonly #clock: () => number;
  /** Encodes the samples: as they come, or a captured chunk when it is wanted here. */
  readonly #writer: ChunkBodyWriter;
  readonly #capture: ChunkCapture | null;
  /** Where the samples go: the capture if there is one, else the writer. */
  readonly #sink: SampleSink;
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
  /** Each sample's organisms in id order, from the previous sample's. */
  readonly #order = new IdOrder();
  /** Counts a sample's distinct genomes. */
  readonly #genomes = new DistinctCounter();
  /** Reused for every organism and summary written: no allocation per sample. */
  readonly #organism = emptyOrganismStateFields();
  // Its molecule counts are a Float64Array, World.typeCounts' type: filling keeps the field
  // type (see emptyOrganismStateFields).
  readonly #summary: TickSummaryFields = emptyTickSummary();
  /** Gives a captured chunk's arrays back once it is encoded (see {@link capture}). */
  readonly recycle = (chunk: CapturedChunk): void => this.#capture?.recycle(chunk);

  constructor(sim: Simulation, options: TickStreamOptions) {
    this.#sim = sim;
    this.#iv = options.intervals;
    this.#runId = options.runId;
    this.#clock = options.clock ?? Date.now;
    this.#writer = new ChunkBodyWriter(sim.world);
    this.#capture = options.capture === true ? new ChunkCapture(sim.world) : null;
    this.#sink = this.#capture ?? this.#writer;
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
    const w = new ProtoWriter(open.body.length);
    w.raw(open.body);
    // The next sample's organisms are written as changes since the open chunk's last sample.
    const chunk = decodeTickDataChunk(encodeChunk({
      runId: "",
      firstTick: open.firstTick,
      lastTick: open.lastTick,
      chunkIndex: from.chunkIndex,
      sampleCount: open.sampleCount,
      createdAtMs: 0,
    }, w));
    const last = (chunk.deltas.at(-1) ?? chunk.snapshot)?.organisms ?? [];
    if (this.#capture !== null) this.#capture.continueAfter(open.body, last);
    else this.#writer.continueAfter(open.body, last);
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
          body: this.#openBody(),
        }
        : null,
    };
  }

  /** The open chunk's samples, encoded (a capture is encoded now, its arrays kept). */
  #openBody(): Uint8Array {
    if (this.#capture !== null) replayCapture(this.#capture.peek(this.#fields()), this.#writer);
    return this.#writer.body.bytes();
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
   * an observed tick) does nothing. A capturing stream encodes the chunk here.
   */
  observe(): EncodedChunk | null {
    return this.#sample() ? this.#close() : null;
  }

  /**
   * As {@link observe} for a stream made with `capture`: returns the chunk completed as its
   * capture (codec/chunk_capture.ts), to be encoded elsewhere and then given to {@link recycle}.
   */
  capture(): CapturedChunk | null {
    this.#capturing();
    return this.#sample() ? this.#take() : null;
  }

  /** Closes and returns the partial chunk at the end of a finite run, if any. */
  flush(): EncodedChunk | null {
    return this.#open ? this.#close() : null;
  }

  /** As {@link flush}, as a capture (a stream made with `capture`). */
  flushCapture(): CapturedChunk | null {
    this.#capturing();
    return this.#open ? this.#take() : null;
  }

  #capturing(): ChunkCapture {
    if (this.#capture !== null) return this.#capture;
    throw new TypeError("TickStream.capture() needs a stream made with { capture: true }");
  }

  /** Records the current tick if it is a sample tick; true when that completes the chunk. */
  #sample(): boolean {
    const sim = this.#sim;
    if (sim.tick === this.#observedTick) return false;
    this.#observedTick = sim.tick;
    if (!this.isSampleTick()) return false;
    const world = sim.world;
    const sink = this.#sink;
    const tick = sim.tick;
    const organisms = this.#order.of(sim, sim.takeDead());
    const snapshot = !this.#open;
    if (snapshot) {
      this.#open = true;
      this.#firstTick = tick;
      // A capture starts empty: take() hands its samples over.
      if (this.#capture === null) this.#writer.reset();
    }
    const type = snapshot ? DeltaType.FULL : this.#deltaType();
    sink.beginSample(tick, snapshot ? null : type);
    if (type === DeltaType.FULL) {
      this.#writeFullCells(sink, world);
      world.clearSnapshotChanges();
    } else {
      this.#writeChanged(
        sink,
        world,
        type === DeltaType.ACCUMULATED ? world.snapshotChanges() : world.sampleChanges(),
      );
    }
    this.#writeSummary(sink);
    const fields = this.#organism;
    for (const o of organisms) sink.organism(organismStateFields(o, fields));
    sink.endSample(sim.rng.stateHash());
    world.clearSampleChanges();
    this.#lastTick = tick;
    this.#samples++;
    return this.#samples >= this.samplesPerChunk;
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

  #fields(): ChunkFields {
    return {
      runId: this.#runId,
      firstTick: this.#firstTick,
      lastTick: this.#lastTick,
      chunkIndex: this.#chunkIndex,
      sampleCount: this.#samples,
      createdAtMs: this.#clock(),
    };
  }

  /** Ends the open chunk: its fields, and the next chunk's index. */
  #end(): ChunkFields {
    const fields = this.#fields();
    this.#open = false;
    this.#samples = 0;
    this.#chunkIndex++;
    return fields;
  }

  #close(): EncodedChunk {
    const capture = this.#capture;
    const fields = this.#end();
    let bytes: Uint8Array;
    if (capture === null) bytes = this.#writer.finish(fields);
    else {
      const chunk = capture.take(fields);
      bytes = encodeCapturedChunk(chunk, this.#writer);
      capture.recycle(chunk);
    }
    return encodedChunk(fields, bytes);
  }

  #take(): CapturedChunk {
    return this.#capturing().take(this.#end());
  }

  #columns(n: number): void {
    if (this.#flat.length >= n) return;
    this.#flat = new Int32Array(n);
    this.#molecule = new Int32Array(n);
    this.#owner = new Int32Array(n);
  }

  /** Every non-empty or owned cell, in position order. */
  #writeFullCells(sink: SampleSink, world: World): void {
    this.#columns(world.size);
    const n = collectOccupied(world, this.#flat, this.#molecule, this.#owner);
    sink.cells(this.#flat, this.#molecule, this.#owner, n);
  }

  /** The cells at `positions`, in position order. */
  #writeChanged(sink: SampleSink, world: World, positions: Int32Array): void {
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
    sink.cells(this.#flat, this.#molecule, owner, flat.length);
  }

  #writeSummary(sink: SampleSink): void {
    const sim = this.#sim;
    let energy = 0;
    let entropy = 0;
    let maxGen = 0;
    const genomes = this.#genomes;
    genomes.reset(sim.organisms.length);
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
    sink.summary(s);
    this.#lastBirths = sim.births;
    this.#lastDeaths = sim.deaths;
  }
}

/** The chunk of `fields` with its encoded `bytes`. */
export function encodedChunk(fields: ChunkFields, bytes: Uint8Array): EncodedChunk {
  return {
    index: fields.chunkIndex,
    firstTick: fields.firstTick,
    lastTick: fields.lastTick,
    sampleCount: fields.sampleCount,
    bytes,
  };
}
