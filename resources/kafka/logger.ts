/**
 * A quiet home for kafkajs' log output. kafkajs logs through a `logCreator`; by default it
 * prints JSON lines to the console, which would spam a status-line UI. The sink counts errors
 * and warnings and keeps the last few, so that a status view can show them (`status()`), and
 * forwards entries to an optional callback. Nothing is printed.
 *
 * @module
 */

import { logLevel as KafkaLogLevel } from "kafkajs";
import type { logCreator, LogEntry } from "kafkajs";

/** One kept log entry. */
export interface KafkaLogRecord {
  /** ISO time of the entry. */
  readonly time: string;
  readonly level: "error" | "warn" | "info" | "debug";
  /** kafkajs' namespace, e.g. `Connection`, `Consumer`. */
  readonly namespace: string;
  readonly message: string;
  /** The `error` field kafkajs attaches, when there is one. */
  readonly error?: string;
  /** The broker the entry is about, when kafkajs names one. */
  readonly broker?: string;
}

/** What a sink has seen: counts and the latest entries. */
export interface KafkaLogSummary {
  errors: number;
  warnings: number;
  /** The newest error, if any. */
  lastError?: KafkaLogRecord;
  /** The newest warning, if any. */
  lastWarning?: KafkaLogRecord;
  /** The last few errors and warnings, oldest first. */
  recent: KafkaLogRecord[];
}

const LEVELS: Record<number, KafkaLogRecord["level"]> = {
  [KafkaLogLevel.ERROR]: "error",
  [KafkaLogLevel.WARN]: "warn",
  [KafkaLogLevel.INFO]: "info",
  [KafkaLogLevel.DEBUG]: "debug",
};

/**
 * kafkajs messages that are expected with our settings and carry no news: the idempotent
 * producer runs with bounded retries on purpose (a put() fails after producerRetries instead
 * of hanging forever while the broker is gone).
 */
const EXPECTED = new Set([
  "Limiting retries for the idempotent producer may invalidate EoS guarantees",
]);

/** Collects kafkajs log entries without printing them. */
export class KafkaLogSink {
  #errors = 0;
  #warnings = 0;
  #lastError: KafkaLogRecord | undefined;
  #lastWarning: KafkaLogRecord | undefined;
  readonly #recent: KafkaLogRecord[] = [];
  readonly #keep: number;
  readonly #onLog: ((record: KafkaLogRecord) => void) | undefined;

  /**
   * @param options.keep how many recent errors and warnings to keep (default 20)
   * @param options.onLog called with every entry at or above the client's log level
   */
  constructor(options: { keep?: number; onLog?: (record: KafkaLogRecord) => void } = {}) {
    this.#keep = options.keep ?? 20;
    this.#onLog = options.onLog;
  }

  /** Records one entry (also used by our own code for errors that are not kafkajs'). */
  add(record: KafkaLogRecord): void {
    if (EXPECTED.has(record.message)) return;
    if (record.level === "error") {
      this.#errors++;
      this.#lastError = record;
    } else if (record.level === "warn") {
      this.#warnings++;
      this.#lastWarning = record;
    }
    if (record.level === "error" || record.level === "warn") {
      this.#recent.push(record);
      if (this.#recent.length > this.#keep) this.#recent.shift();
    }
    try {
      this.#onLog?.(record);
    } catch {
      // A broken callback must not break the client.
    }
  }

  /** Records an error of our own (`namespace` names where it happened). */
  error(namespace: string, message: string, error?: unknown): void {
    const rec: { -readonly [K in keyof KafkaLogRecord]: KafkaLogRecord[K] } = {
      time: new Date().toISOString(),
      level: "error",
      namespace,
      message,
    };
    if (error !== undefined) rec.error = error instanceof Error ? error.message : String(error);
    this.add(rec);
  }

  /**
   * Records a notable event of our own (a group join, a crash, a pause) at info level: not
   * counted or kept, only forwarded to the `onLog` callback (printed with EVOCHORA_KAFKA_LOG).
   */
  info(namespace: string, message: string): void {
    this.add({ time: new Date().toISOString(), level: "info", namespace, message });
  }

  /** Counts and latest entries. */
  summary(): KafkaLogSummary {
    const out: KafkaLogSummary = {
      errors: this.#errors,
      warnings: this.#warnings,
      recent: [...this.#recent],
    };
    if (this.#lastError) out.lastError = this.#lastError;
    if (this.#lastWarning) out.lastWarning = this.#lastWarning;
    return out;
  }

  /** The kafkajs `logCreator` that feeds this sink. */
  logCreator(): logCreator {
    return () => (entry: LogEntry) => this.add(toRecord(entry));
  }
}

/** Converts a kafkajs entry to a record. */
export function toRecord(entry: LogEntry): KafkaLogRecord {
  const log = entry.log;
  const rec: { -readonly [K in keyof KafkaLogRecord]: KafkaLogRecord[K] } = {
    time: typeof log.timestamp === "string" ? log.timestamp : new Date().toISOString(),
    level: LEVELS[entry.level] ?? "info",
    namespace: entry.namespace,
    message: String(log.message),
  };
  const error: unknown = log["error"];
  if (error !== undefined && error !== null) {
    rec.error = error instanceof Error ? error.message : String(error);
  }
  const broker: unknown = log["broker"];
  if (typeof broker === "string") rec.broker = broker;
  return rec;
}

/** Parses a log level name (`nothing`, `error`, `warn`, `info`, `debug`) for kafkajs. */
export function parseLogLevel(name: string): KafkaLogLevel {
  switch (name.toLowerCase()) {
    case "nothing":
      return KafkaLogLevel.NOTHING;
    case "error":
      return KafkaLogLevel.ERROR;
    case "warn":
      return KafkaLogLevel.WARN;
    case "info":
      return KafkaLogLevel.INFO;
    case "debug":
      return KafkaLogLevel.DEBUG;
    default:
      throw new RangeError(
        `unknown Kafka log level "${name}"; allowed: nothing, error, warn, info, debug`,
      );
  }
}
