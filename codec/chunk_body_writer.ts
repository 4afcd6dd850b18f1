/**
 * Encodes a chunk's samples as they come ({@link SampleSink}): the snapshot and the deltas,
 * fields 4 and 5 of a `TickDataChunk`, with the organisms as columns of changes since the
 * sample before. {@link ChunkBodyWriter.finish} wraps them into the whole chunk.
 *
 * @module
 */

import { DeltaType, type OrganismState } from "../proto/mod.ts";
import {
  beginSample,
  type ChunkFields,
  DELTA_LAYOUT,
  encodeChunk,
  endSample,
  type Grid,
  type OrganismStateFields,
  type SampleLayout,
  SNAPSHOT_LAYOUT,
  type TickSummaryFields,
  writeCellColumns,
  writeTickSummaryField,
} from "./chunk_writer.ts";
import { OrganismColumnsWriter } from "./organism_columns_writer.ts";
import { ProtoWriter } from "./proto_writer.ts";
import type { SampleSink } from "./sample_sink.ts";

/** See the module doc. One chunk at a time: {@link reset} starts the next. */
export class ChunkBodyWriter implements SampleSink {
  /** The samples written since {@link reset}. */
  readonly body = new ProtoWriter(1 << 20);
  readonly #columns = new OrganismColumnsWriter();
  readonly #grid: Grid;
  #layout: SampleLayout = SNAPSHOT_LAYOUT;
  #msg = 0;

  /** Positions are written as coordinates of `grid`. */
  constructor(grid: Grid) {
    this.#grid = grid;
  }

  /** Starts a new chunk. */
  reset(): void {
    this.body.reset();
  }

  /** Continues a chunk: its samples so far (bytes) and the organisms of the last of them. */
  continueAfter(body: Uint8Array, organisms: readonly OrganismState[]): void {
    this.body.reset();
    this.body.raw(body);
    this.#columns.restore(organisms);
  }

  /** See SampleSink.beginSample. A full state compares its organisms with nothing. */
  beginSample(tick: number, type: DeltaType | null): void {
    this.#layout = type === null ? SNAPSHOT_LAYOUT : DELTA_LAYOUT;
    // The snapshot is a full state too; its layout drops the type (TickData has none).
    this.#msg = beginSample(this.body, this.#layout, tick, type ?? DeltaType.FULL);
    if (type === null || type === DeltaType.FULL) this.#columns.reset();
  }

  /** See SampleSink.cells. */
  cells(flat: Int32Array, molecule: Int32Array, owner: Int32Array, n: number): void {
    writeCellColumns(this.body, this.#layout.cells, flat, molecule, owner, n);
  }

  /** See SampleSink.summary. */
  summary(s: TickSummaryFields): void {
    writeTickSummaryField(this.body, this.#layout.summary, s);
  }

  /** See SampleSink.organism. */
  organism(o: OrganismStateFields): void {
    this.#columns.add(o, this.#grid);
  }

  /** As {@link organism}, from a record (./organism_record.ts); returns where the next begins. */
  organismRecord(rec: Float64Array, at: number, strings: readonly string[]): number {
    return this.#columns.addRecord(rec, at, strings, this.#grid);
  }

  /** See SampleSink.endSample. */
  endSample(rngStateHash: bigint): void {
    endSample(this.body, this.#layout, rngStateHash, this.#msg, this.#columns);
  }

  /** The whole chunk: `fields` around the samples, in a fresh array of its size. */
  finish(fields: ChunkFields): Uint8Array {
    return encodeChunk(fields, this.body);
  }
}
