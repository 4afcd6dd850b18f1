/**
 * What every pipeline service offers the runner: start, stop, a completion promise and a
 * status with metrics. Services receive resource interfaces, never implementations.
 *
 * @module
 */

/**
 * Lifecycle states. `waiting`: the service cannot go on until an endpoint it needs (a Kafka
 * broker, an S3 endpoint) answers; its clients keep retrying, and `detail` names the endpoint.
 */
export type ServiceState =
  | "created"
  | "starting"
  | "waiting"
  | "running"
  | "stopping"
  | "stopped"
  | "failed";

/** A service's state and counters, for the status line, /api/pipeline and /metrics. */
export interface ServiceStatus {
  name: string;
  kind: string;
  state: ServiceState;
  /** The last error, when failed or retrying. */
  error?: string;
  /** What the state is about, e.g. `waiting for broker 10.0.0.5:9092 (connection refused)`. */
  detail?: string;
  /**
   * Problems that are still true (e.g. a raw batch that cannot be read, ticks missing between
   * stored batches), one line each; absent when there are none. The service keeps working
   * around them; `error` then summarizes them.
   */
  problems?: string[];
  /** Counters and gauges, e.g. records, bytes, batches, errors, lag. */
  metrics: Record<string, number>;
}

/**
 * A pipeline service. Every implementation follows one lifecycle ({@link Lifecycle}):
 * `start()` once (a second call rejects), `stop()` at any time (before `start()` it returns at
 * once; it is idempotent), `done` resolves when the work ended for any reason.
 */
export interface Service {
  readonly name: string;
  readonly kind: string;
  /** Begins work; resolves once running. Rejects when called twice or when setup fails. */
  start(): Promise<void>;
  /**
   * Stops gracefully: finishes or abandons in-flight work so nothing accepted is lost, then
   * releases its consumers. Idempotent; returns at once before start().
   */
  stop(): Promise<void>;
  /** Resolves when the service has finished on its own (a finite run) or was stopped. */
  readonly done: Promise<void>;
  status(): ServiceStatus;
}

/**
 * The status as it shows while endpoints the service needs do not answer (`detail`, e.g. from
 * cli/waiting_report.ts waitingDetail): `waiting` instead of created, starting or running.
 * Unchanged when `detail` is empty or the service stops, stopped or failed.
 */
export function withWaiting(status: ServiceStatus, detail: string): ServiceStatus {
  const live = status.state === "created" || status.state === "starting" ||
    status.state === "running" || status.state === "waiting";
  if (detail === "" || !live) return status;
  return { ...status, state: "waiting", detail };
}

/** Status of one resource (queue, topic, storage) of a pipeline. */
export interface ResourceStatus {
  name: string;
  kind: string;
  description: string;
  stats?: Record<string, unknown>;
}

/** Everything the status line, /api/pipeline and /metrics need of a pipeline. */
export interface PipelineStatus {
  services: ServiceStatus[];
  resources: ResourceStatus[];
}
