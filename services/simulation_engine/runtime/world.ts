/**
 * The n-dimensional world: a grid of packed molecules, an owner grid, change tracking for
 * deltas, per-type counts and an index of LABEL molecules for fuzzy jumps.
 *
 * @module
 */

import { MOLECULE_TYPE_COUNT, MoleculeType, typeOf, valueOf } from "../../../codec/mod.ts";

/** How coordinates behave at the edges. */
export type Topology = "torus" | "bounded";

/** Options for {@link World}. */
export interface WorldOptions {
  /** Size per dimension, x first. Every entry >= 1; product <= 2^31 - 1. */
  shape: readonly number[];
  /** Default "torus". */
  topology?: Topology;
}

/** Change flags: changed since the previous sample / since the chunk's snapshot. */
const DIRTY_SAMPLE = 1;
const DIRTY_SNAPSHOT = 2;

/** A growable list of int32. */
class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  clear(): void {
    this.length = 0;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** The grid. All positions are flat indices (x fastest). */
export class World {
  readonly shape: readonly number[];
  readonly dims: number;
  readonly topology: Topology;
  readonly size: number;
  readonly strides: readonly number[];
  /** Packed molecules; 0 is empty. Write through {@link World.set}. */
  readonly cells: Int32Array;
  /** Owning organism id per cell; 0 is none. Write through {@link World.set}/{@link World.setOwner}. */
  readonly owners: Int32Array;
  /** Per-cell tick of the last organism write, for conflict resolution within a tick. */
  readonly claims: Int32Array;
  /** Count of non-empty cells per molecule type (16 slots: the type field has 4 bits). */
  readonly typeCounts: Float64Array = new Float64Array(16);
  /** LABEL molecules by value: value -> set of positions. */
  readonly labels: Map<number, Set<number>> = new Map();

  readonly #dirty: Uint8Array;
  readonly #sampleDirty = new IntList();
  readonly #snapshotDirty = new IntList();
  readonly #shape: Int32Array;
  readonly #strides: Int32Array;

  constructor(options: WorldOptions) {
    const shape = [...options.shape];
    if (shape.length < 1) throw new RangeError("World shape needs at least one dimension");
    let size = 1;
    const strides: number[] = [];
    for (const [i, s] of shape.entries()) {
      if (!Number.isInteger(s) || s < 1) {
        throw new RangeError(`World shape dimension ${i} must be a positive integer, got ${s}`);
      }
      strides.push(size);
      size *= s;
    }
    if (size > 0x7fffffff) {
      throw new RangeError(`World shape ${shape.join("x")} has ${size} cells; at most 2^31-1`);
    }
    this.shape = shape;
    this.dims = shape.length;
    this.topology = options.topology ?? "torus";
    this.size = size;
    this.strides = strides;
    this.#shape = Int32Array.from(shape);
    this.#strides = Int32Array.from(strides);
    this.cells = new Int32Array(size);
    this.owners = new Int32Array(size);
    this.claims = new Int32Array(size).fill(-1);
    this.#dirty = new Uint8Array(size);
  }

  /** Writes a cell: molecule (marker included) and owner. Tracks changes, counts and labels. */
  set(flat: number, molecule: number, owner: number): void {
    const old = this.cells[flat]!;
    if (old !== molecule) {
      if (old !== 0) {
        const t = typeOf(old);
        this.typeCounts[t]!--;
        if (t === MoleculeType.LABEL) this.#unindexLabel(flat, valueOf(old));
      }
      if (molecule !== 0) {
        const t = typeOf(molecule);
        this.typeCounts[t]!++;
        if (t === MoleculeType.LABEL) this.#indexLabel(flat, valueOf(molecule));
      }
      this.cells[flat] = molecule;
      this.#markDirty(flat);
    }
    if (this.owners[flat] !== owner) {
      this.owners[flat] = owner;
      this.#markDirty(flat);
    }
  }

  /** Changes only the owner of a cell. */
  setOwner(flat: number, owner: number): void {
    if (this.owners[flat] !== owner) {
      this.owners[flat] = owner;
      this.#markDirty(flat);
    }
  }

  #markDirty(flat: number): void {
    const d = this.#dirty[flat]!;
    if ((d & DIRTY_SAMPLE) === 0) this.#sampleDirty.push(flat);
    if ((d & DIRTY_SNAPSHOT) === 0) this.#snapshotDirty.push(flat);
    this.#dirty[flat] = DIRTY_SAMPLE | DIRTY_SNAPSHOT;
  }

