/**
 * The Kafka topic: the Topic interface on a Kafka (or Redpanda) topic through kafkajs. Every
 * group sees every message; the members of a group share the partitions; a member commits
 * after processing. Same pieces as KafkaQueue (resources/kafka/kafka_queue.ts): keyed
 * partitions by murmur2, idempotent zstd producer, large messages split and reassembled, the
 * pull consumer; no retained-bytes bound (a topic keeps messages for `retentionMs`).
 *
 * @module
 */

import { KafkaLog, type KafkaLogOptions, type KafkaStatus } from "./kafka_log.ts";
import type { Consumer, ConsumerOptions, LogStats, TopicMessage } from "../topic/topic.ts";
import type { Topic } from "../topic/topic.ts";

const MiB = 1024 * 1024;

/** Options of a KafkaTopic. */
export interface KafkaTopicOptions extends KafkaLogOptions {
  /**
   * `retention.ms` of a topic created here: how long messages stay for late groups (default:
   * the broker's, 7 days on Kafka). Its `segment.ms` is set alike, since a broker removes only
   * closed segments: a short retention (a status topic's) would otherwise keep everything until
   * a segment fills (1 GiB). An existing topic keeps its own.
   */
  retentionMs?: number;
}

/** A Topic on a Kafka topic. See the module doc. */
export class KafkaTopic implements Topic {
  readonly name: string;
  readonly partitions: number;
  /** The Kafka topic. */
  readonly topic: string;
  readonly #log: KafkaLog;

  /** Creates the topic object; nothing connects until ready(), publish() or subscribe() needs it. */
  constructor(options: KafkaTopicOptions) {
    const config: Record<string, string> = {};
    if (options.retentionMs !== undefined) {
      if (!Number.isInteger(options.retentionMs) || options.retentionMs < -1) {
        throw new RangeError(`retentionMs must be an integer >= -1, got ${options.retentionMs}`);
      }
      config["retention.ms"] = String(options.retentionMs);
      if (options.retentionMs > 0) config["segment.ms"] = String(options.retentionMs);
    }
    this.#log = new KafkaLog(options, {
      what: `topic ${options.name}`,
      defaultMaxBytes: 16 * MiB,
      defaultConsumerBufferBytes: 4 * MiB,
      topicConfig: config,
    });
    this.name = this.#log.name;
    this.partitions = this.#log.partitions;
    this.topic = this.#log.topic;
  }

  /** Creates the topic object and sets it up (connects, creates or checks the Kafka topic). */
  static async open(options: KafkaTopicOptions): Promise<KafkaTopic> {
    const t = new KafkaTopic(options);
    try {
      await t.ready();
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  /** Connects and creates or checks the Kafka topic (memoized; retried after a failure). */
  ready(): Promise<void> {
    return this.#log.ready();
  }

  /** See Topic.publish: resolves when the broker acknowledged the message. */
  publish(message: TopicMessage, signal?: AbortSignal): Promise<void> {
    return this.#log.put(message, signal);
  }

  /** See Topic.flush. */
  flush(): Promise<void> {
    return this.#log.flush();
  }

  /** See Topic.subscribe: a new group starts at the earliest retained message. */
  subscribe(options: ConsumerOptions): Consumer {
    return this.#log.join(options, true);
  }

  /** See Topic.stats. */
  stats(): LogStats {
    return this.#log.stats();
  }

  /** Connection, errors and consumers, for status views. */
  status(): KafkaStatus {
    return this.#log.status();
  }

  /** See Topic.close. */
  close(): Promise<void> {
    return this.#log.close();
  }
}
