/// <reference lib="dom" />
/**
 * The application: run picker and header, and the wiring between timeline, world view,
 * organism list, inspector, charts, live stream, pipeline panel and status bar. Keyboard
 * shortcuts, the URL hash (#run=&tick=&org=) and the test hook `window.__evochora` live here.
 *
 * @module
 */

import {
  Api,
  ApiRequestError,
  isAbort,
  type LiveEnd,
  type LiveProgress,
  type RunDetail,
  type RunSummary,
} from "./api.ts";
import { Charts, METRICS } from "./charts.ts";
import { byId, compact, esc, typingInto } from "./dom.ts";
import { LiveStream } from "./live.ts";
import { type ColourMode, DEFAULT_TYPE_NAMES, typeCss } from "./molecule.ts";
import { Inspector, OrganismList } from "./organisms.ts";
import { PipelinePanel } from "./pipeline_panel.ts";
import { StatusBar } from "./status.ts";
import { nearestIndex, Timeline } from "./timeline.ts";
import { WorldView } from "./world_view.ts";

/** What tests (and curious users) can read from `window.__evochora`. */
export interface EvochoraHook {
  /** True when the current tick's world and organisms are loaded (or failed visibly). */
  ready: boolean;
  /** The tick shown. */
  tick: number;
  runId: string;
  /** Sampled ticks known. */
  samples: number;
  /** Organisms in the current tick's list. */
  organisms: number;
  selectedId: number | null;
  /** Id of the organism the inspector shows, null when none. */
  inspectorId: number | null;
  /** Points per chart series. */
  chartPoints: number;
  playing: boolean;
  colourMode: ColourMode;
  /** The error in the status bar, "" when none. */
  error: string;
  /** Page coordinates of a world cell's centre. */
  screenOf(x: number, y: number): [number, number];
}

declare global {
  var __evochora: EvochoraHook;
}

const TICKS_REFRESH_MS = 1000;
const STATS_REFRESH_MS = 5000;
const RUNS_POLL_MS = 3000;
const STATS_RETRY_MS = 10_000;

