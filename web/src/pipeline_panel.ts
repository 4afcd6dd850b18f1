/// <reference lib="dom" />
/**
 * The pipeline status panel: every service of the deployment (host, pid, state, lag, last
 * seen; `lost` in red) when the API reads the status topic, the services and resources of the
 * API's own process with their metrics; refreshed every 2 s while open.
 *
 * @module
 */

import type { Api, PipelineResponse } from "./api.ts";
import { byId, compact, esc } from "./dom.ts";

const REFRESH_MS = 2000;

function stateClass(state: string): string {
  if (/^(running|ready|idle|done|stopped|completed)$/i.test(state)) return "ok";
  if (/fail|error|crash/i.test(state)) return "bad";
  return "warn";
}

function statValue(v: unknown): string {
  if (typeof v === "number") return compact(v);
  if (typeof v === "string" || typeof v === "boolean") return String(v);
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.every(([, x]) => typeof x === "number")) {
      const total = entries.reduce((a, [, x]) => a + (x as number), 0);
      return entries.length > 4
        ? `${compact(total)} (Σ ${entries.length})`
        : entries.map(([k, x]) => `${k}:${compact(x as number)}`).join(" ");
    }
    return JSON.stringify(v);
  }
  return "–";
}

/** What a state is about (e.g. `waiting for broker 10.0.0.5:9092 (connection refused)`). */
function detail(text: string | undefined): string {
  return text ? `<div class="muted" data-testid="state-detail">${esc(text)}</div>` : "";
}

/** "3.2 s ago", "4 min ago". */
function ago(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s ago` : `${Math.round(ms / 60_000)} min ago`;
}

/** The deployment's services from the heartbeats, or "" when the API has none. */
function renderCluster(cluster: PipelineResponse["cluster"]): string {
  if (cluster === undefined) return "";
  const rows = cluster.services.map((s) => {
    const lost = s.state === "lost";
    return `<tr data-testid="cluster-service"${lost ? ' class="lost"' : ""}><td>${
      esc(s.name)
    }</td><td class="muted">${esc(s.kind)}</td><td>${esc(s.host)}</td><td>${s.pid}</td><td>` +
      `<span class="badge ${lost ? "bad" : stateClass(s.state)}">${esc(s.state)}</span>${
        lost ? ` <span class="muted">(was ${esc(s.reportedState)})</span>` : ""
      }${detail(s.detail)}${s.error ? `<div class="failure">${esc(s.error)}</div>` : ""}</td><td>${
        s.lag === null ? '<span class="muted">–</span>' : esc(compact(s.lag))
      }</td><td${lost ? ' class="failure"' : ""}>${esc(ago(s.ageMs))}</td></tr>`;
  }).join("");
  return `<h4>Deployment</h4>
    <p class="muted">from heartbeats; lost after ${cluster.lostAfterMs / 1000} s of silence</p>
    <table class="pipeline"><thead><tr><th>name</th><th>kind</th><th>host</th><th>pid</th><th>state</th><th>lag</th><th>last seen</th></tr></thead>
    <tbody>${
    rows || '<tr><td colspan="7" class="muted">no heartbeats yet</td></tr>'
  }</tbody></table>`;
}

/** The panel's HTML for one answer (exported for tests). */
export function renderPipeline(p: PipelineResponse): string {
  const services = p.services.map((s) => {
    const metrics = Object.entries(s.metrics).map(([k, v]) =>
      `<span class="metric"><span>${esc(k)}</span> ${esc(compact(v))}</span>`
    ).join("");
    return `<tr data-testid="pipeline-service"><td>${esc(s.name)}</td><td class="muted">${
      esc(s.kind)
    }</td><td><span class="badge ${stateClass(s.state)}">${esc(s.state)}</span>${detail(s.detail)}${
      s.error ? `<div class="failure">${esc(s.error)}</div>` : ""
    }</td><td class="metrics">${metrics || '<span class="muted">–</span>'}</td></tr>`;
  }).join("");
  const resources = p.resources.map((r) => {
    const stats = Object.entries(r.stats ?? {}).map(([k, v]) =>
      `<span class="metric"><span>${esc(k)}</span> ${esc(statValue(v))}</span>`
    ).join("");
    return `<tr><td>${esc(r.name)}</td><td class="muted">${esc(r.kind)}</td><td>${
      esc(r.description)
    }</td><td class="metrics">${stats || '<span class="muted">–</span>'}</td></tr>`;
  }).join("");
  return `<p class="muted">mode: ${esc(p.mode)}</p>${renderCluster(p.cluster)}
    <h4>Services${p.cluster === undefined ? "" : " of this process"}</h4>
    <table class="pipeline"><thead><tr><th>name</th><th>kind</th><th>state</th><th>metrics</th></tr></thead>
    <tbody>${services || '<tr><td colspan="4" class="muted">none</td></tr>'}</tbody></table>
    <h4>Resources</h4>
    <table class="pipeline"><thead><tr><th>name</th><th>kind</th><th>description</th><th>stats</th></tr></thead>
    <tbody>${resources || '<tr><td colspan="4" class="muted">none</td></tr>'}</tbody></table>`;
}

export class PipelinePanel {
  readonly panel = byId("pipeline-panel");
  readonly #body = byId("pipeline-body");
  readonly #updated = byId("pipeline-updated");
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ctrl: AbortController | undefined;
  onError: (e: unknown) => void = () => {};

  constructor(readonly api: Api) {
    byId("pipeline-close").addEventListener("click", () => this.close());
  }

  get open(): boolean {
    return !this.panel.hidden;
  }

  toggle(): void {
    if (this.open) this.close();
    else this.show();
  }

  show(): void {
    this.panel.hidden = false;
    byId("pipeline-button").setAttribute("aria-pressed", "true");
    this.#refresh();
  }

  close(): void {
    this.panel.hidden = true;
    byId("pipeline-button").setAttribute("aria-pressed", "false");
    clearTimeout(this.#timer);
    this.#ctrl?.abort();
  }

  async #refresh(): Promise<void> {
    clearTimeout(this.#timer);
    this.#ctrl?.abort();
    const ctrl = new AbortController();
    this.#ctrl = ctrl;
    try {
      const p = await this.api.pipeline(ctrl.signal);
      this.#body.innerHTML = renderPipeline(p);
      this.#updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      this.onError(e);
      if (ctrl === this.#ctrl) this.#updated.textContent = "update failed";
    } finally {
      if (this.open && ctrl === this.#ctrl) {
        this.#timer = setTimeout(() => this.#refresh(), REFRESH_MS);
      }
    }
  }
}
