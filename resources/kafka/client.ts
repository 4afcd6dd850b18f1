/**
 * The Kafka client layer shared by KafkaQueue and KafkaTopic: connection settings (brokers from
 * the options or the environment, SASL/TLS from `KAFKA_*` variables, never from a config
 * file), retry settings, and narrow interfaces over kafkajs' producer, consumer and admin
 * (`ProducerClient`, `ConsumerClient`, `AdminClient`) so that the adapters above them can be
 * unit-tested with fakes. `createKafkaClient` implements them with kafkajs.
 *
 * Environment:
 * - `KAFKA_BOOTSTRAP_SERVERS`, else `REDPANDA_BOOTSTRAP_SERVERS`: comma-separated host:port
 *   list, used when the options name no brokers;
 * - `KAFKA_SASL_MECHANISM` (`plain`, `scram-sha-256`, `scram-sha-512`), `KAFKA_SASL_USERNAME`,
 *   `KAFKA_SASL_PASSWORD`: SASL authentication when the mechanism is set;
 * - `KAFKA_SSL` (`true`/`1`): TLS; `KAFKA_SSL_CA_FILE`: a PEM file of CAs to trust;
 *   `KAFKA_SSL_REJECT_UNAUTHORIZED=false`: accept any certificate (tests only).
 * - `EVOCHORA_KAFKA_LOG` (`error`, `warn`, `info`, `debug`): print the client's log at that
 *   level to stderr, one line per entry (group joins with their partitions, consumer crashes
 *   and restarts, pauses), for troubleshooting a deployment; nothing is printed otherwise.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import process from "node:process";
import {
  CompressionTypes,
  ConfigResourceTypes,
  type Consumer as KafkajsConsumer,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  logLevel as KafkaLogLevel,
  Partitioners,
  type RetryOptions,
  type SASLOptions,
} from "kafkajs";
import { type EndpointHealth, endpointHealth } from "../common/endpoint_health.ts";
import { type KafkaLogRecord, KafkaLogSink } from "./logger.ts";
import { watchedSocketFactory } from "./watched_socket.ts";
import { registerZstdCodec } from "./zstd_codec.ts";
import { stopIdleRequestQueueTimers } from "./request_queue_timers.ts";
import { parseBrokers } from "./brokers.ts";
import { denoEnv, type EnvReader } from "../common/env_reader.ts";

export { parseBrokers } from "./brokers.ts";
export { denoEnv, type EnvReader } from "../common/env_reader.ts";

/** Connection options shared by the Kafka queue and topic. */
export interface KafkaConnectionOptions {
  /**
   * Bootstrap brokers (`host:port`, an array or a comma-separated string). Default: env
   * `KAFKA_BOOTSTRAP_SERVERS`, else `REDPANDA_BOOTSTRAP_SERVERS`.
   */
  brokers?: string[] | string;
  /** Client id sent to the brokers (default `evochora`); consumers append their member name. */
  clientId?: string;
  /** Connect timeout per broker, ms (default 3000). */
  connectionTimeoutMs?: number;
  /** Request timeout, ms (default 30000). */
  requestTimeoutMs?: number;
  /**
   * Longest wait between two retries, ms (default 10000). Retries back off exponentially from
   * 300 ms. Connect and admin requests retry 10 times (about a minute), the producer
   * `producerRetries` times, and consumers restart after a crash for as long as they are open,
   * so a broker restart only delays them.
   */
  retryMaxMs?: number;
  /** Retries of one produce request before its put() fails (default 30: about 5 minutes). */
  producerRetries?: number;
  /** kafkajs log level kept by the sink: nothing, error, warn (default), info, debug. */
  logLevel?: "nothing" | "error" | "warn" | "info" | "debug";
  /** Receives every kept kafkajs log entry (nothing is printed otherwise). */
  onLog?: (record: import("./logger.ts").KafkaLogRecord) => void;
}

