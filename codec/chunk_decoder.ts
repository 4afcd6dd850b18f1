/**
 * A hand-written decoder for `evochora.v1.TickDataChunk`: the same messages as protobuf-es's
 * `fromBinary(TickDataChunkSchema, bytes)` (plain objects of the generated types, every field
 * set, tested equal on engine output), several times faster. protobuf-es decodes through
 * reflection, about 16 MB/s on chunks of a 256x256 world; that made decoding 80% of indexing.
 *
 * Fields this build does not know are skipped (protobuf-es would keep them in `$unknown`).
 *
 * @module
 */

import {
  type CellColumns,
  DeltaType,
  type FormatVersion,
  type OrganismState,
  type TickData,
  type TickDataChunk,
  type TickDelta,
} from "../proto/mod.ts";
import { checkEnd, expectLen, int32, Reader, sint32, tickSummary } from "./_proto_reader.ts";
import {
  type DecodedColumns,
  emptyOrganismState,
  ORGANISM_STATE_SHAPE,
  readOrganismColumns,
  resolveSamples,
} from "./organism_columns.ts";

export { ChunkDecodeError } from "./_proto_reader.ts";

/** Wire layouts by field number (see Reader.tag), from proto/evochora/v1/tick.proto. */
const CELLS = " rrr";
const ORGANISM = " vvvvrrrvrrrrrvvvvvrvvlvvlvvvr";
const TICK_DATA = " vlllvl";
const TICK_DELTA = " vvlllvl";
const CHUNK = " lvvllvvvv";

