/**
 * Rebuilds world states from a self-contained chunk: the snapshot, then its deltas in order.
 *
 * @module
 */

import {
  type CellColumns,
  DeltaType,
  type OrganismState,
  type TickDataChunk,
  type TickSummary,
} from "../proto/mod.ts";

/** The world at one sampled tick. The arrays are reused between yields: copy to keep. */
export interface ReplayedState {
  tick: number;
  cells: Int32Array;
  owners: Int32Array;
  organisms: OrganismState[];
  summary: TickSummary | undefined;
}

function applyCells(cells: Int32Array, owners: Int32Array, cols: CellColumns | undefined): void {
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
export function* replayChunk(chunk: TickDataChunk, size: number): Generator<ReplayedState> {
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
    switch (d.deltaType) {
      case DeltaType.FULL:
        cells.fill(0);
        owners.fill(0);
        applyCells(cells, owners, d.changedCells);
        fullCells.set(cells);
        fullOwners.set(owners);
        break;
      case DeltaType.ACCUMULATED:
        cells.set(fullCells);
        owners.set(fullOwners);
        applyCells(cells, owners, d.changedCells);
        break;
      case DeltaType.INCREMENTAL:
        applyCells(cells, owners, d.changedCells);
        break;
      default:
        throw new RangeError(`Delta at tick ${d.tick} has unknown type ${d.deltaType}`);
    }
    yield { tick: Number(d.tick), cells, owners, organisms: d.organisms, summary: d.summary };
  }
}
