/**
 * The protobuf wire reader of the hand-written decoders (./chunk_decoder.ts, ./lean_chunk.ts):
 * varints, lengths, tags checked against a field layout, packed repeated fields, and the
 * pieces both decoders read the same way (the tick summary).
 *
 * @module
 */

import type { TickSummary } from "../proto/mod.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const TWO_32 = 4294967296;

/** Bytes that are not a well-formed message; names the byte offset. */
export class ChunkDecodeError extends RangeError {
  override readonly name = "ChunkDecodeError";
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
  }
}

/** A cursor over one encoded message. */
/** Scratch of {@link Reader.int32Array}: decoded values before they are copied out. */
let scratch = new Int32Array(4096);

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint's low 32 bits as a signed int32 (int32/enum semantics), consuming all of it. */
  int32(): number {
    const buf = this.buf;
    let p = this.pos;
    let b = buf[p++]!;
    let v = b & 0x7f;
    if (b < 0x80) {
      this.pos = p;
      return v;
    }
    b = buf[p++]!;
    v |= (b & 0x7f) << 7;
    if (b < 0x80) {
      this.pos = p;
      return v;
    }
    b = buf[p++]!;
    v |= (b & 0x7f) << 14;
    if (b < 0x80) {
      this.pos = p;
      return v;
    }
    b = buf[p++]!;
    v |= (b & 0x7f) << 21;
    if (b < 0x80) {
      this.pos = p;
      return v;
    }
    b = buf[p++]!;
    v |= (b & 0x0f) << 28;
    // Up to five more bytes carry the upper 32 bits of a 64-bit varint: ignored.
    for (let i = 0; b >= 0x80 && i < 5; i++) b = buf[p++]!;
    if (b === undefined || b >= 0x80) {
      throw new ChunkDecodeError(
        b === undefined ? "truncated varint" : "varint too long",
        this.pos,
      );
    }
    if (p > buf.length) throw new ChunkDecodeError("truncated varint", this.pos);
    this.pos = p;
    return v | 0;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  sint32(): number {
    const n = this.int32();
    return (n >>> 1) ^ -(n & 1);
  }

  bool(): boolean {
    return this.int32() !== 0;
  }

  /** A varint as the two 32-bit halves of a 64-bit integer. */
  #varint64(): [lo: number, hi: number] {
    const buf = this.buf;
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let p = start;
    for (let i = 0; i < 10; i++) {
      if (p >= buf.length) throw new ChunkDecodeError("truncated varint", start);
      const b = buf[p++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if (b < 0x80) {
        this.pos = p;
        return [lo >>> 0, hi >>> 0];
      }
    }
    throw new ChunkDecodeError("varint too long", start);
  }

  /** An int64 varint as a number (exact up to 2^53; ticks and the like). */
  int64Number(): number {
    // One to three bytes (ticks, ids) inline, without the pair #varint64 allocates.
    const buf = this.buf;
    const p = this.pos;
    if (p + 3 <= buf.length) {
      const b0 = buf[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
      const b1 = buf[p + 1]!;
      if (b1 < 0x80) {
        this.pos = p + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
      const b2 = buf[p + 2]!;
      if (b2 < 0x80) {
        this.pos = p + 3;
        return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
      }
    }
    const [lo, hi] = this.#varint64();
    if (hi < 0x200000) return hi * TWO_32 + lo;
    return Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
  }

  int64(): bigint {
    const [lo, hi] = this.#varint64();
    if (hi < 0x200000) return BigInt(hi * TWO_32 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  uint64(): bigint {
    const [lo, hi] = this.#varint64();
    if (hi < 0x200000) return BigInt(hi * TWO_32 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Reads a length prefix and returns the end offset of the field's bytes. */
  len(): number {
    const start = this.pos;
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.buf.length) {
      throw new ChunkDecodeError(`length ${n} runs past the end (${this.buf.length})`, start);
    }
    return end;
  }

  string(): string {
    const end = this.len();
    const start = this.pos;
    this.pos = end;
    try {
      return UTF8.decode(this.buf.subarray(start, end));
    } catch {
      throw new ChunkDecodeError("string is not UTF-8", start);
    }
  }

  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case 0:
        this.#varint64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.len();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ChunkDecodeError(`unsupported wire type ${wire}`, at);
    }
    if (this.pos > this.buf.length) throw new ChunkDecodeError("truncated field", at);
  }

  /** Repeated int32-like field: packed (wire 2) or one element (wire 0). */
  repeated(wire: number, out: number[], read: (r: Reader) => number): void {
    if (wire === 0) {
      out.push(read(this));
      return;
    }
    if (wire !== 2) throw new ChunkDecodeError(`wire type ${wire} for a repeated scalar`, this.pos);
    const end = this.len();
    while (this.pos < end) out.push(read(this));
    if (this.pos !== end) throw new ChunkDecodeError("packed field overruns its length", end);
  }

  /**
   * Repeated int32 field into a typed array sized exactly (decoded in one pass into a scratch
   * buffer, then copied): no growing arrays, no garbage beyond the result. A field that comes in
   * more than one piece (unpacked elements, or packed runs split) is appended to `prev`.
   */
  int32Array(wire: number, prev: Int32Array | undefined): Int32Array {
    let next: Int32Array;
    if (wire === 2) {
      const end = this.len();
      const buf = this.buf;
      // At most one value per byte.
      if (scratch.length < end - this.pos) scratch = new Int32Array((end - this.pos) * 2);
      const out = scratch;
      let n = 0;
      let p = this.pos;
      while (p < end) {
        // Varints of up to four bytes inline (positions, molecules and owners all are); longer
        // ones (negative values) through int32().
        let b = buf[p++]!;
        let v = b & 0x7f;
        if (b >= 0x80) {
          b = buf[p++]!;
          v |= (b & 0x7f) << 7;
          if (b >= 0x80) {
            b = buf[p++]!;
            v |= (b & 0x7f) << 14;
            if (b >= 0x80) {
              b = buf[p++]!;
              v |= (b & 0x7f) << 21;
              if (b >= 0x80) {
                this.pos = p - 4;
                v = this.int32();
                p = this.pos;
              }
            }
          }
        }
        out[n++] = v;
      }
      this.pos = p;
      if (p !== end) throw new ChunkDecodeError("packed field overruns its length", end);
      next = out.slice(0, n);
    } else {
      const one: number[] = [];
      this.repeated(wire, one, int32);
      next = Int32Array.from(one);
    }
    if (prev === undefined || prev.length === 0) return next;
    const joined = new Int32Array(prev.length + next.length);
    joined.set(prev);
    joined.set(next, prev.length);
    return joined;
  }

  /** Repeated int32 field, packed or not: the hot path (cell columns), decoded inline. */
  repeatedInt32(wire: number, out: number[]): void {
    if (wire !== 2) {
      this.repeated(wire, out, int32);
      return;
    }
    const end = this.len();
    const buf = this.buf;
    let p = this.pos;
    while (p < end) {
      let b = buf[p++]!;
      if (b < 0x80) {
        out.push(b);
        continue;
      }
      let v = b & 0x7f;
      b = buf[p++]!;
      v |= (b & 0x7f) << 7;
      if (b < 0x80) {
        out.push(v);
        continue;
      }
      b = buf[p++]!;
      v |= (b & 0x7f) << 14;
      if (b < 0x80) {
        out.push(v);
        continue;
      }
      b = buf[p++]!;
      v |= (b & 0x7f) << 21;
      if (b < 0x80) {
        out.push(v);
        continue;
      }
      // Five bytes or more (negative values): the general reader, from this varint's start.
      this.pos = p - 4;
      out.push(this.int32());
      p = this.pos;
    }
    this.pos = p;
    if (p !== end) throw new ChunkDecodeError("packed field overruns its length", end);
  }

  /**
   * The next tag (field << 3 | wire). Checks the field number, and the wire type of known
   * fields against `layout`: one letter per field number, `v` varint, `l` length-delimited,
   * `r` repeated scalar (packed or not), anything else unknown.
   */
  tag(layout: string): number {
    const at = this.pos;
    const t = this.uint32();
    const f = t >>> 3;
    if (f === 0) throw new ChunkDecodeError("field number 0", at);
    const w = t & 7;
    const c = layout[f];
    if (c === "v" ? w !== 0 : c === "l" ? w !== 2 : c === "r" ? w !== 0 && w !== 2 : false) {
      throw new ChunkDecodeError(`field ${f} has wire type ${w}`, at);
    }
    return t;
  }
}

/** Wire layout of TickSummary (see Reader.tag). */
const SUMMARY = " vvvvvvvvrv";

/** Reads an int32 varint (for {@link Reader.repeated}). */
export const int32 = (r: Reader): number => r.int32();
/** Reads a zigzag sint32 varint (for {@link Reader.repeated}). */
export const sint32 = (r: Reader): number => r.sint32();

/** Throws unless the reader stopped exactly at `end`. */
export function checkEnd(r: Reader, end: number): void {
  if (r.pos !== end) throw new ChunkDecodeError("field overruns its message", end);
}

/** Reads a message field's length (wire type 2 or an error); returns its end. */
export function expectLen(r: Reader, w: number): number {
  if (w !== 2) throw new ChunkDecodeError(`wire type ${w} for a message field`, r.pos);
  return r.len();
}

/** TickData and TickDelta share their layout except for field 2 (delta type). */
/** Decodes a TickSummary ending at `end`. */
export function tickSummary(r: Reader, end: number): TickSummary {
  const m: TickSummary = {
    $typeName: "evochora.v1.TickSummary",
    organismsAlive: 0,
    organismsCreated: 0n,
    births: 0,
    deaths: 0,
    totalEnergy: 0n,
    totalEntropy: 0n,
    maxGeneration: 0,
    distinctGenomes: 0,
    moleculeCounts: [],
    instructionsExecuted: 0n,
  };
  while (r.pos < end) {
    const t = r.tag(SUMMARY);
    const w = t & 7;
    switch (t >>> 3) {
      case 1:
        m.organismsAlive = r.int32();
        break;
      case 2:
        m.organismsCreated = r.int64();
        break;
      case 3:
        m.births = r.int32();
        break;
      case 4:
        m.deaths = r.int32();
        break;
      case 5:
        m.totalEnergy = r.int64();
        break;
      case 6:
        m.totalEntropy = r.int64();
        break;
      case 7:
        m.maxGeneration = r.int32();
        break;
      case 8:
        m.distinctGenomes = r.int32();
        break;
      case 9:
        r.repeated(w, m.moleculeCounts, int32);
        break;
      case 10:
        m.instructionsExecuted = r.int64();
        break;
      default:
        r.skip(w);
    }
  }
  checkEnd(r, end);
  return m;
}
