/**
 * Large messages: a value larger than the split threshold is sent as parts, all to the same
 * partition and in order, each carrying headers that name its index, the part count and the
 * message id. The consumer reassembles them (see partition_state.ts) and delivers one record.
 *
 * The message id is `<producer id>:<sequence>`: a consumer that sees a producer start a new
 * message while an earlier one of the same producer is unfinished knows the earlier one will
 * never complete (its producer failed half-way) and discards it.
 *
 * User headers travel on the first part only; the key on every part.
 *
 * @module
 */

/** Header: index of this part, 0-based. */
export const PART_INDEX = "evochora.part.index";
/** Header: number of parts of the message. */
export const PART_COUNT = "evochora.part.count";
/** Header: the message id, `<producer id>:<sequence>`. */
export const PART_MSG = "evochora.part.msg";
/** Header names starting with this are reserved for the part headers. */
export const RESERVED_PREFIX = "evochora.part.";

/** The parsed part headers of a record. */
export interface PartInfo {
  index: number;
  count: number;
  /** Message id. */
  msg: string;
  /** The producer part of the message id. */
  producer: string;
}

/** Splits `value` into views of at most `maxPart` bytes (one view when it fits). */
export function splitValue(value: Uint8Array, maxPart: number): Uint8Array[] {
  if (!Number.isInteger(maxPart) || maxPart < 1) {
    throw new RangeError(`part size must be an integer >= 1, got ${maxPart}`);
  }
  if (value.byteLength <= maxPart) return [value];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < value.byteLength; i += maxPart) {
    parts.push(value.subarray(i, Math.min(i + maxPart, value.byteLength)));
  }
  return parts;
}

/** Headers of part `index` of `count` of message `msg` (user headers on part 0 only). */
export function partHeaders(
  index: number,
  count: number,
  msg: string,
  userHeaders: Readonly<Record<string, string>>,
): Record<string, string> {
  const h: Record<string, string> = index === 0 ? { ...userHeaders } : {};
  h[PART_INDEX] = String(index);
  h[PART_COUNT] = String(count);
  h[PART_MSG] = msg;
  return h;
}

/**
 * Reads the part headers: undefined for an ordinary record, "invalid" when some part header
 * is present but malformed (the record is then delivered as it is).
 */
export function parsePart(
  headers: Readonly<Record<string, string>>,
): PartInfo | undefined | "invalid" {
  const i = headers[PART_INDEX];
  const c = headers[PART_COUNT];
  const m = headers[PART_MSG];
  if (i === undefined && c === undefined && m === undefined) return undefined;
  if (i === undefined || c === undefined || m === undefined) return "invalid";
  if (!/^\d+$/.test(i) || !/^\d+$/.test(c)) return "invalid";
  const index = Number(i);
  const count = Number(c);
  if (count < 1 || index >= count) return "invalid";
  const colon = m.lastIndexOf(":");
  return { index, count, msg: m, producer: colon < 0 ? m : m.slice(0, colon) };
}

/** The headers without the reserved part headers. */
export function userHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith(RESERVED_PREFIX)) out[k] = v;
  return out;
}