function cellColumns(r: Reader, end: number): CellColumns {
  const m: CellColumns = {
    $typeName: "evochora.v1.CellColumns",
    flatIndex: [],
    molecule: [],
    owner: [],
  };
  while (r.pos < end) {
    const t = r.tag(CELLS);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        r.repeatedInt32(w, m.flatIndex);
        break;
      case 2:
        r.repeatedInt32(w, m.molecule);
        break;
      case 3:
        r.repeatedInt32(w, m.owner);
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}

function organismState(r: Reader, end: number): OrganismState {
  const m = emptyOrganismState(0);
  while (r.pos < end) {
    const t = r.tag(ORGANISM);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        m.id = r.int32();
        break;
      case 2:
        m.parentId = r.int32();
        break;
      case 3:
        m.birthTick = r.int64();
        break;
      case 4:
        m.generation = r.int32();
        break;
      case 5:
        r.repeated(w, m.ip, int32);
        break;
      case 6:
        r.repeated(w, m.dv, sint32);
        break;
      case 7:
        r.repeated(w, m.dataPointers, int32);
        break;
      case 8:
        m.activeDp = r.int32();
        break;
      case 9:
        r.repeated(w, m.dataRegisters, int32);
        break;
      case 10:
        r.repeated(w, m.locationRegisters, sint32);
        break;
      case 11:
        r.repeated(w, m.dataStack, int32);
        break;
      case 12:
        r.repeated(w, m.locationStack, sint32);
        break;
      case 13:
        r.repeated(w, m.callStack, int32);
        break;
      case 14:
        m.energy = r.int32();
        break;
      case 15:
        m.entropy = r.int32();
        break;
      case 16:
        m.marker = r.int32();
        break;
      case 17:
        m.genomeHash = r.uint32();
        break;
      case 18:
        m.lastOpcode = r.int32();
        break;
      case 19:
        r.repeated(w, m.lastArgs, int32);
        break;
      case 20:
        m.lastCost = r.int32();
        break;
      case 21:
        m.lastFailed = r.bool();
        break;
      case 22:
        m.failureReason = r.string();
        break;
      case 23:
        m.instructionsExecuted = r.int64();
        break;
      case 24:
        m.alive = r.bool();
        break;
      case 25:
        m.deathReason = r.string();
        break;
      case 26:
        m.children = r.int32();
        break;
      case 27:
        m.bodySize = r.int32();
        break;
      case 28:
        m.deathTick = r.int64();
        break;
      case 29:
        r.repeated(w, m.lastPosition, int32);
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}

/** A sample's organism columns (format 2), resolved once the chunk's samples are all read. */
type Pending = Map<TickData | TickDelta, DecodedColumns>;

function tickData(r: Reader, end: number, pending: Pending, organisms: boolean): TickData {
  const m: TickData = {
    $typeName: "evochora.v1.TickData",
    tick: 0n,
    organisms: [],
    rngStateHash: 0n,
  };
  while (r.pos < end) {
    const t = r.tag(TICK_DATA);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        m.tick = r.int64();
        break;
      case 2:
        m.cells = cellColumns(r, expectLen(r, w));
        break;
      case 3:
        if (organisms) m.organisms.push(organismState(r, expectLen(r, w)));
        else r.skip(w);
        break;
      case 4:
        m.summary = tickSummary(r, expectLen(r, w));
        break;
      case 5:
        m.rngStateHash = r.uint64();
        break;
      case 6:
        if (organisms) pending.set(m, readOrganismColumns(r, expectLen(r, w)));
        else r.skip(w);
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}

function tickDelta(r: Reader, end: number, pending: Pending, organisms: boolean): TickDelta {
  const m: TickDelta = {
    $typeName: "evochora.v1.TickDelta",
    tick: 0n,
    deltaType: 0,
    organisms: [],
    rngStateHash: 0n,
  };
  while (r.pos < end) {
    const t = r.tag(TICK_DELTA);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        m.tick = r.int64();
        break;
      case 2:
        m.deltaType = r.int32() as DeltaType;
        break;
      case 3:
        m.changedCells = cellColumns(r, expectLen(r, w));
        break;
      case 4:
        if (organisms) m.organisms.push(organismState(r, expectLen(r, w)));
        else r.skip(w);
        break;
      case 5:
        m.summary = tickSummary(r, expectLen(r, w));
        break;
      case 6:
        m.rngStateHash = r.uint64();
        break;
      case 7:
        if (organisms) pending.set(m, readOrganismColumns(r, expectLen(r, w)));
        else r.skip(w);
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}

/** Options of {@link decodeTickDataChunk}. */
export interface ChunkDecodeOptions {
  /**
   * Decode the samples' organisms (default true). False leaves every sample's `organisms`
   * empty: a world replay needs only the cells, and the organisms are most of a chunk's
   * decoding time and heap.
   */
  organisms?: boolean;
}

/**
 * Decodes an encoded TickDataChunk. Throws {@link ChunkDecodeError} naming the byte offset for
 * bytes that are not a well-formed message (skipped organisms are checked for their framing
 * only).
 */
export function decodeTickDataChunk(
  bytes: Uint8Array,
  options: ChunkDecodeOptions = {},
): TickDataChunk {
  const organisms = options.organisms ?? true;
  const r = new Reader(bytes);
  const m: TickDataChunk = {
    $typeName: "evochora.v1.TickDataChunk",
    runId: "",
    firstTick: 0n,
    lastTick: 0n,
    deltas: [],
    formatVersion: 0,
    chunkIndex: 0n,
    sampleCount: 0,
    createdAtMs: 0n,
  };
  const end = bytes.length;
  const pending: Pending = new Map();
  while (r.pos < end) {
    const t = r.tag(CHUNK);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        m.runId = r.string();
        break;
      case 2:
        m.firstTick = r.int64();
        break;
      case 3:
        m.lastTick = r.int64();
        break;
      case 4:
        m.snapshot = tickData(r, expectLen(r, w), pending, organisms);
        break;
      case 5:
        m.deltas.push(tickDelta(r, expectLen(r, w), pending, organisms));
        break;
      case 6:
        m.formatVersion = r.int32() as FormatVersion;
        break;
      case 7:
        m.chunkIndex = r.int64();
        break;
      case 8:
        m.sampleCount = r.int32();
        break;
      case 9:
        m.createdAtMs = r.int64();
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  if (pending.size > 0) resolveChunk(m, (s) => pending.get(s));
  return m;
}

/** Resolves the organism columns of every sample of `chunk` (see resolveSamples). */
function resolveChunk(
  chunk: TickDataChunk,
  columnsOf: (s: TickData | TickDelta) => DecodedColumns | undefined,
): void {
  const samples: (TickData | TickDelta)[] = chunk.snapshot === undefined
    ? chunk.deltas
    : [chunk.snapshot, ...chunk.deltas];
  resolveSamples(
    samples,
    columnsOf,
    (s) => s.$typeName === "evochora.v1.TickData" || s.deltaType === DeltaType.FULL,
    ORGANISM_STATE_SHAPE,
  );
}

/**
 * The organisms of a chunk decoded by protobuf-es (`fromBinary`), whose format 2 samples hold
 * their organisms as columns: fills every sample's `organisms` as {@link decodeTickDataChunk}
 * does and drops the columns. Changes `chunk` and returns it.
 */
export function resolveChunkOrganisms(chunk: TickDataChunk): TickDataChunk {
  resolveChunk(chunk, (s) => {
    const c = s.organismColumns;
    if (c === undefined) return undefined;
    delete s.organismColumns;
    let id = 0;
    const columns: DecodedColumns["columns"] = [];
    for (const col of c.columns) {
      columns[col.field] = {
        lengths: col.lengths,
        values: col.values.map(Number),
        at: 0,
      };
    }
    return {
      ids: c.id.map((d) => id += Number(d)),
      columns,
      strings: c.strings,
      at: 0,
    };
  });
  return chunk;
}