function parseHash(): { run?: string; tick?: number; org?: number } {
  const p = new URLSearchParams(location.hash.slice(1));
  const out: { run?: string; tick?: number; org?: number } = {};
  const run = p.get("run");
  if (run) out.run = run;
  if (p.get("tick") !== null && Number.isFinite(Number(p.get("tick")))) {
    out.tick = Number(p.get("tick"));
  }
  if (p.get("org") !== null && Number.isInteger(Number(p.get("org")))) {
    out.org = Number(p.get("org"));
  }
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

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
  readonly hook: EvochoraHook;
  readonly #runSelect = byId<HTMLSelectElement>("run-select");
  readonly #runHeader = byId("run-header");
  readonly #liveToggle = byId<HTMLInputElement>("live-toggle");
  readonly #followToggle = byId<HTMLInputElement>("follow-toggle");
  readonly #liveInfo = byId("live-info");
  readonly #help = byId("help");
  runs: RunSummary[] = [];
  run: RunDetail | null = null;
  selectedId: number | null = null;
  #tickGen = 0;
  #loading = false;
  #orgCtrl: AbortController | undefined;
  #detailCtrl: AbortController | undefined;
  #runCtrl: AbortController | undefined;
  #playTimer: ReturnType<typeof setInterval> | undefined;
  #ticksRefreshAt = 0;
  #ticksRefreshTimer: ReturnType<typeof setTimeout> | undefined;
  #statsRefreshAt = 0;
  #runsPoll: ReturnType<typeof setTimeout> | undefined;
  #statsRetry: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const world = this.world;
    this.hook = {
      ready: false,
      tick: -1,
      runId: "",
      samples: 0,
      organisms: 0,
      selectedId: null,
      inspectorId: null,
      chartPoints: 0,
      playing: false,
      colourMode: "type",
      error: "",
      screenOf: (x, y) => world.screenOf(x, y),
    };
    globalThis.__evochora = this.hook;
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
    this.live.onProgress = (p) => this.#onProgress(p);
    this.live.onEnd = (e) => this.#onEnd(e);
    this.live.onError = (m) => this.status.showError(new Error(m));
    this.live.onState = (s) => {
      this.#liveInfo.dataset.state = s;
      if (s === "connecting") this.#liveInfo.textContent = "connecting…";
      if (s === "closed") this.#liveInfo.textContent = "";
    };
    this.#bindControls();
    this.#bindKeyboard();
    this.#renderLegend();
  }

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
    this.#runSelect.innerHTML = this.runs.map((r) =>
      `<option value="${esc(r.runId)}">${esc(r.runId)} · ${esc(r.state)}</option>`
    ).join("");
    if (this.runs.length === 0) {
      this.#runHeader.textContent = "No runs stored yet; waiting for a simulation…";
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
    if (![...this.#runSelect.options].some((o) => o.value === detail.runId)) {
      this.#runSelect.insertAdjacentHTML(
        "afterbegin",
        `<option value="${esc(detail.runId)}">${esc(detail.runId)} · ${esc(detail.state)}</option>`,
      );
    }
    this.#runSelect.value = detail.runId;
    this.world.setRun(detail);
    this.list.set([], 0);
    this.inspector.hide();
    this.#renderLegend();
    this.#setTicks(ticks);
    this.#renderHeader();
    this.loadStats();
    const newest = this.runs[0]?.runId === detail.runId;
    this.#liveToggle.checked = newest;
    this.#followToggle.checked = newest && tick === undefined;
    if (newest) this.live.start(this.api.liveUrl(detail.runId));
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
    const r = this.run;
    if (!r) return;
    const ticks = this.timeline.ticks;
    const range = ticks.length ? `ticks ${ticks[0]}–${ticks.at(-1)}` : "no ticks yet";
    this.#runHeader.innerHTML = [
      `<span class="run-state state-${esc(r.state)}" data-testid="run-state" title="${
        esc(r.stateReason)
      }">${esc(r.state)}</span>`,
      `seed <b>${esc(r.seed)}</b>`,
      `<b>${esc(r.shape.join("×"))}</b> ${esc(r.topology)}`,
      `<b>${range}</b> (every ${r.intervals.sampling})`,
      `${r.batches} batches · ${formatBytes(r.storedBytes)}`,
      `<span class="muted" title="started ${new Date(r.startedAtMs).toISOString()}">engine ${
        esc(r.engineVersion)
      }</span>`,
    ].join(" · ");
  }

  /** Loads the statistics charts. */
  async loadStats(): Promise<void> {
    const run = this.run;
    clearTimeout(this.#statsRetry);
    if (!run) return;
    this.#statsRefreshAt = performance.now();
    try {
      const stats = await this.api.stats(run.runId, METRICS, 1000);
      if (run !== this.run) return;
      this.charts.setData(stats);
      this.charts.setTick(this.hook.tick);
      this.hook.chartPoints = this.charts.points;
    } catch (e) {
      if (run !== this.run || isAbort(e)) return;
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
      clearTimeout(this.#statsRetry);
      if (noIndex) this.#statsRetry = setTimeout(() => this.loadStats(), STATS_RETRY_MS);
    }
  }

  /**
   * Moves to sample `index` and loads it. `user`: a manual move, which turns "follow" off
   * unless it goes to the newest sample.
   */
  async seek(index: number, user: boolean): Promise<void> {
    const ticks = this.timeline.ticks;
    if (!this.run || ticks.length === 0) return;
    index = Math.max(0, Math.min(ticks.length - 1, index));
    if (user) this.#followToggle.checked = index === ticks.length - 1 && this.#liveToggle.checked;
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
    if (this.timeline.index >= last && !this.#liveToggle.checked) this.seek(0, true);
    this.#playTimer = setInterval(() => {
      if (this.#loading) return; // never queue up: the next step waits for this one
      if (this.timeline.index < this.timeline.ticks.length - 1) {
        this.seek(this.timeline.index + 1, false);
      } else if (!this.live.active) this.timeline.setPlaying(false);
    }, 1000 / this.timeline.samplesPerSecond);
  }

  #onProgress(p: LiveProgress): void {
    if (!this.run || p.runId !== this.run.runId) return;
    this.#liveInfo.dataset.state = "open";
    this.#liveInfo.textContent = `tick ${p.tick} · ${compact(Math.round(p.ticksPerSecond))} t/s · ${
      compact(p.organismsAlive)
    } alive`;
    const last = this.timeline.ticks.at(-1) ?? -1;
    if (p.maxStoredTick !== null && p.maxStoredTick > last) this.#refreshTicksSoon();
  }

  /** The run finished: its last ticks are stored; the stream is over. */
  #onEnd(e: LiveEnd): void {
    const run = this.run;
    if (!run || e.runId !== run.runId) return;
    // In place: requests in flight (statistics, ticks) check that the run is still the same
    // object, and a finished run is still the same run.
    run.state = "finished";
    run.stateReason = `ended at tick ${e.endTick}`;
    this.#liveToggle.checked = false;
    this.#liveInfo.dataset.state = "closed";
    this.#liveInfo.textContent = `finished at tick ${e.endTick}`;
    const option = [...this.#runSelect.options].find((o) => o.value === run.runId);
    if (option) option.textContent = `${run.runId} · finished`;
    this.#renderHeader();
    this.#refreshTicksSoon();
  }

  #refreshTicksSoon(): void {
    if (this.#ticksRefreshTimer !== undefined) return;
    const wait = Math.max(0, this.#ticksRefreshAt + TICKS_REFRESH_MS - performance.now());
    this.#ticksRefreshTimer = setTimeout(async () => {
      this.#ticksRefreshTimer = undefined;
      this.#ticksRefreshAt = performance.now();
      const run = this.run;
      if (!run) return;
      try {
        const ticks = await this.api.ticks(run.runId);
        if (run !== this.run) return;
        const current = this.timeline.ticks[this.timeline.index];
        this.#setTicks(ticks);
        this.#renderHeader();
        const keep = current === undefined ? 0 : nearestIndex(ticks, current);
        if (this.#followToggle.checked) this.seek(ticks.length - 1, false);
        else this.timeline.show(keep);
        if (performance.now() - this.#statsRefreshAt > STATS_REFRESH_MS) this.loadStats();
      } catch (e) {
        this.status.showError(e);
      }
    }, wait);
  }

  #updateHash(): void {
    if (!this.run) return;
    const p = new URLSearchParams({ run: this.run.runId, tick: String(this.hook.tick) });
    if (this.selectedId !== null) p.set("org", String(this.selectedId));
    history.replaceState(null, "", `#${p}`);
  }

  #setColourMode(mode: ColourMode): void {
    this.hook.colourMode = mode;
    byId<HTMLInputElement>(mode === "type" ? "colour-type" : "colour-owner").checked = true;
    this.world.setColourMode(mode);
    this.#renderLegend();
  }

  #renderLegend(): void {
    const el = byId("legend");
    if (this.world.colourMode === "owner") {
      el.innerHTML = `<span class="muted">hue per owner · grey: unowned matter</span>`;
      return;
    }
    const names = this.run?.moleculeTypes.length ? this.run.moleculeTypes : DEFAULT_TYPE_NAMES;
    el.innerHTML =
      names.map((n, i) =>
        `<span class="legend-item"><span class="swatch" style="background:${typeCss(i)}"></span>${
          esc(n)
        }</span>`
      ).join("") + `<span class="muted">dim: unowned</span>`;
  }

  #bindControls(): void {
    this.#runSelect.addEventListener("change", () => {
      this.selectedId = null;
      this.selectRun(this.#runSelect.value);
    });
    this.#liveToggle.addEventListener("change", () => {
      if (!this.run) return;
      if (this.#liveToggle.checked) this.live.start(this.api.liveUrl(this.run.runId));
      else {
        this.live.stop();
        this.#followToggle.checked = false;
      }
    });
    this.#followToggle.addEventListener("change", () => {
      if (this.#followToggle.checked) {
        if (!this.live.active && this.run) {
          this.#liveToggle.checked = true;
          this.live.start(this.api.liveUrl(this.run.runId));
        }
        this.seek(this.timeline.ticks.length - 1, false);
      }
    });
    byId("colour-type").addEventListener("change", () => this.#setColourMode("type"));
    byId("colour-owner").addEventListener("change", () => this.#setColourMode("owner"));
    byId("zoom-in").addEventListener("click", () => this.world.zoomBy(1.5));
    byId("zoom-out").addEventListener("click", () => this.world.zoomBy(1 / 1.5));
    byId("zoom-fit").addEventListener("click", () => this.world.fit());
    byId("pipeline-button").addEventListener("click", () => this.pipeline.toggle());
    byId("help-button").addEventListener("click", () => this.#toggleHelp());
    byId("help-close").addEventListener("click", () => this.#toggleHelp(false));
  }

  #toggleHelp(show = this.#help.hidden): void {
    this.#help.hidden = !show;
  }

  #bindKeyboard(): void {
    document.addEventListener("keyup", (e) => {
      // Space on a focused button would click it after our keydown already acted.
      if (e.key === " " && e.target instanceof HTMLButtonElement) e.preventDefault();
    });
    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      if (e.key === "Escape") {
        if (typingInto(target)) target!.blur();
        else if (!this.#help.hidden) this.#toggleHelp(false);
        else if (this.pipeline.open) this.pipeline.close();
        else if (this.selectedId !== null) this.select(null);
        else this.status.clear();
        return;
      }
      if (typingInto(target)) return;
      const onSlider = target === this.timeline.slider;
      const pan = e.shiftKey ? 0.5 : 0.125;
      let handled = true;
      switch (e.key) {
        case " ":
          this.timeline.setPlaying(!this.timeline.playing);
          break;
        case ",":
        case "[":
        case "<":
          this.step(e.shiftKey || e.key === "<" ? -10 : -1);
          break;
        case ".":
        case "]":
        case ">":
          this.step(e.shiftKey || e.key === ">" ? 10 : 1);
          break;
        case "Home":
          this.seek(0, true);
          break;
        case "End":
          this.seek(this.timeline.ticks.length - 1, true);
          break;
        case "+":
        case "=":
          this.world.zoomBy(1.5);
          break;
        case "-":
        case "_":
          this.world.zoomBy(1 / 1.5);
          break;
        case "0":
          this.world.fit();
          break;
        case "ArrowLeft":
          if (onSlider) handled = false;
          else this.world.panByView(-pan, 0);
          break;
        case "ArrowRight":
          if (onSlider) handled = false;
          else this.world.panByView(pan, 0);
          break;
        case "ArrowUp":
          if (onSlider) handled = false;
          else this.world.panByView(0, -pan);
          break;
        case "ArrowDown":
          if (onSlider) handled = false;
          else this.world.panByView(0, pan);
          break;
        case "c":
          this.#setColourMode(this.world.colourMode === "type" ? "owner" : "type");
          break;
        case "l":
          this.#liveToggle.click();
          break;
        case "f":
          this.#followToggle.click();
          break;
        case "p":
          this.pipeline.toggle();
          break;
        case "i":
          if (this.world.selected) this.world.centreOn(this.world.selected.ip);
          break;
        case "/":
          this.list.filterInput.focus();
          this.list.filterInput.select();
          break;
        case "?":
          this.#toggleHelp();
          break;
        default:
          handled = false;
      }
      if (handled) e.preventDefault();
    });
  }
}
