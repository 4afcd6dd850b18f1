/**
 * The `evochora.v1.Checkpoint` layout (proto/evochora/v1/checkpoint.proto), written with
 * {@link ProtoWriter} straight from plain numbers and arrays, as codec/chunk_writer.ts does for
 * chunks: building the protobuf-es message and running `toBinary` took 19 ms per checkpoint of
 * the evolved 256x256 world, three times the engine's share of a chunk. The bytes equal
 * protobuf-es's `toBinary` of the decoded message (tested on real checkpoints), so
 * `encodeCheckpoint(decodeCheckpoint(bytes))` gives `bytes` back.
 *
 * protobuf-es writes fields in number order, omits proto3 defaults (0, false, "", empty lists)
 * and writes every sub-message that is set; every sub-message here is set, except the open
 * chunk between chunks.
 *
 * @module
 */

import { CHECKPOINT_FORMAT_VERSION } from "./checkpoint.ts";
import { LEN, ProtoWriter } from "./proto_writer.ts";

/** One organism's complete VM state, as plain values (names follow `CheckpointOrganism`). */
export interface CheckpointOrganismFields {
  id: number;
  parentId: number;
  birthTick: number;
  generation: number;
  ip: number;
  dirAxis: number;
  dirSign: number;
  dataPointers: ArrayLike<number>;
  activeDp: number;
  dataRegisters: ArrayLike<number>;
  locationRegisters: ArrayLike<number>;
  dataStack: ArrayLike<number>;
  /** Vectors of `dims` components, bottom first. */
  locationStack: readonly ArrayLike<number>[];
  callStack: ArrayLike<number>;
  energy: number;
  entropy: number;
  marker: number;
  genomeHash: number;
  bodySize: number;
  children: number;
  instructions: number;
  lastOpcode: number;
  lastPosition: number;
  lastArgs: ArrayLike<number>;
  lastCost: number;
  lastFailed: boolean;
  failureReason: string;
  alive: boolean;
  deathTick: number;
  deathReason: string;
  /** Positions, in order (written as steps). */
  owned: ArrayLike<number>;
  /** The four xoshiro128** state words. */
  rng: ArrayLike<number>;
  /** Sorted by value; positions in the same order. */
  labelCacheValues: ArrayLike<number>;
  labelCachePositions: ArrayLike<number>;
}

/** The part of a chunk written before the checkpoint (`CheckpointOpenChunk`). */
export interface CheckpointOpenChunkFields {
  firstTick: number;
  lastTick: number;
  sampleCount: number;
  body: Uint8Array;
  /** Sorted positions. */
  sampleChanges: ArrayLike<number>;
  snapshotChanges: ArrayLike<number>;
}

/** A whole checkpoint as plain values; the format version is this code's. */
export interface CheckpointFields {
  engineVersion: string;
  runId: string;
  configJson: string;
  tick: number;
  shape: readonly number[];
  /** The whole grid: packed molecule and owner per flat position. */
  cells: ArrayLike<number>;
  owners: ArrayLike<number>;
  organisms: readonly CheckpointOrganismFields[];
  deadPending: readonly CheckpointOrganismFields[];
  counters: {
    nextOrganismId: number;
    organismsCreated: number;
    births: number;
    deaths: number;
    instructionsExecuted: number;
    maxGeneration: number;
  };
  rng: ArrayLike<number>;
  energySources: { geysers: ArrayLike<number>; solarAccumulator: number };
  decay: { dueTicks: ArrayLike<number>; cells: ArrayLike<number> };
  mutation: { substitutions: number; insertions: number; deletions: number; labelRewrites: number };
  stream: {
    chunkIndex: number;
    tickSampled: boolean;
    lastBirths: number;
    lastDeaths: number;
    openChunk: CheckpointOpenChunkFields | null;
  };
}

const WIRE_VARINT = 0;

/** A uint32 field, omitted when 0. */
function uintField(w: ProtoWriter, field: number, v: number): void {
  if (v === 0) return;
  w.tag(field, WIRE_VARINT);
  w.uvarint(v >>> 0);
}

