/**
 * Where a tick stream puts each sample's parts, in the order a sample is written: encoded at
 * once (./chunk_body_writer.ts) or captured as values to be encoded later, possibly on another
 * thread (./chunk_capture.ts).
 *
 * @module
 */

import type { DeltaType } from "../proto/mod.ts";
import type { OrganismStateFields, TickSummaryFields } from "./chunk_writer.ts";

/** Receives one sample after the other; see the module doc. */
export interface SampleSink {
  /** Opens a sample: the chunk's snapshot (`type` null) or a delta of `type`. */
  beginSample(tick: number, type: DeltaType | null): void;
  /** The sample's cells: the first `n` entries of the columns, in position order. */
  cells(flat: Int32Array, molecule: Int32Array, owner: Int32Array, n: number): void;
  summary(s: TickSummaryFields): void;
  /** The sample's next organism (ids ascending); its arrays are read now. */
  organism(o: OrganismStateFields): void;
  /** Closes the sample with the RNG's state hash (a uint64). */
  endSample(rngStateHash: bigint): void;
}
