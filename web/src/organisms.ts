/// <reference lib="dom" />
/**
 * The organism list of the current tick (filter, sort, keyboard selection) and the inspector
 * of the selected organism.
 *
 * @module
 */

import type { OrganismDetail, OrganismSummary } from "./api.ts";
import { byId, esc, vec } from "./dom.ts";
import { genomeHex, ownerCss } from "./molecule.ts";

export type SortKey = "id" | "generation" | "energy" | "age" | "genome";

/** Rows rendered at most; a filter narrows the rest down. */
const MAX_ROWS = 500;

/** Whether an organism matches a filter text: id (`12`, `#12`) or genome hash hex prefix. */
export function matches(o: OrganismSummary, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === "") return true;
  return f.split(/\s+/).some((t) => {
    if (t.startsWith("#")) return String(o.id) === t.slice(1);
    if (t.startsWith("g:")) return String(o.generation) === t.slice(2);
    return String(o.id).startsWith(t) || genomeHex(o.genomeHash).includes(t);
  });
}

/** Sorts organisms in place by a key, at a tick (for age). */
export function sortOrganisms(
  list: OrganismSummary[],
  key: SortKey,
  descending: boolean,
  tick: number,
): OrganismSummary[] {
  const value = (o: OrganismSummary): number => {
    switch (key) {
      case "id":
        return o.id;
      case "generation":
        return o.generation;
      case "energy":
        return o.energy;
      case "age":
        return tick - o.birthTick;
      case "genome":
        return o.genomeHash >>> 0;
    }
  };
  const sign = descending ? -1 : 1;
  return list.sort((a, b) => sign * (value(a) - value(b)) || a.id - b.id);
}

export class OrganismList {
  readonly #body = byId<HTMLTableSectionElement>("organism-rows");
  readonly #scroller = byId("organism-scroll");
  readonly filterInput = byId<HTMLInputElement>("organism-filter");
  readonly #count = byId("organism-count");
  organisms: OrganismSummary[] = [];
  tick = 0;
  selectedId: number | null = null;
  sortKey: SortKey = "id";
  descending = false;
  /** Ids in the order shown. */
  shown: number[] = [];
  onSelect: (id: number) => void = () => {};

  constructor() {
    this.filterInput.addEventListener("input", () => this.render());
    this.filterInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && this.shown.length) this.onSelect(this.shown[0]!);
      if (e.key === "ArrowDown" && this.shown.length) {
        e.preventDefault();
        this.#body.focus();
        this.onSelect(this.shown[0]!);
      }
    });
    for (const th of document.querySelectorAll<HTMLButtonElement>("#organism-table th button")) {
      th.addEventListener("click", () => {
        const key = th.dataset.sort as SortKey;
        if (key === this.sortKey) this.descending = !this.descending;
        else {
          this.sortKey = key;
          this.descending = key !== "id";
        }
        this.render();
      });
    }
    this.#body.addEventListener("click", (e) => {
      const row = (e.target as HTMLElement).closest<HTMLTableRowElement>("tr[data-id]");
      if (row) this.onSelect(Number(row.dataset.id));
    });
    this.#body.addEventListener("keydown", (e) => {
      const i = this.selectedId === null ? -1 : this.shown.indexOf(this.selectedId);
      let next = -1;
      if (e.key === "ArrowDown") next = Math.min(this.shown.length - 1, i + 1);
      else if (e.key === "ArrowUp") next = Math.max(0, i - 1);
      else if (e.key === "PageDown") next = Math.min(this.shown.length - 1, i + 15);
      else if (e.key === "PageUp") next = Math.max(0, i - 15);
      else return;
      e.preventDefault();
      e.stopPropagation();
      if (next >= 0 && this.shown[next] !== undefined) this.onSelect(this.shown[next]!);
    });
  }

  set(organisms: OrganismSummary[], tick: number): void {
    this.organisms = organisms;
    this.tick = tick;
    this.render();
  }

  select(id: number | null): void {
    this.selectedId = id;
    for (const tr of this.#body.querySelectorAll<HTMLTableRowElement>("tr[data-id]")) {
      const on = Number(tr.dataset.id) === id;
      tr.classList.toggle("selected", on);
      tr.setAttribute("aria-selected", String(on));
      if (on) tr.scrollIntoView({ block: "nearest" });
    }
  }

  render(): void {
    const filter = this.filterInput.value;
    const list = sortOrganisms(
      this.organisms.filter((o) => matches(o, filter)),
      this.sortKey,
      this.descending,
      this.tick,
    );
    this.shown = list.map((o) => o.id);
    const alive = this.organisms.filter((o) => o.alive).length;
    this.#count.textContent = `${alive} alive` +
      (list.length !== this.organisms.length ? ` · ${list.length} shown` : "") +
      (list.length > MAX_ROWS ? ` (first ${MAX_ROWS})` : "");
    const rows = list.slice(0, MAX_ROWS).map((o) => {
      const cls = [o.alive ? "" : "dead", o.id === this.selectedId ? "selected" : ""].join(" ");
      return `<tr data-testid="organism-row" data-id="${o.id}" class="${cls}" aria-selected="${
        o.id === this.selectedId
      }">` +
        `<td><span class="swatch" style="background:${ownerCss(o.id)}"></span>${o.id}${
          o.alive ? "" : " †"
        }</td>` +
        `<td class="num">${o.generation}</td>` +
        `<td class="num">${o.energy}</td>` +
        `<td class="num">${this.tick - o.birthTick}</td>` +
        `<td class="mono">${genomeHex(o.genomeHash)}</td>` +
        `<td class="mono last${o.lastFailed ? " failed" : ""}" title="${esc(o.lastInstruction)}">${
          esc(o.lastInstruction)
        }</td></tr>`;
    });
    const top = this.#scroller.scrollTop;
    this.#body.innerHTML = rows.join("") ||
      `<tr class="empty"><td colspan="6">${
        this.organisms.length ? "no organism matches the filter" : "no organisms at this tick"
      }</td></tr>`;
    this.#scroller.scrollTop = top;
    for (const th of document.querySelectorAll<HTMLButtonElement>("#organism-table th button")) {
      const on = th.dataset.sort === this.sortKey;
      th.classList.toggle("sorted", on);
      th.dataset.dir = on ? (this.descending ? "▼" : "▲") : "";
    }
  }
}

