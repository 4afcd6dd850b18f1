/**
 * The queue: work distribution between competing consumers, with Kafka's model so that the
 * in-memory and Kafka implementations behave alike:
 *
 * - records carry a key; the key picks one of P partitions (same key, same partition, in order);
 * - consumers join a group; each partition is assigned to exactly one member of the group;
 * - a consumer drains records of its partitions and commits them after its work is durable;
 * - records not committed when their partition moves to another member (the consumer closed,
 *   crashed or lost it in a rebalance) are delivered again, from the last committed offset;
 * - `put` applies backpressure by BYTES retained (not yet committed by every group).
 *
 * @module
 */

/** A record to put. */
export interface QueueRecord {
  /** Routing key: records with equal keys land in one partition, in put order. */
  key: string;
  value: Uint8Array;
  /** Small string metadata (run id, chunk index, ...); keep it under a few hundred bytes. */
  headers?: Record<string, string>;
}

/** A record as delivered to a consumer. */
export interface Delivery {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition: number;
  /** Position in the partition; commit() makes offset + 1 the group's next start. */
  readonly offset: number;
}

/** Options for a consumer. */
export interface ConsumerOptions {
  /** Group name: members of one group share the partitions. */
  group: string;
  /** Member name, unique within the group (for status and logs). */
  member: string;
}

/** Counters of a queue or topic. */
export interface LogStats {
  /** Records accepted by put/publish. */
  recordsIn: number;
  /** Bytes (values) accepted. */
  bytesIn: number;
  /** Records handed out by drain (redeliveries included). */
  recordsOut: number;
  bytesOut: number;
  /** Records delivered more than once. */
  redelivered: number;
  /** Bytes retained because some group has not committed them yet. */
  retainedBytes: number;
  /** Per group: records not yet committed (the lag). */
  lag: Record<string, number>;
  /** Producers currently waiting in put() for room. */
  blockedProducers: number;
}

/** A consumer of a queue or topic (one member of a group). */
export interface Consumer {
  /**
   * Returns at most `max` records of this member's partitions: waits up to `timeoutMs` for
   * the first one, then returns what is there (possibly an empty array). Rejects when closed.
   */
  drain(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Delivery[]>;
  /**
   * Marks records as done. Per partition the committed position advances over the longest
   * run of done records from the current position. Records of partitions this member no
   * longer owns are ignored (returns false for those); a commit never moves a position back.
   * @returns whether every record belonged to a partition this member still owns
   */
  commit(records: readonly Delivery[]): Promise<boolean>;
  /** Partitions this member owns right now. */
  assignment(): readonly number[];
  /**
   * Leaves the group. Drained but uncommitted records are delivered again to whoever gets
   * their partitions (this is also what a crash does).
   */
  close(): Promise<void>;
}

/** A queue of records for competing consumers. */
export interface Queue {
  readonly name: string;
  /** Number of partitions. */
  readonly partitions: number;
  /**
   * Accepts a record. Resolves when it is stored (for Kafka: acknowledged); waits while the
   * retained bytes are at the limit (a record larger than the limit is accepted when nothing
   * else is retained). Rejects with AbortError on `signal`, or when the queue is closed.
   */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void>;
  /** Waits until every accepted record is stored. */
  flush(): Promise<void>;
  /** Joins a consumer group. */
  consumer(options: ConsumerOptions): Consumer;
  stats(): LogStats;
  /** Releases resources; pending drains reject. */
  close(): Promise<void>;
}

/** Thrown by operations on a closed queue, topic or consumer. */
export class ClosedError extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = "ClosedError";
  }
}
