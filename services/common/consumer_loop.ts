/**
 * The one consumer loop of the pipeline's services: drain -> handle -> (the handler commits),
 * until stopped, with one policy for a failing drain.
 *
 * Drain failure policy (every service the same): a drain that rejects with anything but
 * ClosedError (a broker restart, a rebalance storm, a topic that is not there yet) is reported
 * through `onDrainError`, shown in the service's status, and retried after a backoff that
 * starts at `retryBaseMs` and doubles up to `retryMaxMs`; it never fails the service. A
 * ClosedError or the stop signal ends the loop. Errors thrown by `handle` end the loop and
 * fail the service (they are the service's own bugs or decisions).
 *
 * @module
 */

import { ClosedError, type Consumer, type Delivery } from "../../resources/queue/queue.ts";

/** Waits `ms` or until `signal` is aborted; injectable for tests. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real clock's sleep. */
export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Options of {@link runConsumerLoop}. */
export interface ConsumerLoopOptions {
  consumer: Consumer;
  /** Aborted to stop (the service's lifecycle signal). */
  signal: AbortSignal;
  maxRecords: number;
  /** How long one drain waits for a first record, ms (a function: decided per drain). */
  drainTimeoutMs: number | (() => number);
  /** Handles one drain's deliveries, also none (so periodic work runs when idle). */
  handle(deliveries: Delivery[]): Promise<void>;
  /** Runs before each drain (e.g. a periodic storage catch-up). */
  beforeDrain?(): Promise<void>;
  /** A drain failed; the loop retries after a backoff (see the module doc). */
  onDrainError(message: string): void;
  /** First backoff after a failed drain, ms (default 100). */
  retryBaseMs?: number;
  /** Longest backoff, ms (default 5000). */
  retryMaxMs?: number;
  /** Runs once the loop ended, before the consumer is closed (drop work in hand). */
  onEnd?(): void;
  sleep?: Sleep;
}

/** Runs the loop; resolves when stopped or closed, rejects when `handle` throws. */
export async function runConsumerLoop(o: ConsumerLoopOptions): Promise<void> {
  const wait = o.sleep ?? sleep;
  const base = o.retryBaseMs ?? 100;
  const max = o.retryMaxMs ?? 5000;
  let failures = 0;
  try {
    while (!o.signal.aborted) {
      if (o.beforeDrain !== undefined) {
        await o.beforeDrain();
        if (o.signal.aborted) break;
      }
      let deliveries: Delivery[];
      try {
        const timeout = typeof o.drainTimeoutMs === "number"
          ? o.drainTimeoutMs
          : o.drainTimeoutMs();
        deliveries = await o.consumer.drain(o.maxRecords, timeout, o.signal);
        failures = 0;
      } catch (e) {
        if (e instanceof ClosedError || o.signal.aborted) break;
        failures++;
        o.onDrainError(`drain failed (attempt ${failures}): ${(e as Error)?.message ?? e}`);
        await wait(Math.min(max, base * 2 ** (failures - 1)), o.signal);
        continue;
      }
      await o.handle(deliveries);
    }
  } finally {
    o.onEnd?.();
    await o.consumer.close();
  }
}