/** A sint32 (zigzag) field, omitted when 0. */
function sintField(w: ProtoWriter, field: number, v: number): void {
  if (v === 0) return;
  w.tag(field, WIRE_VARINT);
  w.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
}

/** A sub-message field: `body` writes its fields. Written even when empty (it is set). */
function message(w: ProtoWriter, field: number, body: () => void): void {
  w.tag(field, LEN);
  const start = w.begin();
  body();
  w.end(start);
}

/** Packed uint32 of the state words (unsigned), omitted when empty. */
function packedUnsigned(w: ProtoWriter, field: number, values: ArrayLike<number>): void {
  if (values.length === 0) return;
  w.tag(field, LEN);
  const start = w.begin();
  for (let i = 0; i < values.length; i++) w.uvarint(values[i]! >>> 0);
  w.end(start);
}

/**
 * Writes `v`, a uint32, as a varint at `buf[p]` and returns the next position. The hot loops
 * below make room once for a whole column and call this instead of ProtoWriter's per-value
 * methods, which check for room every time (the world's columns took twice as long).
 */
function putUvarint(buf: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** Packed sint32 of `positions` as steps (each minus the previous, the first minus 0). */
function packedSteps(w: ProtoWriter, field: number, positions: ArrayLike<number>): void {
  const n = positions.length;
  if (n === 0) return;
  w.tag(field, LEN);
  const start = w.begin();
  w.ensure(n * 5);
  const buf = w.buf;
  let p = w.pos;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const v = positions[i]! - previous;
    previous = positions[i]!;
    p = putUvarint(buf, p, ((v << 1) ^ (v >> 31)) >>> 0);
  }
  w.pos = p;
  w.end(start);
}

/** Packed sint32 of the concatenated vectors, omitted when that is empty. */
function packedSignedVectors(w: ProtoWriter, field: number, vectors: readonly ArrayLike<number>[]) {
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

/** Positions of the occupied cells, reused between checkpoints. */
let occupied = new Int32Array(0);

/** Fills {@link occupied} with the positions of the non-empty or owned cells; returns how many. */
function collectOccupied(cells: ArrayLike<number>, owners: ArrayLike<number>): number {
  if (occupied.length < cells.length) occupied = new Int32Array(cells.length);
  const out = occupied;
  let n = 0;
  for (let i = 0; i < cells.length; i++) if (cells[i] !== 0 || owners[i] !== 0) out[n++] = i;
  return n;
}

/** Packed int32 of `column` at the first `n` occupied positions (negatives take 10 bytes). */
function packedColumn(w: ProtoWriter, field: number, column: ArrayLike<number>, n: number) {
  w.tag(field, LEN);
  const start = w.begin();
  w.ensure(n * 10); // room for the worst case: then w.int below never moves the buffer
  const buf = w.buf;
  const at = occupied;
  let p = w.pos;
  for (let i = 0; i < n; i++) {
    const v = column[at[i]!]!;
    if (v >= 0) p = putUvarint(buf, p, v);
    else {
      w.pos = p;
      w.int(v);
      p = w.pos;
    }
  }
  w.pos = p;
  w.end(start);
}

/** The occupied cells of the grid as `CheckpointWorld`'s three columns. */
function writeWorld(w: ProtoWriter, f: CheckpointFields): void {
  w.packed(1, f.shape);
  const n = collectOccupied(f.cells, f.owners);
  if (n === 0) return;
  w.tag(2, LEN);
  const start = w.begin();
  w.ensure(n * 5);
  const buf = w.buf;
  const at = occupied;
  let p = w.pos;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    p = putUvarint(buf, p, at[i]! - previous);
    previous = at[i]!;
  }
  w.pos = p;
  w.end(start);
  packedColumn(w, 3, f.cells, n);
  packedColumn(w, 4, f.owners, n);
}

