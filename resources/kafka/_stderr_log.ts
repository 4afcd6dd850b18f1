/**
 * `EVOCHORA_KAFKA_LOG`: the client's log printed to stderr at a chosen level, for
 * troubleshooting a deployment (see ./connection.ts for the variable, ./client.ts for its use).
 *
 * @module
 */

import type { EnvReader } from "../common/env_reader.ts";
import type { KafkaLogRecord } from "./logger.ts";

const LOG_RANK = { nothing: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;

/** A log level name, as the options and `EVOCHORA_KAFKA_LOG` give it. */
export type LogLevelName = keyof typeof LOG_RANK;

/**
 * The level kept and whether entries are printed: `EVOCHORA_KAFKA_LOG` when set (a bad value
 * throws a RangeError), else `configured` (default warn), unprinted.
 */
export function logSettings(
  configured: LogLevelName | undefined,
  env: EnvReader,
): { logLevel: LogLevelName; printLog: boolean } {
  const printed = env("EVOCHORA_KAFKA_LOG")?.trim().toLowerCase();
  if (printed === undefined || printed === "") {
    return { logLevel: configured ?? "warn", printLog: false };
  }
  if (!Object.hasOwn(LOG_RANK, printed)) {
    throw new RangeError(
      `EVOCHORA_KAFKA_LOG="${printed}": not a log level; use error, warn, info or debug`,
    );
  }
  return { logLevel: printed as LogLevelName, printLog: printed !== "nothing" };
}

/** Prints entries at or above `level` to stderr, one line each (for `EVOCHORA_KAFKA_LOG`). */
export function logPrinter(level: LogLevelName): (r: KafkaLogRecord) => void {
  return (r) => {
    if (LOG_RANK[r.level] > LOG_RANK[level]) return;
    const where = r.broker === undefined ? "" : ` [${r.broker}]`;
    const error = r.error === undefined ? "" : `: ${r.error}`;
    console.error(`kafka ${r.time} ${r.level} ${r.namespace}${where}: ${r.message}${error}`);
  };
}
