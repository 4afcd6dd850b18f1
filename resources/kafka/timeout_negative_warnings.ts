/**
 * A filter for one harmless process warning that kafkajs causes (see
 * {@link dropTimeoutNegativeWarnings}). Like ./request_queue_timers.ts, a process-wide patch
 * that createKafkaClient installs.
 *
 * @module
 */

import process from "node:process";

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
