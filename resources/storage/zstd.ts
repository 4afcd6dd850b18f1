/**
 * zstd through `node:zlib`, with the checks `node:zlib` lacks.
 *
 * Three gaps in the runtime shape this module (measured on Deno 2.9.6):
 *
 * - `zstdDecompressSync` accepts truncated input silently: a frame cut anywhere decompresses
 *   "successfully" to fewer bytes or none at all (Node does the same, nodejs/node#64592).
 * - It decodes only the first frame of its input and drops the rest silently (and returns
 *   nothing when the input starts with a skippable frame).
 * - The asynchronous decompressors (`zstdDecompress`, `createZstdDecompress`) throw a content
 *   checksum mismatch as an *uncaught* error that ends the process instead of reporting it to
 *   the callback or the stream.
 *
 * So {@link decompressZstd} walks the frame structure itself (magic, header, block headers and
 * sizes, checksum), reports the exact compressed byte where the data ends or stops making
 * sense, and decompresses frame by frame with the synchronous decompressor only. (In Deno the
 * asynchronous zlib functions run on the calling thread anyway, so nothing is lost.)
 *
 * Everything written here carries a content checksum (`ZSTD_c_checksumFlag`), so flipped bits
 * anywhere in a frame are detected, not just the ones that break the block structure.
 *
 * @module
 */

import { constants, zstdCompressSync, zstdDecompressSync, type ZstdOptions } from "node:zlib";
import type { Buffer } from "node:buffer";

/** The compression level used unless a caller asks for another. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Levels zstd accepts: negative "fast" levels down to -131072, up to 22. */
const MIN_LEVEL = -131072;
const MAX_LEVEL = 22;

/**
 * Throws a RangeError unless `level` is an integer zstd level (-131072..22). Done before any I/O
 * so that a typo in a config fails before a writer is opened.
 */
export function checkZstdLevel(level: number): void {
  if (!Number.isInteger(level) || level < MIN_LEVEL || level > MAX_LEVEL) {
    throw new RangeError(
      `Invalid zstd level ${level}: expected an integer from ${MIN_LEVEL} to ${MAX_LEVEL} ` +
        `(${DEFAULT_ZSTD_LEVEL} is the default)`,
    );
  }
}

/** Compression parameters: the level, and a content checksum so that corruption is detected. */
function compressParams(level: number): Record<number, number> {
  checkZstdLevel(level);
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    [constants.ZSTD_c_checksumFlag]: 1,
  };
}

/**
 * Compresses `bytes` into zstd frames with a content checksum. Deterministic: the same bytes and
 * level give the same output with the same zstd library (the one built into the Deno binary).
 */
export function compressZstd(
  bytes: Uint8Array,
  level: number = DEFAULT_ZSTD_LEVEL,
): Uint8Array<ArrayBuffer> {
  // The pledged size puts the content size in the frame header, so that readers decompress
  // into one buffer of that size (decompressFrameSync). An output buffer of zstd's bound
  // takes the frame in one piece: in 16 KiB pieces node:zlib spends as much time joining
  // them, and when the frame ends exactly at a piece's end it starts an empty second frame,
  // and a copy cut after the first frame would read as whole.
  const options: ZstdOptions & { pledgedSrcSize: number } = {
    params: compressParams(level),
    pledgedSrcSize: bytes.length,
    chunkSize: compressBound(bytes.length),
  };
  const out = zstdCompressSync(bytes, options);
  // A plain Uint8Array of the frame's exact size: a copy (slice of a Buffer would share the
  // bound-sized buffer, and a Buffer's slice() shares memory where Uint8Array's copies).
  return new Uint8Array(out.buffer as ArrayBuffer, out.byteOffset, out.byteLength).slice();
}

/** An upper bound of zstd's output for `n` input bytes (ZSTD_COMPRESSBOUND, rounded up). */
function compressBound(n: number): number {
  return Math.max(64, n + (n >> 8) + 128);
}

/**
 * Truncated or corrupt zstd data. `offset` is a byte offset into the compressed input: where it
 * ends early, or the start of the frame part (header, block, checksum) that does not decode.
 * `decompressedOffset`, when known, is how many bytes decompressed fine before that part.
 */
export class ZstdDecodeError extends RangeError {
  /** Always "ZstdDecodeError". */
  override readonly name = "ZstdDecodeError";
  /** The message is built from the parts. */
  constructor(
    /** The problem, without the position. */
    readonly reason: string,
    /** Offset in the compressed input. */
    readonly offset: number,
    /** Bytes that decompressed fine before `offset`. */
    readonly decompressedOffset?: number,
    options?: ErrorOptions,
  ) {
    super(
      `zstd stream is truncated or corrupt at compressed byte ${offset}` +
        (decompressedOffset === undefined
          ? ""
          : ` (after ${decompressedOffset} decompressed bytes)`) +
        `: ${reason}`,
      options,
    );
  }
}

