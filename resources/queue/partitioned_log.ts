/**
 * The in-process partitioned log shared by MemoryQueue and MemoryTopic: Kafka's model in one
 * process. Shared inside resources/ (also by the Kafka adapters' waits); not exported from resources/queue/mod.ts.
 *
 * - A partition is an array of records with a base offset (the offset of its first kept
 *   record; log_partition.ts); trimming drops records from the front and raises the base.
 * - A group has members, an owner per partition, a committed offset per partition and the set
 *   of offsets marked done above it. Members are sorted by name (then join order) and
 *   partition p goes to member p mod n (round-robin), so the assignment is a pure function of
 *   the membership.
 * - A member has a fetch position per owned partition. When a partition changes owner, the new
 *   owner starts at the group's committed offset, so what the old owner drained but did not
 *   commit is delivered again.
 *
 * @module
 */

import { ClosedError, type Consumer, type ConsumerOptions, type Delivery } from "./queue.ts";
import { Partition, type PreparedRecord } from "./log_partition.ts";

export { type PreparedRecord, prepareRecord } from "./log_partition.ts";

/**
 * Kafka's murmur2 hash (the Java client's `Utils.murmur2`, seed 0x9747b28c) of `data`, as a
 * signed 32-bit integer.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The Java original falls through a switch on length % 4; spelled out as ifs.
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const utf8 = new TextEncoder();

/**
 * The partition of `key` among `partitions`: `(murmur2(utf8(key)) & 0x7fffffff) % partitions`,
 * exactly what Kafka's default partitioner (and kafkajs' Java-compatible DefaultPartitioner)
 * computes for a keyed record, so the Kafka implementation routes keys to the same partitions.
 */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(utf8.encode(key)) & 0x7fffffff) % partitions;
}

/** Throws a RangeError unless `n` is an integer >= 1. */
export function checkPartitions(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`partitions must be an integer >= 1, got ${n}`);
  }
}

/** A pending drain of a member, woken by any change that may give it records. */
export interface Waiter {
  wake(): void;
  fail(error: unknown): void;
}

/**
 * Waits in `waiters` until woken (`wake`), failed (`fail`), `ms` passed, or `signal` aborts
 * (rejects with its reason). Cleans its timer, listener and entry up in every case.
 */
export function waitInSet(waiters: Set<Waiter>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      waiters.delete(waiter);
    };
    const waiter: Waiter = {
      wake: () => {
        cleanup();
        resolve();
      },
      fail: (error) => {
        cleanup();
        reject(error);
      },
    };
    const onAbort = () => waiter.fail(abortReason(signal));
    const timer = setTimeout(waiter.wake, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    waiters.add(waiter);
  });
}

/** One member of a group. */
class Member {
  readonly owned: number[] = [];
  /** Next offset to hand out, per owned partition. */
  readonly fetch = new Map<number, number>();
  readonly waiters = new Set<Waiter>();
  closed = false;
  /** Owned-partition index the next drain starts at (fairness across partitions). */
  rotation = 0;

  constructor(readonly group: Group, readonly name: string, readonly seq: number) {}

  notify(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w.wake();
  }

  fail(error: unknown): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w.fail(error);
  }
}

/** A consumer group. */
class Group {
  members: Member[] = [];
  readonly owner: (Member | undefined)[];
  readonly committed: number[];
  /** Offsets marked done above `committed`, per partition (the owner's, cleared on move). */
  readonly done: Set<number>[];
  /** Per partition, the lowest offset never handed out in this group (to count redeliveries). */
  readonly delivered: number[];
  nextSeq = 0;

  constructor(readonly name: string, starts: readonly number[]) {
    this.owner = starts.map(() => undefined);
    this.committed = [...starts];
    this.done = starts.map(() => new Set<number>());
    this.delivered = [...starts];
  }
}

/** Counters kept by the log (the rest of LogStats is computed). */
interface Counters {
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
  bytesOut: number;
  redelivered: number;
}

/** Options of a PartitionedLog. */
export interface PartitionedLogOptions {
  /** For error messages, e.g. `queue raw-tick-data`. */
  what: string;
  partitions: number;
  /**
   * How records leave the log. "committed": once every existing group committed them (the
   * queue; with no group, nothing leaves). A number: only the newest N per partition are kept,
   * whatever the groups did (the topic's retention).
   */
  retention: "committed" | number;
  /** Called after records were trimmed (room for waiting producers). */
  onTrim?: () => void;
}

