/**
 * Where the engine's chunks are encoded: a capturing tick stream hands each completed chunk
 * over as its capture (codec/chunk_capture.ts), and a {@link ChunkEncoder} turns it into the
 * chunk's bytes, e.g. on a thread of its own (./chunk_encoder_thread.ts). The bytes are those
 * of a stream encoding as it goes (TickStream.observe, the engine's default).
 *
 * @module
 */

import { type CapturedChunk, ChunkBodyWriter } from "../../codec/mod.ts";
import type { EncodedChunk } from "./runtime/mod.ts";

/** Encodes captured chunks; see the module doc. */
export interface ChunkEncoder {
  /**
   * The chunk of `capture`. The capture is handed over; its arrays come back through `recycle`
   * once encoded (for the stream's next chunks).
   */
  encode(capture: CapturedChunk, recycle: (capture: CapturedChunk) => void): Promise<EncodedChunk>;
  /** Ends the encoder's thread, if it has one. */
  close(): void;
}

/** The writer for the capture's world shape (made on first use; most runs have one shape). */
export function writerFor(
  writers: Map<string, ChunkBodyWriter>,
  capture: CapturedChunk,
): ChunkBodyWriter {
  const key = capture.grid.shape.join("x");
  let writer = writers.get(key);
  if (writer === undefined) {
    writer = new ChunkBodyWriter(capture.grid);
    writers.set(key, writer);
  }
  return writer;
}
