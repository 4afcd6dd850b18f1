/**
 * The cluster status: the latest heartbeat (heartbeat.ts) of every service of a deployment,
 * keyed by service name and process identity (host, pid, start time). A service whose process
 * has not beaten for `lostAfterMs` is `lost` (unless it reported `stopped`: a clean exit is not
 * lost); one silent for `dropAfterMs` is forgotten; at most `maxServices` are kept.
 *
 * A beat counts from when it was sent (so a collector started later judges the beats it reads
 * from the topic's history correctly), never later than when it arrived: hosts' clocks must
 * agree to well within `lostAfterMs` (NTP), else a host whose clock is behind shows as lost.
 *
 * @module
 */

import { type Heartbeat, processKey } from "./heartbeat.ts";
import type { ServiceState } from "./service.ts";

/** Default silence after which a service is lost, ms. */
export const DEFAULT_LOST_AFTER_MS = 10_000;
/** Default silence after which a service is forgotten, ms. */
export const DEFAULT_DROP_AFTER_MS = 5 * 60_000;
/** Default bound on the services kept. */
export const DEFAULT_MAX_SERVICES = 1000;

/** A service's state in the cluster: its own, or `lost` when its process went silent. */
export type ClusterServiceState = ServiceState | "lost";

/** One service of the deployment as the collector last saw it. */
export interface ClusterService {
  /** `<host>/<pid>/<startedAt>/<name>`: unique in the deployment. */
  id: string;
  name: string;
  kind: string;
  host: string;
  pid: number;
  /** Its process's start, ms since the epoch. */
  startedAt: number;
  state: ClusterServiceState;
  /** The state its last heartbeat reported (differs from `state` when lost). */
  reportedState: ServiceState;
  error?: string;
  /** What the state is about (e.g. `waiting for broker ...`). */
  detail?: string;
  metrics: Record<string, number>;
  lag: number | null;
  /** When its last heartbeat was sent, ms since the epoch (at most when it arrived). */
  lastSeenAt: number;
  /** Milliseconds since then. */
  ageMs: number;
}

/** What the collector shows: its threshold and the services, sorted by name, host and pid. */
export interface ClusterView {
  lostAfterMs: number;
  services: ClusterService[];
}

/** Options of a {@link ClusterStatus}. */
export interface ClusterStatusOptions {
  /** Default 10000. */
  lostAfterMs?: number;
  /** Default 300000; at least `lostAfterMs`. */
  dropAfterMs?: number;
  /** Default 1000; beyond it the longest silent service is forgotten. */
  maxServices?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

interface Entry {
  beat: Heartbeat;
  index: number;
  seenAt: number;
}

/** The latest heartbeat per service; see the module doc. */
export class ClusterStatus {
  readonly lostAfterMs: number;
  readonly dropAfterMs: number;
  readonly maxServices: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: ClusterStatusOptions = {}) {
    this.lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
    this.dropAfterMs = options.dropAfterMs ?? DEFAULT_DROP_AFTER_MS;
    this.maxServices = options.maxServices ?? DEFAULT_MAX_SERVICES;
    this.#now = options.now ?? Date.now;
    if (!(this.lostAfterMs > 0) || !(this.dropAfterMs >= this.lostAfterMs)) {
      throw new RangeError(
        `ClusterStatus needs 0 < lostAfterMs <= dropAfterMs, got ${this.lostAfterMs} and ` +
          `${this.dropAfterMs}`,
      );
    }
    if (!Number.isInteger(this.maxServices) || this.maxServices < 1) {
      throw new RangeError(`ClusterStatus maxServices must be >= 1, got ${this.maxServices}`);
    }
  }

  /** Services kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Takes a heartbeat in; an older beat of a process than the one kept is ignored. */
  record(beat: Heartbeat): void {
    const now = this.#now();
    const seenAt = Math.min(beat.sentAt, now);
    if (now - seenAt > this.dropAfterMs) return;
    const process = processKey(beat);
    beat.services.forEach((s, index) => {
      const id = `${process}/${s.name}`;
      const kept = this.#entries.get(id);
      if (kept !== undefined && kept.beat.seq >= beat.seq) return;
      // Re-inserted: the map's order is then the order of last beats, oldest first.
      this.#entries.delete(id);
      this.#entries.set(id, { beat, index, seenAt });
    });
    this.#prune(now);
  }

  /** The services now: states with `lost` applied, forgotten ones dropped. */
  view(): ClusterView {
    const now = this.#now();
    this.#prune(now);
    const services = [...this.#entries].map(([id, e]) => this.#service(id, e, now));
    services.sort((a, b) =>
      a.name.localeCompare(b.name) || a.host.localeCompare(b.host) || a.pid - b.pid ||
      a.startedAt - b.startedAt
    );
    return { lostAfterMs: this.lostAfterMs, services };
  }

  #service(id: string, e: Entry, now: number): ClusterService {
    const s = e.beat.services[e.index]!;
    const ageMs = Math.max(0, now - e.seenAt);
    const lost = ageMs > this.lostAfterMs && s.state !== "stopped";
    const out: ClusterService = {
      id,
      name: s.name,
      kind: s.kind,
      host: e.beat.host,
      pid: e.beat.pid,
      startedAt: e.beat.startedAt,
      state: lost ? "lost" : s.state,
      reportedState: s.state,
      metrics: s.metrics,
      lag: s.lag,
      lastSeenAt: e.seenAt,
      ageMs,
    };
    if (s.error !== undefined) out.error = s.error;
    if (s.detail !== undefined) out.detail = s.detail;
    return out;
  }

  /** Drops services silent for dropAfterMs, then the longest silent beyond maxServices. */
  #prune(now: number): void {
    for (const [id, e] of this.#entries) {
      if (now - e.seenAt > this.dropAfterMs) this.#entries.delete(id);
    }
    while (this.#entries.size > this.maxServices) {
      let oldest: [string, number] | undefined;
      for (const [id, e] of this.#entries) {
        if (oldest === undefined || e.seenAt < oldest[1]) oldest = [id, e.seenAt];
      }
      this.#entries.delete(oldest![0]);
    }
  }
}
