/**
 * Publishes this process's heartbeat (heartbeat.ts) on the status topic every interval: one
 * publisher per process, started by the runner beside the services it runs, so that every
 * process of a deployment, on any host, shows up in the cluster status.
 *
 * @module
 */

import type { Topic } from "../../resources/topic/topic.ts";
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  encodeHeartbeat,
  type Heartbeat,
  HEARTBEAT_VERSION,
  heartbeatService,
  processKey,
} from "./heartbeat.ts";
import type { ServiceStatus } from "./service.ts";

/** Options of a {@link HeartbeatPublisher}. */
export interface HeartbeatPublisherOptions {
  /** The status topic. */
  topic: Topic;
  /** The current status of the services this process runs. */
  services: () => ServiceStatus[];
  /** Interval between beats, ms. Default 2000. */
  intervalMs?: number;
  /** Host name; default Deno.hostname(). */
  host?: string;
  /** Process id; default Deno.pid. */
  pid?: number;
  /** Process start, ms since the epoch; default performance.timeOrigin. */
  startedAt?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Where a failing publish is reported (once per failing streak). Default console.error. */
  log?: (message: string) => void;
}

/** Counters of a publisher. */
export interface HeartbeatPublisherStats {
  sent: number;
  failed: number;
  lastError: string | null;
}

/**
 * The beats of this process, counted over all its publishers: a process may publish under one
 * identity first while it waits for its services' endpoints, then through its pipeline, and
 * readers keep a process's beat of the highest count.
 */
let processSeq = 0;

/** Sends a heartbeat now and every interval until stopped; see the module doc. */
export class HeartbeatPublisher {
  readonly #o: HeartbeatPublisherOptions;
  readonly intervalMs: number;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The beat being sent: beats do not overlap (a slow broker skips ticks instead). */
  #inFlight: Promise<void> | undefined;
  readonly #stats: HeartbeatPublisherStats = { sent: 0, failed: 0, lastError: null };

  constructor(options: HeartbeatPublisherOptions) {
    this.#o = options;
    this.intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 10) {
      throw new RangeError(`Heartbeat intervalMs must be an integer >= 10, got ${this.intervalMs}`);
    }
    this.host = options.host ?? Deno.hostname();
    this.pid = options.pid ?? Deno.pid;
    this.startedAt = Math.round(options.startedAt ?? performance.timeOrigin);
  }

  /** This process's identity, as collectors key it. */
  get key(): string {
    return processKey(this);
  }

  /** Sends the first beat and schedules the others. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.beat(), this.intervalMs);
    void this.beat();
  }

  /**
   * Stops beating after one last beat (so the final states, e.g. `stopped`, are seen at once),
   * waiting for it. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    await this.#send();
  }

  /** Sends one beat unless one is in flight; resolves when it was sent or failed. */
  beat(): Promise<void> {
    if (this.#inFlight !== undefined) return this.#inFlight;
    this.#inFlight = this.#send().finally(() => this.#inFlight = undefined);
    return this.#inFlight;
  }

  /** Beats sent and failed, and the last failure. */
  stats(): HeartbeatPublisherStats {
    return { ...this.#stats };
  }

  async #send(): Promise<void> {
    const beat: Heartbeat = {
      v: HEARTBEAT_VERSION,
      host: this.host,
      pid: this.pid,
      startedAt: this.startedAt,
      seq: ++processSeq,
      sentAt: (this.#o.now ?? Date.now)(),
      intervalMs: this.intervalMs,
      services: this.#o.services().map(heartbeatService),
    };
    try {
      await this.#o.topic.publish({ key: this.key, value: encodeHeartbeat(beat) });
      if (this.#stats.lastError !== null) {
        (this.#o.log ?? console.error)(`Heartbeats on '${this.#o.topic.name}' are sent again`);
      }
      this.#stats.sent++;
      this.#stats.lastError = null;
    } catch (e) {
      this.#stats.failed++;
      const first = this.#stats.lastError === null;
      this.#stats.lastError = (e as Error).message;
      if (first) {
        (this.#o.log ?? console.error)(
          `Cannot publish the heartbeat of ${this.key} on status topic '${this.#o.topic.name}': ` +
            `${this.#stats.lastError}; this process shows as lost until it succeeds`,
        );
      }
    }
  }
}
