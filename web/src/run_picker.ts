/// <reference lib="dom" />
/**
 * The header's run picker (a select of the stored runs) and the line describing the run
 * shown: state, seed, shape and topology, tick range, sampling, batches, stored size, engine.
 *
 * @module
 */

import type { RunDetail, RunSummary } from "./api.ts";
import { byId, esc } from "./dom.ts";

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

function optionHtml(run: RunSummary): string {
  return `<option value="${esc(run.runId)}">${esc(run.runId)} · ${esc(run.state)}</option>`;
}

/** The run select and the run header; reports the user's pick through {@link onPick}. */
export class RunPicker {
  readonly #select = byId<HTMLSelectElement>("run-select");
  readonly #header = byId("run-header");
  /** The user picked the run `runId`. */
  onPick: (runId: string) => void = () => {};

  constructor() {
    this.#select.addEventListener("change", () => this.onPick(this.#select.value));
  }

  /** Lists `runs` in their order; with none, the header says that it waits for one. */
  setRuns(runs: readonly RunSummary[]): void {
    this.#select.innerHTML = runs.map(optionHtml).join("");
    if (runs.length === 0) {
      this.#header.textContent = "No runs stored yet; waiting for a simulation…";
    }
  }

  /** Selects the run shown, adding it on top when the list lacks it. */
  choose(run: RunDetail): void {
    if (![...this.#select.options].some((o) => o.value === run.runId)) {
      this.#select.insertAdjacentHTML("afterbegin", optionHtml(run));
    }
    this.#select.value = run.runId;
  }

  /** Marks the run `runId` finished in the list. */
  markFinished(runId: string): void {
    const option = [...this.#select.options].find((o) => o.value === runId);
    if (option) option.textContent = `${runId} · finished`;
  }

  /** Describes `run`, whose sampled ticks are `ticks`, in the header. */
  renderHeader(run: RunDetail, ticks: readonly number[]): void {
    const range = ticks.length ? `ticks ${ticks[0]}–${ticks.at(-1)}` : "no ticks yet";
    this.#header.innerHTML = [
      `<span class="run-state state-${esc(run.state)}" data-testid="run-state" title="${
        esc(run.stateReason)
      }">${esc(run.state)}</span>`,
      `seed <b>${esc(run.seed)}</b>`,
      `<b>${esc(run.shape.join("×"))}</b> ${esc(run.topology)}`,
      `<b>${range}</b> (every ${run.intervals.sampling})`,
      `${run.batches} batches · ${formatBytes(run.storedBytes)}`,
      `<span class="muted" title="started ${new Date(run.startedAtMs).toISOString()}">engine ${
        esc(run.engineVersion)
      }</span>`,
    ].join(" · ");
  }
}
