/**
 * The core shared by KafkaQueue and KafkaTopic: one topic, its producer (BatchingProducer),
 * the consumers joined through it (KafkaPullConsumer), topic setup, and the counters behind
 * stats(). Not a public API; use resources/kafka/kafka_queue.ts and
 * resources/kafka/kafka_topic.ts.
 *
 * Lag is the group's committed offset against the high watermark, summed over partitions.
 * stats() is synchronous, so it returns the last known values: the producer's acknowledgements
 * and this process's commits update them at once, and an admin query (committed offsets of the
 * known groups, high watermarks) refreshes them at most every `lagRefreshMs`.
 *
 * @module
 */

import { checkPartitions } from "../queue/partitioned_log.ts";
import {
  ClosedError,
  type ConsumerOptions,
  type LogStats,
  type QueueRecord,
} from "../queue/queue.ts";
import { ensureTopic, type EnsureTopicResult } from "./admin.ts";
import { BatchingProducer, RECORD_OVERHEAD } from "./batching_producer.ts";
import { createKafkaClient } from "./client.ts";
import type { AdminClient, KafkaClient, ProducerClient } from "./client_interfaces.ts";
import {
  type KafkaLogCoreOptions,
  type KafkaLogOptions,
  resolve,
  type Resolved,
} from "./kafka_log_options.ts";
import type { KafkaLogSummary } from "./logger.ts";
import { KafkaPullConsumer, type PullConsumerStatus } from "./pull_consumer.ts";

export type { KafkaLogCoreOptions, KafkaLogOptions } from "./kafka_log_options.ts";

/** What the Kafka queue and topic report beyond LogStats. */
export interface KafkaStatus {
  brokers: readonly string[];
  topic: string;
  /** Whether the topic was set up and the producer connected. */
  ready: boolean;
  /** The latest error (setup, producer, consumer, stats), if any. */
  lastError?: string;
  /** kafkajs' errors and warnings, counted; the latest ones. */
  log: KafkaLogSummary;
  producer: { requests: number; inflightBytes: number; lastError?: string };
  consumers: PullConsumerStatus[];
}

/** Whether `e` or one of its causes is an Error named `name`. */
function hasName(e: unknown, name: string): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 8; depth++) {
    if (x.name === name) return true;
    x = x.cause;
  }
  return false;
}

/**
 * The kafkajs error of a broker that accepted the connection and then dropped it (it is
 * restarting). A broker that refuses or does not answer fails the setup at once, naming it: a
 * service process then says it is waiting for it and sets up again (cli/service_process.ts).
 */
const CONNECTION_LOST = ["KafkaJSConnectionClosedError"];

/** How long the setup is tried again while the broker drops connections, ms. */
const SETUP_RETRY_MS = 60_000;

/** Records produced here and acknowledged, per partition, for the retained-bytes bound. */
interface Stored {
  offset: number;
  size: number;
}

/** See the module doc. */
export class KafkaLog {
  readonly name: string;
  readonly partitions: number;
  readonly topic: string;
  readonly what: string;
  readonly client: KafkaClient;
  readonly producer: BatchingProducer;
  readonly #r: Resolved;
  readonly #core: KafkaLogCoreOptions;
  readonly #admin: AdminClient;
  readonly #producerClient: ProducerClient;
  #ready: Promise<void> | undefined;
  #isReady = false;
  #setup: EnsureTopicResult | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastError: string | undefined;
  readonly #consumers = new Set<KafkaPullConsumer>();
  readonly #groups = new Set<string>();
  /** Counters of deliveries. */
  #recordsOut = 0;
  #bytesOut = 0;
  #redelivered = 0;
  /** Per group and partition, one past the highest offset delivered in this process. */
  readonly #delivered = new Map<string, number[]>();
  /** Known offsets. */
  readonly #high: number[];
  readonly #low: number[];
  readonly #committed = new Map<string, (number | undefined)[]>();
  #lastRefresh = -Infinity;
  #refreshing: Promise<void> | undefined;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** For the retained-bytes bound. */
  readonly #stored: Stored[][];
  #storedBytes = 0;

