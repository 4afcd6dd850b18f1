/**
 * The in-memory queue: one process, Kafka's delivery model (see queue.ts), byte backpressure.
 *
 * @module
 */

import {
  abortReason,
  PartitionedLog,
  type PreparedRecord,
  prepareRecord,
} from "./partitioned_log.ts";
import {
  ClosedError,
  type Consumer,
  type ConsumerOptions,
  type LogStats,
  type Queue,
  type QueueRecord,
} from "./queue.ts";

/** Options of a MemoryQueue. */
export interface MemoryQueueOptions {
  name: string;
  /** Number of partitions, an integer >= 1. */
  partitions: number;
  /**
   * Bound on retained bytes: put() waits while the bytes not yet committed by every group,
   * plus the new record, exceed it (a record is always accepted when nothing is retained).
   * A record counts its value's bytes plus the lengths of its key and header strings.
   */
  maxBytes: number;
  /**
   * Copy each value on put (default true), so a caller may reuse its buffer. False takes
   * ownership instead: the caller must not change a value after put(). The in-process
   * pipeline's engine hands over fresh buffers, and the copy of every chunk cost GC time.
   */
  copyValues?: boolean;
}

/** A put() waiting for room. */
interface BlockedPut {
  readonly record: PreparedRecord;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A Queue held in memory. Keys route to partitions as Kafka's default partitioner does
 * (murmur2, see `partitionForKey`). Members of a group share partitions round-robin by sorted
 * member name. Records leave memory once every group committed them; until the first group
 * joins, everything put stays (and counts against `maxBytes`).
 */
export class MemoryQueue implements Queue {
  readonly name: string;
  readonly partitions: number;
  readonly maxBytes: number;
  readonly #log: PartitionedLog;
  /** FIFO: a later put never overtakes an earlier blocked one, even if it would fit. */
  readonly #blocked: BlockedPut[] = [];
  readonly #copy: boolean;

  constructor(options: MemoryQueueOptions) {
    if (!(options.maxBytes > 0)) {
      throw new RangeError(`maxBytes must be > 0, got ${options.maxBytes}`);
    }
    this.name = options.name;
    this.maxBytes = options.maxBytes;
    this.#copy = options.copyValues ?? true;
    this.#log = new PartitionedLog({
      what: `queue ${options.name}`,
      partitions: options.partitions,
      retention: "committed",
      onTrim: () => this.#admit(),
    });
    this.partitions = this.#log.partitions;
  }

  /** See Queue.put. */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void> {
    try {
      this.#log.checkOpen();
      if (signal?.aborted) throw abortReason(signal);
      const prepared = prepareRecord(record, this.#copy);
      if (this.#blocked.length === 0 && this.#fits(prepared.size)) {
        this.#log.append(prepared);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.#blocked.indexOf(entry);
          if (i < 0) return;
          this.#blocked.splice(i, 1);
          reject(abortReason(signal));
          // The head may have left: whoever is next may fit now.
          this.#admit();
        };
        const entry: BlockedPut = {
          record: prepared,
          resolve: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
          reject: (error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#blocked.push(entry);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Every resolved put is stored already: resolves at once (rejects when closed). */
  flush(): Promise<void> {
    try {
      this.#log.checkOpen();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** See Queue.consumer. Throws ClosedError on a closed queue. */
  consumer(options: ConsumerOptions): Consumer {
    return this.#log.join(options);
  }

  /** See Queue.stats. */
  stats(): LogStats {
    return { ...this.#log.stats(), blockedProducers: this.#blocked.length };
  }

  /** Closes the queue: pending drains and blocked puts reject with ClosedError. Idempotent. */
  close(): Promise<void> {
    this.#log.close();
    const blocked = this.#blocked.splice(0);
    for (const b of blocked) b.reject(new ClosedError(`queue ${this.name}`));
    return Promise.resolve();
  }

  #fits(size: number): boolean {
    const retained = this.#log.retainedBytes();
    return retained === 0 || retained + size <= this.maxBytes;
  }

  /** Admits blocked puts in order while they fit. */
  #admit(): void {
    while (!this.#log.closed) {
      const head = this.#blocked[0];
      if (head === undefined || !this.#fits(head.record.size)) return;
      this.#blocked.shift();
      this.#log.append(head.record);
      head.resolve();
    }
  }
}
