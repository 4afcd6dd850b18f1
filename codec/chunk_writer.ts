/**
 * The `evochora.v1.TickDataChunk` layout (proto/evochora/v1/tick.proto), written with
 * {@link ProtoWriter} straight from plain numbers and arrays: no protobuf-es message is built,
 * which cost more than the simulation itself. The bytes equal protobuf-es's `toBinary` of the
 * same content (tested here on hand-made values and in the engine on real runs).
 *
 * protobuf-es writes fields in field-number order and omits proto3 defaults; so do these
 * writers, provided the caller writes a sample's parts in the order of {@link SampleLayout}:
 * {@link beginSample} (tick, delta type), cells, organisms, summary, {@link endSample}.
 *
 * Positions are flat world indices here (x fastest); the writers turn them into the
 * coordinate vectors the wire carries, given the world's {@link Grid}.
 *
 * @module
 */

import { FORMAT_VERSION } from "../proto/mod.ts";
import { MOLECULE_TYPE_COUNT } from "./molecule.ts";
import { LEN, ProtoWriter } from "./proto_writer.ts";

/** A world's axes: the size of each and its flat-index stride (x fastest, stride 1). */
export interface Grid {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** Writes the coordinates of flat index `flat`, one varint per axis (no tag, no length). */
export function writeCoords(w: ProtoWriter, grid: Grid, flat: number): void {
  const shape = grid.shape;
  const strides = grid.strides;
  for (let a = 0; a < shape.length; a++) w.uvarint(Math.floor(flat / strides[a]!) % shape[a]!);
}

/** A packed field holding the coordinates of one position. */
export function packedCoord(w: ProtoWriter, field: number, grid: Grid, flat: number): void {
  w.tag(field, LEN);
  const start = w.begin();
  writeCoords(w, grid, flat);
  w.end(start);
}

/** A packed field holding the coordinates of every position in `flats`, omitted when empty. */
export function packedCoords(
  w: ProtoWriter,
  field: number,
  grid: Grid,
  flats: ArrayLike<number>,
): void {
  if (flats.length === 0) return;
  w.tag(field, LEN);
  const start = w.begin();
  for (let i = 0; i < flats.length; i++) writeCoords(w, grid, flats[i]!);
  w.end(start);
}

/**
 * Packed sint32 (zigzag) of the concatenated `vectors`, omitted when that is empty: the same
 * bytes as {@link ProtoWriter.packedSigned} of the flattened values, without building them.
 */
export function packedSignedVectors(
  w: ProtoWriter,
  field: number,
  vectors: readonly ArrayLike<number>[],
): void {
  let total = 0;
  for (const v of vectors) total += v.length;
  if (total === 0) return;
  w.tag(field, LEN);
  const start = w.begin();
  for (const vector of vectors) {
    for (let i = 0; i < vector.length; i++) {
      const v = vector[i]!;
      w.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
    }
  }
  w.end(start);
}

/**
 * The content of one `OrganismState`, as plain values. Names follow the message; positions are
 * flat indices (written as coordinates), 64-bit fields are numbers (exact below 2^53).
 */
export interface OrganismStateFields {
  id: number;
  parentId: number;
  birthTick: number;
  generation: number;
  /** Flat index of the instruction pointer. */
  ip: number;
  /** The IP direction vector. */
  dv: ArrayLike<number>;
  /** Flat indices of the data pointers. */
  dataPointers: ArrayLike<number>;
  activeDp: number;
  dataRegisters: ArrayLike<number>;
  /** The location registers' vector components, flat. */
  locationRegisters: ArrayLike<number>;
  dataStack: ArrayLike<number>;
  /** Location stack vectors, bottom first; written flat. */
  locationStack: readonly ArrayLike<number>[];
  /** Flat indices of the return positions. */
  callStack: ArrayLike<number>;
  energy: number;
  entropy: number;
  marker: number;
  /** A uint32; any int32 bit pattern is accepted. */
  genomeHash: number;
  lastOpcode: number;
  lastArgs: ArrayLike<number>;
  lastCost: number;
  lastFailed: boolean;
  failureReason: string;
  instructionsExecuted: number;
  alive: boolean;
  deathReason: string;
  children: number;
  bodySize: number;
  deathTick: number;
  /** Flat index of the last instruction's position, or -1 for none (field omitted). */
  lastPosition: number;
}

/** Writes the fields of an `OrganismState` (without tag and length), defaults omitted. */
export function writeOrganismState(w: ProtoWriter, grid: Grid, o: OrganismStateFields): void {
  w.intField(1, o.id);
  w.intField(2, o.parentId);
  w.intField(3, o.birthTick);
  w.intField(4, o.generation);
  packedCoord(w, 5, grid, o.ip);
  w.packedSigned(6, o.dv);
  packedCoords(w, 7, grid, o.dataPointers);
  w.intField(8, o.activeDp);
  w.packed(9, o.dataRegisters);
  w.packedSigned(10, o.locationRegisters);
  w.packed(11, o.dataStack);
  packedSignedVectors(w, 12, o.locationStack);
  packedCoords(w, 13, grid, o.callStack);
  w.intField(14, o.energy);
  w.intField(15, o.entropy);
  w.intField(16, o.marker);
  w.intField(17, o.genomeHash >>> 0);
  w.intField(18, o.lastOpcode);
  w.packed(19, o.lastArgs);
  w.intField(20, o.lastCost);
  w.boolField(21, o.lastFailed);
  w.stringField(22, o.failureReason);
  w.intField(23, o.instructionsExecuted);
  w.boolField(24, o.alive);
  w.stringField(25, o.deathReason);
  w.intField(26, o.children);
  w.intField(27, o.bodySize);
  w.intField(28, o.deathTick);
  if (o.lastPosition >= 0) packedCoord(w, 29, grid, o.lastPosition);
}

/** One `OrganismState` message as field `field` of the enclosing message. */
export function writeOrganismField(
  w: ProtoWriter,
  field: number,
  grid: Grid,
  o: OrganismStateFields,
): void {
  w.tag(field, LEN);
  const start = w.begin();
  writeOrganismState(w, grid, o);
  w.end(start);
}

/**
 * A `CellColumns` message as field `field`, from the first `n` entries of three parallel
 * columns (position order). Written even when `n` is 0: an empty message is still present.
 */
export function writeCellColumns(
  w: ProtoWriter,
  field: number,
  flatIndex: ArrayLike<number>,
  molecule: ArrayLike<number>,
  owner: ArrayLike<number>,
  n: number,
): void {
  w.tag(field, LEN);
  const start = w.begin();
  w.packed(1, flatIndex, 0, n);
  w.packed(2, molecule, 0, n);
  w.packed(3, owner, 0, n);
  w.end(start);
}

/** The content of one `TickSummary`, as plain numbers. */
export interface TickSummaryFields {
  organismsAlive: number;
  organismsCreated: number;
  births: number;
  deaths: number;
  totalEnergy: number;
  totalEntropy: number;
  maxGeneration: number;
  distinctGenomes: number;
  /** Cells per molecule type; the first {@link MOLECULE_TYPE_COUNT} entries are written. */
  moleculeCounts: ArrayLike<number>;
  instructionsExecuted: number;
}

/** A summary of nothing, to be filled field by field (the molecule counts' array replaced). */
export function emptyTickSummary(): TickSummaryFields {
  return {
    organismsAlive: 0,
    organismsCreated: 0,
    births: 0,
    deaths: 0,
    totalEnergy: 0,
    totalEntropy: 0,
    maxGeneration: 0,
    distinctGenomes: 0,
    moleculeCounts: new Float64Array(0),
    instructionsExecuted: 0,
  };
}

/** A `TickSummary` message as field `field`. */
export function writeTickSummaryField(w: ProtoWriter, field: number, s: TickSummaryFields): void {
  w.tag(field, LEN);
  const start = w.begin();
  w.intField(1, s.organismsAlive);
  w.intField(2, s.organismsCreated);
  w.intField(3, s.births);
  w.intField(4, s.deaths);
  w.intField(5, s.totalEnergy);
  w.intField(6, s.totalEntropy);
  w.intField(7, s.maxGeneration);
  w.intField(8, s.distinctGenomes);
  w.packed(9, s.moleculeCounts, 0, MOLECULE_TYPE_COUNT);
  w.intField(10, s.instructionsExecuted);
  w.end(start);
}

/**
 * Field numbers of one sample: `TickData` (the snapshot, chunk field 4) or `TickDelta` (a
 * delta, chunk field 5). Their parts must be written in this order.
 */
export interface SampleLayout {
  /** The sample's field in `TickDataChunk`. */
  readonly chunkField: number;
  /** `delta_type`, for deltas only. */
  readonly deltaType?: number;
  /** `cells` of the snapshot, `changed_cells` of a delta. */
  readonly cells: number;
  /** Format 1's organisms (OrganismState messages). */
  readonly organisms: number;
  readonly summary: number;
  readonly rngStateHash: number;
  /** Format 2's organisms (OrganismColumns), after the hash. */
  readonly organismColumns: number;
}

/** The snapshot: `TickDataChunk.snapshot`, a `TickData`. */
export const SNAPSHOT_LAYOUT: SampleLayout = {
  chunkField: 4,
  cells: 2,
  organisms: 3,
  summary: 4,
  rngStateHash: 5,
  organismColumns: 6,
};

/** A delta: one of `TickDataChunk.deltas`, a `TickDelta`. */
export const DELTA_LAYOUT: SampleLayout = {
  chunkField: 5,
  deltaType: 2,
  cells: 3,
  organisms: 4,
  summary: 5,
  rngStateHash: 6,
  organismColumns: 7,
};

/**
 * Opens one sample as its chunk field and writes its tick (and, for a delta, `deltaType`).
 * Returns the start to pass to {@link endSample}.
 */
export function beginSample(
  w: ProtoWriter,
  layout: SampleLayout,
  tick: number,
  deltaType = 0,
): number {
  w.tag(layout.chunkField, LEN);
  const start = w.begin();
  w.intField(1, tick);
  if (layout.deltaType !== undefined) w.intField(layout.deltaType, deltaType);
  return start;
}

/** Writes a sample's organisms as one field (./organism_columns_writer.ts). */
export interface SampleOrganisms {
  write(w: ProtoWriter, field: number): void;
}

/**
 * Writes the sample's last fields, the RNG state hash and (format 2) its organisms, and closes
 * the sample.
 */
export function endSample(
  w: ProtoWriter,
  layout: SampleLayout,
  rngStateHash: bigint,
  start: number,
  organisms?: SampleOrganisms,
): void {
  w.uint64Field(layout.rngStateHash, rngStateHash);
  organisms?.write(w, layout.organismColumns);
  w.end(start);
}

/** The scalar fields of a `TickDataChunk`. */
export interface ChunkFields {
  runId: string;
  firstTick: number;
  lastTick: number;
  chunkIndex: number;
  sampleCount: number;
  createdAtMs: number;
  /** Default: {@link FORMAT_VERSION}, the encoding this build writes. */
  formatVersion?: number;
}

/**
 * A whole encoded `TickDataChunk`: the scalars around `samples`, the snapshot and deltas as
 * written by {@link beginSample} .. {@link endSample} (fields 4 and 5, which sit between
 * fields 1-3 and 6-9). Returns a fresh array of exactly the chunk's size.
 */
export function encodeChunk(fields: ChunkFields, samples: ProtoWriter): Uint8Array {
  const head = new ProtoWriter(64 + fields.runId.length * 3);
  head.stringField(1, fields.runId);
  head.intField(2, fields.firstTick);
  head.intField(3, fields.lastTick);
  const tail = new ProtoWriter(64);
  tail.intField(6, fields.formatVersion ?? FORMAT_VERSION);
  tail.intField(7, fields.chunkIndex);
  tail.intField(8, fields.sampleCount);
  tail.intField(9, fields.createdAtMs);
  const bytes = new Uint8Array(head.pos + samples.pos + tail.pos);
  bytes.set(head.buf.subarray(0, head.pos), 0);
  bytes.set(samples.buf.subarray(0, samples.pos), head.pos);
  bytes.set(tail.buf.subarray(0, tail.pos), head.pos + samples.pos);
  return bytes;
}
