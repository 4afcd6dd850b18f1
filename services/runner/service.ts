/**
 * What every pipeline service offers the runner: start, stop, a completion promise and a
 * status with metrics. Services receive resource interfaces, never implementations.
 *
 * @module
 */

/** Lifecycle states. */
export type ServiceState = "created" | "starting" | "running" | "stopping" | "stopped" | "failed";

/** A service's state and counters, for the status line, /api/pipeline and /metrics. */
export interface ServiceStatus {
  name: string;
  kind: string;
  state: ServiceState;
  /** The last error, when failed or retrying. */
  error?: string;
  /** Counters and gauges, e.g. records, bytes, batches, errors, lag. */
  metrics: Record<string, number>;
}

/** A pipeline service. */
export interface Service {
  readonly name: string;
  readonly kind: string;
  /** Begins work; resolves once running. */
  start(): Promise<void>;
  /**
   * Stops gracefully: finishes or abandons in-flight work so nothing accepted is lost, then
   * releases its consumers. Idempotent.
   */
  stop(): Promise<void>;
  /** Resolves when the service has finished on its own (a finite run) or was stopped. */
  readonly done: Promise<void>;
  status(): ServiceStatus;
}

/**
 * Runs a service's work loop in the background and reports how it ended: `ended(undefined)`
 * when the loop returned, `ended(message)` when it threw. Keeps every service's bookkeeping of
 * "stopped" versus "failed" the same.
 */
export function superviseLoop(
  loop: Promise<void>,
  ended: (error: string | undefined) => void,
): void {
  loop.then(() => ended(undefined), (e) => ended(e instanceof Error ? e.message : String(e)));
}