/** Resolved connection settings (what createKafkaClient uses). */
export interface ResolvedConnection {
  brokers: string[];
  /** Where the brokers came from, for messages: `KAFKA_BOOTSTRAP_SERVERS`, `brokers`, ... */
  brokersSource: string;
  clientId: string;
  ssl: boolean | { ca?: string[]; rejectUnauthorized?: boolean };
  sasl: SASLOptions | undefined;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retryMaxMs: number;
  producerRetries: number;
  logLevel: NonNullable<KafkaConnectionOptions["logLevel"]>;
  /** Whether log entries are printed to stderr (`EVOCHORA_KAFKA_LOG`). */
  printLog: boolean;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/**
 * Resolves connection settings from `options` and the environment (see the module doc).
 * Throws a RangeError naming what is missing or malformed.
 */
export function resolveConnection(
  options: KafkaConnectionOptions,
  env: EnvReader = denoEnv,
): ResolvedConnection {
  let brokers: string[];
  let brokersSource: string;
  if (options.brokers !== undefined && options.brokers.length > 0) {
    brokersSource = "brokers";
    brokers = parseBrokers(options.brokers, brokersSource);
  } else {
    const kafka = env("KAFKA_BOOTSTRAP_SERVERS");
    const redpanda = env("REDPANDA_BOOTSTRAP_SERVERS");
    if (kafka !== undefined && kafka.trim() !== "") {
      brokersSource = "KAFKA_BOOTSTRAP_SERVERS";
      brokers = parseBrokers(kafka, brokersSource);
    } else if (redpanda !== undefined && redpanda.trim() !== "") {
      brokersSource = "REDPANDA_BOOTSTRAP_SERVERS";
      brokers = parseBrokers(redpanda, brokersSource);
    } else {
      throw new RangeError(
        "no Kafka brokers: set `brokers` in the config or KAFKA_BOOTSTRAP_SERVERS " +
          "(or REDPANDA_BOOTSTRAP_SERVERS) in the environment",
      );
    }
  }

  let sasl: SASLOptions | undefined;
  const mechanism = env("KAFKA_SASL_MECHANISM")?.trim().toLowerCase();
  if (mechanism !== undefined && mechanism !== "") {
    const username = env("KAFKA_SASL_USERNAME") ?? "";
    const password = env("KAFKA_SASL_PASSWORD") ?? "";
    if (username === "") {
      throw new RangeError(`KAFKA_SASL_MECHANISM is ${mechanism} but KAFKA_SASL_USERNAME is unset`);
    }
    if (mechanism === "plain") sasl = { mechanism: "plain", username, password };
    else if (mechanism === "scram-sha-256") {
      sasl = { mechanism: "scram-sha-256", username, password };
    } else if (mechanism === "scram-sha-512") {
      sasl = { mechanism: "scram-sha-512", username, password };
    } else {
      throw new RangeError(
        `KAFKA_SASL_MECHANISM "${mechanism}" is not supported; allowed: plain, scram-sha-256, ` +
          "scram-sha-512",
      );
    }
  }

  let ssl: ResolvedConnection["ssl"] = false;
  if (truthy(env("KAFKA_SSL"))) {
    const tls: { ca?: string[]; rejectUnauthorized?: boolean } = {};
    const caFile = env("KAFKA_SSL_CA_FILE");
    if (caFile !== undefined && caFile !== "") {
      try {
        tls.ca = [readFileSync(caFile, "utf8")];
      } catch (e) {
        throw new RangeError(`KAFKA_SSL_CA_FILE ${caFile}: ${(e as Error).message}`);
      }
    }
    if (env("KAFKA_SSL_REJECT_UNAUTHORIZED")?.trim().toLowerCase() === "false") {
      tls.rejectUnauthorized = false;
    }
    ssl = Object.keys(tls).length > 0 ? tls : true;
  }

  const positive = (v: number | undefined, d: number, name: string): number => {
    const n = v ?? d;
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be > 0, got ${n}`);
    return n;
  };
  const producerRetries = options.producerRetries ?? 30;
  if (!Number.isInteger(producerRetries) || producerRetries < 1) {
    throw new RangeError(`producerRetries must be an integer >= 1, got ${producerRetries}`);
  }
  return {
    brokers,
    brokersSource,
    clientId: options.clientId ?? "evochora",
    ssl,
    sasl,
    connectionTimeoutMs: positive(options.connectionTimeoutMs, 3000, "connectionTimeoutMs"),
    requestTimeoutMs: positive(options.requestTimeoutMs, 30000, "requestTimeoutMs"),
    retryMaxMs: positive(options.retryMaxMs, 10000, "retryMaxMs"),
    producerRetries,
    ...logSettings(options, env),
  };
}

const LOG_RANK = { nothing: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;

function logSettings(
  options: KafkaConnectionOptions,
  env: EnvReader,
): Pick<ResolvedConnection, "logLevel" | "printLog"> {
  const printed = env("EVOCHORA_KAFKA_LOG")?.trim().toLowerCase();
  if (printed === undefined || printed === "") {
    return { logLevel: options.logLevel ?? "warn", printLog: false };
  }
  if (!Object.hasOwn(LOG_RANK, printed)) {
    throw new RangeError(
      `EVOCHORA_KAFKA_LOG="${printed}": not a log level; use error, warn, info or debug`,
    );
  }
  return { logLevel: printed as ResolvedConnection["logLevel"], printLog: printed !== "nothing" };
}

/** Prints entries at or above `level` to stderr, one line each (for `EVOCHORA_KAFKA_LOG`). */
function logPrinter(level: ResolvedConnection["logLevel"]): (r: KafkaLogRecord) => void {
  return (r) => {
    if (LOG_RANK[r.level] > LOG_RANK[level]) return;
    const where = r.broker === undefined ? "" : ` [${r.broker}]`;
    const error = r.error === undefined ? "" : `: ${r.error}`;
    console.error(`kafka ${r.time} ${r.level} ${r.namespace}${where}: ${r.message}${error}`);
  };
}

// ---------------------------------------------------------------------------------------------
// Narrow client interfaces (what the adapters use of kafkajs)

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

// ---------------------------------------------------------------------------------------------
// kafkajs implementation

/** Options of createKafkaClient. */
export interface CreateKafkaClientOptions extends KafkaConnectionOptions {
  /** Sink for kafkajs' logs (default: a new one using `onLog`). */
  sink?: KafkaLogSink;
  /** Environment reader (default Deno.env, tolerant of a missing permission). */
  env?: EnvReader;
  /** Where the brokers' connection failures and answers go (default: the process's). */
  health?: EndpointHealth;
}

const LOG_LEVELS: Record<ResolvedConnection["logLevel"], KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

let warningFilterInstalled = false;

/**
 * kafkajs' request queue arms a timer with a negative delay (`throttledUntil - Date.now()`
 * while unthrottled), and Deno's node compatibility, like Node 23+, prints a
 * TimeoutNegativeWarning to stderr for it (the delay is clamped to 1 ms: harmless). This wraps
 * the process' `warning` listeners so that this one warning is dropped; every other warning
 * is printed as before. Installed once, by the first createKafkaClient.
 */
export function dropTimeoutNegativeWarnings(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const listeners = process.listeners("warning");
  process.removeAllListeners("warning");
  for (const l of listeners) {
    process.on("warning", (w: Error) => {
      if (w?.name !== "TimeoutNegativeWarning") l(w);
    });
  }
}

/** Creates a KafkaClient on kafkajs (nothing connects until a client's connect()). */
export function createKafkaClient(options: CreateKafkaClientOptions = {}): KafkaClient {
  dropTimeoutNegativeWarnings();
  stopIdleRequestQueueTimers();
  const conn = resolveConnection(options, options.env ?? denoEnv);
  const sinkOptions: ConstructorParameters<typeof KafkaLogSink>[0] = {};
  if (options.onLog) sinkOptions.onLog = options.onLog;
  else if (conn.printLog) sinkOptions.onLog = logPrinter(conn.logLevel);
  const sink = options.sink ?? new KafkaLogSink(sinkOptions);
  return new KafkajsClient(conn, sink, options.health ?? endpointHealth);
}

/** Retry settings: exponential from 300 ms, capped at retryMaxMs. */
function retryOptions(conn: ResolvedConnection, retries: number): RetryOptions {
  return {
    initialRetryTime: 300,
    maxRetryTime: conn.retryMaxMs,
    retries,
    factor: 0.2,
    multiplier: 2,
  };
}

class KafkajsClient implements KafkaClient {
  readonly brokers: readonly string[];
  readonly sink: KafkaLogSink;
  readonly #conn: ResolvedConnection;
  readonly #socketFactory: ISocketFactory;
  readonly #health: EndpointHealth;

  constructor(conn: ResolvedConnection, sink: KafkaLogSink, health: EndpointHealth) {
    this.#conn = conn;
    this.#health = health;
    this.brokers = conn.brokers;
    this.sink = sink;
    this.#socketFactory = watchedSocketFactory({
      health,
      connectionTimeoutMs: conn.connectionTimeoutMs,
      hint: (address) =>
        conn.brokers.includes(address)
          ? `check ${conn.brokersSource}`
          : "the cluster advertises this address (advertised.listeners): it must be reachable " +
            `from this host, and listed in ${conn.brokersSource} for a service process to be ` +
            "allowed to connect to it",
    });
  }

  #kafka(clientId: string): Kafka {
    const c = this.#conn;
    const config: KafkaConfig = {
      brokers: [...c.brokers],
      clientId,
      connectionTimeout: c.connectionTimeoutMs,
      requestTimeout: c.requestTimeoutMs,
      retry: retryOptions(c, 10),
      logLevel: LOG_LEVELS[c.logLevel],
      logCreator: this.sink.logCreator(),
      socketFactory: this.#socketFactory,
    };
    if (c.ssl !== false) config.ssl = c.ssl;
    if (c.sasl !== undefined) config.sasl = c.sasl;
    return new Kafka(config);
  }

  /** A broker answered a request: it is reachable (failures: see watched_socket.ts). */
  readonly #answered = (e: { payload: { broker: string } }): void =>
    this.#health.answered("broker", e.payload.broker);

  producer(options: ProducerClientOptions): ProducerClient {
    registerZstdCodec(options.zstdLevel);
    const p = this.#kafka(this.#conn.clientId).producer({
      idempotent: options.idempotent,
      // kafkajs' idempotent producer keeps order only with one request in flight.
      maxInFlightRequests: options.idempotent ? 1 : 5,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: retryOptions(this.#conn, this.#conn.producerRetries),
    });
    p.on(p.events.REQUEST, this.#answered);
    return {
      connect: () => p.connect(),
      disconnect: () => p.disconnect(),
      async send(topic, messages, compression) {
        const res = await p.send({
          topic,
          acks: -1,
          timeout: options.ackTimeoutMs,
          compression: compression === "zstd" ? CompressionTypes.ZSTD : CompressionTypes.None,
          messages: messages.map((m) => ({
            partition: m.partition,
            key: m.key,
            value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
            headers: m.headers,
          })),
        });
        return res.map((r) => ({
          partition: r.partition,
          baseOffset: Number(r.baseOffset ?? r.offset ?? -1),
        }));
      },
    };
  }

  consumer(options: ConsumerClientOptions): ConsumerClient {
    const c: KafkajsConsumer = this.#kafka(`${this.#conn.clientId}-${options.member}`).consumer({
      groupId: options.group,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      maxBytes: options.fetchMaxBytes,
      maxBytesPerPartition: options.fetchMaxBytesPerPartition,
      allowAutoTopicCreation: false,
      retry: {
        ...retryOptions(this.#conn, 10),
        // Retriable crashes (broker gone, coordinator moved) restart the consumer for as long
        // as it is open; its owner closes it to stop.
        restartOnFailure: () => Promise.resolve(true),
      },
    });
    c.on(c.events.REQUEST, this.#answered);
    return {
      connect: () => c.connect(),
      disconnect: () => c.disconnect(),
      subscribe: (topic, fromBeginning) => c.subscribe({ topics: [topic], fromBeginning }),
      run: (eachBatch) =>
        c.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: ({ batch, resolveOffset }) => eachBatch(batch, resolveOffset),
        }),
      async commit(topic, offsets) {
        // kafkajs resolves commitOffsets without committing anything while its fetch loop is
        // stopping (a crash, a restart): only a COMMIT_OFFSETS event proves the commit.
        let committed = false;
        const off = c.on(c.events.COMMIT_OFFSETS, () => {
          committed = true;
        });
        try {
          await c.commitOffsets(
            offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })),
          );
        } finally {
          off();
        }
        if (!committed) {
          throw Object.assign(
            new Error("the consumer is not running (restarting after an error); nothing committed"),
            { type: "CONSUMER_NOT_RUNNING" },
          );
        }
      },
      seek: (topic, partition, offset) => c.seek({ topic, partition, offset: String(offset) }),
      pause: (topic, partitions) => c.pause([{ topic, partitions: [...partitions] }]),
      resume: (topic, partitions) => c.resume([{ topic, partitions: [...partitions] }]),
      onGroupJoin: (listener) => {
        c.on(c.events.GROUP_JOIN, (e) => {
          const a: Record<string, number[]> = {};
          for (const [t, ps] of Object.entries(e.payload.memberAssignment)) a[t] = [...ps];
          listener(e.payload.memberId, a);
        });
      },
      onRebalancing: (listener) => {
        c.on(c.events.REBALANCING, () => listener());
      },
      onCrash: (listener) => {
        c.on(c.events.CRASH, (e) => listener(e.payload.error, e.payload.restart));
      },
    };
  }

  admin(): AdminClient {
    const a = this.#kafka(`${this.#conn.clientId}-admin`).admin({
      retry: retryOptions(this.#conn, 10),
    });
    a.on(a.events.REQUEST, this.#answered);
    return {
      connect: () => a.connect(),
      disconnect: () => a.disconnect(),
      listTopics: () => a.listTopics(),
      async partitionCount(topic) {
        const md = await a.fetchTopicMetadata({ topics: [topic] });
        const t = md.topics.find((x) => x.name === topic);
        if (t === undefined) {
          throw Object.assign(new Error(`topic ${topic} has no metadata yet`), {
            type: "UNKNOWN_TOPIC_OR_PARTITION",
          });
        }
        if (t.partitions.some((p) => p.leader < 0)) {
          throw Object.assign(new Error(`topic ${topic} has partitions without a leader`), {
            type: "LEADER_NOT_AVAILABLE",
          });
        }
        return t.partitions.length;
      },
      createTopic: (spec) =>
        a.createTopics({
          // ensureTopic waits for the leaders itself: kafkajs' wait gives up on the
          // UNKNOWN_TOPIC_OR_PARTITION a KRaft broker answers while the topic propagates.
          waitForLeaders: false,
          topics: [{
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor,
            configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
          }],
        }),
      async topicConfig(topic, names) {
        const res = await a.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
        });
        const out: Record<string, string> = {};
        for (const r of res.resources) {
          for (const e of r.configEntries) out[e.configName] = e.configValue;
        }
        return out;
      },
      deleteTopics: (topics) => a.deleteTopics({ topics: [...topics] }),
      async topicOffsets(topic) {
        const res = await a.fetchTopicOffsets(topic);
        return res.map((r) => ({
          partition: r.partition,
          low: Number(r.low),
          high: Number(r.high),
        }));
      },
      async groupOffsets(group, topic) {
        const res = await a.fetchOffsets({ groupId: group, topics: [topic] });
        const t = res.find((x) => x.topic === topic);
        return (t?.partitions ?? []).map((p) => ({
          partition: p.partition,
          offset: Number(p.offset),
        }));
      },
    };
  }
}