  constructor(options: KafkaLogOptions, core: KafkaLogCoreOptions) {
    checkPartitions(options.partitions);
    if (typeof options.name !== "string" || options.name === "") {
      throw new TypeError("name must be a non-empty string");
    }
    if (core.maxRetainedBytes !== undefined && !(core.maxRetainedBytes > 0)) {
      throw new RangeError(`maxRetainedBytes must be > 0, got ${core.maxRetainedBytes}`);
    }
    this.#r = resolve(options, core);
    this.#core = core;
    this.name = options.name;
    this.partitions = options.partitions;
    this.topic = this.#r.topic;
    this.what = core.what;
    this.client = options.client ?? createKafkaClient(options);
    for (const g of options.groups ?? []) this.#groups.add(g);
    this.#high = new Array<number>(this.partitions).fill(0);
    this.#low = new Array<number>(this.partitions).fill(0);
    this.#stored = Array.from({ length: this.partitions }, () => []);
    this.#admin = this.client.admin();
    this.#producerClient = this.client.producer({
      idempotent: this.#r.idempotent,
      ackTimeoutMs: this.#r.ackTimeoutMs,
      zstdLevel: this.#r.zstdLevel,
    });
    const producerOptions: ConstructorParameters<typeof BatchingProducer>[0] = {
      what: this.what,
      topic: this.topic,
      partitions: this.partitions,
      maxMessageBytes: this.#r.maxMessageBytes,
      maxBytes: this.#r.maxBytes,
      lingerMs: this.#r.lingerMs,
      batchBytes: this.#r.batchBytes,
      compression: this.#r.compression,
      sink: this.client.sink,
      connect: async () => {
        await this.ready();
        return this.#producerClient;
      },
      onStored: (partition, offset, size) => this.#onStored(partition, offset, size),
    };
    const bound = core.maxRetainedBytes;
    if (bound !== undefined) {
      producerOptions.canAdmit = (size, inflight) => {
        const held = inflight + this.#storedBytes;
        return held === 0 || held + size <= bound;
      };
    }
    this.producer = new BatchingProducer(producerOptions);
  }

  /** The largest record batch the producer sends (for the topic's max.message.bytes). */
  get requiredMessageBytes(): number {
    return Math.max(this.#r.batchBytes, this.#r.maxMessageBytes + RECORD_OVERHEAD + 1024) + 1024;
  }

  /**
   * Connects the admin client, creates or checks the topic, connects the producer. Memoized;
   * after a failure the next call tries again. Rejects with a message naming the brokers.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(this.what));
    this.#ready ??= this.#setUp().catch((e) => {
      this.#ready = undefined;
      const detail = (e as Error)?.message ?? String(e);
      const message = e instanceof Error && e.name === "TopicMismatchError"
        ? detail
        : `${this.what}: cannot set up Kafka topic '${this.topic}' at ` +
          `${this.client.brokers.join(",")}: ${detail}`;
      this.#error("setup", message, e);
      throw new Error(message, { cause: e });
    });
    return this.#ready;
  }

  /**
   * Sets up; a broker that drops the connection meanwhile (it is restarting) is tried again
   * with backoff for up to {@link SETUP_RETRY_MS}, so that a service starting then waits for it.
   */
  async #setUp(): Promise<void> {
    const since = performance.now();
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#setUpOnce();
      } catch (e) {
        const lost = CONNECTION_LOST.some((n) => hasName(e, n));
        if (!lost || this.#closed || performance.now() - since >= SETUP_RETRY_MS) throw e;
        this.#error(
          "setup",
          `${this.what}: setting up '${this.topic}': ${(e as Error).message}; retrying`,
          e,
        );
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** (attempt - 1))));
      }
    }
  }

  async #setUpOnce(): Promise<void> {
    await this.#admin.connect();
    this.#setup = await ensureTopic(this.#admin, {
      topic: this.topic,
      partitions: this.partitions,
      replicationFactor: this.#r.replicationFactor,
      maxMessageBytes: Math.max(this.#r.topicMaxMessageBytes, this.requiredMessageBytes),
      requiredMessageBytes: this.requiredMessageBytes,
      config: this.#core.topicConfig ?? {},
      what: this.what,
    });
    await this.#producerClient.connect();
    this.#isReady = true;
  }

  /** Whether the topic was created by this object (false when it existed). */
  get created(): boolean {
    return this.#setup?.created ?? false;
  }

  /** Accepts a record (see Queue.put). */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(this.what));
    const p = this.producer.put(record, signal);
    if (this.producer.blocked > 0) this.#schedulePoll();
    return p;
  }

  /** Waits until every accepted record is stored. Rejects when closed. */
  flush(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(this.what));
    return this.producer.flush();
  }

  /**
   * Counts `group`'s commits as those of a group joined here (lag, and the retained bytes when
   * bounded): a group whose consumers run elsewhere, e.g. on another thread of this process.
   */
  watch(group: string): void {
    this.#groups.add(group);
  }

  /** Joins a consumer group. */
  join(options: ConsumerOptions, fromBeginning: boolean): KafkaPullConsumer {
    if (this.#closed) throw new ClosedError(this.what);
    if (typeof options.group !== "string" || options.group === "") {
      throw new TypeError("consumer group must be a non-empty string");
    }
    if (typeof options.member !== "string") throw new TypeError("member must be a string");
    const group = options.group;
    this.#groups.add(group);
    const member = options.member === "" ? "member" : options.member;
    const consumer = new KafkaPullConsumer(
      this.client.consumer({
        group,
        member,
        sessionTimeoutMs: this.#r.sessionTimeoutMs,
        rebalanceTimeoutMs: this.#r.rebalanceTimeoutMs,
        heartbeatIntervalMs: this.#r.heartbeatIntervalMs,
        fetchMaxWaitMs: this.#r.fetchMaxWaitMs,
        fetchMaxBytes: this.#r.fetchMaxBytes,
        fetchMaxBytesPerPartition: this.#r.fetchMaxBytesPerPartition,
      }),
      {
        what: `consumer ${options.member} of ${this.what}`,
        topic: this.topic,
        group,
        member,
        fromBeginning,
        bufferBytes: this.#r.consumerBufferBytes,
        abandonAfterRecords: this.#r.abandonAfterRecords,
        rejoinWaitMs: this.#r.rebalanceTimeoutMs,
        ready: () => this.ready(),
        isFatal: (e) => hasName(e, "TopicMismatchError"),
        sink: this.client.sink,
        onDelivered: (partition, offset, bytes) =>
          this.#onDelivered(group, partition, offset, bytes),
        onCommitted: (partition, position) => this.#onCommitted(group, partition, position),
        onClosed: () => this.#consumers.delete(consumer),
      },
    );
    this.#consumers.add(consumer);
    return consumer;
  }

  /** Counters, retained bytes and lag (last known; see the module doc). */
  stats(): LogStats {
    this.#maybeRefresh();
    const lag: Record<string, number> = {};
    for (const g of this.#groups) lag[g] = this.#lag(g);
    return {
      recordsIn: this.producer.recordsStored,
      bytesIn: this.producer.bytesStored,
      recordsOut: this.#recordsOut,
      bytesOut: this.#bytesOut,
      redelivered: this.#redelivered,
      retainedBytes: this.producer.inflightBytes + this.#storedBytes,
      lag,
      blockedProducers: this.producer.blocked,
    };
  }

  /** Connection, errors and consumers, for status views. */
  status(): KafkaStatus {
    const s: KafkaStatus = {
      brokers: this.client.brokers,
      topic: this.topic,
      ready: this.#isReady,
      log: this.client.sink.summary(),
      producer: { requests: this.producer.requests, inflightBytes: this.producer.inflightBytes },
      consumers: [...this.#consumers].map((c) => c.status()),
    };
    if (this.producer.lastError !== undefined) s.producer.lastError = this.producer.lastError;
    const last = s.log.lastError;
    if (last !== undefined) s.lastError = `${last.message}${last.error ? `: ${last.error}` : ""}`;
    else if (this.#lastError !== undefined) s.lastError = this.#lastError;
    return s;
  }

  /**
   * Closes: blocked puts and pending drains reject with ClosedError; accepted records are
   * stored (up to closeTimeoutMs); consumers leave their groups; connections close.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    const consumers = [...this.#consumers];
    await Promise.all([
      this.producer.close(this.#r.closeTimeoutMs),
      ...consumers.map((c) => c.close()),
    ]);
    await this.#refreshing;
    const ready = this.#ready;
    if (ready !== undefined) await ready.catch(() => {});
    await this.#producerClient.disconnect().catch((e) =>
      this.#error("close", "producer disconnect", e)
    );
    await this.#admin.disconnect().catch((e) => this.#error("close", "admin disconnect", e));
  }

  #error(namespace: string, message: string, e: unknown): void {
    this.#lastError = message;
    this.client.sink.error(namespace, message, e);
  }

  #onStored(partition: number, offset: number, size: number): void {
    if (offset >= 0 && offset + 1 > this.#high[partition]!) this.#high[partition] = offset + 1;
    if (this.#core.maxRetainedBytes !== undefined && offset >= 0) {
      this.#stored[partition]!.push({ offset, size });
      this.#storedBytes += size;
      this.#trim(partition);
    }
  }

  #onDelivered(group: string, partition: number, offset: number, bytes: number): void {
    this.#recordsOut++;
    this.#bytesOut += bytes;
    let d = this.#delivered.get(group);
    if (d === undefined) {
      d = new Array<number>(this.partitions).fill(0);
      this.#delivered.set(group, d);
    }
    if (offset < d[partition]!) this.#redelivered++;
    else d[partition] = offset + 1;
  }

  #onCommitted(group: string, partition: number, position: number): void {
    this.#setCommitted(group, partition, position);
    if (this.#core.maxRetainedBytes !== undefined) {
      this.#trim(partition);
      this.producer.admit();
    }
  }

  #setCommitted(group: string, partition: number, position: number): void {
    let c = this.#committed.get(group);
    if (c === undefined) {
      c = new Array<number | undefined>(this.partitions).fill(undefined);
      this.#committed.set(group, c);
    }
    const prev = c[partition];
    if (prev === undefined || position > prev) c[partition] = position;
  }

  #lag(group: string): number {
    const c = this.#committed.get(group);
    let n = 0;
    for (let p = 0; p < this.partitions; p++) {
      const low = this.#low[p]!;
      const from = Math.max(c?.[p] ?? low, low);
      n += Math.max(0, this.#high[p]! - from);
    }
    return n;
  }

  /** Drops stored records that every known group has committed. */
  #trim(partition: number): void {
    if (this.#groups.size === 0) return;
    let min = Infinity;
    for (const g of this.#groups) {
      const c = this.#committed.get(g)?.[partition];
      min = Math.min(min, c ?? -1);
    }
    const q = this.#stored[partition]!;
    let n = 0;
    while (n < q.length && q[n]!.offset < min) {
      this.#storedBytes -= q[n]!.size;
      n++;
    }
    if (n > 0) q.splice(0, n);
  }

  #maybeRefresh(): void {
    if (this.#closed || !this.#isReady || this.#refreshing !== undefined) return;
    if (performance.now() - this.#lastRefresh < this.#r.lagRefreshMs) return;
    this.#refreshing = this.#refresh().finally(() => {
      this.#refreshing = undefined;
      this.#lastRefresh = performance.now();
    });
  }

  async #refresh(): Promise<void> {
    try {
      const offsets = await this.#admin.topicOffsets(this.topic);
      for (const o of offsets) {
        if (o.partition < 0 || o.partition >= this.partitions) continue;
        if (o.high > this.#high[o.partition]!) this.#high[o.partition] = o.high;
        this.#low[o.partition] = o.low;
      }
      for (const g of [...this.#groups]) {
        for (const o of await this.#admin.groupOffsets(g, this.topic)) {
          if (o.offset >= 0 && o.partition >= 0 && o.partition < this.partitions) {
            this.#setCommitted(g, o.partition, o.offset);
          }
        }
      }
      if (this.#core.maxRetainedBytes !== undefined) {
        for (let p = 0; p < this.partitions; p++) this.#trim(p);
        this.producer.admit();
      }
    } catch (e) {
      if (!this.#closed) this.#error("stats", `${this.what}: cannot read offsets`, e);
    }
  }

  /** While puts are blocked on the retained bound, polls the groups' commits. */
  #schedulePoll(): void {
    if (this.#core.maxRetainedBytes === undefined) return;
    if (this.#pollTimer !== undefined || this.#closed) return;
    this.#pollTimer = setTimeout(async () => {
      this.#pollTimer = undefined;
      if (this.#closed) return;
      if (this.#isReady && this.#refreshing === undefined) {
        this.#refreshing = this.#refresh().finally(() => {
          this.#refreshing = undefined;
          this.#lastRefresh = performance.now();
        });
        await this.#refreshing;
      }
      if (this.producer.blocked > 0) this.#schedulePoll();
    }, Math.max(100, Math.floor(this.#r.lagRefreshMs / 2)));
  }
}
