/// <reference lib="dom" />
/**
 * The world on a canvas: fetches the visible region of the current tick (again after pan or
 * zoom, debounced), paints it by molecule type or owner, draws organism markers and the
 * selected organism's IP, DPs and direction; a minimap shows the whole world with the
 * viewport; hovering shows a tooltip, clicking an organism selects it.
 *
 * @module
 */

import type { Api, OrganismDetail, OrganismSummary, RunDetail, WorldResponse } from "./api.ts";
import { Camera, covers, type Region } from "./camera.ts";
import { byId, esc, frameScheduler } from "./dom.ts";
import {
  BACKGROUND,
  colourByOwner,
  colourByType,
  type ColourMode,
  formatMolecule,
  ownerCss,
  rgbaWord,
} from "./molecule.ts";
import { drawGrid, drawOrganisms, drawSelected } from "./world_overlays.ts";

/** Worlds up to this many cells are fetched whole for the minimap. */
const MINIMAP_CELL_LIMIT = 1024 * 1024;
/** Debounce of region fetches after pan and zoom. */
const FETCH_DEBOUNCE_MS = 120;
/** Least time between whole-world minimap fetches while playing. */
const MINIMAP_PLAY_INTERVAL_MS = 2000;
const MINIMAP_MAX_W = 200;
const MINIMAP_MAX_H = 140;

interface RegionData {
  tick: number;
  region: Region;
  width: number;
  height: number;
  cells: Int32Array;
  owners: Int32Array;
  image: HTMLCanvasElement;
}

export class WorldView {
  readonly canvas = byId<HTMLCanvasElement>("world-canvas");
  readonly minimap = byId<HTMLCanvasElement>("minimap");
  readonly #wrap = byId("world-wrap");
  readonly #tooltip = byId("tooltip");
  readonly #ctx: CanvasRenderingContext2D;
  readonly #mctx: CanvasRenderingContext2D;
  camera = new Camera(1, 1);
  colourMode: ColourMode = "type";
  /** Set while the timeline plays: the minimap refreshes less often. */
  playing = false;
  run: RunDetail | null = null;
  tick = -1;
  organisms: OrganismSummary[] = [];
  selected: OrganismDetail | null = null;
  /** Called with an organism id when the user clicks one. */
  onSelect: (id: number) => void = () => {};
  onError: (e: unknown) => void = () => {};
  /** Called after each fetch of the current tick's region completes (success or not). */
  onLoaded: () => void = () => {};
  readonly draw: () => void;
  #data: RegionData | null = null;
  #mini: RegionData | null = null;
  #ctrl: AbortController | undefined;
  #miniCtrl: AbortController | undefined;
  #miniFetchedAt = 0;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #hover: { cell: [number, number]; px: number; py: number } | null = null;
  #drag: { x: number; y: number; camX: number; camY: number; moved: boolean } | null = null;
  #miniScale = 1;

