/**
 * The one implementation of the service lifecycle that every service delegates to:
 *
 * - `start(setup, loop)`: from "created" only (a second start rejects); runs `setup` in state
 *   "starting" (a failing setup makes the service "failed" and start rejects), then runs `loop`
 *   in the background in state "running". The loop returning means "stopped", throwing means
 *   "failed" with its message; either way `done` resolves.
 * - `stop()`: before start, "stopped" at once; while running, "stopping", the loop's signal is
 *   aborted and stop waits for `done`; after the end, returns at once. Idempotent.
 *
 * @module
 */

import type { ServiceState, ServiceStatus } from "./service.ts";

/** See the module doc. */
export class Lifecycle {
  readonly #name: string;
  readonly #kind: string;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  #state: ServiceState = "created";
  readonly #stop = new AbortController();
  /** The latest error, shown in status (a retrying service sets and clears it). */
  error: string | undefined;

  constructor(name: string, kind: string) {
    this.#name = name;
    this.#kind = kind;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  /** The current state. */
  get state(): ServiceState {
    return this.#state;
  }

  /** Aborted when stop() is called: loops end at their next check. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Whether stop() was called. */
  get stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  /** See the module doc. */
  async start(
    setup: () => Promise<void> | void,
    loop: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    if (this.#state !== "created") {
      throw new Error(`Service '${this.#name}' was started already (state ${this.#state})`);
    }
    this.#state = "starting";
    try {
      await setup();
    } catch (e) {
      this.#end(e instanceof Error ? e.message : String(e));
      throw e;
    }
    if (this.stopping) {
      // stop() came during setup: the work never begins.
      this.#end(undefined);
      return;
    }
    this.#state = "running";
    loop(this.#stop.signal).then(
      () => this.#end(undefined),
      (e) => this.#end(e instanceof Error ? e.message : String(e)),
    );
  }

  /** See the module doc. */
  async stop(): Promise<void> {
    if (this.#state === "created") {
      this.#stop.abort();
      this.#end(undefined);
      return;
    }
    if (this.#state === "stopped" || this.#state === "failed") return;
    if (this.#state === "running") this.#state = "stopping";
    this.#stop.abort();
    await this.done;
  }

  /** A status with this service's name, kind, state and error. */
  status(metrics: Record<string, number>): ServiceStatus {
    const s: ServiceStatus = {
      name: this.#name,
      kind: this.#kind,
      state: this.#state,
      metrics,
    };
    if (this.error !== undefined) s.error = this.error;
    return s;
  }

  #end(error: string | undefined): void {
    if (this.#state === "stopped" || this.#state === "failed") return;
    this.#state = error === undefined ? "stopped" : "failed";
    if (error !== undefined) this.error = error;
    this.#resolveDone();
  }
}
