/**
 * Organisms as columns of changes (format 2, `evochora.v1.OrganismColumns`): what a sample's
 * organisms look like on the wire, and how a decoder turns the columns back into one object per
 * organism given the previous sample's. The writer is ./organism_columns_writer.ts.
 *
 * Format 1 wrote every field of every organism at every sample: at sampling 1 those messages were
 * 61% of the stored bytes although consecutive samples of an organism differ in a few fields by
 * small amounts. The columns hold those differences.
 *
 * @module
 */

import type { OrganismState } from "../proto/mod.ts";
import { checkEnd, ChunkDecodeError, expectLen, Reader } from "./_proto_reader.ts";

/** How an `OrganismState` field is stored in its column. */
export type ColumnKind = "number" | "array" | "string";

/** One `OrganismState` field: its number and kind. */
export interface ColumnField {
  readonly field: number;
  readonly kind: ColumnKind;
}

/**
 * Every `OrganismState` field but `id` (field 1, the ids column), in field order. Numbers are
 * ints, 64-bit ints (exact below 2^53), the uint32 genome hash and bools (0 or 1); arrays are the
 * repeated fields as they are on the wire (positions as coordinates, vectors flattened).
 */
export const COLUMN_FIELDS: readonly ColumnField[] = [
  { field: 2, kind: "number" }, // parent_id
  { field: 3, kind: "number" }, // birth_tick
  { field: 4, kind: "number" }, // generation
  { field: 5, kind: "array" }, // ip
  { field: 6, kind: "array" }, // dv
  { field: 7, kind: "array" }, // data_pointers
  { field: 8, kind: "number" }, // active_dp
  { field: 9, kind: "array" }, // data_registers
  { field: 10, kind: "array" }, // location_registers
  { field: 11, kind: "array" }, // data_stack
  { field: 12, kind: "array" }, // location_stack
  { field: 13, kind: "array" }, // call_stack
  { field: 14, kind: "number" }, // energy
  { field: 15, kind: "number" }, // entropy
  { field: 16, kind: "number" }, // marker
  { field: 17, kind: "number" }, // genome_hash
  { field: 18, kind: "number" }, // last_opcode
  { field: 19, kind: "array" }, // last_args
  { field: 20, kind: "number" }, // last_cost
  { field: 21, kind: "number" }, // last_failed
  { field: 22, kind: "string" }, // failure_reason
  { field: 23, kind: "number" }, // instructions_executed
  { field: 24, kind: "number" }, // alive
  { field: 25, kind: "string" }, // death_reason
  { field: 26, kind: "number" }, // children
  { field: 27, kind: "number" }, // body_size
  { field: 28, kind: "number" }, // death_tick
  { field: 29, kind: "array" }, // last_position
];

/** The highest `OrganismState` field number. */
export const LAST_ORGANISM_FIELD = 29;

/** One decoded `OrganismColumn`: lengths for repeated fields, values, and where it began. */
export interface DecodedColumn {
  lengths: ArrayLike<number> | null;
  values: ArrayLike<number>;
  /** Byte offset of the column, for errors. */
  at: number;
}

/** A decoded `OrganismColumns`: ids ascending, the columns present by field, the strings. */
export interface DecodedColumns {
  ids: ArrayLike<number>;
  columns: (DecodedColumn | undefined)[];
  strings: string[];
  at: number;
}

const COLUMNS = " rlr";
const COLUMN = " vrr";

/** One piece of a repeated scalar field as it came: packed bytes (wire 2) or one varint (0). */
export interface Part {
  readonly wire: 0 | 2;
  /** The first byte of the varint or of the packed bytes. */
  readonly start: number;
  /** The end of the packed bytes; for one varint, its start. */
  readonly end: number;
}

/** Where an `OrganismColumn` lies in the bytes: its lengths' and its values' pieces. */
export interface ColumnSpan {
  readonly lengths: Part[] | null;
  readonly values: Part[];
  /** Byte offset of the column, for errors. */
  readonly at: number;
}

/**
 * An `OrganismColumns` message located but not decoded: its ids' pieces, each wanted column's
 * pieces by field number, the strings. Its numbers are decoded from `buf` when they are used
 * ({@link decodeSint64s}), so a reader that keeps samples until its chunk is read keeps no
 * arrays of numbers.
 */
