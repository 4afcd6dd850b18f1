/// <reference lib="dom" />
/**
 * Loads the statistics of the run shown into the charts. A run without a stats index yet
 * (young, the indexer lagging behind) is retried every 10 s; other failures go to the status
 * bar.
 *
 * @module
 */

import { type Api, ApiRequestError, isAbort, type RunDetail } from "./api.ts";
import { type Charts, METRICS } from "./charts.ts";
import type { StatusBar } from "./status.ts";
import type { EvochoraHook } from "./test_hook.ts";

const STATS_REFRESH_MS = 5000;
const STATS_RETRY_MS = 10_000;

/** The charts' data source; `run` tells which run is shown (null before one is). */
export class StatsLoader {
  #loadedAt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly api: Api,
    readonly charts: Charts,
    readonly status: StatusBar,
    readonly hook: EvochoraHook,
    readonly run: () => RunDetail | null,
  ) {}

  /** Loads the statistics charts. */
  async load(): Promise<void> {
    const run = this.run();
    clearTimeout(this.#retry);
    if (!run) return;
    this.#loadedAt = performance.now();
    try {
      const stats = await this.api.stats(run.runId, METRICS, 1000);
      if (run !== this.run()) return;
      this.charts.setData(stats);
      this.charts.setTick(this.hook.tick);
      this.hook.chartPoints = this.charts.points;
    } catch (e) {
      if (run !== this.run() || isAbort(e)) return;
      const noIndex = e instanceof ApiRequestError && e.code === "no_index";
      // No stats index yet is a normal state of a young run (the indexer lags behind): say so
      // in the status bar without raising an error, and in the charts' place.
      if (noIndex) this.status.info((e as Error).message, STATS_RETRY_MS);
      else this.status.showError(e);
      this.charts.setMessage(
        noIndex
          ? "No statistics yet: the stats indexer has not indexed this run. Retrying every 10 s."
          : "Statistics unavailable (see the status bar).",
      );
      this.hook.chartPoints = 0;
      clearTimeout(this.#retry);
      if (noIndex) this.#retry = setTimeout(() => this.load(), STATS_RETRY_MS);
    }
  }

  /** Loads again unless the last load started less than 5 s ago (new ticks arrive often). */
  refreshIfStale(): void {
    if (performance.now() - this.#loadedAt > STATS_REFRESH_MS) this.load();
  }
}
