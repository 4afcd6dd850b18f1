/**
 * Writes a sample's organisms as `evochora.v1.OrganismColumns` (format 2, see
 * ./organism_columns.ts): each organism is added as {@link OrganismStateFields}, flattened to
 * its wire values, and the columns hold the differences to the organism's values at the previous
 * sample written. The values of the last sample are kept for the next.
 *
 * @module
 */

import type { OrganismState } from "../proto/mod.ts";
import {
  COLUMN_FIELDS,
  type ColumnField,
  matchIds,
  ORGANISM_STATE_SHAPE,
} from "./organism_columns.ts";
import type { Grid, OrganismStateFields } from "./chunk_writer.ts";
import {
  RECORD_ARRAYS,
  RECORD_DEATH,
  RECORD_FAILURE,
  RECORD_IP,
  RECORD_LAST_POSITION,
  RECORD_NUMBERS,
} from "./organism_record.ts";
import { LEN, type ProtoWriter } from "./proto_writer.ts";

const ENCODER = new TextEncoder();
const NUMBER_FIELDS = COLUMN_FIELDS.filter((f) => f.kind === "number").map((f) => f.field);
const ARRAY_FIELDS = COLUMN_FIELDS.filter((f) => f.kind === "array").map((f) => f.field);
const STRING_FIELDS = COLUMN_FIELDS.filter((f) => f.kind === "string").map((f) => f.field);
/** Slot of each field in its kind's list, by field number. */
const SLOT: number[] = [];
for (const list of [NUMBER_FIELDS, ARRAY_FIELDS, STRING_FIELDS]) {
  list.forEach((field, i) => SLOT[field] = i);
}

/** A growable column of numbers (typed: a number[] pushed to was a third of the writer's time). */
class Numbers {
  a = new Float64Array(256);
  n = 0;

  push(v: number): void {
    if (this.n === this.a.length) this.reserve(1);
    this.a[this.n++] = v;
  }

  /** Makes room for `k` more values; returns the array to write them to from `n`. */
  reserve(k: number): Float64Array {
    if (this.n + k > this.a.length) {
      const next = new Float64Array(Math.max(this.a.length * 2, this.n + k));
      next.set(this.a.subarray(0, this.n));
      this.a = next;
    }
    return this.a;
  }

  pushAll(values: ArrayLike<number>): void {
    const k = values.length;
    const a = this.reserve(k);
    const n = this.n;
    for (let i = 0; i < k; i++) a[n + i] = values[i]!;
    this.n = n + k;
  }

  /** Appends the `rec[at]` elements after it; returns the index after them. */
  pushRun(rec: Float64Array, at: number): number {
    const k = rec[at]!;
    const a = this.reserve(k);
    const n = this.n;
    for (let i = 0; i < k; i++) a[n + i] = rec[at + 1 + i]!;
    this.n = n + k;
    return at + 1 + k;
  }

  /** As {@link pushRun}, the elements being flat positions, appended as coordinates. */
  pushCoordsRun(grid: Grid, rec: Float64Array, at: number): number {
    const k = rec[at]!;
    for (let i = 0; i < k; i++) this.pushCoords(grid, rec[at + 1 + i]!);
    return at + 1 + k;
  }

  pushCoords(grid: Grid, flat: number): void {
    const { shape, strides } = grid;
    const a = this.reserve(shape.length);
    let n = this.n;
    for (let d = 0; d < shape.length; d++) a[n++] = Math.floor(flat / strides[d]!) % shape[d]!;
    this.n = n;
  }
}

/** The flattened values of one sample's organisms. */
class SampleValues {
  n = 0;
  ids = new Numbers();
  /** n x NUMBER_FIELDS.length, organism-major. */
  numbers = new Numbers();
  /** Per array field: the elements of every organism, and where each organism's begin (n + 1). */
  elements: Numbers[] = ARRAY_FIELDS.map(() => new Numbers());
  offsets: Numbers[] = ARRAY_FIELDS.map(() => new Numbers());
  strings: string[][] = STRING_FIELDS.map(() => []);

  constructor() {
    this.clear();
  }

  clear(): void {
    this.n = 0;
    this.ids.n = 0;
    this.numbers.n = 0;
    for (const e of this.elements) e.n = 0;
    for (const o of this.offsets) {
      o.n = 0;
      o.push(0);
    }
    for (const s of this.strings) s.length = 0;
  }

  /** Ends one organism added field by field: its arrays' ends, its id. */
  endOrganism(id: number): void {
    this.ids.push(id);
    this.n++;
    for (let a = 0; a < ARRAY_FIELDS.length; a++) this.offsets[a]!.push(this.elements[a]!.n);
  }
}

