/**
 * A resumable replay of one chunk: the world at a sample, advanced sample by sample, so that
 * consecutive ticks of a chunk (a timeline being played) cost one delta each instead of a
 * replay from the snapshot. The same rules as `replayChunk` (codec/chunk_replay.ts): FULL
 * deltas replace the state and become the base, ACCUMULATED deltas apply on top of the last
 * full state, INCREMENTAL ones on top of the previous sample.
 *
 * @module
 */

import { type CellColumns, DeltaType, type TickDataChunk } from "../../proto/mod.ts";

function applyCells(cells: Int32Array, owners: Int32Array, cols: CellColumns | undefined): void {
  if (cols === undefined) return;
  const { flatIndex, molecule, owner } = cols;
  if (molecule.length !== flatIndex.length || owner.length !== flatIndex.length) {
    throw new RangeError(
      `Cell columns differ in length: ${flatIndex.length} positions, ${molecule.length} ` +
        `molecules, ${owner.length} owners`,
    );
  }
  const size = cells.length;
  for (let i = 0; i < flatIndex.length; i++) {
    const f = flatIndex[i]!;
    if (f < 0 || f >= size) {
      throw new RangeError(`Cell position ${f} is outside a world of ${size} cells`);
    }
    cells[f] = molecule[i]!;
    owners[f] = owner[i]!;
  }
}

/** The replay state of one chunk. The arrays change as the cursor moves: copy to keep. */
export class ReplayCursor {
  readonly chunk: TickDataChunk;
  readonly cells: Int32Array;
  readonly owners: Int32Array;
  readonly #fullCells: Int32Array;
  readonly #fullOwners: Int32Array;
  /** -1 before the snapshot, 0 at the snapshot, i + 1 after delta i. */
  #position = -1;
  #tick = -1;

  constructor(chunk: TickDataChunk, cellCount: number) {
    if (chunk.snapshot === undefined) {
      throw new RangeError(`Chunk ${chunk.chunkIndex} has no snapshot`);
    }
    this.chunk = chunk;
    this.cells = new Int32Array(cellCount);
    this.owners = new Int32Array(cellCount);
    this.#fullCells = new Int32Array(cellCount);
    this.#fullOwners = new Int32Array(cellCount);
  }

  /** The tick the arrays show, or -1 before the first {@link seek}. */
  get tick(): number {
    return this.#tick;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.cells.byteLength * 4;
  }

  #rewind(): void {
    const snap = this.chunk.snapshot!;
    this.cells.fill(0);
    this.owners.fill(0);
    applyCells(this.cells, this.owners, snap.cells);
    this.#fullCells.set(this.cells);
    this.#fullOwners.set(this.owners);
    this.#position = 0;
    this.#tick = Number(snap.tick);
  }

  /**
   * Moves to the sample at `tick` (forwards from the current sample, or from the snapshot when
   * `tick` lies behind). Returns false, with the state unspecified, when the chunk has no
   * sample at `tick`.
   */
  seek(tick: number): boolean {
    if (this.#position < 0 || tick < this.#tick) this.#rewind();
    const deltas = this.chunk.deltas;
    while (this.#tick < tick && this.#position <= deltas.length - 1) {
      const d = deltas[this.#position]!;
      switch (d.deltaType) {
        case DeltaType.FULL:
          this.cells.fill(0);
          this.owners.fill(0);
          applyCells(this.cells, this.owners, d.changedCells);
          this.#fullCells.set(this.cells);
          this.#fullOwners.set(this.owners);
          break;
        case DeltaType.ACCUMULATED:
          this.cells.set(this.#fullCells);
          this.owners.set(this.#fullOwners);
          applyCells(this.cells, this.owners, d.changedCells);
          break;
        case DeltaType.INCREMENTAL:
          applyCells(this.cells, this.owners, d.changedCells);
          break;
        default:
          throw new RangeError(`Delta at tick ${d.tick} has unknown type ${d.deltaType}`);
      }
      this.#position++;
      this.#tick = Number(d.tick);
    }
    return this.#tick === tick;
  }
}