/** Where one block of a frame lies in the compressed input. */
interface Block {
  start: number;
  end: number;
}

/** The layout of one frame, as far as it can be known without decompressing. */
interface Frame {
  start: number;
  blocks: Block[];
  /** Offset of the 4-byte content checksum, if the frame has one. */
  checksumAt?: number;
  end: number;
  skippable: boolean;
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: 0x184D2A50..0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size is min(window size, 128 KiB); blocks can never be larger than this. */
const MAX_BLOCK = 128 * 1024;

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>>
    0;
}

/** Where scanning stopped early, and the frame it stopped in (with its whole blocks so far). */
interface Damage {
  reason: string;
  offset: number;
  frame?: Frame;
}

/**
 * Walks the frames of `bytes` (RFC 8878) and checks every length field against the data, without
 * decompressing. Stops at the first place where the input ends early or a field is impossible.
 */
function scanFrames(bytes: Uint8Array): { frames: Frame[]; damage?: Damage } {
  const end = bytes.length;
  const frames: Frame[] = [];
  if (end === 0) {
    return { frames, damage: { reason: "the data is empty (no zstd frame)", offset: 0 } };
  }
  let pos = 0;
  while (pos < end) {
    const start = pos;
    const damaged = (reason: string, offset: number, frame?: Frame) => ({
      frames,
      damage: frame ? { reason, offset, frame } : { reason, offset },
    });
    if (end - pos < 4) return damaged("the data ends inside a frame's magic number", pos);
    const magic = u32(bytes, pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (end - pos < 8) return damaged("the data ends inside a skippable frame header", pos);
      const size = u32(bytes, pos + 4);
      if (size > end - pos - 8) {
        return damaged(`skippable frame says ${size} bytes, ${end - pos - 8} remain`, pos);
      }
      pos += 8 + size;
      frames.push({ start, blocks: [], end: pos, skippable: true });
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      const hex = Array.from(bytes.subarray(pos, pos + 4), (b) => b.toString(16).padStart(2, "0"));
      return damaged(`not a zstd frame (magic bytes ${hex.join(" ")}, expected 28 b5 2f fd)`, pos);
    }
    pos += 4;
    if (pos >= end) return damaged("the data ends after a frame's magic number", pos);
    const descriptor = bytes[pos]!;
    if (descriptor & 0x08) return damaged("frame header descriptor has its reserved bit set", pos);
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const hasChecksum = (descriptor >> 2) & 1;
    const dictFlag = descriptor & 3;
    const headerSize = 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]! +
      [singleSegment, 2, 4, 8][contentSizeFlag]!;
    if (headerSize > end - pos) {
      return damaged(
        `the data ends inside a frame header (${headerSize} bytes, ${end - pos} remain)`,
        pos,
      );
    }
    pos += headerSize;
    const frame: Frame = { start, blocks: [], end: pos, skippable: false };
    for (;;) {
      if (end - pos < 3) {
        return damaged(
          end === pos
            ? "the data ends before the frame's last block"
            : `the data ends inside a block header (${end - pos} of 3 bytes)`,
          pos,
          frame,
        );
      }
      const header = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) return damaged("block header has the reserved block type", pos, frame);
      if (size > MAX_BLOCK) {
        return damaged(`block header says ${size} bytes, more than the 128 KiB limit`, pos, frame);
      }
      // RLE blocks store one byte; `size` is how often it repeats.
      const stored = type === 1 ? 1 : size;
      if (stored > end - pos - 3) {
        return damaged(`block says ${stored} bytes, ${end - pos - 3} remain`, pos, frame);
      }
      frame.blocks.push({ start: pos, end: pos + 3 + stored });
      pos += 3 + stored;
      if (last) break;
    }
    if (hasChecksum) {
      if (end - pos < 4) {
        return damaged(
          `the data ends inside the frame's content checksum (${end - pos} of 4 bytes)`,
          pos,
          frame,
        );
      }
      frame.checksumAt = pos;
      pos += 4;
    }
    frame.end = pos;
    frames.push(frame);
  }
  return { frames };
}

/**
 * The decompressed size a zstd frame declares in its header (Frame_Content_Size), or undefined
 * when `bytes` does not start with a zstd frame header that carries one. Only the first frame
 * is read: data of several frames decompresses to more.
 */
