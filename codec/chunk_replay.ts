/**
 * Rebuilds world states from a self-contained chunk: the snapshot, then its deltas in order.
 * Takes a chunk as either decoder gives it: the full message (./chunk_decoder.ts, protobuf-es)
 * or the lean one of the indexers (./lean_chunk.ts).
 *
 * @module
 */

import { DeltaType, type TickSummary } from "../proto/mod.ts";
import type { LeanOrganisms } from "./lean_organisms.ts";

/**
 * The world at one sampled tick, with the sample's organisms as its decoder gives them (`Os`).
 * The arrays are reused between yields: copy to keep.
 */
export interface ReplayedState<Os = LeanOrganisms> {
  tick: number;
  cells: Int32Array;
  owners: Int32Array;
  /**
   * Positions whose cell or owner may differ from the previous state of the same chunk (each
   * once); null for every position (the snapshot, a FULL delta). Lets a reader keep counts
   * over the world up to date at the cost of the changes instead of the world's size.
   */
  changed: Int32Array | null;
  organisms: Os;
  summary: TickSummary | undefined;
}

/** Cell columns, as arrays or typed arrays. */
interface Columns {
  readonly flatIndex: ArrayLike<number>;
  readonly molecule: ArrayLike<number>;
  readonly owner: ArrayLike<number>;
}

/** A sample of either decoding: a delta's cells are `changedCells` (full) or `cells` (lean). */
interface Sample<Os> {
  readonly tick: bigint | number;
  readonly organisms: Os;
  readonly summary?: TickSummary | undefined;
  readonly cells?: Columns | undefined;
  readonly changedCells?: Columns | undefined;
}

/** What replay needs of a chunk, TickDataChunk and LeanChunk alike. */
export interface ReplayableChunk<Os> {
  readonly chunkIndex: bigint | number;
  readonly snapshot?: Sample<Os> | undefined;
  readonly deltas: readonly (Sample<Os> & { readonly deltaType: DeltaType })[];
}

/** Checks that the three columns have one element per cell. */
function checkColumns(cols: Columns): void {
  const { flatIndex, molecule, owner } = cols;
  if (molecule.length !== flatIndex.length || owner.length !== flatIndex.length) {
    throw new RangeError(
      `Cell columns differ in length: ${flatIndex.length} positions, ${molecule.length} molecules, ${owner.length} owners`,
    );
  }
}

/**
 * Replays chunks of one world size, reusing its buffers from chunk to chunk (four arrays of
 * the world's size: the state and the last full state).
 */
export class ChunkReplayer {
  readonly #cells: Int32Array;
  readonly #owners: Int32Array;
  readonly #fullCells: Int32Array;
  readonly #fullOwners: Int32Array;
  /** Positions set since the last full state, each once (`#mark` says which). */
  #dirty: Int32Array;
  #dirtyCount = 0;
  readonly #mark: Uint8Array;
  /** Per position, the last call of #changedSince that listed it. */
  readonly #stamps: Uint32Array;
  #stamp = 0;
  /** The positions a state yields as changed, reused from state to state. */
  #changed = new Int32Array(1024);
  /** The dirty positions an accumulated delta reverts, reused likewise. */
  #reverted = new Int32Array(1024);

  constructor(readonly size: number) {
    this.#cells = new Int32Array(size);
    this.#owners = new Int32Array(size);
    this.#fullCells = new Int32Array(size);
    this.#fullOwners = new Int32Array(size);
    this.#mark = new Uint8Array(size);
    this.#stamps = new Uint32Array(size);
    this.#dirty = new Int32Array(1024);
  }

  /**
   * Yields the state at every sample of `chunk`, in tick order. Accumulated deltas are applied
   * on top of the last full state; incremental ones on top of the previous sample.
   */
  *replay<Os>(chunk: ReplayableChunk<Os>): Generator<ReplayedState<Os>> {
    const snap = chunk.snapshot;
    if (snap === undefined) throw new RangeError(`Chunk ${chunk.chunkIndex} has no snapshot`);
    const cells = this.#cells;
    const owners = this.#owners;
    this.#reset(snap.cells);
    yield { tick: Number(snap.tick), cells, owners, changed: null, ...sampleParts(snap) };
    for (const d of chunk.deltas) {
      const cols = d.changedCells ?? d.cells;
      let changed: Int32Array | null;
      switch (d.deltaType) {
        case DeltaType.FULL:
          this.#reset(cols);
          changed = null;
          break;
        case DeltaType.ACCUMULATED: {
          // Back to the full state where anything was set since, then this delta on top: the
          // cells that may change are those and the delta's own.
          const before = this.#revert();
          for (const f of before) {
            cells[f] = this.#fullCells[f]!;
            owners[f] = this.#fullOwners[f]!;
            this.#mark[f] = 0;
          }
          this.#dirtyCount = 0;
          this.#apply(cols);
          changed = this.#union(before);
          break;
        }
        case DeltaType.INCREMENTAL: {
          const from = this.#dirtyCount;
          this.#apply(cols);
          changed = this.#changedSince(from, cols);
          break;
        }
        default:
          throw new RangeError(`Delta at tick ${d.tick} has unknown type ${d.deltaType}`);
      }
      yield { tick: Number(d.tick), cells, owners, changed, ...sampleParts(d) };
    }
  }

