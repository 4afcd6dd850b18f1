/**
 * The Kafka queue: the Queue interface on a Kafka (or Redpanda) topic through kafkajs, with
 * the same delivery model as MemoryQueue (see queue.ts):
 *
 * - put() routes by key with Kafka's default partitioner (murmur2, `partitionForKey`, the
 *   memory queue's function) to an explicit partition, through an idempotent producer (acks
 *   all, one request in flight), zstd-compressed, batched; it resolves once the broker
 *   acknowledged the record;
 * - a value larger than `maxMessageBytes` is split into parts sent in order to the same
 *   partition, reassembled by the consumer into ONE delivery whose offset is the last part's;
 *   committing it commits all its parts;
 * - consumers pull (drain/commit) over kafkajs' push consumer; commits are explicit, never
 *   automatic; drained but uncommitted records are redelivered to the group after a close, a
 *   crash or a rebalance;
 * - backpressure on put(): by the bytes not yet acknowledged (`maxBytes`), and, with
 *   `maxRetainedBytes`, also by the bytes produced here that some known group has not
 *   committed yet (the memory queue's rule; see the option).
 *
 * @example
 * ```ts
 * const queue = await KafkaQueue.open({ name: "raw-tick-data", partitions: 6 });
 * await queue.put({ key: "run/batch-3", value: bytes });
 * const c = queue.consumer({ group: "persistence", member: "p1" });
 * const got = await c.drain(100, 1000);
 * await c.commit(got);
 * ```
 *
 * @module
 */

import { KafkaLog, type KafkaLogOptions, type KafkaStatus } from "./kafka_log.ts";
import type { Consumer, ConsumerOptions, LogStats, Queue, QueueRecord } from "../queue/queue.ts";

const MiB = 1024 * 1024;

/** Options of a KafkaQueue (connection, producer, consumer and topic settings). */
export interface KafkaQueueOptions extends KafkaLogOptions {
  /**
   * Optional bound on retained bytes, as MemoryQueue's `maxBytes`: put() also waits while the
   * bytes produced through this queue and not yet committed by every known group (the groups
   * joined through this queue and `groups`), plus those in flight, plus the new record,
   * exceed it. Commits of this process count at once; other processes' commits are polled
   * while a put waits. With no known group nothing is released. Default: no such bound (the
   * broker's disk holds the backlog; `maxBytes` bounds the producer's memory).
   */
  maxRetainedBytes?: number;
}

/** A Queue on a Kafka topic. See the module doc. */
export class KafkaQueue implements Queue {
  readonly name: string;
  readonly partitions: number;
  /** The Kafka topic. */
  readonly topic: string;
  readonly #log: KafkaLog;

  /** Creates the queue; nothing connects until ready(), put() or a consumer needs it. */
  constructor(options: KafkaQueueOptions) {
    this.#log = new KafkaLog(options, {
      what: `queue ${options.name}`,
      defaultMaxBytes: 64 * MiB,
      defaultConsumerBufferBytes: 32 * MiB,
      maxRetainedBytes: options.maxRetainedBytes,
    });
    this.name = this.#log.name;
    this.partitions = this.#log.partitions;
    this.topic = this.#log.topic;
  }

  /**
   * Creates the queue and sets it up (connects, creates or checks the topic), so that a
   * wrong address or a mismatching topic fails at start with a message saying so.
   */
  static async open(options: KafkaQueueOptions): Promise<KafkaQueue> {
    const q = new KafkaQueue(options);
    try {
      await q.ready();
    } catch (e) {
      await q.close();
      throw e;
    }
    return q;
  }

  /** Connects and creates or checks the topic (memoized; retried after a failure). */
  ready(): Promise<void> {
    return this.#log.ready();
  }

  /** See Queue.put. Resolves when the broker acknowledged the record (all its parts). */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void> {
    return this.#log.put(record, signal);
  }

  /** See Queue.flush. */
  flush(): Promise<void> {
    return this.#log.flush();
  }

  /** See Queue.consumer. A group new to the topic starts at the earliest retained record. */
  consumer(options: ConsumerOptions): Consumer {
    return this.#log.join(options, true);
  }

  /**
   * Counts `group`'s commits as those of a group joined through this queue (its lag, and the
   * retained bytes of `maxRetainedBytes`): for consumers that run on another client.
   */
  watchGroup(group: string): void {
    this.#log.watch(group);
  }

  /** See Queue.stats: lag is the last known value, refreshed about every `lagRefreshMs`. */
  stats(): LogStats {
    return this.#log.stats();
  }

  /** Connection, errors and consumers, for status views. */
  status(): KafkaStatus {
    return this.#log.status();
  }

  /** See Queue.close. Accepted records are stored first (up to `closeTimeoutMs`). */
  close(): Promise<void> {
    return this.#log.close();
  }
}
