/**
 * What a consumer keeps per owned partition between the fetcher and drain()/commit(): the
 * records fetched and not yet drained, the parts of large messages being reassembled, and the
 * fetched offsets not yet committed with their done marks. Pure logic, no I/O.
 *
 * Commit rule (as the in-memory queue): the committed position advances over the longest run
 * of done records from the current position, in offset order. A reassembled message counts as
 * done for all its parts at once, so parts of other messages interleaved between its parts
 * (another producer writing to the same partition) keep their own fate.
 *
 * @module
 */

import type { Delivery } from "../queue/queue.ts";
import { parsePart, type PartInfo, userHeaders } from "./large_messages.ts";

/** A fetched record, decoded. */
export interface IncomingRecord {
  offset: number;
  key: string;
  value: Uint8Array;
  /** All headers, the reserved part headers included. */
  headers: Record<string, string>;
}

interface Assembly {
  readonly id: string;
  readonly producer: string;
  readonly count: number;
  readonly parts: Uint8Array[];
  readonly offsets: number[];
  bytes: number;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Record sequence number of the last part (for abandoning stale assemblies). */
  lastSeq: number;
}

/** A growable FIFO of T with amortized O(1) shift. */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(x: T): void {
    this.#items.push(x);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const x = this.#items[this.#head]!;
    // The slot is cleared at once: a taken record must not stay reachable from here (its
    // value is a large buffer) until the next compaction.
    this.#items[this.#head] = undefined;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }

  /** Items from the head, without removing them. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}

/**
 * What a drainable record costs beyond its value, charged to the buffer with it: its delivery
 * object, key, headers and offset bookkeeping (about 320 bytes of heap measured for a small
 * record, and its framing in the fetch response its value is a view of). Without it a buffer
 * of tiny records (BatchInfo messages of ~150 bytes) held 32 MiB of values: 200000 records,
 * several times that in heap.
 */
export const RECORD_OVERHEAD_BYTES = 1024;

/** Per-partition consumer state; see the module doc. */
export class PartitionState {
  readonly partition: number;
  /** Next offset expected from the fetcher; records below it are duplicates and dropped. */
  next: number | undefined;
  /** The position this member last committed (the group's next start), if any. */
  committed: number | undefined;
  /** Bytes of drainable records: each one's value plus {@link RECORD_OVERHEAD_BYTES}. */
  readyBytes = 0;
  /** Bytes of parts waiting for the rest of their message. */
  heldBytes = 0;
  /** Parts dropped: fragments of messages committed earlier, or of abandoned messages. */
  discardedParts = 0;
  readonly #abandonAfter: number;
  readonly #ready = new Fifo<Delivery>();
  /** Fetched, uncommitted offsets in order. */
  readonly #pending = new Fifo<number>();
  readonly #done = new Set<number>();
  /** Delivery offset (last part) -> offsets of all parts, for reassembled messages. */
  readonly #multi = new Map<number, readonly number[]>();
  readonly #open = new Map<string, Assembly>();
  #seq = 0;

  /**
   * @param partition the partition number
   * @param abandonAfter an unfinished large message is discarded once this many records have
   *   arrived in the partition since its last part (its producer is gone)
   */
  constructor(partition: number, abandonAfter = 10_000) {
    this.partition = partition;
    this.#abandonAfter = abandonAfter;
  }

  /** Number of drainable records. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** Number of fetched offsets not yet committed. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Number of large messages being reassembled. */
  get openMessages(): number {
    return this.#open.size;
  }

  /** Adds a fetched record (duplicates below `next` are ignored). */
  ingest(r: IncomingRecord): void {
    if (this.next !== undefined && r.offset < this.next) return;
    this.next = r.offset + 1;
    this.#seq++;
    this.#pending.push(r.offset);
    const part = parsePart(r.headers);
    if (part === undefined || part === "invalid") {
      this.#pushReady(
        Object.freeze({
          key: r.key,
          value: r.value,
          headers: Object.freeze({ ...r.headers }),
          partition: this.partition,
          offset: r.offset,
        }),
      );
    } else {
      this.#ingestPart(r, part);
    }
    this.#expire();
  }

  /** Takes the next drainable record. */
  take(): Delivery | undefined {
    const d = this.#ready.shift();
    if (d !== undefined) this.readyBytes -= d.value.byteLength + RECORD_OVERHEAD_BYTES;
    return d;
  }

  /**
   * Marks a delivered record done (all parts of a reassembled one). Offsets this state never
   * fetched, or already committed, are ignored.
   */
  markDone(offset: number): void {
    const offsets = this.#multi.get(offset) ?? [offset];
    const first = this.#pending.peek();
    for (const o of offsets) {
      if (first === undefined || o < first || this.next === undefined || o >= this.next) continue;
      this.#done.add(o);
    }
  }

  /**
   * The position a commit should store: one past the longest run of done offsets from the
   * head; undefined when the head is not done (nothing to commit).
   */
  commitTarget(): number | undefined {
    let target: number | undefined;
    for (const o of this.#pending) {
      if (!this.#done.has(o)) break;
      target = o + 1;
    }
    return target;
  }

  /** Applies a successful commit of `position`: forgets the offsets below it. */
  applyCommit(position: number): void {
    for (;;) {
      const o = this.#pending.peek();
      if (o === undefined || o >= position) break;
      this.#pending.shift();
      this.#done.delete(o);
      this.#multi.delete(o);
    }
    if (this.committed === undefined || position > this.committed) this.committed = position;
  }

  #pushReady(d: Delivery): void {
    this.#ready.push(d);
    this.readyBytes += d.value.byteLength + RECORD_OVERHEAD_BYTES;
  }

  #ingestPart(r: IncomingRecord, p: PartInfo): void {
    if (p.index === 0) {
      // A producer sends its messages one after the other: a new one from the same producer
      // means its unfinished one will never complete.
      for (const a of [...this.#open.values()]) {
        if (a.producer === p.producer || a.id === p.msg) this.#abandon(a);
      }
      const a: Assembly = {
        id: p.msg,
        producer: p.producer,
        count: p.count,
        parts: [r.value],
        offsets: [r.offset],
        bytes: r.value.byteLength,
        key: r.key,
        headers: Object.freeze(userHeaders(r.headers)),
        lastSeq: this.#seq,
      };
      this.#open.set(a.id, a);
      this.heldBytes += a.bytes;
      this.#completeIfWhole(a);
      return;
    }
    const a = this.#open.get(p.msg);
    if (a === undefined || a.parts.length !== p.index || a.count !== p.count) {
      if (a !== undefined) this.#abandon(a);
      // A part whose message start this state never saw: that start lies below the committed
      // position, so the message was committed (or abandoned) as a whole before.
      this.#done.add(r.offset);
      this.discardedParts++;
      return;
    }
    a.parts.push(r.value);
    a.offsets.push(r.offset);
    a.bytes += r.value.byteLength;
    a.lastSeq = this.#seq;
    this.heldBytes += r.value.byteLength;
    this.#completeIfWhole(a);
  }

  #completeIfWhole(a: Assembly): void {
    if (a.parts.length < a.count) return;
    this.#open.delete(a.id);
    this.heldBytes -= a.bytes;
    const value = new Uint8Array(a.bytes);
    let at = 0;
    for (const part of a.parts) {
      value.set(part, at);
      at += part.byteLength;
    }
    const offset = a.offsets[a.offsets.length - 1]!;
    if (a.offsets.length > 1) this.#multi.set(offset, [...a.offsets]);
    this.#pushReady(
      Object.freeze({ key: a.key, value, headers: a.headers, partition: this.partition, offset }),
    );
  }

  #abandon(a: Assembly): void {
    this.#open.delete(a.id);
    this.heldBytes -= a.bytes;
    for (const o of a.offsets) this.#done.add(o);
    this.discardedParts += a.offsets.length;
  }

  #expire(): void {
    if (this.#open.size === 0) return;
    for (const a of [...this.#open.values()]) {
      if (this.#seq - a.lastSeq > this.#abandonAfter) this.#abandon(a);
    }
  }
}