/** See the module doc. */
export class OrganismColumnsWriter {
  #previous = new SampleValues();
  #current = new SampleValues();
  /** Scratch: each organism's index in the previous sample, or -1. */
  #before = new Int32Array(256);
  readonly #values = new Numbers();
  readonly #lengths = new Numbers();
  readonly #stringIndex = new Map<string, number>();
  #stringList: string[] = [];

  /** The next sample is compared with the empty state (a snapshot or a full delta). */
  reset(): void {
    this.#previous.clear();
  }

  /** Adds the next organism of the sample (ids ascending). Arrays are read now, not kept. */
  add(o: OrganismStateFields, grid: Grid): void {
    const s = this.#current;
    const numbers = s.numbers;
    // In NUMBER_FIELDS' order: fields 2, 3, 4, 8, 14-18, 20, 21, 23, 24 and 26-28.
    const v = numbers.reserve(NUMBER_FIELDS.length);
    let k = numbers.n;
    v[k++] = o.parentId;
    v[k++] = o.birthTick;
    v[k++] = o.generation;
    v[k++] = o.activeDp;
    v[k++] = o.energy;
    v[k++] = o.entropy;
    v[k++] = o.marker;
    v[k++] = o.genomeHash >>> 0;
    v[k++] = o.lastOpcode;
    v[k++] = o.lastCost;
    v[k++] = o.lastFailed ? 1 : 0;
    v[k++] = o.instructionsExecuted;
    v[k++] = o.alive ? 1 : 0;
    v[k++] = o.children;
    v[k++] = o.bodySize;
    v[k++] = o.deathTick;
    numbers.n = k;
    const e = s.elements;
    e[0]!.pushCoords(grid, o.ip);
    e[1]!.pushAll(o.dv);
    for (let i = 0; i < o.dataPointers.length; i++) e[2]!.pushCoords(grid, o.dataPointers[i]!);
    e[3]!.pushAll(o.dataRegisters);
    e[4]!.pushAll(o.locationRegisters);
    e[5]!.pushAll(o.dataStack);
    for (const l of o.locationStack) e[6]!.pushAll(l);
    for (let i = 0; i < o.callStack.length; i++) e[7]!.pushCoords(grid, o.callStack[i]!);
    e[8]!.pushAll(o.lastArgs);
    if (o.lastPosition >= 0) e[9]!.pushCoords(grid, o.lastPosition);
    s.strings[0]!.push(o.failureReason);
    s.strings[1]!.push(o.deathReason);
    s.endOrganism(o.id);
  }

  /**
   * Adds the organism recorded at `rec[at]` (./organism_record.ts) as {@link add} adds the same
   * organism; `strings` are the record's strings by index. Returns where the next record begins.
   */
  addRecord(rec: Float64Array, at: number, strings: readonly string[], grid: Grid): number {
    const s = this.#current;
    const numbers = s.numbers;
    const v = numbers.reserve(NUMBER_FIELDS.length);
    let k = numbers.n;
    for (let i = 0; i < NUMBER_FIELDS.length; i++) v[k++] = rec[at + RECORD_NUMBERS + i]!;
    numbers.n = k;
    const e = s.elements;
    e[0]!.pushCoords(grid, rec[at + RECORD_IP]!);
    let p = at + RECORD_ARRAYS;
    p = e[1]!.pushRun(rec, p);
    p = e[2]!.pushCoordsRun(grid, rec, p);
    p = e[3]!.pushRun(rec, p);
    p = e[4]!.pushRun(rec, p);
    p = e[5]!.pushRun(rec, p);
    const vectors = rec[p++]!;
    for (let i = 0; i < vectors; i++) p = e[6]!.pushRun(rec, p);
    p = e[7]!.pushCoordsRun(grid, rec, p);
    p = e[8]!.pushRun(rec, p);
    const last = rec[at + RECORD_LAST_POSITION]!;
    if (last >= 0) e[9]!.pushCoords(grid, last);
    s.strings[0]!.push(strings[rec[at + RECORD_FAILURE]!]!);
    s.strings[1]!.push(strings[rec[at + RECORD_DEATH]!]!);
    s.endOrganism(rec[at]!);
    return p;
  }

  /**
   * Makes `organisms` (decoded, ascending by id) the previous sample: a stream continued from a
   * checkpoint compares its next sample with the last one it wrote before.
   */
  restore(organisms: readonly OrganismState[]): void {
    const s = this.#previous;
    s.clear();
    const shape = ORGANISM_STATE_SHAPE;
    for (const o of organisms) {
      for (const f of NUMBER_FIELDS) s.numbers.push(shape.numbers.get(f)!.get(o));
      ARRAY_FIELDS.forEach((f, i) => s.elements[i]!.pushAll(shape.arrays.get(f)!.get(o)));
      STRING_FIELDS.forEach((f, i) => s.strings[i]!.push(shape.strings.get(f)!.get(o)));
      s.endOrganism(o.id);
    }
  }