export class Inspector {
  readonly panel = byId("inspector");
  readonly #body = byId("inspector-body");
  readonly #title = byId("inspector-title");
  onSelect: (id: number) => void = () => {};
  onCentre: (pos: number[]) => void = () => {};
  onClose: () => void = () => {};
  #detail: OrganismDetail | null = null;

  constructor() {
    byId("inspector-close").addEventListener("click", () => this.onClose());
    byId("inspector-centre").addEventListener("click", () => {
      if (this.#detail) this.onCentre(this.#detail.ip);
    });
    this.#body.addEventListener("click", (e) => {
      const a = (e.target as HTMLElement).closest<HTMLElement>("[data-organism]");
      if (a) {
        e.preventDefault();
        this.onSelect(Number(a.dataset.organism));
      }
    });
  }

  hide(): void {
    this.#detail = null;
    this.panel.hidden = true;
  }

  /** Shows that the selected organism is not in the current tick. */
  absent(id: number, tick: number): void {
    this.#detail = null;
    this.panel.hidden = false;
    this.#title.textContent = `Organism #${id}`;
    this.#body.innerHTML = `<p class="muted">#${id} is not in the sample at tick ${tick} ` +
      `(not yet born, or dead and gone).</p>`;
  }

  loading(id: number): void {
    if (this.#detail?.id === id) return;
    this.panel.hidden = false;
    this.#title.textContent = `Organism #${id}`;
    this.#body.innerHTML = `<p class="muted">loading…</p>`;
  }

  show(o: OrganismDetail, instructionNames: readonly string[]): void {
    this.#detail = o;
    this.panel.hidden = false;
    this.#title.innerHTML = `<span class="swatch" style="background:${ownerCss(o.id)}"></span>` +
      `Organism #${o.id} <span class="badge ${o.alive ? "ok" : "bad"}">${
        o.alive ? "alive" : "dead"
      }</span>`;
    const kv = (k: string, v: string, title = "") =>
      `<div class="kv"${title ? ` title="${esc(title)}"` : ""}><span>${k}</span><b>${v}</b></div>`;
    const parent = o.parentId
      ? `<a href="#" data-organism="${o.parentId}">#${o.parentId}</a>`
      : "placed";
    const dps = o.dataPointers.map((dp, i) =>
      kv(`DP${i}${i === o.activeDp ? " (active)" : ""}`, esc(vec(dp)))
    ).join("");
    const regs = o.dataRegisters.map((r, i) => `<tr><th>DR${i}</th><td>${esc(r)}</td></tr>`)
      .join("");
    const lregs = o.locationRegisters.map((r, i) =>
      `<tr><th>LR${i}</th><td>${esc(vec(r))}</td></tr>`
    ).join("");
    const stack = (items: string[], empty = "empty") =>
      items.length
        ? `<ol class="stack">${
          items.slice().reverse().map((s) => `<li>${esc(s)}</li>`).join("")
        }</ol>`
        : `<p class="muted">${empty}</p>`;
    const opcode = o.lastInstruction.split(/\s+/)[0] ?? "";
    const known = instructionNames.includes(opcode);
    this.#body.innerHTML = `
      <div class="grid2">
        ${kv("Energy ER", String(o.energy))}
        ${kv("Entropy SR", String(o.entropy))}
        ${kv("Parent", parent)}
        ${kv("Generation", String(o.generation))}
        ${kv("Born", `tick ${o.birthTick}`)}
        ${kv("Age", String(o.tick - o.birthTick))}
        ${kv("Genome", genomeHex(o.genomeHash))}
        ${kv("Body / children", `${o.bodySize} / ${o.children}`)}
        ${kv("Marker MR", String(o.marker))}
        ${kv("Executed", String(o.instructionsExecuted))}
        ${kv("IP", esc(vec(o.ip)))}
        ${kv("Direction DV", esc(vec(o.dv)))}
        ${dps}
      </div>
      <h4>Last instruction</h4>
      <div class="last-instr${o.lastFailed ? " failed" : ""}" data-testid="last-instruction">
        <code title="${known ? "" : "opcode not in the run's instruction table"}">${
      esc(o.lastInstruction || "none yet")
    }</code>
        <span class="muted">at ${esc(vec(o.lastInstructionPosition))} · cost ${o.lastCost}</span>
        ${
      o.lastFailed
        ? `<div class="failure">failed: ${esc(o.failureReason || "no reason given")}</div>`
        : ""
    }
      </div>
      ${o.deathReason ? `<div class="failure">died: ${esc(o.deathReason)}</div>` : ""}
      <div class="cols">
        <div>
          <h4>Registers</h4>
          <table class="regs" data-testid="registers">${regs}${lregs}</table>
        </div>
        <div>
          <h4 title="top first">Data stack</h4>${stack(o.dataStack)}
          <h4 title="top first">Location stack</h4>${stack(o.locationStack.map((v) => vec(v)))}
          <h4 title="top first">Call stack</h4>${stack(o.callStack.map((v) => vec(v)))}
        </div>
      </div>`;
  }
}