/** The fields of one `CheckpointOrganism`, in number order. */
function writeOrganism(w: ProtoWriter, o: CheckpointOrganismFields): void {
  w.intField(1, o.id);
  w.intField(2, o.parentId);
  w.intField(3, o.birthTick);
  w.intField(4, o.generation);
  w.intField(5, o.ip);
  w.intField(6, o.dirAxis);
  sintField(w, 7, o.dirSign);
  w.packed(8, o.dataPointers);
  w.intField(9, o.activeDp);
  w.packedSigned(10, o.dataRegisters);
  w.packedSigned(11, o.locationRegisters);
  w.packedSigned(12, o.dataStack);
  packedSignedVectors(w, 13, o.locationStack);
  w.packed(14, o.callStack);
  sintField(w, 15, o.energy);
  sintField(w, 16, o.entropy);
  w.intField(17, o.marker);
  uintField(w, 18, o.genomeHash);
  w.intField(19, o.bodySize);
  w.intField(20, o.children);
  w.intField(21, o.instructions);
  w.intField(22, o.lastOpcode);
  w.intField(23, o.lastPosition);
  w.packedSigned(24, o.lastArgs);
  w.intField(25, o.lastCost);
  w.boolField(26, o.lastFailed);
  w.stringField(27, o.failureReason);
  w.boolField(28, o.alive);
  w.intField(29, o.deathTick);
  w.stringField(30, o.deathReason);
  packedSteps(w, 31, o.owned);
  message(w, 32, () => packedUnsigned(w, 1, o.rng));
  w.packedSigned(33, o.labelCacheValues);
  w.packed(34, o.labelCachePositions);
}

/** The fields of `CheckpointStream`, with the open chunk when there is one. */
function writeStream(w: ProtoWriter, s: CheckpointFields["stream"]): void {
  w.intField(1, s.chunkIndex);
  w.boolField(2, s.tickSampled);
  w.intField(3, s.lastBirths);
  w.intField(4, s.lastDeaths);
  const open = s.openChunk;
  if (open === null) return;
  message(w, 5, () => {
    w.intField(1, open.firstTick);
    w.intField(2, open.lastTick);
    w.intField(3, open.sampleCount);
    if (open.body.length > 0) {
      w.tag(4, LEN);
      w.uvarint(open.body.length);
      w.raw(open.body);
    }
    w.packed(5, open.sampleChanges);
    w.packed(6, open.snapshotChanges);
  });
}

/** The simulation's counters, RNG and plugin state: fields 9 to 13 of `Checkpoint`. */
function writeCountersAndPlugins(w: ProtoWriter, f: CheckpointFields): void {
  const c = f.counters;
  message(w, 9, () => {
    w.intField(1, c.nextOrganismId);
    w.intField(2, c.organismsCreated);
    w.intField(3, c.births);
    w.intField(4, c.deaths);
    w.intField(5, c.instructionsExecuted);
    w.intField(6, c.maxGeneration);
  });
  message(w, 10, () => packedUnsigned(w, 1, f.rng));
  message(w, 11, () => {
    w.packed(1, f.energySources.geysers);
    w.intField(2, f.energySources.solarAccumulator);
  });
  message(w, 12, () => {
    w.packed(1, f.decay.dueTicks);
    w.packed(2, f.decay.cells);
  });
  const m = f.mutation;
  message(w, 13, () => {
    w.intField(1, m.substitutions);
    w.intField(2, m.insertions);
    w.intField(3, m.deletions);
    w.intField(4, m.labelRewrites);
  });
}

/**
 * Encodes a checkpoint at {@link CHECKPOINT_FORMAT_VERSION}. Deterministic: the same fields
 * give the same bytes. `w` is reset and reused when given.
 */
export function writeCheckpoint(
  f: CheckpointFields,
  w: ProtoWriter = new ProtoWriter(),
): Uint8Array {
  w.reset();
  uintField(w, 1, CHECKPOINT_FORMAT_VERSION);
  w.stringField(2, f.engineVersion);
  w.stringField(3, f.runId);
  w.stringField(4, f.configJson);
  w.intField(5, f.tick);
  message(w, 6, () => writeWorld(w, f));
  for (const o of f.organisms) message(w, 7, () => writeOrganism(w, o));
  for (const o of f.deadPending) message(w, 8, () => writeOrganism(w, o));
  writeCountersAndPlugins(w, f);
  message(w, 14, () => writeStream(w, f.stream));
  return w.bytes();
}
