/**
 * Kafka connection settings: brokers from the options or the environment, SASL/TLS from
 * `KAFKA_*` variables (never from a config file), timeouts, retry and log settings, resolved
 * and checked once for the client (./client.ts).
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

import { readFileSync } from "node:fs";
import type { SASLOptions } from "kafkajs";
import { denoEnv, type EnvReader } from "../common/env_reader.ts";
import { parseBrokers } from "./brokers.ts";
import type { KafkaLogRecord } from "./logger.ts";
import { logSettings } from "./_stderr_log.ts";

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
  onLog?: (record: KafkaLogRecord) => void;
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

/**
 * Resolves connection settings from `options` and the environment (see the module doc).
 * Throws a RangeError naming what is missing or malformed.
 */
export function resolveConnection(
  options: KafkaConnectionOptions,
  env: EnvReader = denoEnv,
): ResolvedConnection {
  const { brokers, brokersSource } = resolveBrokers(options, env);
  const sasl = resolveSasl(env);
  const ssl = resolveSsl(env);
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
    ...logSettings(options.logLevel, env),
  };
}

/** The brokers of the options, else of `KAFKA_BOOTSTRAP_SERVERS`, else `REDPANDA_...`. */
function resolveBrokers(
  options: KafkaConnectionOptions,
  env: EnvReader,
): Pick<ResolvedConnection, "brokers" | "brokersSource"> {
  if (options.brokers !== undefined && options.brokers.length > 0) {
    return { brokers: parseBrokers(options.brokers, "brokers"), brokersSource: "brokers" };
  }
  const kafka = env("KAFKA_BOOTSTRAP_SERVERS");
  const redpanda = env("REDPANDA_BOOTSTRAP_SERVERS");
  if (kafka !== undefined && kafka.trim() !== "") {
    const brokersSource = "KAFKA_BOOTSTRAP_SERVERS";
    return { brokers: parseBrokers(kafka, brokersSource), brokersSource };
  }
  if (redpanda !== undefined && redpanda.trim() !== "") {
    const brokersSource = "REDPANDA_BOOTSTRAP_SERVERS";
    return { brokers: parseBrokers(redpanda, brokersSource), brokersSource };
  }
  throw new RangeError(
    "no Kafka brokers: set `brokers` in the config or KAFKA_BOOTSTRAP_SERVERS " +
      "(or REDPANDA_BOOTSTRAP_SERVERS) in the environment",
  );
}

/** SASL from `KAFKA_SASL_*`; undefined when no mechanism is set. */
function resolveSasl(env: EnvReader): SASLOptions | undefined {
  const mechanism = env("KAFKA_SASL_MECHANISM")?.trim().toLowerCase();
  if (mechanism === undefined || mechanism === "") return undefined;
  const username = env("KAFKA_SASL_USERNAME") ?? "";
  const password = env("KAFKA_SASL_PASSWORD") ?? "";
  if (username === "") {
    throw new RangeError(`KAFKA_SASL_MECHANISM is ${mechanism} but KAFKA_SASL_USERNAME is unset`);
  }
  if (mechanism === "plain") return { mechanism: "plain", username, password };
  if (mechanism === "scram-sha-256") return { mechanism: "scram-sha-256", username, password };
  if (mechanism === "scram-sha-512") return { mechanism: "scram-sha-512", username, password };
  throw new RangeError(
    `KAFKA_SASL_MECHANISM "${mechanism}" is not supported; allowed: plain, scram-sha-256, ` +
      "scram-sha-512",
  );
}

/** TLS from `KAFKA_SSL*`; false when `KAFKA_SSL` is not set to a true value. */
function resolveSsl(env: EnvReader): ResolvedConnection["ssl"] {
  if (!truthy(env("KAFKA_SSL"))) return false;
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
  return Object.keys(tls).length > 0 ? tls : true;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}
