/**
 * Progress of a run for GET /api/runs/:run/live: from the running engine when the API runs in
 * the same process as the run, otherwise from storage (the newest stored batch); and the run's
 * state, from storage (./run_states.ts), which ends the stream once `finished`.
 *
 * @module
 */

import type { LiveProgress } from "./api_types.ts";
import type { RunStates } from "./run_states.ts";
import type { RunInfo, RunStore } from "./run_store.ts";

/** The running engine's progress, as a live provider reports it. */
export interface LiveStatus {
  tick: number;
  ticksPerSecond: number;
  organismsAlive: number;
  /** The run the engine is simulating; when given, other runs are served from storage. */
  runId?: string;
}

/** Reports the engine's progress, or null when no run is going on. */
export type LiveProvider = () => LiveStatus | null;

/** Window over which the stored-tick rate is measured, ms. */
const RATE_WINDOW_MS = 10_000;

/** Follows one run for one client: keeps the recent stored ticks to derive a rate. */
export class ProgressTracker {
  readonly #store: RunStore;
  readonly #states: RunStates;
  readonly #info: RunInfo;
  readonly #live: LiveProvider | undefined;
  readonly #now: () => number;
  readonly #seen: { at: number; tick: number }[] = [];

  constructor(
    store: RunStore,
    states: RunStates,
    info: RunInfo,
    live?: LiveProvider,
    now?: () => number,
  ) {
    this.#store = store;
    this.#states = states;
    this.#info = info;
    this.#live = live;
    this.#now = now ?? (() => performance.now());
  }

  #rate(tick: number): number {
    const at = this.#now();
    this.#seen.push({ at, tick });
    while (this.#seen.length > 2 && at - this.#seen[0]!.at > RATE_WINDOW_MS) this.#seen.shift();
    const first = this.#seen[0]!;
    const secs = (at - first.at) / 1000;
    return secs > 0 ? Math.max(0, (tick - first.tick) / secs) : 0;
  }

  /** The progress now. */
  async progress(): Promise<LiveProgress> {
    const view = await this.#store.view(this.#info);
    const last = view.batches.at(-1);
    const maxStoredTick = last?.lastTick ?? null;
    const { state } = await this.#states.of(view);
    const base = {
      runId: this.#info.runId,
      state,
      maxStoredTick,
      batches: view.batches.length,
    };
    const live = this.#live?.() ?? null;
    if (live !== null && (live.runId === undefined || live.runId === this.#info.runId)) {
      return {
        ...base,
        tick: live.tick,
        ticksPerSecond: live.ticksPerSecond,
        organismsAlive: live.organismsAlive,
      };
    }
    const tick = maxStoredTick ?? 0;
    let organismsAlive = 0;
    if (last !== undefined) {
      const entry = view.catalog.get(last.key);
      if (entry !== undefined) organismsAlive = entry.organismsAlive;
      else {
        try {
          const s = await this.#store.sample(view, last.lastTick);
          organismsAlive = s.summary?.organismsAlive ?? 0;
        } catch {
          // The newest batch may not decode (yet); progress still has the tick.
        }
      }
    }
    return { ...base, tick, ticksPerSecond: this.#rate(tick), organismsAlive };
  }
}