  constructor(readonly api: Api) {
    this.#ctx = this.canvas.getContext("2d", { alpha: false })!;
    this.#mctx = this.minimap.getContext("2d")!;
    this.draw = frameScheduler(() => this.#draw());
    new ResizeObserver(() => this.#resize()).observe(this.#wrap);
    this.#bindPointer();
    this.#bindMinimap();
  }

  /** Whether this run's world can be shown (2D only). */
  get supported(): boolean {
    return this.run?.shape.length === 2;
  }

  setRun(run: RunDetail): void {
    this.#ctrl?.abort();
    this.#miniCtrl?.abort();
    this.run = run;
    this.tick = -1;
    this.#data = null;
    this.#mini = null;
    this.organisms = [];
    this.selected = null;
    const [w = 1, h = 1] = run.shape;
    this.camera = new Camera(w, h);
    this.#resize();
    this.camera.fit();
    this.#sizeMinimap();
    this.draw();
  }

  /** Shows a tick: fetches the visible region (and the minimap). Resolves when drawn. */
  async showTick(tick: number): Promise<void> {
    this.tick = tick;
    clearTimeout(this.#debounce);
    await this.#fetch();
  }

  setColourMode(mode: ColourMode): void {
    this.colourMode = mode;
    if (this.#data) this.#paint(this.#data);
    if (this.#mini && this.#mini !== this.#data) this.#paint(this.#mini);
    this.draw();
  }

  /** Pans by a fraction of the view (keyboard). */
  panByView(fx: number, fy: number): void {
    this.camera.panBy(fx * this.camera.viewWidth, fy * this.camera.viewHeight);
    this.#viewChanged();
  }

  zoomBy(factor: number): void {
    this.camera.zoomAt(factor, this.camera.viewWidth / 2, this.camera.viewHeight / 2);
    this.#viewChanged();
  }

  fit(): void {
    this.camera.fit();
    this.#viewChanged();
  }

  /** Centres on a cell, zooming in to at least 6 pixels per cell. */
  centreOn(pos: readonly number[]): void {
    if (pos.length < 2) return;
    if (this.camera.scale < 6) this.camera.scale = 6;
    this.camera.centreOn(pos[0]! + 0.5, pos[1]! + 0.5);
    this.#viewChanged();
  }

  /** Page coordinates of a cell's centre (test hook). */
  screenOf(x: number, y: number): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    const [sx, sy] = this.camera.toScreen(x + 0.5, y + 0.5);
    return [r.left + sx, r.top + sy];
  }

  /** Molecule and owner at a cell, if loaded for the current tick. */
  cellAt(x: number, y: number): { molecule: number; owner: number } | null {
    for (const d of [this.#data, this.#mini]) {
      if (!d || d.tick !== this.tick) continue;
      const { x0, y0, x1, y1 } = d.region;
      if (x < x0 || y < y0 || x >= x1 || y >= y1) continue;
      const i = (y - y0) * d.width + (x - x0);
      return { molecule: d.cells[i]!, owner: d.owners[i]! };
    }
    return null;
  }

  #viewChanged(): void {
    this.draw();
    this.#updateTooltip();
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      const want = this.camera.visibleRegion();
      if (this.#data && this.#data.tick === this.tick && covers(this.#data.region, want)) return;
      this.#fetch().catch(this.onError);
    }, FETCH_DEBOUNCE_MS);
  }

  async #fetch(): Promise<void> {
    const run = this.run;
    const tick = this.tick;
    if (!run || tick < 0 || !this.supported) {
      this.draw();
      this.onLoaded();
      return;
    }
    const region = this.camera.visibleRegion();
    const whole: Region = { x0: 0, y0: 0, x1: run.shape[0]!, y1: run.shape[1]! };
    const mini = this.#wantMini(region, whole);
    const jobs: Promise<void>[] = [];
    if (region.x1 > region.x0 && region.y1 > region.y0) {
      this.#ctrl?.abort();
      const ctrl = new AbortController();
      this.#ctrl = ctrl;
      jobs.push(
        this.api.world(run.runId, tick, region, ctrl.signal).then((res) => {
          if (ctrl !== this.#ctrl) return;
          this.#data = this.#build(res);
          if (covers(this.#data.region, whole)) {
            this.#mini = this.#data;
            this.#miniFetchedAt = performance.now();
          }
          this.draw();
          this.#updateTooltip();
        }),
      );
    }
    if (mini) {
      this.#miniCtrl?.abort();
      const ctrl = new AbortController();
      this.#miniCtrl = ctrl;
      this.#miniFetchedAt = performance.now();
      jobs.push(
        this.api.world(run.runId, tick, whole, ctrl.signal).then((res) => {
          if (ctrl !== this.#miniCtrl) return;
          this.#mini = this.#build(res);
          this.draw();
        }),
      );
    }
    try {
      const results = await Promise.allSettled(jobs);
      for (const r of results) if (r.status === "rejected") this.onError(r.reason);
    } finally {
      if (tick === this.tick) this.onLoaded();
    }
  }

  #wantMini(region: Region, whole: Region): boolean {
    const cells = whole.x1 * whole.y1;
    if (cells > MINIMAP_CELL_LIMIT || covers(region, whole)) return false;
    if (this.#mini?.tick === this.tick) return false;
    return !this.playing || performance.now() - this.#miniFetchedAt > MINIMAP_PLAY_INTERVAL_MS;
  }

  #build(res: WorldResponse): RegionData {
    const worldW = res.shape[0] ?? 1;
    const [x0 = 0, y0 = 0] = res.origin;
    const [w = 0, h = 0] = res.size;
    const cells = new Int32Array(w * h);
    const owners = new Int32Array(w * h);
    const { flatIndex, molecule, owner } = res.cells;
    for (let i = 0; i < flatIndex.length; i++) {
      const f = flatIndex[i]!;
      const x = (f % worldW) - x0;
      const y = Math.floor(f / worldW) - y0;
      if (x < 0 || y < 0 || x >= w || y >= h) continue;
      cells[y * w + x] = molecule[i]!;
      owners[y * w + x] = owner[i]!;
    }
    const image = document.createElement("canvas");
    image.width = Math.max(1, w);
    image.height = Math.max(1, h);
    const d: RegionData = {
      tick: res.tick,
      region: { x0, y0, x1: x0 + w, y1: y0 + h },
      width: w,
      height: h,
      cells,
      owners,
      image,
    };
    this.#paint(d);
    return d;
  }

  #paint(d: RegionData): void {
    if (d.width === 0 || d.height === 0) return;
    const ctx = d.image.getContext("2d")!;
    const img = ctx.createImageData(d.width, d.height);
    const words = new Uint32Array(img.data.buffer);
    const cache = new Map<number, number>();
    const byType = this.colourMode === "type";
    const colour = byType ? colourByType : colourByOwner;
    for (let i = 0; i < words.length; i++) {
      const m = d.cells[i]!;
      const o = d.owners[i]!;
      // The colour depends on: type, owned or not, empty or not (type mode); owner, empty or
      // not (owner mode).
      const key = byType
        ? ((m >>> 20) & 15) * 4 + (o !== 0 ? 1 : 0) + (m === 0 ? 2 : 0)
        : o * 2 + (m === 0 ? 1 : 0);
      let w = cache.get(key);
      if (w === undefined) {
        w = rgbaWord(colour(m, o));
        cache.set(key, w);
      }
      words[i] = w;
    }
    ctx.putImageData(img, 0, 0);
  }

  #resize(): void {
    const r = this.#wrap.getBoundingClientRect();
    const dpr = globalThis.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.canvas.style.width = `${r.width}px`;
    this.canvas.style.height = `${r.height}px`;
    this.camera.resize(r.width, r.height);
    this.draw();
  }

  #sizeMinimap(): void {
    const [w = 1, h = 1] = this.run?.shape ?? [];
    this.#miniScale = Math.min(MINIMAP_MAX_W / w, MINIMAP_MAX_H / h);
    const cw = Math.max(1, Math.round(w * this.#miniScale));
    const ch = Math.max(1, Math.round(h * this.#miniScale));
    const dpr = globalThis.devicePixelRatio || 1;
    this.minimap.width = Math.round(cw * dpr);
    this.minimap.height = Math.round(ch * dpr);
    this.minimap.style.width = `${cw}px`;
    this.minimap.style.height = `${ch}px`;
  }

  #draw(): void {
    const ctx = this.#ctx;
    const cam = this.camera;
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#07090d";
    ctx.fillRect(0, 0, cam.viewWidth, cam.viewHeight);
    if (!this.run) return;
    if (!this.supported) {
      ctx.fillStyle = "#9aa4b2";
      ctx.font = "14px system-ui, sans-serif";
      ctx.fillText(
        `The world view shows 2D worlds; this run is ${this.run.shape.join("x")}.`,
        16,
        28,
      );
      return;
    }
    const s = cam.scale;
    const [wx, wy] = cam.toScreen(0, 0);
    ctx.fillStyle = `rgb(${BACKGROUND.join(",")})`;
    ctx.fillRect(wx, wy, cam.worldWidth * s, cam.worldHeight * s);
    ctx.imageSmoothingEnabled = false;
    // The minimap's whole-world image under the region, so panning never shows holes.
    for (const d of [this.#mini, this.#data]) {
      if (!d || d.width === 0) continue;
      const [sx, sy] = cam.toScreen(d.region.x0, d.region.y0);
      ctx.drawImage(d.image, sx, sy, d.width * s, d.height * s);
    }
    if (s >= 10) drawGrid(ctx, cam);
    ctx.strokeStyle = "#3a4150";
    ctx.lineWidth = 1;
    ctx.strokeRect(wx - 0.5, wy - 0.5, cam.worldWidth * s + 1, cam.worldHeight * s + 1);
    drawOrganisms(ctx, cam, this.organisms, this.selected?.id);
    if (this.selected) {
      const d = this.#data;
      drawSelected(ctx, cam, this.selected, d && d.tick === this.tick ? d : null);
    }
    if (this.#hover && s >= 4) {
      const [hx, hy] = cam.toScreen(this.#hover.cell[0], this.#hover.cell[1]);
      ctx.strokeStyle = "rgba(255,255,255,0.8)";
      ctx.lineWidth = 1;
      ctx.strokeRect(hx + 0.5, hy + 0.5, s - 1, s - 1);
    }
    this.#drawMinimap();
  }

  #drawMinimap(): void {
    const ctx = this.#mctx;
    const ms = this.#miniScale;
    const dpr = globalThis.devicePixelRatio || 1;
    const [w = 1, h = 1] = this.run?.shape ?? [];
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = `rgb(${BACKGROUND.join(",")})`;
    ctx.fillRect(0, 0, w * ms, h * ms);
    if (this.#mini) {
      ctx.imageSmoothingEnabled = ms < 1;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.#mini.image, 0, 0, w * ms, h * ms);
    }
    const dot = Math.max(2, ms);
    for (const o of this.organisms) {
      if (!o.alive || o.ip.length < 2) continue;
      ctx.fillStyle = o.id === this.selected?.id ? "#ffffff" : ownerCss(o.id);
      ctx.fillRect(o.ip[0]! * ms - dot / 2, o.ip[1]! * ms - dot / 2, dot, dot);
    }
    const cam = this.camera;
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(
      cam.x * ms,
      cam.y * ms,
      (cam.viewWidth / cam.scale) * ms,
      (cam.viewHeight / cam.scale) * ms,
    );
  }

  #bindPointer(): void {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      c.setPointerCapture(e.pointerId);
      this.#drag = {
        x: e.clientX,
        y: e.clientY,
        camX: this.camera.x,
        camY: this.camera.y,
        moved: false,
      };
      c.focus({ preventScroll: true });
    });
    c.addEventListener("pointermove", (e) => {
      const d = this.#drag;
      if (d) {
        const dx = e.clientX - d.x;
        const dy = e.clientY - d.y;
        if (!d.moved && Math.abs(dx) + Math.abs(dy) > 4) {
          d.moved = true;
          c.classList.add("dragging");
        }
        if (d.moved) {
          this.camera.x = d.camX - dx / this.camera.scale;
          this.camera.y = d.camY - dy / this.camera.scale;
          this.camera.clamp();
          this.#hover = null;
          this.#tooltip.hidden = true;
          this.#viewChanged();
          return;
        }
      }
      this.#setHover(e.offsetX, e.offsetY);
    });
    const end = (e: PointerEvent) => {
      const d = this.#drag;
      this.#drag = null;
      c.classList.remove("dragging");
      if (d && !d.moved && e.type === "pointerup") this.#click(e.offsetX, e.offsetY);
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("pointerleave", () => {
      if (this.#drag) return;
      this.#hover = null;
      this.#tooltip.hidden = true;
      this.draw();
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      this.camera.zoomAt(factor, e.offsetX, e.offsetY);
      this.#viewChanged();
    }, { passive: false });
    c.addEventListener("dblclick", (e) => {
      this.camera.zoomAt(e.shiftKey ? 0.5 : 2, e.offsetX, e.offsetY);
      this.#viewChanged();
    });
  }

  #bindMinimap(): void {
    const m = this.minimap;
    let down = false;
    const jump = (e: PointerEvent) => {
      this.camera.centreOn(e.offsetX / this.#miniScale, e.offsetY / this.#miniScale);
      this.#viewChanged();
    };
    m.addEventListener("pointerdown", (e) => {
      down = true;
      m.setPointerCapture(e.pointerId);
      jump(e);
    });
    m.addEventListener("pointermove", (e) => {
      if (down) jump(e);
    });
    m.addEventListener("pointerup", () => (down = false));
    m.addEventListener("pointercancel", () => (down = false));
  }

  #organismAtIp(x: number, y: number): OrganismSummary | undefined {
    return this.organisms.find((o) => o.alive && o.ip[0] === x && o.ip[1] === y);
  }

  #click(px: number, py: number): void {
    const cell = this.camera.cellAt(px, py);
    if (!cell) return;
    const atIp = this.#organismAtIp(cell[0], cell[1]);
    if (atIp) return this.onSelect(atIp.id);
    const c = this.cellAt(cell[0], cell[1]);
    if (c && c.owner !== 0) this.onSelect(c.owner);
  }

  #setHover(px: number, py: number): void {
    const cell = this.camera.cellAt(px, py);
    const prev = this.#hover?.cell;
    this.#hover = cell ? { cell, px, py } : null;
    this.#updateTooltip();
    if (prev?.[0] !== cell?.[0] || prev?.[1] !== cell?.[1]) this.draw();
  }

  #updateTooltip(): void {
    const h = this.#hover;
    const run = this.run;
    if (!h || !run) {
      this.#tooltip.hidden = true;
      return;
    }
    const [x, y] = h.cell;
    const c = this.cellAt(x, y);
    const atIp = this.#organismAtIp(x, y);
    const lines = [`<b>${x}|${y}</b>`];
    if (c) {
      lines.push(esc(formatMolecule(c.molecule, run.moleculeTypes, run.instructionNames)));
      lines.push(
        c.owner ? `owner <span style="color:${ownerCss(c.owner)}">#${c.owner}</span>` : "owner –",
      );
    } else lines.push("loading…");
    if (atIp) lines.push(`IP of #${atIp.id}`);
    const t = this.#tooltip;
    t.innerHTML = lines.join("<br>");
    t.hidden = false;
    const tw = t.offsetWidth;
    const th = t.offsetHeight;
    const left = h.px + 16 + tw > this.camera.viewWidth ? h.px - 12 - tw : h.px + 16;
    const top = h.py + 16 + th > this.camera.viewHeight ? h.py - 12 - th : h.py + 16;
    t.style.left = `${Math.max(0, left)}px`;
    t.style.top = `${Math.max(0, top)}px`;
  }
}
