/**
 * The heartbeat: what every process that runs pipeline services publishes on the deployment's
 * status topic every few seconds (see heartbeat_publisher.ts), and what the cluster status
 * collector (cluster_status.ts) reads. One JSON record per process: its identity (host, pid,
 * process start time) and the status of each service it runs.
 *
 * @module
 */

import type { ServiceState, ServiceStatus } from "./service.ts";

/** The record format's version; records of another version are ignored by readers. */
export const HEARTBEAT_VERSION = 1;

/** The default interval between two heartbeats of a process, ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;

/** One service as a heartbeat reports it. */
export interface HeartbeatService {
  name: string;
  kind: string;
  state: ServiceState;
  error?: string;
  /** What the state is about (e.g. the endpoint a `waiting` service waits for). */
  detail?: string;
  metrics: Record<string, number>;
  /** Records the service has not processed yet, when it knows (an indexer's topic lag). */
  lag: number | null;
}

/** One heartbeat of a process. */
export interface Heartbeat {
  v: typeof HEARTBEAT_VERSION;
  host: string;
  pid: number;
  /** When the process started, ms since the epoch: tells a restarted process reusing a pid apart. */
  startedAt: number;
  /** Beats of this process so far (1 first): the newest beat of a process wins. */
  seq: number;
  /** When the beat was sent, ms since the epoch (the sender's clock). */
  sentAt: number;
  /** The sender's interval, ms. */
  intervalMs: number;
  services: HeartbeatService[];
}

/** The deployment-unique identity of a process: host, pid and start time. */
export function processKey(b: Pick<Heartbeat, "host" | "pid" | "startedAt">): string {
  return `${b.host}/${b.pid}/${b.startedAt}`;
}

/** A service's status as a heartbeat reports it (lag from its `lag` metric, when it has one). */
export function heartbeatService(s: ServiceStatus): HeartbeatService {
  const out: HeartbeatService = {
    name: s.name,
    kind: s.kind,
    state: s.state,
    metrics: { ...s.metrics },
    lag: typeof s.metrics.lag === "number" ? s.metrics.lag : null,
  };
  if (s.error !== undefined) out.error = s.error;
  if (s.detail !== undefined) out.detail = s.detail;
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The heartbeat as the bytes of a status topic message (JSON). */
export function encodeHeartbeat(b: Heartbeat): Uint8Array {
  return encoder.encode(JSON.stringify(b));
}

const STATES: ReadonlySet<string> = new Set([
  "created",
  "starting",
  "waiting",
  "running",
  "stopping",
  "stopped",
  "failed",
]);

/**
 * Reads a status topic message; throws a RangeError naming what is wrong, so that a reader can
 * skip (and count) records that are not heartbeats of this version.
 */
export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new RangeError(`Heartbeat is not JSON: ${(e as Error).message}`);
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== "object" || o === null) throw new RangeError("Heartbeat is not an object");
  if (o.v !== HEARTBEAT_VERSION) {
    throw new RangeError(`Heartbeat version ${JSON.stringify(o.v)}, expected ${HEARTBEAT_VERSION}`);
  }
  const bad = ["host", "pid", "startedAt", "seq", "sentAt", "intervalMs"].find((k) =>
    k === "host" ? typeof o[k] !== "string" : !Number.isFinite(o[k])
  );
  if (bad !== undefined) throw new RangeError(`Heartbeat field '${bad}' is missing or invalid`);
  if (!Array.isArray(o.services)) throw new RangeError("Heartbeat field 'services' is no array");
  const services = o.services.map((s: unknown, i: number) => decodeService(s, i));
  return {
    v: HEARTBEAT_VERSION,
    host: o.host as string,
    pid: o.pid as number,
    startedAt: o.startedAt as number,
    seq: o.seq as number,
    sentAt: o.sentAt as number,
    intervalMs: o.intervalMs as number,
    services,
  };
}

function decodeService(raw: unknown, i: number): HeartbeatService {
  const s = raw as Record<string, unknown>;
  const what = `Heartbeat service ${i}`;
  if (typeof s !== "object" || s === null) throw new RangeError(`${what} is not an object`);
  if (typeof s.name !== "string" || typeof s.kind !== "string") {
    throw new RangeError(`${what} has no name or kind`);
  }
  if (typeof s.state !== "string" || !STATES.has(s.state)) {
    throw new RangeError(`${what} ('${s.name}') has an unknown state ${JSON.stringify(s.state)}`);
  }
  const metrics: Record<string, number> = {};
  if (typeof s.metrics === "object" && s.metrics !== null) {
    for (const [k, v] of Object.entries(s.metrics)) if (typeof v === "number") metrics[k] = v;
  }
  const out: HeartbeatService = {
    name: s.name,
    kind: s.kind,
    state: s.state as ServiceState,
    metrics,
    lag: typeof s.lag === "number" ? s.lag : null,
  };
  if (typeof s.error === "string") out.error = s.error;
  if (typeof s.detail === "string") out.detail = s.detail;
  return out;
}
