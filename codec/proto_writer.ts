/**
 * A minimal protobuf wire writer for the hot path: writes straight into one growable buffer,
 * with length prefixes patched in place. Produces the same bytes as protobuf-es for the same
 * field values (fields written in field-number order, defaults omitted by the callers).
 *
 * @module
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Growable byte buffer with protobuf primitives. */
export class ProtoWriter {
  /** The buffer; replaced when it grows, so read it after writing. Bytes `[0, pos)` are written. */
  buf: Uint8Array;
  /** Bytes written so far. */
  pos = 0;

  /** A writer whose first buffer holds `capacity` bytes. */
  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Forgets the content, keeps the memory. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of the written bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Unsigned varint of a non-negative safe integer. */
  uvarint(v: number): void {
    // varint.ts's writeVarint, inlined (here and in end()): calling the shared functions from
    // the hottest methods cost 5-15% of column and organism encoding (measured; V8 then inlines
    // less of the packed loops). proto_writer_test pins these bytes to protobuf-es's.
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = v > 0xffffffff ? Math.floor(v / 128) : v >>> 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** int32/int64 varint: negative numbers take 10 bytes (two's complement, 64 bits). */
  int(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    // Low 32 bits, then sign-extended high bits.
    let lo = v >>> 0;
    let hi = Math.floor(v / 4294967296) >>> 0;
    for (let i = 0; i < 9; i++) {
      buf[p++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
    }
    buf[p++] = lo & 0x01;
    this.pos = p;
  }

  /** uint64 from a bigint. */
  uint64(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    this.ensure(10);
    while (x > 0x7fn) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /** A field tag: field number and wire type (0 varint, 2 length-delimited). */
  tag(field: number, wire: number): void {
    this.uvarint((field << 3) | wire);
  }

  /** A varint field, omitted when 0 (proto3 default). */
  intField(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.int(v);
  }

  /** A bool field, omitted when false. */
  boolField(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.uvarint(1);
  }

  /** A uint64 field from a bigint, omitted when 0. */
  uint64Field(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, WIRE_VARINT);
    this.uint64(v);
  }

  /** A string field, omitted when empty. */
  stringField(field: number, s: string): void {
    if (s.length === 0) return;
    this.tag(field, WIRE_LEN);
    const start = this.begin();
    this.ensure(s.length * 3);
    const { written } = ENCODER.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += written;
    this.end(start);
  }

  /** Packed repeated sint32 (zigzag) values, omitted when empty. */
  packedSigned(field: number, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    this.tag(field, WIRE_LEN);
    const start = this.begin();
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
    }
    this.end(start);
  }

  /**
   * Packed repeated sint64 (zigzag) of the first `n` values, exact below 2^52 in magnitude;
   * omitted when empty.
   */
  packedSint64(field: number, values: ArrayLike<number>, n = values.length): void {
    if (n === 0) return;
    this.tag(field, WIRE_LEN);
    const start = this.begin();
    // Room for the longest varints up front, then one loop over locals (as in packed()).
    this.ensure(n * 10);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v >= -0x8000000 && v < 0x8000000) {
        // Zigzag in 28 bits while it fits: the usual small differences.
        p = put28(buf, p, ((v << 1) ^ (v >> 31)) >>> 0);
      } else {
        this.pos = p; // arithmetic zigzag beyond (no growth, room is there)
        this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
        p = this.pos;
      }
    }
    this.pos = p;
    this.end(start);
  }

  /** Packed repeated int32/int64 values `values[from..to)`, omitted when empty. */
  packed(field: number, values: ArrayLike<number>, from = 0, to = values.length): void {
    if (to <= from) return;
    this.tag(field, WIRE_LEN);
    const start = this.begin();
    // Room for the longest varints up front, then one loop over locals: the cell columns of a
    // snapshot are tens of thousands of values, mostly 1-4 bytes each.
    this.ensure((to - from) * 10);
    const buf = this.buf;
    let p = this.pos;
    for (let i = from; i < to; i++) {
      const v = values[i]!;
      if (v >= 0 && v < 0x10000000) p = put28(buf, p, v);
      else {
        this.pos = p; // negative or beyond 28 bits: the general path (no growth, room is there)
        this.int(v);
        p = this.pos;
      }
    }
    this.pos = p;
    this.end(start);
  }

  /** Opens a length-delimited field body (tag already written); pass the result to end(). */
  begin(): number {
    this.ensure(1);
    this.pos++; // one byte reserved for the length; widened in end() if needed
    return this.pos;
  }

  /**
   * Closes a length-delimited body opened by begin(), writing its length prefix (a copy of
   * varint.ts's loops, like uvarint's).
   */
  end(start: number): void {
    const len = this.pos - start;
    let size = 1;
    for (let v = len; v > 0x7f; v = Math.floor(v / 128)) size++;
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(start + size - 1, start, this.pos);
      this.pos += size - 1;
    }
    let p = start - 1;
    let v = len;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
  }

  /** Appends raw bytes. */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

const ENCODER = new TextEncoder();

/** Wire type of length-delimited fields, for callers writing nested messages. */
export const LEN = WIRE_LEN;

/**
 * Writes `v` (0 <= v < 2^28) as a varint of one to four bytes at `p`; returns the end. Unrolled
 * by size: 1.7x the speed of a loop over seven-bit groups on a snapshot's cell columns.
 */
function put28(buf: Uint8Array, p: number, v: number): number {
  if (v < 0x80) {
    buf[p] = v;
    return p + 1;
  }
  buf[p] = (v & 0x7f) | 0x80;
  if (v < 0x4000) {
    buf[p + 1] = v >>> 7;
    return p + 2;
  }
  buf[p + 1] = ((v >>> 7) & 0x7f) | 0x80;
  if (v < 0x200000) {
    buf[p + 2] = v >>> 14;
    return p + 3;
  }
  buf[p + 2] = ((v >>> 14) & 0x7f) | 0x80;
  buf[p + 3] = v >>> 21;
  return p + 4;
}
