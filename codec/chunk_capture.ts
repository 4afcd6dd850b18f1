/**
 * A chunk's samples captured as values ({@link SampleSink}), to be encoded later or on another
 * thread: the engine's thread only copies (the cells written, the summary, the RNG hash, each
 * organism as a record, ./organism_record.ts), and {@link encodeCapturedChunk} replays the
 * capture into a {@link ChunkBodyWriter}, which makes the same bytes as encoding each sample as
 * it came. A chunk starts with a snapshot, whose organisms compare with nothing, so a capture
 * is all its chunk needs (one continued from a checkpoint carries the samples before).
 *
 * A {@link CapturedChunk} is plain data of typed arrays: post it to a worker with
 * {@link capturedBuffers} as the transfer list, and hand it back to {@link ChunkCapture.recycle}
 * when done so that the next chunks reuse its memory.
 *
 * @module
 */

import type { DeltaType, OrganismState } from "../proto/mod.ts";
import type { ChunkBodyWriter } from "./chunk_body_writer.ts";
import {
  type ChunkFields,
  emptyTickSummary,
  type Grid,
  type OrganismStateFields,
  type TickSummaryFields,
} from "./chunk_writer.ts";
import { MOLECULE_TYPE_COUNT } from "./molecule.ts";
import { type RecordBuffer, StringTable, writeOrganismRecord } from "./organism_record.ts";
import type { SampleSink } from "./sample_sink.ts";

/** Per sample: tick, kind (0 the snapshot, else the DeltaType), ends, RNG hash, summary. */
const TICK = 0;
const KIND = 1;
const CELLS_END = 2;
const RECORDS_END = 3;
const RNG_HIGH = 4;
const RNG_LOW = 5;
const SUMMARY = 6;
/** The summary's scalars, TickSummary fields 1-8 and 10; the molecule counts follow. */
const SUMMARY_SCALARS = 9;
const STRIDE = SUMMARY + SUMMARY_SCALARS + MOLECULE_TYPE_COUNT;

/** A chunk's captured samples (see the module doc). */
export interface CapturedChunk {
  /** The chunk's scalars; `sampleCount` includes the samples of `prefix`. */
  fields: ChunkFields;
  grid: Grid;
  /** Samples captured (after the prefix's). */
  samples: number;
  /** {@link STRIDE} values per sample. */
  meta: Float64Array<ArrayBuffer>;
  /** Every sample's cells after the one before's: flat index, molecule, owner. */
  flat: Int32Array<ArrayBuffer>;
  molecule: Int32Array<ArrayBuffer>;
  owner: Int32Array<ArrayBuffer>;
  /** The organisms' records, sample after sample. */
  records: Float64Array<ArrayBuffer>;
  /** The records' strings by index (0 is ""). */
  strings: string[];
  /** The chunk's samples written before (a chunk continued from a checkpoint). */
  prefix: { body: Uint8Array; organisms: OrganismState[] } | null;
}

/** The buffers of a capture, to transfer with it. */
export function capturedBuffers(c: CapturedChunk): ArrayBuffer[] {
  return [c.meta.buffer, c.flat.buffer, c.molecule.buffer, c.owner.buffer, c.records.buffer];
}