  /** Starts from nothing but `cols`, which become the full state (nothing set since). */
  #reset(cols: Columns | undefined): void {
    const cells = this.#cells;
    const owners = this.#owners;
    cells.fill(0);
    owners.fill(0);
    this.#forgetSet();
    if (cols !== undefined) {
      // A snapshot is most of a chunk's cells: set without tracking what was set.
      checkColumns(cols);
      const { flatIndex, molecule, owner } = cols;
      for (let i = 0; i < flatIndex.length; i++) {
        const f = this.#position(flatIndex[i]!);
        cells[f] = molecule[i]!;
        owners[f] = owner[i]!;
      }
    }
    this.#fullCells.set(cells);
    this.#fullOwners.set(owners);
  }

  #forgetSet(): void {
    for (let i = 0; i < this.#dirtyCount; i++) this.#mark[this.#dirty[i]!] = 0;
    this.#dirtyCount = 0;
  }

  /** Sets the cells of `cols`, remembering their positions as set since the full state. */
  #apply(cols: Columns | undefined): void {
    if (cols === undefined) return;
    checkColumns(cols);
    const { flatIndex, molecule, owner } = cols;
    for (let i = 0; i < flatIndex.length; i++) {
      const f = this.#position(flatIndex[i]!);
      this.#cells[f] = molecule[i]!;
      this.#owners[f] = owner[i]!;
      if (this.#mark[f] === 0) {
        this.#mark[f] = 1;
        if (this.#dirtyCount === this.#dirty.length) {
          const grown = new Int32Array(this.#dirty.length * 2);
          grown.set(this.#dirty);
          this.#dirty = grown;
        }
        this.#dirty[this.#dirtyCount++] = f;
      }
    }
  }

  #position(f: number): number {
    if (f < 0 || f >= this.size) {
      throw new RangeError(`Cell position ${f} is outside a world of ${this.size} cells`);
    }
    return f;
  }

  /** The positions set since the full state, copied (the list is about to be emptied). */
  #revert(): Int32Array {
    if (this.#reverted.length < this.#dirtyCount) {
      this.#reverted = new Int32Array(this.#dirtyCount * 2);
    }
    this.#reverted.set(this.#dirty.subarray(0, this.#dirtyCount));
    return this.#reverted.subarray(0, this.#dirtyCount);
  }

  /** A view of the reused changed list, at least `n` long. */
  #changedList(n: number): Int32Array {
    if (this.#changed.length < n) this.#changed = new Int32Array(n * 2);
    return this.#changed;
  }

  /** `before` and the positions set since the full state, each once. */
  #union(before: Int32Array): Int32Array {
    const out = this.#changedList(before.length + this.#dirtyCount);
    let n = 0;
    for (const f of before) if (this.#mark[f] === 0) out[n++] = f;
    out.set(this.#dirty.subarray(0, this.#dirtyCount), n);
    return out.subarray(0, n + this.#dirtyCount);
  }

  /** The positions of `cols` (set by the last incremental delta), each once. */
  #changedSince(from: number, cols: Columns | undefined): Int32Array {
    if (cols === undefined) return this.#changed.subarray(0, 0);
    // Positions new to the dirty list are there once; when they are all of `cols`, done.
    if (this.#dirtyCount - from === cols.flatIndex.length) {
      const out = this.#changedList(cols.flatIndex.length);
      out.set(this.#dirty.subarray(from, this.#dirtyCount));
      return out.subarray(0, cols.flatIndex.length);
    }
    const stamp = ++this.#stamp;
    if (stamp === 0xffffffff) (this.#stamps.fill(0), this.#stamp = 1);
    const out = this.#changedList(cols.flatIndex.length);
    let n = 0;
    for (let i = 0; i < cols.flatIndex.length; i++) {
      const f = cols.flatIndex[i]!;
      if (this.#stamps[f] !== this.#stamp) (this.#stamps[f] = this.#stamp, out[n++] = f);
    }
    return out.subarray(0, n);
  }
}

function sampleParts<Os>(s: Sample<Os>): { organisms: Os; summary: TickSummary | undefined } {
  return { organisms: s.organisms, summary: s.summary };
}

let shared: ChunkReplayer | undefined;

/**
 * A replayer of worlds of `size` cells shared by the callers of this thread that replay
 * synchronously (each replay to its end before the next begins): its four world-sized arrays
 * are made once instead of at every batch. A replay starts from its chunk's snapshot, so
 * nothing of an earlier one shows.
 */
export function sharedReplayer(size: number): ChunkReplayer {
  if (shared?.size !== size) shared = new ChunkReplayer(size);
  return shared;
}

/**
 * Yields the state at every sample of `chunk`, in tick order, for a world of `size` cells
 * (a {@link ChunkReplayer} for this one chunk).
 */
export function replayChunk<Os>(
  chunk: ReplayableChunk<Os>,
  size: number,
): Generator<ReplayedState<Os>> {
  return new ChunkReplayer(size).replay(chunk);
}
