/**
 * The lines a service process prints while an endpoint does not answer: one when it starts
 * counting as unreachable (resources/common/endpoint_health.ts), naming the address, why and
 * what to check; again at most every `repeatMs` while it lasts, saying how long; one when it
 * answers again. Nothing else: the clients keep retrying underneath.
 *
 *   evochora service: persistence-1: waiting for broker 10.0.0.5:9092 (connection timed out
 *   after 3 s); still retrying — check KAFKA_BOOTSTRAP_SERVERS
 *
 * @module
 */

import {
  type EndpointHealth,
  type EndpointProblem,
  formatDuration,
} from "../resources/common/endpoint_health.ts";

/** Default interval between two lines about the same endpoint, ms. */
export const DEFAULT_REPEAT_MS = 30_000;

/** Options of {@link WaitingReport}. */
export interface WaitingReportOptions {
  /** Where the endpoints' problems are. */
  health: Pick<EndpointHealth, "problems" | "unanswered">;
  /** The services waiting, as the lines name them (e.g. `persistence-1`). */
  who: string;
  /** Prints one line. */
  log: (line: string) => void;
  /** Default {@link DEFAULT_REPEAT_MS}. */
  repeatMs?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

/** Prints the lines of the module doc; call {@link check} every second or so. */
export class WaitingReport {
  readonly #o: WaitingReportOptions;
  readonly #repeatMs: number;
  /** Endpoints reported, by kind and address: the problem and when it was last printed. */
  readonly #shown = new Map<string, { problem: EndpointProblem; printedAt: number }>();

  constructor(options: WaitingReportOptions) {
    this.#o = options;
    this.#repeatMs = options.repeatMs ?? DEFAULT_REPEAT_MS;
    if (!(this.#repeatMs > 0)) throw new RangeError(`repeatMs must be > 0, got ${this.#repeatMs}`);
  }

  /** Prints what changed since the last call. */
  check(): void {
    const now = (this.#o.now ?? Date.now)();
    const prefix = `evochora service: ${this.#o.who}:`;
    for (const p of this.#o.health.problems()) {
      const key = `${p.kind} ${p.address}`;
      const shown = this.#shown.get(key);
      if (shown === undefined) {
        this.#o.log(
          `${prefix} waiting for ${p.kind} ${p.address} (${p.reason}); still retrying — ${p.hint}`,
        );
        this.#shown.set(key, { problem: p, printedAt: now });
      } else if (now - shown.printedAt >= this.#repeatMs) {
        this.#o.log(
          `${prefix} still waiting for ${p.kind} ${p.address} after ${
            formatDuration(now - p.since)
          } (${p.reason}); ${p.hint}`,
        );
        this.#shown.set(key, { problem: p, printedAt: now });
      }
    }
    for (const [key, { problem: p }] of this.#shown) {
      if (this.#o.health.unanswered(p.kind, p.address)) continue;
      this.#o.log(
        `${prefix} ${p.kind} ${p.address} answers again after ${formatDuration(now - p.since)}`,
      );
      this.#shown.delete(key);
    }
  }
}
