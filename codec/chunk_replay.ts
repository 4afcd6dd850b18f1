/**
 * Rebuilds world states from a self-contained chunk: the snapshot, then its deltas in order.
 * Takes a chunk as either decoder gives it: the full message (./chunk_decoder.ts, protobuf-es)
 * or the lean one of the indexers (./lean_chunk.ts).
 *
 * @module
 */

import { DeltaType, type TickSummary } from "../proto/mod.ts";
import type { LeanOrganism } from "./lean_chunk.ts";

/** The world at one sampled tick. The arrays are reused between yields: copy to keep. */
export interface ReplayedState<O = LeanOrganism> {
  tick: number;
  cells: Int32Array;
  owners: Int32Array;
  organisms: O[];
  summary: TickSummary | undefined;
}

/** Cell columns, as arrays or typed arrays. */
interface Columns {
  readonly flatIndex: ArrayLike<number>;
  readonly molecule: ArrayLike<number>;
  readonly owner: ArrayLike<number>;
}

/** A sample of either decoding: a delta's cells are `changedCells` (full) or `cells` (lean). */
interface Sample<O> {
  readonly tick: bigint | number;
  readonly organisms: O[];
  readonly summary?: TickSummary | undefined;
  readonly cells?: Columns | undefined;
  readonly changedCells?: Columns | undefined;
}

/** What replay needs of a chunk, TickDataChunk and LeanChunk alike. */
export interface ReplayableChunk<O> {
  readonly chunkIndex: bigint | number;
  readonly snapshot?: Sample<O> | undefined;
  readonly deltas: readonly (Sample<O> & { readonly deltaType: DeltaType })[];
}

function applyCells(cells: Int32Array, owners: Int32Array, cols: Columns | undefined): void {
  if (cols === undefined) return;
  const { flatIndex, molecule, owner } = cols;
  if (molecule.length !== flatIndex.length || owner.length !== flatIndex.length) {
    throw new RangeError(
      `Cell columns differ in length: ${flatIndex.length} positions, ${molecule.length} molecules, ${owner.length} owners`,
    );
  }
  for (let i = 0; i < flatIndex.length; i++) {
    const f = flatIndex[i]!;
    if (f < 0 || f >= cells.length) {
      throw new RangeError(`Cell position ${f} is outside a world of ${cells.length} cells`);
    }
    cells[f] = molecule[i]!;
    owners[f] = owner[i]!;
  }
}

/**
 * Yields the state at every sample of `chunk`, in tick order, for a world of `size` cells.
 * Accumulated deltas are applied on top of the last full state; incremental ones on top of
 * the previous sample.
 */
export function* replayChunk<O>(
  chunk: ReplayableChunk<O>,
  size: number,
): Generator<ReplayedState<O>> {
  const snap = chunk.snapshot;
  if (snap === undefined) throw new RangeError(`Chunk ${chunk.chunkIndex} has no snapshot`);
  const cells = new Int32Array(size);
  const owners = new Int32Array(size);
  applyCells(cells, owners, snap.cells);
  // The last full state, to rebase accumulated deltas on.
  const fullCells = cells.slice();
  const fullOwners = owners.slice();
  yield {
    tick: Number(snap.tick),
    cells,
    owners,
    organisms: snap.organisms,
    summary: snap.summary,
  };
  for (const d of chunk.deltas) {
    const changed = d.changedCells ?? d.cells;
    switch (d.deltaType) {
      case DeltaType.FULL:
        cells.fill(0);
        owners.fill(0);
        applyCells(cells, owners, changed);
        fullCells.set(cells);
        fullOwners.set(owners);
        break;
      case DeltaType.ACCUMULATED:
        cells.set(fullCells);
        owners.set(fullOwners);
        applyCells(cells, owners, changed);
        break;
      case DeltaType.INCREMENTAL:
        applyCells(cells, owners, changed);
        break;
      default:
        throw new RangeError(`Delta at tick ${d.tick} has unknown type ${d.deltaType}`);
    }
    yield { tick: Number(d.tick), cells, owners, organisms: d.organisms, summary: d.summary };
  }
}
