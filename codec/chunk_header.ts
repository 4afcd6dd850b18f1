/**
 * Reads the top-level scalar fields of an encoded TickDataChunk without decoding the
 * snapshot and deltas: cheap validation and routing for persistence workers, which store the
 * bytes as they are, and the API's tick lookups. Agrees with protobuf-es's `fromBinary` on the
 * fields it reads (tested); 64-bit fields are numbers, exact below 2^53.
 *
 * @module
 */

import { readVarint } from "./varint.ts";

/** The scalar fields of a chunk. */
export interface ChunkHeader {
  runId: string;
  firstTick: number;
  lastTick: number;
  chunkIndex: number;
  sampleCount: number;
  formatVersion: number;
  /** Whether a snapshot (field 4) is present. */
  hasSnapshot: boolean;
}

const DECODER = new TextDecoder("utf-8", { fatal: true });

/**
 * Walks the top-level fields of `bytes`. Throws RangeError naming the byte offset when the
 * bytes are not a well-formed message.
 */
export function readChunkHeader(bytes: Uint8Array): ChunkHeader {
  const h: ChunkHeader = {
    runId: "",
    firstTick: 0,
    lastTick: 0,
    chunkIndex: 0,
    sampleCount: 0,
    formatVersion: 0,
    hasSnapshot: false,
  };
  let p = 0;
  const varint = (): number => {
    const read = readVarint(bytes, p);
    p = read.end;
    return read.value;
  };
  while (p < bytes.length) {
    const at = p;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new RangeError(`field number 0 at byte ${at}`);
    switch (wire) {
      case 0: {
        const v = varint();
        if (field === 2) h.firstTick = v;
        else if (field === 3) h.lastTick = v;
        else if (field === 6) h.formatVersion = v;
        else if (field === 7) h.chunkIndex = v;
        else if (field === 8) h.sampleCount = v;
        break;
      }
      case 2: {
        const len = varint();
        if (p + len > bytes.length) {
          throw new RangeError(
            `field ${field} at byte ${at} says ${len} bytes, ${bytes.length - p} remain`,
          );
        }
        if (field === 1) {
          try {
            h.runId = DECODER.decode(bytes.subarray(p, p + len));
          } catch {
            throw new RangeError(`run_id at byte ${at} is not UTF-8`);
          }
        } else if (field === 4) h.hasSnapshot = true;
        p += len;
        break;
      }
      case 1:
        p += 8;
        break;
      case 5:
        p += 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${wire} at byte ${at}`);
    }
    if (p > bytes.length) throw new RangeError(`field ${field} at byte ${at} is truncated`);
  }
  return h;
}