  #indexLabel(flat: number, value: number): void {
    let set = this.labels.get(value);
    if (set === undefined) {
      set = new Set();
      this.labels.set(value, set);
    }
    set.add(flat);
  }

  #unindexLabel(flat: number, value: number): void {
    const set = this.labels.get(value);
    if (set === undefined) return;
    set.delete(flat);
    if (set.size === 0) this.labels.delete(value);
  }

  /** Positions changed since the last {@link World.clearSampleChanges}, in first-change order. */
  sampleChanges(): Int32Array {
    return this.#sampleDirty.view();
  }

  /** Positions changed since the last {@link World.clearSnapshotChanges}. */
  snapshotChanges(): Int32Array {
    return this.#snapshotDirty.view();
  }

  /** Forgets the changes since the previous sample. */
  clearSampleChanges(): void {
    const list = this.#sampleDirty.view();
    for (let i = 0; i < list.length; i++) this.#dirty[list[i]!]! &= ~DIRTY_SAMPLE;
    this.#sampleDirty.clear();
  }

  /** Forgets the changes since the snapshot. */
  clearSnapshotChanges(): void {
    const list = this.#snapshotDirty.view();
    for (let i = 0; i < list.length; i++) this.#dirty[list[i]!]! &= ~DIRTY_SNAPSHOT;
    this.#snapshotDirty.clear();
  }

  /**
   * Replaces the whole grid by the given cells, every other cell empty and unowned (restoring a
   * checkpoint): counts and the label index are rebuilt, no change is pending, no cell claimed.
   * Throws RangeError for columns of different lengths or a position outside the world.
   */
  load(flat: ArrayLike<number>, molecule: ArrayLike<number>, owner: ArrayLike<number>): void {
    if (molecule.length !== flat.length || owner.length !== flat.length) {
      throw new RangeError(
        `Cell columns differ in length: ${flat.length} positions, ${molecule.length} ` +
          `molecules, ${owner.length} owners`,
      );
    }
    this.cells.fill(0);
    this.owners.fill(0);
    this.claims.fill(-1);
    this.typeCounts.fill(0);
    this.labels.clear();
    this.clearSampleChanges();
    this.clearSnapshotChanges();
    for (let i = 0; i < flat.length; i++) {
      const f = flat[i]!;
      if (!Number.isInteger(f) || f < 0 || f >= this.size) {
        throw new RangeError(`Cell position ${f} lies outside a world of ${this.size} cells`);
      }
      this.set(f, molecule[i]!, owner[i]!);
    }
    this.clearSampleChanges();
    this.clearSnapshotChanges();
  }

  /**
   * Records cells as changed since the previous sample (`sample`) and since the last full state
   * (`snapshot`), as when a checkpoint taken inside a chunk is restored.
   */
  markChanged(sample: ArrayLike<number>, snapshot: ArrayLike<number>): void {
    for (let i = 0; i < sample.length; i++) this.#mark(sample[i]!, DIRTY_SAMPLE);
    for (let i = 0; i < snapshot.length; i++) this.#mark(snapshot[i]!, DIRTY_SNAPSHOT);
  }

  #mark(flat: number, flag: number): void {
    if (!Number.isInteger(flat) || flat < 0 || flat >= this.size) {
      throw new RangeError(`Changed cell ${flat} lies outside a world of ${this.size} cells`);
    }
    if ((this.#dirty[flat]! & flag) !== 0) return;
    this.#dirty[flat]! |= flag;
    (flag === DIRTY_SAMPLE ? this.#sampleDirty : this.#snapshotDirty).push(flat);
  }

  /**
   * One step from `flat` along `axis` by `sign` (+1/-1). Returns -1 when a bounded world ends.
   */
  step(flat: number, axis: number, sign: number): number {
    const stride = this.#strides[axis]!;
    const n = this.#shape[axis]!;
    const c = Math.floor(flat / stride) % n;
    const next = c + sign;
    if (next >= 0 && next < n) return flat + sign * stride;
    if (this.topology === "bounded") return -1;
    return next < 0 ? flat + (n - 1) * stride : flat - (n - 1) * stride;
  }

  /** `flat` moved by vector `v` (any lengths). Returns -1 when a bounded world ends. */
  offset(flat: number, v: ArrayLike<number>): number {
    let out = 0;
    for (let a = 0; a < this.dims; a++) {
      const stride = this.#strides[a]!;
      const n = this.#shape[a]!;
      let c = Math.floor(flat / stride) % n + (v[a] ?? 0);
      if (c < 0 || c >= n) {
        if (this.topology === "bounded") return -1;
        c = ((c % n) + n) % n;
      }
      out += c * stride;
    }
    return out;
  }

  /** Coordinates of a flat index. */
  coords(flat: number, out: number[] = new Array(this.dims)): number[] {
    for (let a = 0; a < this.dims; a++) {
      out[a] = Math.floor(flat / this.#strides[a]!) % this.#shape[a]!;
    }
    return out;
  }

  /** Flat index of coordinates, wrapped on a torus; -1 outside a bounded world. */
  flatOf(coords: ArrayLike<number>): number {
    let out = 0;
    for (let a = 0; a < this.dims; a++) {
      const n = this.#shape[a]!;
      let c = coords[a] ?? 0;
      if (c < 0 || c >= n) {
        if (this.topology === "bounded") return -1;
        c = ((c % n) + n) % n;
      }
      out += c * this.#strides[a]!;
    }
    return out;
  }

  /**
   * Distance used to prefer near labels: sum over axes of the (wrapped) absolute difference.
   */
  distance(a: number, b: number): number {
    let d = 0;
    for (let ax = 0; ax < this.dims; ax++) {
      const stride = this.#strides[ax]!;
      const n = this.#shape[ax]!;
      let diff = Math.abs(Math.floor(a / stride) % n - Math.floor(b / stride) % n);
      if (this.topology === "torus" && diff * 2 > n) diff = n - diff;
      d += diff;
    }
    return d;
  }

  /**
   * Offset of `flat` from `origin`, each axis wrapped into [0, n): a translation-invariant key
   * for ordering a body's cells.
   */
  relative(flat: number, origin: number): number {
    let out = 0;
    for (let a = 0; a < this.dims; a++) {
      const stride = this.#strides[a]!;
      const n = this.#shape[a]!;
      const d = Math.floor(flat / stride) % n - Math.floor(origin / stride) % n;
      out += (d < 0 ? d + n : d) * stride;
    }
    return out;
  }

  /** Number of empty cells (computed from the type counts). */
  emptyCells(): number {
    let used = 0;
    for (let t = 0; t < MOLECULE_TYPE_COUNT; t++) used += this.typeCounts[t]!;
    return this.size - used;
  }
}
