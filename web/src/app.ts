/// <reference lib="dom" />
/**
 * The application: its state (the runs, the run and tick shown, the selected organism) and
 * the wiring between run picker, timeline, world view, organism list, inspector, charts and
 * their statistics, live follow, pipeline panel, keyboard and status bar. Opening a run,
 * loading a tick (world, organisms, the selected one's detail) and playing live here; every
 * move updates the URL hash and the test hook `window.__evochora`.
 *
 * @module
 */

import { Api, type RunDetail, type RunSummary } from "./api.ts";
import { Charts } from "./charts.ts";
import { ColourModeControl } from "./colour_mode.ts";
import { byId } from "./dom.ts";
import { bindKeyboard, type ShortcutActions } from "./keyboard.ts";
import { LiveStream } from "./live.ts";
import { LiveFollow, type LiveHost } from "./live_follow.ts";
import { Inspector, OrganismList } from "./organisms.ts";
import { PipelinePanel } from "./pipeline_panel.ts";
import { RunPicker } from "./run_picker.ts";
import { StatsLoader } from "./stats_loader.ts";
import { StatusBar } from "./status.ts";
import { type EvochoraHook, installHook } from "./test_hook.ts";
import { nearestIndex, Timeline } from "./timeline.ts";
import { parseHash, writeHash } from "./url_hash.ts";
import { WorldView } from "./world_view.ts";

const RUNS_POLL_MS = 3000;

