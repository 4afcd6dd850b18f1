/// <reference lib="dom" />
/**
 * Live and Follow: the header's two toggles and live info over the run's SSE stream. Progress
 * that reports newly stored ticks refreshes the run's ticks (at most once a second); with
 * Follow on, the view then moves to the newest sample. The run's end marks it finished.
 *
 * @module
 */

import type { Api, LiveEnd, LiveProgress, RunDetail } from "./api.ts";
import { byId, compact } from "./dom.ts";
import type { LiveStream } from "./live.ts";
import { nearestIndex, type Timeline } from "./timeline.ts";

const TICKS_REFRESH_MS = 1000;

/** What {@link LiveFollow} reads from and does in the app. */
export interface LiveHost {
  /** The run shown, null before one is loaded. */
  run(): RunDetail | null;
  readonly timeline: Timeline;
  /** Moves to sample `index` (App.seek). */
  seek(index: number, user: boolean): void;
  /** The run shown has these sampled ticks now. */
  showTicks(ticks: number[]): void;
  /** The run shown finished; its state is already updated in place. */
  finished(run: RunDetail): void;
  /** Newly refreshed ticks are shown (the statistics may be due too). */
  ticksRefreshed(): void;
  showError(e: unknown): void;
}

/** The Live and Follow toggles driving the live stream and the refreshes it asks for. */
export class LiveFollow {
  readonly liveToggle = byId<HTMLInputElement>("live-toggle");
  readonly followToggle = byId<HTMLInputElement>("follow-toggle");
  readonly #info = byId("live-info");
  #refreshAt = 0;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly api: Api, readonly stream: LiveStream, readonly host: LiveHost) {
    stream.onProgress = (p) => this.#onProgress(p);
    stream.onEnd = (e) => this.#onEnd(e);
    stream.onState = (s) => {
      this.#info.dataset.state = s;
      if (s === "connecting") this.#info.textContent = "connecting…";
      if (s === "closed") this.#info.textContent = "";
    };
    this.#bindToggles();
  }

  /** Whether Live is on. */
  get live(): boolean {
    return this.liveToggle.checked;
  }

  /**
   * Sets the toggles for a run just opened: Live (and its stream) on for the newest run,
   * Follow too when `follow`.
   */
  open(runId: string, newest: boolean, follow: boolean): void {
    this.liveToggle.checked = newest;
    this.followToggle.checked = newest && follow;
    if (newest) this.stream.start(this.api.liveUrl(runId));
  }

  /** The user moved in time: Follow stays on only at the newest sample, with Live on. */
  userMoved(toNewest: boolean): void {
    this.followToggle.checked = toNewest && this.liveToggle.checked;
  }

  #bindToggles(): void {
    this.liveToggle.addEventListener("change", () => {
      const run = this.host.run();
      if (!run) return;
      if (this.liveToggle.checked) this.stream.start(this.api.liveUrl(run.runId));
      else {
        this.stream.stop();
        this.followToggle.checked = false;
      }
    });
    this.followToggle.addEventListener("change", () => {
      if (this.followToggle.checked) {
        const run = this.host.run();
        if (!this.stream.active && run) {
          this.liveToggle.checked = true;
          this.stream.start(this.api.liveUrl(run.runId));
        }
        this.host.seek(this.host.timeline.ticks.length - 1, false);
      }
    });
  }

  #onProgress(p: LiveProgress): void {
    const run = this.host.run();
    if (!run || p.runId !== run.runId) return;
    this.#info.dataset.state = "open";
    this.#info.textContent = `tick ${p.tick} · ${compact(Math.round(p.ticksPerSecond))} t/s · ${
      compact(p.organismsAlive)
    } alive`;
    const last = this.host.timeline.ticks.at(-1) ?? -1;
    if (p.maxStoredTick !== null && p.maxStoredTick > last) this.#refreshTicksSoon();
  }

  /** The run finished: its last ticks are stored; the stream is over. */
  #onEnd(e: LiveEnd): void {
    const run = this.host.run();
    if (!run || e.runId !== run.runId) return;
    // In place: requests in flight (statistics, ticks) check that the run is still the same
    // object, and a finished run is still the same run.
    run.state = "finished";
    run.stateReason = `ended at tick ${e.endTick}`;
    this.liveToggle.checked = false;
    this.#info.dataset.state = "closed";
    this.#info.textContent = `finished at tick ${e.endTick}`;
    this.host.finished(run);
    this.#refreshTicksSoon();
  }

  #refreshTicksSoon(): void {
    if (this.#refreshTimer !== undefined) return;
    const wait = Math.max(0, this.#refreshAt + TICKS_REFRESH_MS - performance.now());
    this.#refreshTimer = setTimeout(() => this.#refreshTicks(), wait);
  }

  async #refreshTicks(): Promise<void> {
    this.#refreshTimer = undefined;
    this.#refreshAt = performance.now();
    const host = this.host;
    const run = host.run();
    if (!run) return;
    try {
      const ticks = await this.api.ticks(run.runId);
      if (run !== host.run()) return;
      const current = host.timeline.ticks[host.timeline.index];
      host.showTicks(ticks);
      const keep = current === undefined ? 0 : nearestIndex(ticks, current);
      if (this.followToggle.checked) host.seek(ticks.length - 1, false);
      else host.timeline.show(keep);
      host.ticksRefreshed();
    } catch (e) {
      host.showError(e);
    }
  }
}
