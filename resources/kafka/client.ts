/**
 * The Kafka client shared by KafkaQueue and KafkaTopic: `createKafkaClient` makes producers,
 * consumers and admins on kafkajs, configured from the resolved connection settings
 * (./connection.ts) and seen through the narrow interfaces of ./client_interfaces.ts (the
 * translation is in ./_kafkajs_adapters.ts). It re-exports their names, and those of the
 * helpers it installs, for the importers that take all of the client from this module.
 *
 * @module
 */

import {
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  logLevel as KafkaLogLevel,
  Partitioners,
  type RetryOptions,
} from "kafkajs";
import { type EndpointHealth, endpointHealth } from "../common/endpoint_health.ts";
import { denoEnv, type EnvReader } from "../common/env_reader.ts";
import { adminClient, consumerClient, producerClient } from "./_kafkajs_adapters.ts";
import { logPrinter } from "./_stderr_log.ts";
import type {
  AdminClient,
  ConsumerClient,
  ConsumerClientOptions,
  KafkaClient,
  ProducerClient,
  ProducerClientOptions,
} from "./client_interfaces.ts";
import {
  type KafkaConnectionOptions,
  resolveConnection,
  type ResolvedConnection,
} from "./connection.ts";
import { KafkaLogSink } from "./logger.ts";
import { stopIdleRequestQueueTimers } from "./request_queue_timers.ts";
import { dropTimeoutNegativeWarnings } from "./timeout_negative_warnings.ts";
import { watchedSocketFactory } from "./watched_socket.ts";
import { registerZstdCodec } from "./zstd_codec.ts";

export { parseBrokers } from "./brokers.ts";
export { denoEnv, type EnvReader } from "../common/env_reader.ts";
export {
  type KafkaConnectionOptions,
  resolveConnection,
  type ResolvedConnection,
} from "./connection.ts";
export type {
  AdminClient,
  ConsumerClient,
  ConsumerClientOptions,
  FetchedBatch,
  FetchedMessage,
  KafkaClient,
  OutgoingMessage,
  PartitionOffsets,
  ProducedPartition,
  ProducerClient,
  ProducerClientOptions,
  TopicSpec,
} from "./client_interfaces.ts";
export { dropTimeoutNegativeWarnings } from "./timeout_negative_warnings.ts";

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
    return producerClient(p, options.ackTimeoutMs);
  }

  consumer(options: ConsumerClientOptions): ConsumerClient {
    const c = this.#kafka(`${this.#conn.clientId}-${options.member}`).consumer({
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
    return consumerClient(c);
  }

  admin(): AdminClient {
    const a = this.#kafka(`${this.#conn.clientId}-admin`).admin({
      retry: retryOptions(this.#conn, 10),
    });
    a.on(a.events.REQUEST, this.#answered);
    return adminClient(a);
  }
}