/** The web client: builds on the page's elements; {@link App.start} loads the first run. */
export class App {
  readonly status = new StatusBar();
  readonly api = new Api("", (n) => this.status.inflight(n));
  readonly world = new WorldView(this.api);
  readonly timeline = new Timeline();
  readonly list = new OrganismList();
  readonly inspector = new Inspector();
  readonly charts = new Charts();
  readonly pipeline = new PipelinePanel(this.api);
  readonly live = new LiveStream();
  readonly picker = new RunPicker();
  readonly colours = new ColourModeControl(this.world);
  readonly hook: EvochoraHook;
  readonly stats: StatsLoader;
  readonly liveFollow: LiveFollow;
  runs: RunSummary[] = [];
  run: RunDetail | null = null;
  selectedId: number | null = null;
  #tickGen = 0;
  #loading = false;
  #orgCtrl: AbortController | undefined;
  #detailCtrl: AbortController | undefined;
  #runCtrl: AbortController | undefined;
  #playTimer: ReturnType<typeof setInterval> | undefined;
  #runsPoll: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const world = this.world;
    this.hook = installHook((x, y) => world.screenOf(x, y));
    this.stats = new StatsLoader(this.api, this.charts, this.status, this.hook, () => this.run);
    const onError = (e: unknown) => this.status.showError(e);
    this.status.onChange = () => (this.hook.error = this.status.current);
    world.onError = onError;
    this.pipeline.onError = onError;
    world.onSelect = (id) => this.select(id);
    this.list.onSelect = (id) => this.select(id);
    this.inspector.onSelect = (id) => this.select(id);
    this.inspector.onClose = () => this.select(null);
    this.inspector.onCentre = (pos) => world.centreOn(pos);
    this.timeline.onSeek = (i) => this.seek(i, true);
    this.timeline.onPlayChange = (p) => this.#setPlaying(p);
    this.charts.onSeek = (tick) => this.seek(nearestIndex(this.timeline.ticks, tick), true);
    this.picker.onPick = (id) => {
      this.selectedId = null;
      this.selectRun(id);
    };
    this.colours.onChange = (mode) => (this.hook.colourMode = mode);
    this.live.onError = (m) => this.status.showError(new Error(m));
    this.liveFollow = new LiveFollow(this.api, this.live, this.#liveHost());
    byId("zoom-in").addEventListener("click", () => world.zoomBy(1.5));
    byId("zoom-out").addEventListener("click", () => world.zoomBy(1 / 1.5));
    byId("zoom-fit").addEventListener("click", () => world.fit());
    byId("pipeline-button").addEventListener("click", () => this.pipeline.toggle());
    bindKeyboard(this.#shortcuts(), this.timeline.slider);
  }

  /** Opens the place in the URL hash, else the newest run at its newest sample. */
  async start(): Promise<void> {
    const h = parseHash();
    if (h.org !== undefined) this.selectedId = h.org;
    await this.loadRuns(h.run, h.tick);
  }

  /** Loads the run list, then a run: `preferred`, else the API's `latest`. */
  async loadRuns(preferred?: string, tick?: number): Promise<void> {
    clearTimeout(this.#runsPoll);
    try {
      const { runs } = await this.api.runs();
      this.runs = [...runs].sort((a, b) => b.startedAtMs - a.startedAtMs);
    } catch (e) {
      this.status.showError(e);
      this.hook.ready = true;
      this.#runsPoll = setTimeout(() => this.loadRuns(preferred, tick), RUNS_POLL_MS);
      return;
    }
    this.picker.setRuns(this.runs);
    if (this.runs.length === 0) {
      this.hook.ready = true;
      this.#runsPoll = setTimeout(() => this.loadRuns(preferred, tick), RUNS_POLL_MS);
      return;
    }
    const id = preferred && this.runs.some((r) => r.runId === preferred) ? preferred : "latest";
    await this.selectRun(id, tick);
  }

  /** Opens a run at `tick` (default: its newest sample). */
  async selectRun(id: string, tick?: number): Promise<void> {
    this.timeline.setPlaying(false);
    this.live.stop();
    this.#runCtrl?.abort();
    const ctrl = new AbortController();
    this.#runCtrl = ctrl;
    this.hook.ready = false;
    let detail: RunDetail;
    let ticks: number[];
    try {
      detail = await this.api.run(id, ctrl.signal);
      ticks = await this.api.ticks(detail.runId, ctrl.signal);
    } catch (e) {
      this.status.showError(e);
      if (ctrl === this.#runCtrl) this.hook.ready = true;
      return;
    }
    if (ctrl !== this.#runCtrl) return;
    this.run = detail;
    this.hook.runId = detail.runId;
    this.picker.choose(detail);
    this.world.setRun(detail);
    this.list.set([], 0);
    this.inspector.hide();
    this.colours.setTypeNames(detail.moleculeTypes);
    this.#setTicks(ticks);
    this.#renderHeader();
    this.stats.load();
    const newest = this.runs[0]?.runId === detail.runId;
    this.liveFollow.open(detail.runId, newest, tick === undefined);
    const index = tick === undefined ? ticks.length - 1 : nearestIndex(ticks, tick);
    if (index < 0) {
      this.timeline.show(0);
      this.hook.ready = true;
      return;
    }
    await this.seek(index, false);
  }

  #setTicks(ticks: number[]): void {
    this.timeline.setTicks(ticks);
    this.hook.samples = ticks.length;
  }

  #renderHeader(): void {
    if (this.run) this.picker.renderHeader(this.run, this.timeline.ticks);
  }

  /**
   * Moves to sample `index` and loads it. `user`: a manual move, which turns "follow" off
   * unless it goes to the newest sample.
   */
  async seek(index: number, user: boolean): Promise<void> {
    const ticks = this.timeline.ticks;
    if (!this.run || ticks.length === 0) return;
    index = Math.max(0, Math.min(ticks.length - 1, index));
    if (user) this.liveFollow.userMoved(index === ticks.length - 1);
    const tick = ticks[index]!;
    this.timeline.show(index);
    this.charts.setTick(tick);
    this.hook.tick = tick;
    this.#updateHash();
    if (tick === this.world.tick && user && !this.#loading) return;
    const gen = ++this.#tickGen;
    this.hook.ready = false;
    this.#loading = true;
    await Promise.allSettled([this.world.showTick(tick), this.#loadOrganisms(tick)]);
    if (gen === this.#tickGen) {
      this.#loading = false;
      this.hook.ready = true;
    }
  }

  /** Moves `delta` samples from the one shown. */
  step(delta: number): void {
    this.seek(this.timeline.index + delta, true);
  }

  async #loadOrganisms(tick: number): Promise<void> {
    const run = this.run!;
    this.#orgCtrl?.abort();
    const ctrl = new AbortController();
    this.#orgCtrl = ctrl;
    try {
      const res = await this.api.organisms(run.runId, tick, ctrl.signal);
      if (ctrl !== this.#orgCtrl) return;
      this.list.set(res.organisms, tick);
      this.world.organisms = res.organisms;
      this.world.draw();
      this.hook.organisms = res.organisms.length;
    } catch (e) {
      this.status.showError(e);
      return;
    }
    await this.#loadDetail(tick);
  }

  async #loadDetail(tick: number): Promise<void> {
    const run = this.run;
    const id = this.selectedId;
    this.#detailCtrl?.abort();
    if (!run || id === null) {
      this.inspector.hide();
      this.world.selected = null;
      this.hook.inspectorId = null;
      this.world.draw();
      return;
    }
    if (!this.list.organisms.some((o) => o.id === id)) {
      this.inspector.absent(id, tick);
      this.world.selected = null;
      this.hook.inspectorId = null;
      this.world.draw();
      return;
    }
    const ctrl = new AbortController();
    this.#detailCtrl = ctrl;
    this.inspector.loading(id);
    try {
      const d = await this.api.organism(run.runId, tick, id, ctrl.signal);
      if (ctrl !== this.#detailCtrl) return;
      this.inspector.show(d, run.instructionNames);
      this.world.selected = d;
      this.hook.inspectorId = d.id;
      this.world.draw();
    } catch (e) {
      this.status.showError(e);
    }
  }

  /** Selects an organism (opens the inspector), or clears the selection with null. */
  select(id: number | null): void {
    this.selectedId = id;
    this.hook.selectedId = id;
    this.list.select(id);
    this.#updateHash();
    if (this.world.tick >= 0) this.#loadDetail(this.world.tick);
  }

  #setPlaying(playing: boolean): void {
    clearInterval(this.#playTimer);
    this.hook.playing = playing;
    this.world.playing = playing;
    if (!playing) return;
    const last = this.timeline.ticks.length - 1;
    if (this.timeline.index >= last && !this.liveFollow.live) this.seek(0, true);
    this.#playTimer = setInterval(() => {
      if (this.#loading) return; // never queue up: the next step waits for this one
      if (this.timeline.index < this.timeline.ticks.length - 1) {
        this.seek(this.timeline.index + 1, false);
      } else if (!this.live.active) this.timeline.setPlaying(false);
    }, 1000 / this.timeline.samplesPerSecond);
  }

  #updateHash(): void {
    if (this.run) writeHash(this.run.runId, this.hook.tick, this.selectedId);
  }

  #liveHost(): LiveHost {
    return {
      run: () => this.run,
      timeline: this.timeline,
      seek: (index, user) => this.seek(index, user),
      showTicks: (ticks) => {
        this.#setTicks(ticks);
        this.#renderHeader();
      },
      finished: (run) => {
        this.picker.markFinished(run.runId);
        this.#renderHeader();
      },
      ticksRefreshed: () => this.stats.refreshIfStale(),
      showError: (e) => this.status.showError(e),
    };
  }

  #shortcuts(): ShortcutActions {
    const world = this.world;
    return {
      togglePlay: () => this.timeline.setPlaying(!this.timeline.playing),
      step: (delta) => this.step(delta),
      first: () => this.seek(0, true),
      newest: () => this.seek(this.timeline.ticks.length - 1, true),
      zoomBy: (factor) => world.zoomBy(factor),
      fit: () => world.fit(),
      pan: (fx, fy) => world.panByView(fx, fy),
      toggleColourMode: () => this.colours.toggle(),
      toggleLive: () => this.liveFollow.liveToggle.click(),
      toggleFollow: () => this.liveFollow.followToggle.click(),
      togglePipeline: () => this.pipeline.toggle(),
      centreOnSelected: () => {
        if (world.selected) world.centreOn(world.selected.ip);
      },
      focusFilter: () => {
        this.list.filterInput.focus();
        this.list.filterInput.select();
      },
      escape: () => {
        if (this.pipeline.open) this.pipeline.close();
        else if (this.selectedId !== null) this.select(null);
        else this.status.clear();
      },
    };
  }
}
