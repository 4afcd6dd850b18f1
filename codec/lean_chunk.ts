/**
 * A lean decoding of `evochora.v1.TickDataChunk` for readers that look at every sample of a
 * run (the indexers): cell columns as exactly sized `Int32Array`s, a sample's organisms as one
 * typed column per field the indexes use (./lean_organisms.ts; registers, stacks, pointers and
 * last instruction are skipped unread), ticks as numbers (exact to 2^53). The full decoder
 * (./chunk_decoder.ts) builds every field as protobuf-es would; its arrays that grow element by
 * element and its objects per organism were most of the indexers' time and garbage. Both
 * decoders read the same wire format with the same checks (./_proto_reader.ts,
 * ./organism_columns.ts) and are tested against protobuf-es.
 *
 * @module
 */

import { DeltaType, type FormatVersion, type TickSummary } from "../proto/mod.ts";
import { checkEnd, expectLen, Reader, tickSummary } from "./_proto_reader.ts";
import { type ScannedColumns, scanOrganismColumns } from "./organism_columns.ts";
import {
  leanColumn,
  type LeanOrganism,
  type LeanOrganisms,
  leanOrganismsOf,
  NO_ORGANISMS,
  resolveLeanOrganisms,
} from "./lean_organisms.ts";

export type { LeanOrganism, LeanOrganisms } from "./lean_organisms.ts";

/** Cell columns (positions, molecules, owners), one element per changed or present cell. */
export interface CellArrays {
  flatIndex: Int32Array;
  molecule: Int32Array;
  owner: Int32Array;
}

/** One sample: the chunk's snapshot (deltaType UNSPECIFIED) or one of its deltas. */
export interface LeanSample {
  tick: number;
  deltaType: DeltaType;
  /** The snapshot's cells, or a delta's changed cells. */
  cells: CellArrays | undefined;
  organisms: LeanOrganisms;
  summary: TickSummary | undefined;
}

/** A chunk decoded leanly (see the module doc). */
export interface LeanChunk {
  runId: string;
  firstTick: number;
  lastTick: number;
  chunkIndex: number;
  formatVersion: FormatVersion;
  sampleCount: number;
  snapshot: LeanSample | undefined;
  deltas: LeanSample[];
}

const CELLS = " rrr";
const ORGANISM = " vvvvrrrvrrrrrvvvvvrvvlvvlvvvr";
const TICK_DATA = " vlllvl";
const TICK_DELTA = " vvlllvl";
const CHUNK = " lvvllvvvv";
const EMPTY = new Int32Array(0);

function cellArrays(r: Reader, end: number): CellArrays {
  let flatIndex: Int32Array | undefined;
  let molecule: Int32Array | undefined;
  let owner: Int32Array | undefined;
  while (r.pos < end) {
    const t = r.tag(CELLS);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        flatIndex = r.int32Array(w, flatIndex);
        break;
      case 2:
        molecule = r.int32Array(w, molecule);
        break;
      case 3:
        owner = r.int32Array(w, owner);
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return { flatIndex: flatIndex ?? EMPTY, molecule: molecule ?? EMPTY, owner: owner ?? EMPTY };
}

function leanOrganism(r: Reader, end: number): LeanOrganism {
  const m: LeanOrganism = {
    id: 0,
    parentId: 0,
    birthTick: 0,
    generation: 0,
    energy: 0,
    entropy: 0,
    genomeHash: 0,
    alive: false,
    deathReason: "",
    children: 0,
    bodySize: 0,
    deathTick: 0,
  };
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
        m.birthTick = r.int64Number();
        break;
      case 4:
        m.generation = r.int32();
        break;
      case 14:
        m.energy = r.int32();
        break;
      case 15:
        m.entropy = r.int32();
        break;
      case 17:
        m.genomeHash = r.uint32();
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
        m.deathTick = r.int64Number();
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}

/** A sample's organism columns (format 2), resolved once the chunk's samples are all read. */
type Pending = Map<LeanSample, ScannedColumns>;

/**
 * A TickData (`delta` false) or TickDelta: the same fields, shifted by the delta type at 2.
 */
function leanSample(r: Reader, end: number, delta: boolean, pending: Pending): LeanSample {
  const m: LeanSample = {
    tick: 0,
    deltaType: DeltaType.UNSPECIFIED,
    cells: undefined,
    organisms: NO_ORGANISMS,
    summary: undefined,
  };
  const listed: LeanOrganism[] = [];
  const shift = delta ? 1 : 0;
  while (r.pos < end) {
    const t = r.tag(delta ? TICK_DELTA : TICK_DATA);
    const w = t & 7;
    const f = t >>> 3;
    if (f === 1) m.tick = r.int64Number();
    else if (delta && f === 2) m.deltaType = r.int32() as DeltaType;
    else if (f === 2 + shift) m.cells = cellArrays(r, expectLen(r, w));
    else if (f === 3 + shift) listed.push(leanOrganism(r, expectLen(r, w)));
    else if (f === 4 + shift) m.summary = tickSummary(r, expectLen(r, w));
    else if (f === 6 + shift) pending.set(m, scanOrganismColumns(r, expectLen(r, w), leanColumn));
    else r.skip(w);
  }
  checkEnd(r, end);
  if (listed.length > 0) m.organisms = leanOrganismsOf(listed);
  return m;
}

/**
 * Decodes an encoded TickDataChunk leanly (see the module doc). Throws ChunkDecodeError naming
 * the byte offset for bytes that are not a well-formed message.
 */
export function decodeLeanChunk(bytes: Uint8Array): LeanChunk {
  const r = new Reader(bytes);
  const m: LeanChunk = {
    runId: "",
    firstTick: 0,
    lastTick: 0,
    chunkIndex: 0,
    formatVersion: 0,
    sampleCount: 0,
    snapshot: undefined,
    deltas: [],
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
        m.firstTick = r.int64Number();
        break;
      case 3:
        m.lastTick = r.int64Number();
        break;
      case 4:
        m.snapshot = leanSample(r, expectLen(r, w), false, pending);
        break;
      case 5:
        m.deltas.push(leanSample(r, expectLen(r, w), true, pending));
        break;
      case 6:
        m.formatVersion = r.int32() as FormatVersion;
        break;
      case 7:
        m.chunkIndex = r.int64Number();
        break;
      case 8:
        m.sampleCount = r.int32();
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  if (pending.size > 0) resolveChunk(m, pending);
  return m;
}

/**
 * Fills the organisms of each sample with columns from its columns and the sample before it
 * (none for a full state: the snapshot, a full delta), in tick order.
 */
function resolveChunk(chunk: LeanChunk, pending: Pending): void {
  let previous = NO_ORGANISMS;
  const samples = chunk.snapshot === undefined ? chunk.deltas : [chunk.snapshot, ...chunk.deltas];
  for (const s of samples) {
    const columns = pending.get(s);
    if (columns !== undefined) {
      const full = s === chunk.snapshot || s.deltaType === DeltaType.FULL;
      s.organisms = resolveLeanOrganisms(columns, full ? NO_ORGANISMS : previous);
    }
    previous = s.organisms;
  }
}
