/**
 * Unsigned varints (protobuf's base-128 integers) and the size-delimited framing built on them:
 * each record a varint byte length, then that many bytes (sizeDelimitedEncode of
 * @bufbuild/protobuf/wire, Java's writeDelimitedTo, Go's protodelim). The one implementation
 * behind the chunk header reader, the indexers' batch sizes, `encodeDelimited` /
 * `splitDelimitedRecords` (re-exported by proto/mod.ts) and the message streams of
 * resources/storage/.
 *
 * Values are non-negative safe integers: exact up to 2^53, which covers every length and
 * counter here. Two hot paths keep their own loops, each tested against protobuf-es's bytes:
 * `ProtoWriter.uvarint` and `ProtoWriter.end` (calling these functions there cost 5-15% of
 * chunk encoding, measured), and the chunk decoder's typed readers, which have protobuf field
 * semantics (int32 truncation, 64-bit halves for bigints) rather than framing.
 *
 * @module
 */

/** Largest message protobuf allows (2 GiB - 1); the default limit for decoding. */
export const MAX_MESSAGE_BYTES = 0x7fff_ffff;

/** Longest varint protobuf allows: 64 bits in 7-bit groups. */
export const MAX_VARINT_BYTES = 10;

/** Bytes that are not a varint, and the byte offset where that varint starts. */
export class VarintDecodeError extends RangeError {
  override readonly name = "VarintDecodeError";
  constructor(
    /** `truncated`: the bytes end inside it; `too-long`: more than 10 bytes. */
    readonly reason: "truncated" | "too-long",
    /** Offset of the varint's first byte. */
    readonly offset: number,
    /** Bytes from `offset` to the end of the input. */
    readonly remaining: number,
  ) {
    super(
      reason === "truncated"
        ? `truncated varint at byte ${offset}`
        : `varint longer than ${MAX_VARINT_BYTES} bytes at byte ${offset}`,
    );
  }
}

/** The number of bytes the varint of `n` (a non-negative safe integer) takes. */
export function varintSize(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Writes the varint of `n` (a non-negative safe integer) into `out` at `at` and returns the
 * offset after it. `out` must have room for {@link varintSize}(n) bytes (10 always suffice).
 */
export function writeVarint(n: number, out: Uint8Array, at: number): number {
  while (n > 0x7f) {
    out[at++] = (n & 0x7f) | 0x80;
    // `>>> 7` is the fast path; above 32 bits it would drop the high bits.
    n = n > 0xffffffff ? Math.floor(n / 128) : n >>> 7;
  }
  out[at++] = n;
  return at;
}

/** A varint read by {@link readVarint}: its value and the offset after it. */
export interface VarintRead {
  value: number;
  end: number;
}

/**
 * Reads the varint at `offset` of `bytes`. Exact while below 2^53 (longer values lose low
 * bits, like any JavaScript number). Throws {@link VarintDecodeError} naming `offset` when the
 * bytes end inside the varint or it runs past 10 bytes.
 */
export function readVarint(bytes: Uint8Array, offset: number): VarintRead {
  const end = bytes.length;
  let value = 0;
  let scale = 1;
  let pos = offset;
  for (;;) {
    if (pos >= end) throw new VarintDecodeError("truncated", offset, end - offset);
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, end: pos };
    if (pos - offset >= MAX_VARINT_BYTES) {
      throw new VarintDecodeError("too-long", offset, end - offset);
    }
    scale *= 128;
  }
}

/**
 * Frames `messages`: each one's varint length, then its bytes, in one buffer of exactly the
 * framed size.
 */
export function frameDelimited(messages: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(framedSize(messages));
  frameInto(messages, out);
  return out;
}

/** The size of `messages` framed by {@link frameDelimited}. */
export function framedSize(messages: readonly Uint8Array[]): number {
  let size = 0;
  for (const m of messages) size += varintSize(m.length) + m.length;
  return size;
}

/**
 * Frames `messages` as {@link frameDelimited} does into the start of `out`, which holds at
 * least {@link framedSize} bytes (a buffer reused from batch to batch: a fresh one of a
 * batch's size was a tenth of compressing it). Returns the framed bytes, a view of `out`.
 */
export function frameInto<B extends ArrayBufferLike>(
  messages: readonly Uint8Array[],
  out: Uint8Array<B>,
): Uint8Array<B> {
  let at = 0;
  for (const m of messages) {
    if (at + varintSize(m.length) + m.length > out.length) {
      throw new RangeError(`Cannot frame ${messages.length} messages into ${out.length} bytes`);
    }
    at = writeVarint(m.length, out, at);
    out.set(m, at);
    at += m.length;
  }
  return out.subarray(0, at);
}

/**
 * Thrown by {@link splitDelimitedRecords} (and proto/mod.ts's `decodeDelimitedStream`) for
 * truncated or corrupt input. `offset` is the byte offset, in the input array, of the length
 * prefix of the record that could not be decoded.
 */
export class DelimitedDecodeError extends RangeError {
  override readonly name = "DelimitedDecodeError";
  constructor(message: string, readonly offset: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** One record of a size-delimited stream: its bytes and the offset of its length prefix. */
export interface DelimitedRecord {
  bytes: Uint8Array;
  offset: number;
}

/** Words a framing error from what is wrong (`head`), why (`detail`) and where. */
export type DelimitedErrorFormat = (head: string, detail: string, offset: number) => string;

const defaultFormat: DelimitedErrorFormat = (head, detail, offset) =>
  `${head} at byte ${offset}: ${detail}`;

/** The length prefix at `offset`, its bad varint reported as a {@link DelimitedDecodeError}. */
function readLengthPrefix(
  bytes: Uint8Array,
  offset: number,
  format: DelimitedErrorFormat,
): VarintRead {
  try {
    return readVarint(bytes, offset);
  } catch (e) {
    if (!(e instanceof VarintDecodeError)) throw e;
    const [head, detail] = e.reason === "truncated"
      ? [
        "truncated length prefix",
        `the data ends inside the varint (${e.remaining} byte(s) remain)`,
      ]
      : ["corrupt length prefix", `varint longer than ${MAX_VARINT_BYTES} bytes`];
    throw new DelimitedDecodeError(format(head, detail, offset), offset);
  }
}

/**
 * Walks a concatenation of size-delimited records without parsing them: yields each record's
 * bytes (a view into `bytes`) and the offset of its length prefix. Throws
 * {@link DelimitedDecodeError} for a truncated or corrupt prefix, a prefix above
 * `maxMessageBytes`, or a record running past the end; `format` words the message.
 */
export function* splitDelimitedRecords(
  bytes: Uint8Array,
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
  format: DelimitedErrorFormat = defaultFormat,
): Generator<DelimitedRecord, void, undefined> {
  let offset = 0;
  while (offset < bytes.length) {
    const { value: size, end: pos } = readLengthPrefix(bytes, offset, format);
    const remain = bytes.length - pos;
    if (size > maxMessageBytes) {
      throw new DelimitedDecodeError(
        format(
          "corrupt length prefix",
          `says ${size} bytes, more than the limit of ${maxMessageBytes} (${remain} remain)`,
          offset,
        ),
        offset,
      );
    }
    if (size > remain) {
      throw new DelimitedDecodeError(
        format("truncated message", `length prefix says ${size} bytes, ${remain} remain`, offset),
        offset,
      );
    }
    yield { bytes: bytes.subarray(pos, pos + size), offset };
    offset = pos + size;
  }
}