export interface ScannedColumns {
  readonly buf: Uint8Array;
  readonly ids: Part[];
  readonly columns: (ColumnSpan | undefined)[];
  readonly strings: string[];
  readonly at: number;
}

/** Adds a repeated scalar field's piece at the reader (after its tag) and skips it. */
function part(r: Reader, wire: number, parts: Part[]): void {
  const start = r.pos;
  if (wire === 0) {
    r.skip(0);
    parts.push({ wire: 0, start, end: start });
    return;
  }
  if (wire !== 2) throw new ChunkDecodeError(`wire type ${wire} for a repeated scalar`, start);
  const end = r.len();
  parts.push({ wire: 2, start: r.pos, end });
  r.pos = end;
}

function scanColumn(r: Reader, end: number, wanted: (field: number) => boolean) {
  const at = r.pos;
  let field = 0;
  let lengths: Part[] | null = null;
  const values: Part[] = [];
  while (r.pos < end) {
    const t = r.tag(COLUMN);
    const w = t & 7;
    const f = t >>> 3;
    if (f === 1) field = r.int32();
    // A column's field comes first as written; one that comes later is read whole.
    else if (field !== 0 && !wanted(field)) r.skip(w);
    else if (f === 2) part(r, w, lengths ??= []);
    else if (f === 3) part(r, w, values);
    else r.skip(w);
  }
  checkEnd(r, end);
  if (field < 2 || field > LAST_ORGANISM_FIELD) {
    throw new ChunkDecodeError(
      `organism column for field ${field}, not an OrganismState field`,
      at,
    );
  }
  return { field, column: { lengths, values, at } };
}

/**
 * Locates an `OrganismColumns` message ending at `end` (see {@link ScannedColumns}); columns
 * of fields `wanted` refuses are skipped unread.
 */
