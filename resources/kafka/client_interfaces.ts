/**
 * The narrow interfaces over kafkajs' producer, consumer and admin that KafkaQueue and
 * KafkaTopic build on (`ProducerClient`, `ConsumerClient`, `AdminClient`, made by a
 * `KafkaClient`), so that the adapters above them can be unit-tested with fakes
 * (./fake_kafka.ts). ./client.ts implements them with kafkajs.
 *
 * @module
 */

import type { KafkaLogSink } from "./logger.ts";

/** A message as the adapters send it: explicit partition, string key and headers. */
export interface OutgoingMessage {
  partition: number;
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

/** The base offset the broker assigned to one partition's messages of a send. */
export interface ProducedPartition {
  partition: number;
  baseOffset: number;
}

/** A connected-on-demand producer (acks=all, idempotent where the implementation can). */
export interface ProducerClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * Sends messages in order (per partition). Resolves with the base offset per partition once
   * the broker acknowledged them all.
   */
  send(
    topic: string,
    messages: readonly OutgoingMessage[],
    compression: "zstd" | "none",
  ): Promise<ProducedPartition[]>;
}

/** A fetched message, as kafkajs hands it over. */
export interface FetchedMessage {
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: Record<string, Uint8Array | string | (Uint8Array | string)[] | undefined> | undefined;
}

/** A fetched batch of one partition. */
export interface FetchedBatch {
  partition: number;
  messages: readonly FetchedMessage[];
  /** The batch's last offset (may be past the last message: control records). */
  lastOffset(): string;
}

/** The consumer-group client under the pull adapter. */
export interface ConsumerClient {
  connect(): Promise<void>;
  /** Stops fetching, leaves the group and closes the connections. */
  disconnect(): Promise<void>;
  subscribe(topic: string, fromBeginning: boolean): Promise<void>;
  /**
   * Starts the fetch loop. `eachBatch` is called per fetched batch; `resolveOffset(o)` moves
   * the fetch position past `o` (it commits nothing).
   */
  run(
    eachBatch: (batch: FetchedBatch, resolveOffset: (offset: string) => void) => Promise<void>,
  ): Promise<void>;
  /** Commits `offset` (the next offset to read) per partition for the group. */
  commit(topic: string, offsets: readonly { partition: number; offset: number }[]): Promise<void>;
  /** Makes the next fetch of `partition` start at `offset`. */
  seek(topic: string, partition: number, offset: number): void;
  pause(topic: string, partitions: readonly number[]): void;
  resume(topic: string, partitions: readonly number[]): void;
  /** After each (re)join: this member's id and its partitions per topic. */
  onGroupJoin(listener: (memberId: string, assignment: Record<string, number[]>) => void): void;
  /** A rebalance started (the member will rejoin). */
  onRebalancing(listener: () => void): void;
  /** The fetch loop crashed; `restart` says whether the client restarts it. */
  onCrash(listener: (error: Error, restart: boolean) => void): void;
}

/** Offsets of one partition. */
export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: number;
  /** High watermark (next offset to be written). */
  high: number;
}

/** A topic to create. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  /** -1: the broker's default. */
  replicationFactor: number;
  config: Record<string, string>;
}

/** The admin operations the adapters use. */
export interface AdminClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Number of partitions of an existing topic. */
  partitionCount(topic: string): Promise<number>;
  /** Creates a topic; false when it exists already. */
  createTopic(spec: TopicSpec): Promise<boolean>;
  /** Values of the named configs of a topic (missing names are absent). */
  topicConfig(topic: string, names: readonly string[]): Promise<Record<string, string>>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Committed offsets of a group (-1 where it has none). */
  groupOffsets(group: string, topic: string): Promise<{ partition: number; offset: number }[]>;
}

/** Consumer settings. */
export interface ConsumerClientOptions {
  group: string;
  /** Appended to the client id (visible in the broker's group description). */
  member: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  fetchMaxBytesPerPartition: number;
}

/** Producer settings. */
export interface ProducerClientOptions {
  idempotent: boolean;
  /** Request timeout of a produce request at the broker, ms. */
  ackTimeoutMs: number;
  /** zstd level when compressing (1-22). */
  zstdLevel: number;
}

/** Creates producers, consumers and admins for one cluster. */
export interface KafkaClient {
  readonly brokers: readonly string[];
  /** Where the client's log entries go. */
  readonly sink: KafkaLogSink;
  producer(options: ProducerClientOptions): ProducerClient;
  consumer(options: ConsumerClientOptions): ConsumerClient;
  admin(): AdminClient;
}