  /**
   * Writes the organisms added since the last write as field `field` (an `OrganismColumns`),
   * then keeps them as the previous sample.
   */
  write(w: ProtoWriter, field: number): void {
    const cur = this.#current;
    const prev = this.#previous;
    this.#match();
    w.tag(field, LEN);
    const start = w.begin();
    const values = this.#values;
    values.n = 0;
    const ids = cur.ids.a;
    for (let i = 0; i < cur.n; i++) values.push(ids[i]! - (i > 0 ? ids[i - 1]! : 0));
    w.packedSint64(1, values.a, values.n);
    this.#stringIndex.clear();
    this.#stringList = [];
    for (const f of COLUMN_FIELDS) this.#column(w, f);
    // Every entry, the empty string too (stringField leaves a default out).
    for (const s of this.#stringList) {
      w.tag(3, LEN);
      const at = w.begin();
      w.ensure(s.length * 3);
      w.pos += ENCODER.encodeInto(s, w.buf.subarray(w.pos)).written;
      w.end(at);
    }
    w.end(start);
    this.#previous = cur;
    this.#current = prev;
    prev.clear();
  }

  /** Finds each organism's index in the previous sample (both ascending by id). */
  #match(): void {
    const cur = this.#current;
    const prev = this.#previous;
    if (this.#before.length < cur.n) this.#before = new Int32Array(cur.n * 2);
    matchIds(cur.ids.a, cur.n, prev.ids.a, prev.n, this.#before);
  }

  /** Writes field `f`'s column, unless every entry is 0. */
  #column(w: ProtoWriter, f: ColumnField): void {
    this.#values.n = 0;
    this.#lengths.n = 0;
    const changed = f.kind === "number"
      ? this.#numberColumn(SLOT[f.field]!)
      : f.kind === "array"
      ? this.#arrayColumn(SLOT[f.field]!)
      : this.#stringColumn(SLOT[f.field]!);
    if (!changed) return;
    w.tag(2, LEN);
    const start = w.begin();
    w.intField(1, f.field);
    if (f.kind === "array") w.packed(2, this.#lengths.a, 0, this.#lengths.n);
    w.packedSint64(3, this.#values.a, this.#values.n);
    w.end(start);
  }

  #numberColumn(slot: number): boolean {
    const n = this.#current.n;
    const cur = this.#current.numbers.a;
    const prev = this.#previous.numbers.a;
    const before = this.#before;
    const stride = NUMBER_FIELDS.length;
    const out = this.#values.reserve(n);
    let changed = false;
    for (let i = 0; i < n; i++) {
      const j = before[i]!;
      const v = cur[i * stride + slot]! - (j < 0 ? 0 : prev[j * stride + slot]!);
      if (v !== 0) changed = true;
      out[i] = v;
    }
    this.#values.n = n;
    return changed;
  }

  #arrayColumn(slot: number): boolean {
    const n = this.#current.n;
    const ce = this.#current.elements[slot]!.a;
    const co = this.#current.offsets[slot]!.a;
    const pe = this.#previous.elements[slot]!.a;
    const po = this.#previous.offsets[slot]!.a;
    const before = this.#before;
    // At most one value per element of this sample, one length per organism.
    const out = this.#values.reserve(co[n]!);
    const lengths = this.#lengths.reserve(n);
    let k = 0;
    let changed = false;
    for (let i = 0; i < n; i++) {
      const j = before[i]!;
      const from = co[i]!;
      const len = co[i + 1]! - from;
      const prevFrom = j < 0 ? 0 : po[j]!;
      const prevLen = j < 0 ? 0 : po[j + 1]! - prevFrom;
      if (len === prevLen) {
        lengths[i] = 0;
        for (let e = 0; e < len; e++) {
          const v = ce[from + e]! - pe[prevFrom + e]!;
          if (v !== 0) changed = true;
          out[k++] = v;
        }
      } else {
        changed = true;
        lengths[i] = len + 1;
        for (let e = 0; e < len; e++) out[k++] = ce[from + e]!;
      }
    }
    this.#values.n = k;
    this.#lengths.n = n;
    return changed;
  }

  #stringColumn(slot: number): boolean {
    const cur = this.#current.strings[slot]!;
    const prev = this.#previous.strings[slot]!;
    const before = this.#before;
    let changed = false;
    for (let i = 0; i < cur.length; i++) {
      const j = before[i]!;
      const s = cur[i]!;
      if (s === (j < 0 ? "" : prev[j]!)) {
        this.#values.push(0);
        continue;
      }
      changed = true;
      let k = this.#stringIndex.get(s);
      if (k === undefined) {
        k = this.#stringList.push(s) - 1;
        this.#stringIndex.set(s, k);
      }
      this.#values.push(k + 1);
    }
    return changed;
  }
}
