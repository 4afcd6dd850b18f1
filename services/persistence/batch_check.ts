/**
 * What a persistence worker checks before it stores a batch record as it came: the value is a
 * zstd stream of size-delimited chunks, and the chunks are the ones the headers name (the run,
 * consecutive chunk indexes from the batch's first, the tick range, a snapshot in each, this
 * build's format version, the raw size). A record that fails is a dead letter, never a file
 * that readers would find corrupt later.
 *
 * @module
 */

import { readChunkHeader } from "../../codec/mod.ts";
import { FORMAT_VERSION } from "../../proto/mod.ts";
import { splitDelimited } from "../../resources/storage/message_stream.ts";
import { decompressZstd } from "../../resources/storage/zstd.ts";
import { type BatchRecordInfo, firstChunkOf } from "../common/batch_record.ts";

/** Decompresses a whole zstd stream (e.g. a ZstdWorker, off the consumer's thread). */
export interface Decompressor {
  decompress(bytes: Uint8Array): Promise<Uint8Array>;
}

/** Decompression on the calling thread. */
export const inlineDecompressor: Decompressor = {
  decompress: (bytes) => Promise.resolve().then(() => decompressZstd(bytes)),
};

/**
 * Checks that `bytes` hold the batch `info` describes. Throws a RangeError saying what does not
 * match (or why the bytes do not decode).
 */
export async function checkBatch(
  info: BatchRecordInfo,
  bytes: Uint8Array,
  decompressor: Decompressor,
): Promise<void> {
  let raw: Uint8Array;
  try {
    raw = await decompressor.decompress(bytes);
  } catch (e) {
    throw new RangeError(`not a zstd stream: ${(e as Error).message}`);
  }
  if (raw.length !== info.rawBytes) {
    throw new RangeError(`${raw.length} bytes decompressed, header 'raw' says ${info.rawBytes}`);
  }
  let chunks: Uint8Array[];
  try {
    chunks = splitDelimited(raw).messages;
  } catch (e) {
    throw new RangeError(`not size-delimited chunks: ${(e as Error).message}`);
  }
  if (chunks.length !== info.chunkCount) {
    throw new RangeError(`${chunks.length} chunks inside, header 'chunks' says ${info.chunkCount}`);
  }
  const first = firstChunkOf(info);
  let previousLast = -1;
  for (const [i, bytes] of chunks.entries()) {
    const at = `chunk ${i} of ${chunks.length}`;
    let h: ReturnType<typeof readChunkHeader>;
    try {
      h = readChunkHeader(bytes);
    } catch (e) {
      throw new RangeError(`${at}: not a chunk: ${(e as Error).message}`);
    }
    const mismatch = h.runId !== info.runId
      ? `run id '${h.runId}', the header says '${info.runId}'`
      : h.chunkIndex !== first + i
      ? `chunk index ${h.chunkIndex}, expected ${first + i}`
      : h.lastTick < h.firstTick || h.firstTick <= previousLast
      ? `ticks ${h.firstTick}..${h.lastTick} after tick ${previousLast}`
      : !h.hasSnapshot
      ? "no snapshot"
      : h.formatVersion > FORMAT_VERSION
      ? `format version ${h.formatVersion}, this build reads up to ${FORMAT_VERSION}`
      : i === 0 && h.firstTick !== info.firstTick
      ? `first tick ${h.firstTick}, header 'first' says ${info.firstTick}`
      : i === chunks.length - 1 && h.lastTick !== info.lastTick
      ? `last tick ${h.lastTick}, header 'last' says ${info.lastTick}`
      : null;
    if (mismatch !== null) throw new RangeError(`${at}: ${mismatch}`);
    previousLast = h.lastTick;
  }
}