/** The shared core of MemoryQueue and MemoryTopic. */
export class PartitionedLog {
  readonly partitions: number;
  readonly #parts: Partition[];
  readonly #groups = new Map<string, Group>();
  readonly #opts: PartitionedLogOptions;
  readonly #counters: Counters = {
    recordsIn: 0,
    bytesIn: 0,
    recordsOut: 0,
    bytesOut: 0,
    redelivered: 0,
  };
  #closed = false;

  constructor(options: PartitionedLogOptions) {
    checkPartitions(options.partitions);
    const retention = options.retention;
    if (retention !== "committed" && (!Number.isInteger(retention) || retention < 1)) {
      throw new RangeError(`retention must be an integer >= 1, got ${retention}`);
    }
    this.#opts = options;
    this.partitions = options.partitions;
    this.#parts = Array.from({ length: options.partitions }, () => new Partition());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws ClosedError when the log is closed. */
  checkOpen(): void {
    if (this.#closed) throw new ClosedError(this.#opts.what);
  }

  /** Bytes of records that some group has not committed yet (all kept ones with no group). */
  retainedBytes(): number {
    let bytes = 0;
    for (let p = 0; p < this.partitions; p++) {
      bytes += this.#part(p).bytesFrom(this.#minCommitted(p));
    }
    return bytes;
  }

  /** Appends a record to its key's partition and wakes the partition's owners. */
  append(record: PreparedRecord): void {
    this.checkOpen();
    const p = partitionForKey(record.key, this.partitions);
    const part = this.#part(p);
    part.append(record);
    this.#counters.recordsIn++;
    this.#counters.bytesIn += record.value.byteLength;
    const retention = this.#opts.retention;
    if (retention !== "committed" && part.count > retention) {
      part.trimTo(part.end - retention);
      // Groups that were behind skip the dropped messages, like Kafka's offset reset to the
      // earliest: otherwise their committed offset could never advance again.
      for (const g of this.#groups.values()) {
        if (g.committed[p]! < part.base) {
          g.committed[p] = part.base;
          for (const o of g.done[p]!) if (o < part.base) g.done[p]!.delete(o);
        }
      }
      this.#opts.onTrim?.();
    }
    for (const g of this.#groups.values()) g.owner[p]?.notify();
  }

  /** Joins a group (created on first use, starting at the earliest kept record). */
  join(options: ConsumerOptions): LogConsumer {
    this.checkOpen();
    if (typeof options.group !== "string" || options.group === "") {
      throw new TypeError("consumer group must be a non-empty string");
    }
    if (typeof options.member !== "string") throw new TypeError("member must be a string");
    let group = this.#groups.get(options.group);
    if (group === undefined) {
      group = new Group(options.group, this.#parts.map((part) => part.base));
      this.#groups.set(options.group, group);
    }
    const member = new Member(group, options.member, group.nextSeq++);
    group.members.push(member);
    // Duplicate member names are tolerated (Kafka gives each client its own member id); join
    // order breaks the tie so the assignment stays deterministic.
    group.members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.seq - b.seq));
    this.#rebalance(group);
    return new LogConsumer(this, member, `consumer ${options.member} of ${this.#opts.what}`);
  }

  /** Removes a member; its partitions go to the others, from the committed offsets. */
  leave(member: Member): void {
    if (member.closed) return;
    member.closed = true;
    const group = member.group;
    group.members = group.members.filter((m) => m !== member);
    this.#rebalance(group);
    member.fail(new ClosedError(`consumer ${member.name}`));
  }

  /** Takes up to `max` records of the member's partitions, round-robin across them. */
  take(member: Member, max: number): Delivery[] {
    const out: Delivery[] = [];
    const owned = member.owned;
    const n = owned.length;
    if (n === 0) return out;
    const group = member.group;
    const start = member.rotation % n;
    member.rotation = (start + 1) % n;
    let progressed = true;
    while (out.length < max && progressed) {
      progressed = false;
      for (let i = 0; i < n && out.length < max; i++) {
        const p = owned[(start + i) % n]!;
        const part = this.#part(p);
        // A commit of a record drained before a move may have pushed the committed offset
        // past the fetch position; topic retention may have dropped records below it.
        const pos = Math.max(member.fetch.get(p) ?? 0, group.committed[p]!, part.base);
        if (pos >= part.end) continue;
        const e = part.at(pos);
        out.push(
          Object.freeze({
            key: e.key,
            value: e.value,
            headers: e.headers,
            partition: p,
            offset: pos,
          }),
        );
        member.fetch.set(p, pos + 1);
        if (pos < group.delivered[p]!) this.#counters.redelivered++;
        else group.delivered[p] = pos + 1;
        this.#counters.recordsOut++;
        this.#counters.bytesOut += e.value.byteLength;
        progressed = true;
      }
    }
    return out;
  }

  /**
   * Marks records done for `member`; see Consumer.commit. Returns false when some record
   * belongs to a partition the member does not own (those are ignored).
   */
  commit(member: Member, records: readonly Delivery[]): boolean {
    const group = member.group;
    let all = true;
    const touched = new Set<number>();
    for (const r of records) {
      const p = r.partition;
      if (group.owner[p] !== member || member.closed) {
        all = false;
        continue;
      }
      // Offsets below the committed one are done already (commit is idempotent); offsets past
      // the end cannot come from this log.
      if (r.offset < group.committed[p]! || r.offset >= this.#part(p).end) continue;
      group.done[p]!.add(r.offset);
      touched.add(p);
    }
    let moved = false;
    for (const p of touched) {
      const done = group.done[p]!;
      let c = group.committed[p]!;
      while (done.delete(c)) c++;
      if (c !== group.committed[p]) {
        group.committed[p] = c;
        moved = true;
      }
    }
    if (moved && this.#opts.retention === "committed") this.#trimCommitted();
    return all;
  }

  /** Partitions the member owns, ascending. */
  assignment(member: Member): readonly number[] {
    return [...member.owned];
  }

  /**
   * Waits until something may have changed for `member` (records appended to an owned
   * partition, a rebalance) or `ms` passed. Rejects on close and abort.
   */
  waitForChange(member: Member, ms: number, signal?: AbortSignal): Promise<void> {
    return waitInSet(member.waiters, ms, signal);
  }

  /** Closes the log: every member is closed and its pending drains reject with ClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const g of this.#groups.values()) {
      for (const m of g.members) {
        m.closed = true;
        m.fail(new ClosedError(this.#opts.what));
      }
    }
  }

  /** Counters plus retained bytes and lag; blockedProducers is the caller's. */
  stats(): Counters & { retainedBytes: number; lag: Record<string, number> } {
    const lag: Record<string, number> = {};
    for (const g of this.#groups.values()) {
      let n = 0;
      for (let p = 0; p < this.partitions; p++) {
        const part = this.#part(p);
        n += part.end - Math.max(g.committed[p]!, part.base);
      }
      lag[g.name] = n;
    }
    return { ...this.#counters, retainedBytes: this.retainedBytes(), lag };
  }

  #part(p: number): Partition {
    const part = this.#parts[p];
    if (part === undefined) throw new RangeError(`no partition ${p}`);
    return part;
  }

  /** The lowest committed offset of partition p over all groups; the base with no group. */
  #minCommitted(p: number): number {
    let min = Infinity;
    for (const g of this.#groups.values()) min = Math.min(min, g.committed[p]!);
    return min === Infinity ? this.#part(p).base : min;
  }

  #trimCommitted(): void {
    let trimmed = 0;
    for (let p = 0; p < this.partitions; p++) {
      trimmed += this.#part(p).trimTo(this.#minCommitted(p));
    }
    if (trimmed > 0) this.#opts.onTrim?.();
  }

  /**
   * Round-robin over the sorted members. A partition that keeps its owner keeps its fetch
   * position (no needless redelivery); a moved one restarts at the committed offset, and the
   * done marks of the previous owner are dropped (a broker only knows committed offsets).
   */
  #rebalance(group: Group): void {
    const n = group.members.length;
    const affected = new Set<Member>(group.members);
    for (let p = 0; p < this.partitions; p++) {
      const next = n === 0 ? undefined : group.members[p % n];
      const prev = group.owner[p];
      if (next === prev) continue;
      if (prev !== undefined) {
        prev.fetch.delete(p);
        affected.add(prev);
      }
      if (next !== undefined) next.fetch.set(p, group.committed[p]!);
      group.done[p]!.clear();
      group.owner[p] = next;
    }
    for (const m of affected) {
      m.owned.length = 0;
      for (const p of m.fetch.keys()) m.owned.push(p);
      m.owned.sort((a, b) => a - b);
      m.rotation = 0;
      m.notify();
    }
  }
}

/** The reason to reject with on abort: the signal's reason, else an AbortError DOMException. */
export function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/** A member of a group of a PartitionedLog, as the Consumer interface. */
export class LogConsumer implements Consumer {
  readonly #log: PartitionedLog;
  readonly #member: Member;
  readonly #what: string;

  /** @internal Created by PartitionedLog.join. */
  constructor(log: PartitionedLog, member: Member, what: string) {
    this.#log = log;
    this.#member = member;
    this.#what = what;
  }

  /** See Consumer.drain. */
  async drain(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be an integer >= 1, got ${max}`);
    }
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      this.#checkOpen();
      if (signal?.aborted) throw abortReason(signal);
      const out = this.#log.take(this.#member, max);
      if (out.length > 0) return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      // Woken by appends to owned partitions and by rebalances; loop because the change may
      // not have produced records for this member (another drain may have taken them).
      await this.#log.waitForChange(this.#member, left, signal);
    }
  }

  /** See Consumer.commit. Rejects with ClosedError on a closed consumer. */
  commit(records: readonly Delivery[]): Promise<boolean> {
    try {
      this.#checkOpen();
      return Promise.resolve(this.#log.commit(this.#member, records));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** See Consumer.assignment; empty once closed. */
  assignment(): readonly number[] {
    return this.#member.closed ? [] : this.#log.assignment(this.#member);
  }

  /** See Consumer.close. Idempotent. */
  close(): Promise<void> {
    this.#log.leave(this.#member);
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#member.closed || this.#log.closed) throw new ClosedError(this.#what);
  }
}