function grownInt32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const next = new Int32Array(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

/** Captures one chunk at a time; see the module doc. */
export class ChunkCapture implements SampleSink {
  readonly #grid: Grid;
  #meta: Float64Array<ArrayBuffer> = new Float64Array(32 * STRIDE);
  #samples = 0;
  #flat: Int32Array<ArrayBuffer> = new Int32Array(1 << 16);
  #molecule: Int32Array<ArrayBuffer> = new Int32Array(1 << 16);
  #owner: Int32Array<ArrayBuffer> = new Int32Array(1 << 16);
  #cells = 0;
  readonly #records: RecordBuffer = { a: new Float64Array(1 << 16), n: 0 };
  #strings = new StringTable();
  #prefix: CapturedChunk["prefix"] = null;
  /** Captures given back, whose arrays the next chunks take. */
  readonly #spare: CapturedChunk[] = [];

  /** `grid` travels with every chunk (plain arrays). */
  constructor(grid: Grid) {
    this.#grid = { shape: [...grid.shape], strides: [...grid.strides] };
  }

  /** Continues a chunk: its samples so far (bytes) and the organisms of the last of them. */
  continueAfter(body: Uint8Array, organisms: OrganismState[]): void {
    this.#prefix = { body, organisms };
  }

  /** See SampleSink.beginSample. */
  beginSample(tick: number, type: DeltaType | null): void {
    if ((this.#samples + 1) * STRIDE > this.#meta.length) {
      const next = new Float64Array(this.#meta.length * 2);
      next.set(this.#meta);
      this.#meta = next;
    }
    const at = this.#samples * STRIDE;
    this.#meta[at + TICK] = tick;
    this.#meta[at + KIND] = type ?? 0;
  }

  /** See SampleSink.cells. */
  cells(flat: Int32Array, molecule: Int32Array, owner: Int32Array, n: number): void {
    const at = this.#cells;
    this.#flat = grownInt32(this.#flat, at + n);
    this.#molecule = grownInt32(this.#molecule, at + n);
    this.#owner = grownInt32(this.#owner, at + n);
    this.#flat.set(flat.subarray(0, n), at);
    this.#molecule.set(molecule.subarray(0, n), at);
    this.#owner.set(owner.subarray(0, n), at);
    this.#cells = at + n;
  }

  /** See SampleSink.summary. */
  summary(s: TickSummaryFields): void {
    const m = this.#meta;
    let at = this.#samples * STRIDE + SUMMARY;
    m[at++] = s.organismsAlive;
    m[at++] = s.organismsCreated;
    m[at++] = s.births;
    m[at++] = s.deaths;
    m[at++] = s.totalEnergy;
    m[at++] = s.totalEntropy;
    m[at++] = s.maxGeneration;
    m[at++] = s.distinctGenomes;
    m[at++] = s.instructionsExecuted;
    for (let t = 0; t < MOLECULE_TYPE_COUNT; t++) m[at++] = s.moleculeCounts[t] ?? 0;
  }

  /** See SampleSink.organism. */
  organism(o: OrganismStateFields): void {
    writeOrganismRecord(this.#records, o, this.#strings);
  }

  /** See SampleSink.endSample. */
  endSample(rngStateHash: bigint): void {
    const m = this.#meta;
    const at = this.#samples * STRIDE;
    m[at + CELLS_END] = this.#cells;
    m[at + RECORDS_END] = this.#records.n;
    m[at + RNG_HIGH] = Number(rngStateHash >> 32n);
    m[at + RNG_LOW] = Number(rngStateHash & 0xffffffffn);
    this.#samples++;
  }

  /** The open chunk, sharing this capture's arrays (to encode it here and now). */
  peek(fields: ChunkFields): CapturedChunk {
    return {
      fields,
      grid: this.#grid,
      samples: this.#samples,
      meta: this.#meta,
      flat: this.#flat,
      molecule: this.#molecule,
      owner: this.#owner,
      records: this.#records.a,
      strings: this.#strings.list,
      prefix: this.#prefix,
    };
  }

  /** Hands the chunk over and starts the next, on a recycled capture's arrays if there is one. */
  take(fields: ChunkFields): CapturedChunk {
    const chunk = this.peek(fields);
    const spare = this.#spare.pop();
    this.#meta = spare?.meta ?? new Float64Array(this.#meta.length);
    this.#flat = spare?.flat ?? new Int32Array(this.#flat.length);
    this.#molecule = spare?.molecule ?? new Int32Array(this.#molecule.length);
    this.#owner = spare?.owner ?? new Int32Array(this.#owner.length);
    this.#records.a = spare?.records ?? new Float64Array(this.#records.a.length);
    this.#strings = new StringTable();
    this.#clear();
    return chunk;
  }

  /** Gives a handed-over chunk's arrays back for the chunks to come (two are kept). */
  recycle(chunk: CapturedChunk): void {
    if (this.#spare.length < 2 && chunk.records.byteLength > 0) this.#spare.push(chunk);
  }

  /** Drops the open chunk's samples: a new chunk starts. */
  #clear(): void {
    this.#samples = 0;
    this.#cells = 0;
    this.#records.n = 0;
    this.#strings.clear();
    this.#prefix = null;
  }
}

/**
 * Replays a capture's samples into `writer` (reset first, or continued after the prefix); the
 * writer's body then holds them encoded.
 */
export function replayCapture(c: CapturedChunk, writer: ChunkBodyWriter): void {
  if (c.prefix === null) writer.reset();
  else writer.continueAfter(c.prefix.body, c.prefix.organisms);
  const m = c.meta;
  const summary = emptyTickSummary();
  let cells = 0;
  let record = 0;
  for (let s = 0; s < c.samples; s++) {
    const at = s * STRIDE;
    const kind = m[at + KIND]!;
    writer.beginSample(m[at + TICK]!, kind === 0 ? null : kind);
    const cellsEnd = m[at + CELLS_END]!;
    writer.cells(
      c.flat.subarray(cells),
      c.molecule.subarray(cells),
      c.owner.subarray(cells),
      cellsEnd - cells,
    );
    cells = cellsEnd;
    writer.summary(readSummary(m, at + SUMMARY, summary));
    const end = m[at + RECORDS_END]!;
    while (record < end) record = writer.organismRecord(c.records, record, c.strings);
    writer.endSample((BigInt(m[at + RNG_HIGH]!) << 32n) | BigInt(m[at + RNG_LOW]!));
  }
}

/** The whole encoded chunk of a capture (the writer must be for the capture's grid). */
export function encodeCapturedChunk(c: CapturedChunk, writer: ChunkBodyWriter): Uint8Array {
  replayCapture(c, writer);
  return writer.finish(c.fields);
}

function readSummary(m: Float64Array, at: number, s: TickSummaryFields): TickSummaryFields {
  s.organismsAlive = m[at++]!;
  s.organismsCreated = m[at++]!;
  s.births = m[at++]!;
  s.deaths = m[at++]!;
  s.totalEnergy = m[at++]!;
  s.totalEntropy = m[at++]!;
  s.maxGeneration = m[at++]!;
  s.distinctGenomes = m[at++]!;
  s.instructionsExecuted = m[at++]!;
  s.moleculeCounts = m.subarray(at, at + MOLECULE_TYPE_COUNT);
  return s;
}
