/**
 * Counts over a replayed world kept up to date from the positions each state changed
 * (codec/chunk_replay.ts), so that a sample costs its changes rather than the world's size:
 * cells per molecule type, and cells per owner.
 *
 * @module
 */

import type { ReplayedState } from "../../codec/mod.ts";

/** Molecule type of a non-empty cell: bits 20..23 of the molecule. */
const typeOf = (m: number) => (m >>> 20) & 0xf;

/** Cells per molecule type and per owner, of the last state given to {@link update}. */
export class WorldTally {
  /** Non-empty cells per molecule type (index: type, 0..15). */
  readonly types = new Float64Array(16);
  #perOwner = new Int32Array(1024);
  readonly #cells: Int32Array;
  readonly #owners: Int32Array;

  constructor(readonly size: number) {
    this.#cells = new Int32Array(size);
    this.#owners = new Int32Array(size);
  }

  static #shared: WorldTally | undefined;

  /**
   * A tally of worlds of `size` cells shared by this thread's synchronous users (see
   * codec's sharedReplayer): the first state given to it must be a whole world.
   */
  static shared(size: number): WorldTally {
    if (WorldTally.#shared?.size !== size) WorldTally.#shared = new WorldTally(size);
    return WorldTally.#shared;
  }

  /** Cells owned by organism `id` (0 for ids never seen). */
  ownedBy(id: number): number {
    return id > 0 && id < this.#perOwner.length ? this.#perOwner[id]! : 0;
  }

  /** Brings the counts to `s`: its changed positions only, or everything when it says so. */
  update(s: Pick<ReplayedState<unknown>, "cells" | "owners" | "changed">): void {
    const { cells, owners, changed } = s;
    if (changed === null) {
      const types = this.types;
      types.fill(0);
      this.#perOwner.fill(0);
      this.#cells.set(cells);
      this.#owners.set(owners);
      // The whole world: counted inline, the hot loop of a snapshot.
      let perOwner = this.#perOwner;
      for (let i = 0; i < cells.length; i++) {
        const m = cells[i]!;
        if (m !== 0) types[typeOf(m)]!++;
        const o = owners[i]!;
        if (o <= 0) continue;
        if (o >= perOwner.length) perOwner = this.#grow(o);
        perOwner[o]!++;
      }
      return;
    }
    for (let k = 0; k < changed.length; k++) {
      const f = changed[k]!;
      this.#add(this.#cells[f]!, this.#owners[f]!, -1);
      const m = cells[f]!;
      const o = owners[f]!;
      this.#add(m, o, 1);
      this.#cells[f] = m;
      this.#owners[f] = o;
    }
  }

  #add(m: number, o: number, n: number): void {
    if (m !== 0) this.types[typeOf(m)]! += n;
    if (o <= 0) return;
    if (o >= this.#perOwner.length) this.#grow(o);
    this.#perOwner[o]! += n;
  }

  /** Room for owner `o`; returns the grown counts. */
  #grow(o: number): Int32Array<ArrayBuffer> {
    const grown = new Int32Array(Math.max(o + 1, this.#perOwner.length * 2));
    grown.set(this.#perOwner);
    return this.#perOwner = grown;
  }
}
