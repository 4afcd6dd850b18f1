/// <reference lib="dom" />
/**
 * Statistics charts (uPlot): a few small charts of per-tick statistics, two series each on
 * their own axes, with a cursor line at the current tick; clicking a chart seeks there.
 *
 * @module
 */

import uPlot from "uplot";
import type { StatsResponse } from "./api.ts";
import { byId, compact } from "./dom.ts";

interface ChartSpec {
  title: string;
  series: { metric: string; label: string; colour: string }[];
}

/** The charts and their metrics (stats columns of services/common/index_schema.ts). */
export const CHARTS: readonly ChartSpec[] = [
  {
    title: "Population",
    series: [
      { metric: "alive", label: "alive", colour: "#4c8bf5" },
      { metric: "genomes_distinct", label: "genomes", colour: "#50c878" },
    ],
  },
  {
    title: "Energy",
    series: [
      { metric: "energy_mean", label: "mean ER", colour: "#facc15" },
      { metric: "entropy_mean", label: "mean SR", colour: "#dc5a46" },
    ],
  },
  {
    title: "Diversity",
    series: [
      { metric: "shannon_diversity", label: "Shannon", colour: "#be78f0" },
      { metric: "generation_max", label: "max gen", colour: "#3cd2dc" },
    ],
  },
];

/** Every metric the charts need. */
export const METRICS: readonly string[] = CHARTS.flatMap((c) => c.series.map((s) => s.metric));

/** From 0 (or the minimum, if negative) to a little above the maximum; flat series get 0..1. */
function yRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const lo = Math.min(0, min ?? 0);
  const hi = max ?? 1;
  return hi > lo ? [lo, hi + (hi - lo) * 0.05] : [lo, lo + 1];
}

const AXIS = {
  stroke: "#9aa4b2",
  grid: { stroke: "#232836", width: 1 },
  ticks: { stroke: "#232836", width: 1 },
  font: "11px system-ui, sans-serif",
};

export class Charts {
  readonly #root = byId("charts");
  #plots: uPlot[] = [];
  #tick = -1;
  /** Points per series of the last data (for the test hook). */
  points = 0;
  onSeek: (tick: number) => void = () => {};

  constructor() {
    new ResizeObserver(() => this.#resize()).observe(this.#root);
  }

  /** Replaces the data (or clears the charts with `null`). */
  setData(stats: StatsResponse | null): void {
    for (const p of this.#plots) p.destroy();
    this.#plots = [];
    this.#root.innerHTML = "";
    this.points = stats?.ticks.length ?? 0;
    if (!stats) return;
    for (const spec of CHARTS) {
      const el = document.createElement("div");
      el.className = "chart";
      el.dataset.testid = "chart";
      el.dataset.points = String(stats.ticks.length);
      el.setAttribute("aria-label", `${spec.title} chart`);
      const title = document.createElement("div");
      title.className = "chart-title";
      title.textContent = spec.title;
      el.append(title);
      this.#root.append(el);
      const data: uPlot.AlignedData = [
        stats.ticks,
        ...spec.series.map((s) => stats.series[s.metric] ?? stats.ticks.map(() => null)),
      ];
      const [w, h] = this.#size();
      const opts: uPlot.Options = {
        width: w,
        height: h,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false }, points: { size: 5 } },
        scales: { x: { time: false }, y: { range: yRange }, y2: { range: yRange } },
        series: [
          { label: "tick", value: (_u, v) => (v == null ? "–" : String(v)) },
          ...spec.series.map((s, i): uPlot.Series => ({
            label: s.label,
            stroke: s.colour,
            width: 1.5,
            scale: i === 0 ? "y" : "y2",
            points: { show: false },
            value: (_u, v) => (v == null ? "–" : compact(v)),
          })),
        ],
        axes: [
          { ...AXIS, size: 22 },
          { ...AXIS, scale: "y", size: 44, values: (_u, vals) => vals.map(compact) },
          {
            ...AXIS,
            scale: "y2",
            side: 1,
            size: 44,
            grid: { show: false },
            values: (_u, vals) => vals.map(compact),
          },
        ],
        plugins: [this.#cursorLine()],
      };
      const plot = new uPlot(opts, data, el);
      plot.over.addEventListener("click", () => {
        const left = plot.cursor.left ?? -1;
        if (left >= 0) this.onSeek(plot.posToVal(left, "x"));
      });
      this.#plots.push(plot);
    }
  }

  /** Replaces the charts with a message (no data, or why there is none). */
  setMessage(text: string): void {
    this.setData(null);
    const p = document.createElement("p");
    p.className = "muted charts-message";
    p.textContent = text;
    this.#root.append(p);
  }

  /** Moves the cursor line. */
  setTick(tick: number): void {
    if (tick === this.#tick) return;
    this.#tick = tick;
    for (const p of this.#plots) p.redraw(false, false);
  }

  #cursorLine(): uPlot.Plugin {
    return {
      hooks: {
        draw: [(u: uPlot) => {
          if (this.#tick < 0) return;
          const x = u.valToPos(this.#tick, "x", true);
          const { top, height, left, width } = u.bbox;
          if (x < left || x > left + width) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#ffffff";
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(Math.round(x) + 0.5, top);
          ctx.lineTo(Math.round(x) + 0.5, top + height);
          ctx.stroke();
          ctx.restore();
        }],
      },
    };
  }

  #size(): [number, number] {
    const r = this.#root.getBoundingClientRect();
    const n = CHARTS.length;
    const w = Math.max(160, Math.floor((r.width - 12 * (n - 1)) / n) - 2);
    // Title (16) and legend (~22) sit outside the plot's height.
    const h = Math.max(60, Math.floor(r.height - 44));
    return [w, h];
  }

  #resize(): void {
    const [w, h] = this.#size();
    for (const p of this.#plots) p.setSize({ width: w, height: h });
  }
}
