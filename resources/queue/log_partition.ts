/**
 * One partition of the in-process PartitionedLog: its kept records from a base offset on, with
 * the byte counts retention and backpressure need; and the preparation (copy, validation,
 * sizing) of a record before it is appended.
 *
 * @module
 */

import type { QueueRecord } from "./queue.ts";

/** A record as kept in a partition. */
export interface Entry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes counted for retention: see recordSize. */
  readonly size: number;
  /** Sum of `size` over this partition up to and including this record (ever appended). */
  readonly cumulative: number;
}

/** A record prepared for appending: copied, validated, sized. */
export interface PreparedRecord {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly size: number;
}

/**
 * Copies and validates a record. The value is copied because producers commonly reuse encode
 * buffers, and a broker would have serialized it by the time put() resolves anyway.
 * The size counted for backpressure is the value's bytes plus the key's and headers' UTF-16
 * lengths: an approximation that keeps records with empty values from being free.
 */
export function prepareRecord(record: QueueRecord, copy = true): PreparedRecord {
  if (typeof record.key !== "string") throw new TypeError("record key must be a string");
  if (!(record.value instanceof Uint8Array)) {
    throw new TypeError("record value must be a Uint8Array");
  }
  const headers: Record<string, string> = {};
  let size = record.value.byteLength + record.key.length;
  for (const [k, v] of Object.entries(record.headers ?? {})) {
    if (typeof v !== "string") throw new TypeError(`header ${k} must be a string`);
    headers[k] = v;
    size += k.length + v.length;
  }
  return {
    key: record.key,
    value: copy ? record.value.slice() : record.value,
    headers: Object.freeze(headers),
    size,
  };
}

/** One partition: kept records from offset `base` on. */
export class Partition {
  /** Kept records; the first `head` slots are already trimmed (compacted lazily). */
  #items: (Entry | undefined)[] = [];
  #head = 0;
  /** Offset of the first kept record. */
  base = 0;
  /** Sum of sizes of all records ever appended. */
  totalBytes = 0;
  /** Sum of sizes of trimmed records. */
  trimmedBytes = 0;

  /** Offset the next appended record gets. */
  get end(): number {
    return this.base + this.#items.length - this.#head;
  }

  get count(): number {
    return this.#items.length - this.#head;
  }

  append(r: PreparedRecord): void {
    this.totalBytes += r.size;
    this.#items.push({ ...r, cumulative: this.totalBytes });
  }

  /** The record at `offset`, which must be in [base, end). */
  at(offset: number): Entry {
    const e = this.#items[this.#head + offset - this.base];
    if (e === undefined) throw new RangeError(`offset ${offset} not kept`);
    return e;
  }

  /** Bytes of the kept records at offsets >= `offset`. */
  bytesFrom(offset: number): number {
    if (offset <= this.base) return this.totalBytes - this.trimmedBytes;
    if (offset >= this.end) return 0;
    return this.totalBytes - this.at(offset - 1).cumulative;
  }

  /** Drops the records below `offset`; returns how many were dropped. */
  trimTo(offset: number): number {
    const n = Math.min(offset, this.end) - this.base;
    if (n <= 0) return 0;
    this.trimmedBytes = this.at(this.base + n - 1).cumulative;
    // Clear the slots so the values can be collected now; shift the array only now and then
    // (when the dead prefix is the larger half) to keep trimming amortized O(1) per record.
    for (let i = this.#head; i < this.#head + n; i++) this.#items[i] = undefined;
    this.#head += n;
    this.base += n;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return n;
  }
}
