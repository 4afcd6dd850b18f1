/**
 * The in-memory topic: one process, Kafka's delivery model (see topic.ts), count retention.
 *
 * @module
 */

import { abortReason, PartitionedLog, prepareRecord } from "../queue/partitioned_log.ts";
import type { Consumer, ConsumerOptions, LogStats } from "../queue/queue.ts";
import type { Topic, TopicMessage } from "./topic.ts";

/** Options of a MemoryTopic. */
export interface MemoryTopicOptions {
  name: string;
  /** Number of partitions, an integer >= 1. */
  partitions: number;
  /**
   * Messages kept per partition, default 10000. Older ones are dropped whether or not every
   * group has processed them (like Kafka's retention): a group that falls this far behind
   * skips ahead to the oldest kept message. (The indexers find what they skipped in storage;
   * 100000 notifications a partition held ~150 MB while they lagged behind a flood of tiny
   * batches.)
   */
  retention?: number;
}

/**
 * A Topic held in memory. Keys route to partitions as in MemoryQueue (murmur2); members of a
 * group share partitions round-robin by sorted member name; a new group starts at the oldest
 * kept message. publish() never waits: retention, not backpressure, bounds memory.
 */
export class MemoryTopic implements Topic {
  readonly name: string;
  readonly partitions: number;
  /** Messages kept per partition. */
  readonly retention: number;
  readonly #log: PartitionedLog;

  constructor(options: MemoryTopicOptions) {
    this.name = options.name;
    this.retention = options.retention ?? 10_000;
    this.#log = new PartitionedLog({
      what: `topic ${options.name}`,
      partitions: options.partitions,
      retention: this.retention,
    });
    this.partitions = this.#log.partitions;
  }

  /** See Topic.publish. Rejects when closed or `signal` is aborted already. */
  publish(message: TopicMessage, signal?: AbortSignal): Promise<void> {
    try {
      this.#log.checkOpen();
      if (signal?.aborted) throw abortReason(signal);
      this.#log.append(prepareRecord(message));
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Every resolved publish is stored already: resolves at once (rejects when closed). */
  flush(): Promise<void> {
    try {
      this.#log.checkOpen();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** See Topic.subscribe. Throws ClosedError on a closed topic. */
  subscribe(options: ConsumerOptions): Consumer {
    return this.#log.join(options);
  }

  /** See Topic.stats; `blockedProducers` is always 0. */
  stats(): LogStats {
    return { ...this.#log.stats(), blockedProducers: 0 };
  }

  /** Closes the topic: pending drains reject with ClosedError. Idempotent. */
  close(): Promise<void> {
    this.#log.close();
    return Promise.resolve();
  }
}