export function scanOrganismColumns(
  r: Reader,
  end: number,
  wanted: (field: number) => boolean = () => true,
): ScannedColumns {
  const at = r.pos;
  const ids: Part[] = [];
  const columns: (ColumnSpan | undefined)[] = [];
  const strings: string[] = [];
  while (r.pos < end) {
    const t = r.tag(COLUMNS);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        part(r, w, ids);
        break;
      case 2: {
        const c = scanColumn(r, expectLen(r, w), wanted);
        if (columns[c.field] !== undefined) {
          throw new ChunkDecodeError(`organism column for field ${c.field} twice`, c.column.at);
        }
        if (wanted(c.field)) columns[c.field] = c.column;
        break;
      }
      case 3:
        strings.push(r.string());
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return { buf: r.buf, ids, columns, strings, at };
}

/** How many varints the pieces hold. */
export function countVarints(buf: Uint8Array, parts: readonly Part[]): number {
  let n = 0;
  for (const p of parts) {
    if (p.wire === 0) n++;
    else for (let i = p.start; i < p.end; i++) if (buf[i]! < 0x80) n++;
  }
  return n;
}

/**
 * Decodes the varints of `parts` into `out` from index 0 (zigzag sint64, or `unsigned` uint32
 * lengths), exact below 2^53; `out` holds at least {@link countVarints} of them. Returns how
 * many were decoded.
 */
export function decodeSint64s(
  buf: Uint8Array,
  parts: readonly Part[],
  out: Float64Array,
  unsigned = false,
): number {
  let r: Reader | undefined;
  let n = 0;
  for (const p of parts) {
    const end = p.wire === 0 ? p.start + 1 : p.end;
    let pos = p.start;
    while (pos < end) {
      // Up to four bytes (28 bits, the usual differences) over locals; longer ones by the
      // reader: through the reader's position every byte cost as much as the rest together.
      let b = buf[pos++]!;
      let z = b & 0x7f;
      if (b >= 0x80) {
        b = buf[pos++]!;
        z |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = buf[pos++]!;
          z |= (b & 0x7f) << 14;
          if (b >= 0x80) {
            b = buf[pos++]!;
            z |= (b & 0x7f) << 21;
            if (b >= 0x80) {
              r ??= new Reader(buf);
              r.pos = pos - 4;
              z = unsigned ? r.uint32() : r.int64Number();
              pos = r.pos;
            }
          }
        }
      }
      out[n++] = unsigned ? z : z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    if (p.wire === 2 && pos !== end) {
      throw new ChunkDecodeError("packed field overruns its length", end);
    }
  }
  return n;
}

/** Decodes varints (see {@link decodeSint64s}) into consecutive views of one array. */
class VarintArena {
  readonly #buf: Uint8Array;
  readonly #out: Float64Array;
  #at = 0;

  /** Room for every varint of `parts` of `buf`. */
  constructor(buf: Uint8Array, parts: readonly (readonly Part[])[]) {
    let n = 0;
    for (const p of parts) n += countVarints(buf, p);
    this.#buf = buf;
    this.#out = new Float64Array(n);
  }

  /** The varints of `parts`, as a view. */
  take(parts: readonly Part[], unsigned = false): Float64Array {
    const from = this.#at;
    const out = this.#out.subarray(from);
    this.#at += decodeSint64s(this.#buf, parts, out, unsigned);
    return this.#out.subarray(from, this.#at);
  }
}

/**
 * The organism ids of scanned columns, from their differences into `out` (at least
 * {@link countVarints} long); throws unless they ascend. Returns how many.
 */
export function decodeIds(c: ScannedColumns, out: Float64Array): number {
  const n = decodeSint64s(c.buf, c.ids, out);
  let id = 0;
  for (let i = 0; i < n; i++) {
    const next = id + out[i]!;
    if (i > 0 && next <= id) {
      throw new ChunkDecodeError(`organism ids do not ascend (${next} after ${id})`, c.at);
    }
    out[i] = id = next;
  }
  return n;
}

/**
 * Reads an `OrganismColumns` message ending at `end`, its numbers decoded; columns of fields
 * `wanted` refuses are skipped unread.
 */
export function readOrganismColumns(
  r: Reader,
  end: number,
  wanted: (field: number) => boolean = () => true,
): DecodedColumns {
  const c = scanOrganismColumns(r, end, wanted);
  // One array for the sample's numbers, the columns views of it: an array each cost as much
  // as decoding them.
  const all: Part[][] = [];
  for (const span of c.columns) {
    if (span === undefined) continue;
    if (span.lengths !== null) all.push(span.lengths);
    all.push(span.values);
  }
  const arena = new VarintArena(c.buf, all);
  const columns: (DecodedColumn | undefined)[] = [];
  c.columns.forEach((span, field) => {
    if (span === undefined) return;
    columns[field] = {
      lengths: span.lengths === null ? null : arena.take(span.lengths, true),
      values: arena.take(span.values),
      at: span.at,
    };
  });
  const ids = new Float64Array(countVarints(c.buf, c.ids));
  return {
    ids: ids.subarray(0, decodeIds(c, ids)),
    columns,
    strings: c.strings,
    at: c.at,
  };
}

/**
 * Pairs two samples' organisms, both ascending by id: for each of the first `n` of `ids`, its
 * index among the first `m` of `previous`, or -1 for an organism the previous sample lacks
 * (into `out`). The writer and the lean decoder take each column's differences along it.
 */
export function matchIds(
  ids: ArrayLike<number>,
  n: number,
  previous: ArrayLike<number>,
  m: number,
  out: Int32Array,
): void {
  for (let i = 0, j = 0; i < n; i++) {
    const id = ids[i]!;
    while (j < m && previous[j]! < id) j++;
    out[i] = j < m && previous[j] === id ? j : -1;
  }
}

/** Reads and writes one field of an organism object. */
export interface Accessor<O, T> {
  get(o: O): T;
  set(o: O, v: T): void;
}

/** How a decoder's organism objects are made and read, for {@link resolveOrganisms}. */
export interface OrganismShape<O> {
  /** A new organism in the empty state with this id. */
  empty(id: number): O;
  /** A copy of `o` that can be changed without changing `o`. */
  copy(o: O): O;
  id(o: O): number;
  /** The number fields the decoder keeps, by field number. */
  numbers: ReadonlyMap<number, Accessor<O, number>>;
  arrays: ReadonlyMap<number, Accessor<O, number[]>>;
  strings: ReadonlyMap<number, Accessor<O, string>>;
}

/** An `OrganismState` with every field at its default (as protobuf-es makes one). */
export function emptyOrganismState(id: number): OrganismState {
  return {
    $typeName: "evochora.v1.OrganismState",
    id,
    parentId: 0,
    birthTick: 0n,
    generation: 0,
    ip: [],
    dv: [],
    dataPointers: [],
    activeDp: 0,
    dataRegisters: [],
    locationRegisters: [],
    dataStack: [],
    locationStack: [],
    callStack: [],
    energy: 0,
    entropy: 0,
    marker: 0,
    genomeHash: 0,
    lastOpcode: 0,
    lastArgs: [],
    lastCost: 0,
    lastFailed: false,
    failureReason: "",
    instructionsExecuted: 0n,
    alive: false,
    deathReason: "",
    children: 0,
    bodySize: 0,
    deathTick: 0n,
    lastPosition: [],
  };
}

type StateField<T> = Accessor<OrganismState, T>;
const STATE_ARRAYS = new Map<number, StateField<number[]>>([
  [5, { get: (o) => o.ip, set: (o, v) => o.ip = v }],
  [6, { get: (o) => o.dv, set: (o, v) => o.dv = v }],
  [7, { get: (o) => o.dataPointers, set: (o, v) => o.dataPointers = v }],
  [9, { get: (o) => o.dataRegisters, set: (o, v) => o.dataRegisters = v }],
  [10, { get: (o) => o.locationRegisters, set: (o, v) => o.locationRegisters = v }],
  [11, { get: (o) => o.dataStack, set: (o, v) => o.dataStack = v }],
  [12, { get: (o) => o.locationStack, set: (o, v) => o.locationStack = v }],
  [13, { get: (o) => o.callStack, set: (o, v) => o.callStack = v }],
  [19, { get: (o) => o.lastArgs, set: (o, v) => o.lastArgs = v }],
  [29, { get: (o) => o.lastPosition, set: (o, v) => o.lastPosition = v }],
]);

/**
 * `OrganismState` (protobuf-es's type) as the columns read and fill it: every field, by field
 * number. The full decoder resolves columns into it; the writer restores its previous sample
 * from it.
 */
export const ORGANISM_STATE_SHAPE: OrganismShape<OrganismState> = {
  empty: emptyOrganismState,
  copy: (o) => {
    const c = { ...o };
    for (const a of STATE_ARRAYS.values()) a.set(c, a.get(o).slice());
    return c;
  },
  id: (o) => o.id,
  numbers: new Map<number, StateField<number>>([
    [2, { get: (o) => o.parentId, set: (o, v) => o.parentId = v }],
    [3, { get: (o) => Number(o.birthTick), set: (o, v) => o.birthTick = BigInt(v) }],
    [4, { get: (o) => o.generation, set: (o, v) => o.generation = v }],
    [8, { get: (o) => o.activeDp, set: (o, v) => o.activeDp = v }],
    [14, { get: (o) => o.energy, set: (o, v) => o.energy = v }],
    [15, { get: (o) => o.entropy, set: (o, v) => o.entropy = v }],
    [16, { get: (o) => o.marker, set: (o, v) => o.marker = v }],
    [17, { get: (o) => o.genomeHash, set: (o, v) => o.genomeHash = v }],
    [18, { get: (o) => o.lastOpcode, set: (o, v) => o.lastOpcode = v }],
    [20, { get: (o) => o.lastCost, set: (o, v) => o.lastCost = v }],
    [21, { get: (o) => Number(o.lastFailed), set: (o, v) => o.lastFailed = v !== 0 }],
    [23, {
      get: (o) => Number(o.instructionsExecuted),
      set: (o, v) => o.instructionsExecuted = BigInt(v),
    }],
    [24, { get: (o) => Number(o.alive), set: (o, v) => o.alive = v !== 0 }],
    [26, { get: (o) => o.children, set: (o, v) => o.children = v }],
    [27, { get: (o) => o.bodySize, set: (o, v) => o.bodySize = v }],
    [28, { get: (o) => Number(o.deathTick), set: (o, v) => o.deathTick = BigInt(v) }],
  ]),
  arrays: STATE_ARRAYS,
  strings: new Map<number, StateField<string>>([
    [22, { get: (o) => o.failureReason, set: (o, v) => o.failureReason = v }],
    [25, { get: (o) => o.deathReason, set: (o, v) => o.deathReason = v }],
  ]),
};

function mismatch(field: number, c: DecodedColumn, what: string): ChunkDecodeError {
  return new ChunkDecodeError(`organism column for field ${field}: ${what}`, c.at);
}

/** The column of `field` if present, checked to hold one value per organism. */
function perOrganism(d: DecodedColumns, field: number, n: number): DecodedColumn | undefined {
  const c = d.columns[field];
  if (c !== undefined && c.values.length !== n) {
    throw mismatch(field, c, `${c.values.length} values for ${n} organisms`);
  }
  return c;
}

/**
 * The organisms of a sample from its columns and the previous sample's organisms (ascending by
 * id; none for a snapshot or a full delta). Throws {@link ChunkDecodeError} for columns that do
 * not fit the organisms.
 */
export function resolveOrganisms<O>(
  d: DecodedColumns,
  previous: readonly O[],
  shape: OrganismShape<O>,
): O[] {
  const n = d.ids.length;
  const out = new Array<O>(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const id = d.ids[i]!;
    while (j < previous.length && shape.id(previous[j]!) < id) j++;
    const before = j < previous.length && shape.id(previous[j]!) === id ? previous[j] : undefined;
    out[i] = before === undefined ? shape.empty(id) : shape.copy(before);
  }
  for (const [field, acc] of shape.numbers) {
    const c = perOrganism(d, field, n);
    if (c === undefined) continue;
    for (let i = 0; i < n; i++) {
      const v = c.values[i]!;
      if (v !== 0) acc.set(out[i]!, acc.get(out[i]!) + v);
    }
  }
  for (const [field, acc] of shape.arrays) {
    const c = d.columns[field];
    if (c !== undefined) applyArrays(field, c, out, acc);
  }
  for (const [field, acc] of shape.strings) {
    const c = perOrganism(d, field, n);
    if (c === undefined) continue;
    for (let i = 0; i < n; i++) {
      const k = c.values[i]!;
      if (k === 0) continue;
      const s = d.strings[k - 1];
      if (s === undefined) throw mismatch(field, c, `string ${k} of ${d.strings.length}`);
      acc.set(out[i]!, s);
    }
  }
  return out;
}

/**
 * Fills the `organisms` of each sample of a chunk (snapshot first) that holds organism columns,
 * from its columns and the sample before it; a full state (`standsAlone`: the snapshot, a full
 * delta) is compared with no organisms. `columnsOf` gives a sample's columns.
 */
export function resolveSamples<S extends { organisms: O[] }, O>(
  samples: readonly S[],
  columnsOf: (s: S) => DecodedColumns | undefined,
  standsAlone: (s: S, i: number) => boolean,
  shape: OrganismShape<O>,
): void {
  let previous: O[] = [];
  samples.forEach((s, i) => {
    const columns = columnsOf(s);
    if (columns !== undefined) {
      s.organisms = resolveOrganisms(columns, standsAlone(s, i) ? [] : previous, shape);
    }
    previous = s.organisms;
  });
}

function applyArrays<O>(
  field: number,
  c: DecodedColumn,
  out: O[],
  acc: Accessor<O, number[]>,
): void {
  const lengths = c.lengths ?? [];
  if (lengths.length !== out.length) {
    throw mismatch(field, c, `${lengths.length} lengths for ${out.length} organisms`);
  }
  const values = c.values;
  let k = 0;
  for (let i = 0; i < out.length; i++) {
    const len = lengths[i]!;
    const o = out[i]!;
    if (len === 0) {
      const a = acc.get(o);
      if (k + a.length > values.length) throw mismatch(field, c, "too few values");
      for (let e = 0; e < a.length; e++) a[e] = a[e]! + values[k++]!;
    } else {
      if (k + len - 1 > values.length) throw mismatch(field, c, "too few values");
      const a = new Array<number>(len - 1);
      for (let e = 0; e < len - 1; e++) a[e] = values[k++]!;
      acc.set(o, a);
    }
  }
  if (k !== values.length) throw mismatch(field, c, `${values.length - k} values left over`);
}
