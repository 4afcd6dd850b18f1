/**
 * The options of the Kafka queue and topic (KafkaLogOptions, KafkaLogCoreOptions) and their
 * resolution: defaults filled in and every value checked, once, when a KafkaLog is made.
 *
 * @module
 */

import type { ConsumerClientOptions, KafkaClient } from "./client_interfaces.ts";
import type { KafkaConnectionOptions } from "./connection.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Options common to the Kafka queue and topic. See each field for its default. */
export interface KafkaLogOptions extends KafkaConnectionOptions {
  /** Resource name (status, messages). */
  name: string;
  /** Kafka topic (default: `name`). */
  topic?: string;
  /** Number of partitions, an integer >= 1; an existing topic must have exactly this many. */
  partitions: number;
  /**
   * Split threshold, bytes: a value larger than this is sent as parts of at most this size and
   * reassembled by the consumer (default 900 KiB, under Kafka's default 1 MiB batch limit).
   */
  maxMessageBytes?: number;
  /**
   * Producer backpressure, bytes: put() waits while the bytes accepted but not yet
   * acknowledged by the broker, plus the new record, exceed this (a larger record is accepted
   * when nothing is in flight). Default 64 MiB (queue), 16 MiB (topic).
   */
  maxBytes?: number;
  /**
   * How long a record may wait in the batching buffer for others, ms (default 0). With 0 a
   * request goes out as soon as none is in flight; records put meanwhile are batched into the
   * next one, so batching still happens under load, without adding latency to a producer
   * that awaits each put() (as the engine does).
   */
  lingerMs?: number;
  /**
   * Most bytes per partition in one produce request (default 900 KiB); a request holds up to
   * this much per partition, for all partitions with buffered records.
   */
  batchBytes?: number;
  /** Compression of record batches (default "zstd"; codec on node:zlib). */
  compression?: "zstd" | "none";
  /** zstd level 1-22 (default 3). */
  zstdLevel?: number;
  /** Idempotent producer (default true; acks=all, one request in flight). */
  idempotent?: boolean;
  /** Broker-side timeout of a produce request, ms (default 30000). */
  ackTimeoutMs?: number;
  /** `max.message.bytes` of a topic created here (default 2 MiB). */
  topicMaxMessageBytes?: number;
  /** Replication factor of a topic created here (default -1: the broker's default). */
  replicationFactor?: number;
  /** Consumer session timeout, ms: a member that stops heartbeating is evicted after it (default 10000). */
  sessionTimeoutMs?: number;
  /** How long the group waits for members to rejoin in a rebalance, ms (default 30000). */
  rebalanceTimeoutMs?: number;
  /** Consumer heartbeat interval, ms (default 1000). */
  heartbeatIntervalMs?: number;
  /** Longest wait of one fetch at the broker, ms (default 500). */
  fetchMaxWaitMs?: number;
  /** Most bytes of one fetch response (default 32 MiB). */
  fetchMaxBytes?: number;
  /** Most bytes per partition in one fetch response (default 4 MiB). */
  fetchMaxBytesPerPartition?: number;
  /**
   * Bytes a consumer buffers before pausing its partitions, each record counted with its
   * overhead (see partition_state.ts); default 32 MiB for a queue, 4 MiB for a topic.
   */
  consumerBufferBytes?: number;
  /** Records after which an unfinished large message is abandoned (default 10000). */
  abandonAfterRecords?: number;
  /** Lag refresh interval of stats(), ms (default 1000). */
  lagRefreshMs?: number;
  /** How long close() waits for accepted records to be stored, ms (default 30000). */
  closeTimeoutMs?: number;
  /**
   * Consumer groups whose lag stats() reports (besides the groups joined through this
   * object), e.g. the persistence group in the engine's process.
   */
  groups?: string[];
  /** A client to use instead of one made from the connection options (tests). */
  client?: KafkaClient;
}

/** Extra options of the core. */
export interface KafkaLogCoreOptions {
  /** `queue NAME` or `topic NAME`. */
  what: string;
  defaultMaxBytes: number;
  /**
   * Default of consumerBufferBytes. A topic's messages are small notifications, taken a hundred
   * at a time: 32 MiB of them were tens of thousands of records per consumer, ~1 KiB of heap
   * each, in every indexer of a run far behind.
   */
  defaultConsumerBufferBytes: number;
  /**
   * Bound on retained bytes (produced here, not yet committed by every known group, plus in
   * flight); undefined: no such bound.
   */
  maxRetainedBytes?: number | undefined;
  /** Extra topic configs for a topic created here (e.g. retention.ms). */
  topicConfig?: Record<string, string>;
}