export function zstdFrameContentSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < 6 || u32(bytes, 0) !== ZSTD_MAGIC) return undefined;
  const descriptor = bytes[4]!;
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if (contentSizeFlag === 0 && singleSegment === 0) return undefined;
  const size = [1, 2, 4, 8][contentSizeFlag]!;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  if (at + size > bytes.length) return undefined;
  if (size === 1) return bytes[at]!;
  if (size === 2) return (bytes[at]! | (bytes[at + 1]! << 8)) + 256;
  const low = u32(bytes, at);
  if (size === 4) return low;
  const high = u32(bytes, at + 4);
  // Larger than any buffer here; the caller falls back to growing the output.
  return high < 0x200000 ? high * 2 ** 32 + low : undefined;
}

function zlibReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^Zstd decompress error: /, "");
}

/** Decompresses, returning the error instead of throwing it. */
function tryDecompress(bytes: Uint8Array): Uint8Array | { error: unknown } {
  try {
    return decompressFrameSync(bytes);
  } catch (error) {
    return { error };
  }
}

/** Largest declared size decompressed into one buffer; larger frames grow it in pieces. */
const MAX_ONE_BUFFER = 256 * 1024 * 1024;

/**
 * zstdDecompressSync of one frame, into ONE buffer of the size the frame declares (+1: with
 * exactly its size zlib allocates another piece to see the frame's end). By default node:zlib
 * produces 16 KiB pieces and concatenates them, which costs a third more CPU than the
 * decompression itself for frames of a few MB. Frames without a declared size (or with more
 * frames behind them) decompress the default way, or grow from there.
 */
export function decompressFrameSync(bytes: Uint8Array): Buffer {
  const size = zstdFrameContentSize(bytes);
  return size === undefined || size >= MAX_ONE_BUFFER
    ? zstdDecompressSync(bytes)
    : zstdDecompressSync(bytes, { chunkSize: Math.max(size + 1, 64) });
}

/**
 * Finds where a structurally sound frame fails to decompress: a binary search over its block
 * boundaries for the first block whose inclusion makes decompression fail (a frame cut after a
 * whole block decompresses without complaint up to there, see the module comment). If every
 * block decodes, the content checksum (or the declared content size) is what does not match.
 * `produced` is the decompressed size of the frames before this one.
 */
function locateFailure(
  bytes: Uint8Array,
  frame: Frame,
  produced: number,
  error: unknown,
): ZstdDecodeError {
  const reason = zlibReason(error);
  const upTo = (k: number) => bytes.subarray(frame.start, frame.blocks[k]!.end);
  let lo = 0;
  let hi = frame.blocks.length; // the first failing block is in [lo, hi); hi: none fails
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tryDecompress(upTo(mid)) instanceof Uint8Array) lo = mid + 1;
    else hi = mid;
  }
  const before = lo === 0 ? new Uint8Array(0) : tryDecompress(upTo(lo - 1));
  const decompressed = produced + (before instanceof Uint8Array ? before.length : 0);
  if (lo < frame.blocks.length) {
    return new ZstdDecodeError(
      `block does not decode: ${reason}`,
      frame.blocks[lo]!.start,
      decompressed,
      { cause: error },
    );
  }
  return new ZstdDecodeError(
    `${reason} (found only at the end of the frame, so the damage may lie anywhere in it)`,
    frame.checksumAt ?? frame.blocks.at(-1)?.start ?? frame.start,
    decompressed,
    { cause: error },
  );
}

/**
 * Decompresses zstd data: one or more frames, skippable frames ignored. Throws
 * {@link ZstdDecodeError} naming a compressed byte offset (and how many bytes decompressed
 * before it) for truncated, corrupt or non-zstd input; never returns partial data.
 */
export function decompressZstd(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { frames, damage } = scanFrames(bytes);
  const parts: Uint8Array[] = [];
  let produced = 0;
  const decode = (frame: Frame, end: number) => {
    const out = tryDecompress(bytes.subarray(frame.start, end));
    if (!(out instanceof Uint8Array)) throw locateFailure(bytes, frame, produced, out.error);
    if (out.length > 0) parts.push(out);
    produced += out.length;
  };
  for (const frame of frames) {
    if (!frame.skippable) decode(frame, frame.end);
  }
  if (damage) {
    // Decode the whole blocks before the damage: a failure there is the earlier problem, and
    // otherwise their size says how far the data was good.
    const lastBlock = damage.frame?.blocks.at(-1);
    if (damage.frame && lastBlock) decode(damage.frame, lastBlock.end);
    throw new ZstdDecodeError(damage.reason, damage.offset, produced);
  }
  if (parts.length === 1) {
    const only = parts[0]!;
    return new Uint8Array(only.buffer as ArrayBuffer, only.byteOffset, only.byteLength);
  }
  const out = new Uint8Array(produced);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