/** Resolved numeric options; the consumer's settings as the client takes them. */
export interface Resolved extends Omit<ConsumerClientOptions, "group" | "member"> {
  topic: string;
  maxMessageBytes: number;
  maxBytes: number;
  lingerMs: number;
  batchBytes: number;
  compression: "zstd" | "none";
  zstdLevel: number;
  idempotent: boolean;
  ackTimeoutMs: number;
  topicMaxMessageBytes: number;
  replicationFactor: number;
  consumerBufferBytes: number;
  abandonAfterRecords: number;
  lagRefreshMs: number;
  closeTimeoutMs: number;
}

function int(name: string, v: number | undefined, d: number, min: number): number {
  const n = v ?? d;
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${n}`);
  }
  return n;
}

/** Fills in the defaults of `o` and checks every value; throws a RangeError on a bad one. */
export function resolve(o: KafkaLogOptions, core: KafkaLogCoreOptions): Resolved {
  const compression = o.compression ?? "zstd";
  if (compression !== "zstd" && compression !== "none") {
    throw new RangeError(`compression must be "zstd" or "none", got "${compression}"`);
  }
  const topic = o.topic ?? o.name;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    throw new RangeError(
      `Kafka topic name "${topic}" is invalid: use 1-249 of A-Z a-z 0-9 . _ -`,
    );
  }
  const r: Resolved = {
    topic,
    maxMessageBytes: int("maxMessageBytes", o.maxMessageBytes, 900 * KiB, 1),
    maxBytes: int("maxBytes", o.maxBytes, core.defaultMaxBytes, 1),
    lingerMs: int("lingerMs", o.lingerMs, 0, 0),
    batchBytes: int("batchBytes", o.batchBytes, 900 * KiB, 1),
    compression,
    zstdLevel: int("zstdLevel", o.zstdLevel, 3, 1),
    idempotent: o.idempotent ?? true,
    ackTimeoutMs: int("ackTimeoutMs", o.ackTimeoutMs, 30000, 1),
    topicMaxMessageBytes: int("topicMaxMessageBytes", o.topicMaxMessageBytes, 2 * MiB, 1),
    replicationFactor: int("replicationFactor", o.replicationFactor, -1, -1),
    sessionTimeoutMs: int("sessionTimeoutMs", o.sessionTimeoutMs, 10000, 1),
    rebalanceTimeoutMs: int("rebalanceTimeoutMs", o.rebalanceTimeoutMs, 30000, 1),
    heartbeatIntervalMs: int("heartbeatIntervalMs", o.heartbeatIntervalMs, 1000, 1),
    fetchMaxWaitMs: int("fetchMaxWaitMs", o.fetchMaxWaitMs, 500, 0),
    fetchMaxBytes: int("fetchMaxBytes", o.fetchMaxBytes, 32 * MiB, 1),
    fetchMaxBytesPerPartition: int(
      "fetchMaxBytesPerPartition",
      o.fetchMaxBytesPerPartition,
      4 * MiB,
      1,
    ),
    consumerBufferBytes: int(
      "consumerBufferBytes",
      o.consumerBufferBytes,
      core.defaultConsumerBufferBytes,
      1,
    ),
    abandonAfterRecords: int("abandonAfterRecords", o.abandonAfterRecords, 10000, 1),
    lagRefreshMs: int("lagRefreshMs", o.lagRefreshMs, 1000, 0),
    closeTimeoutMs: int("closeTimeoutMs", o.closeTimeoutMs, 30000, 0),
  };
  if (r.replicationFactor === 0) throw new RangeError("replicationFactor must be -1 or >= 1");
  if (r.zstdLevel > 22) throw new RangeError(`zstdLevel must be in 1..22, got ${r.zstdLevel}`);
  if (r.heartbeatIntervalMs >= r.sessionTimeoutMs) {
    throw new RangeError(
      `heartbeatIntervalMs (${r.heartbeatIntervalMs}) must be lower than sessionTimeoutMs ` +
        `(${r.sessionTimeoutMs})`,
    );
  }
  return r;
}
