/// <reference lib="dom" />
/**
 * The colour mode of the world view (by molecule type or by owner): the toolbar's radio
 * buttons and the legend beside them.
 *
 * @module
 */

import { byId, esc } from "./dom.ts";
import { type ColourMode, DEFAULT_TYPE_NAMES, typeCss } from "./molecule.ts";
import type { WorldView } from "./world_view.ts";

/** Switches the world view's colour mode and keeps the radio buttons and legend in step. */
export class ColourModeControl {
  readonly #legend = byId("legend");
  #typeNames: readonly string[] = [];
  /** The mode was switched (by a radio button or {@link toggle}). */
  onChange: (mode: ColourMode) => void = () => {};

  constructor(readonly world: WorldView) {
    byId("colour-type").addEventListener("change", () => this.set("type"));
    byId("colour-owner").addEventListener("change", () => this.set("owner"));
    this.#renderLegend();
  }

  /** Colours the world by `mode`. */
  set(mode: ColourMode): void {
    byId<HTMLInputElement>(mode === "type" ? "colour-type" : "colour-owner").checked = true;
    this.world.setColourMode(mode);
    this.#renderLegend();
    this.onChange(mode);
  }

  /** Switches to the other mode. */
  toggle(): void {
    this.set(this.world.colourMode === "type" ? "owner" : "type");
  }

  /** The run's molecule type names for the legend; none: the default names. */
  setTypeNames(names: readonly string[]): void {
    this.#typeNames = names;
    this.#renderLegend();
  }

  #renderLegend(): void {
    if (this.world.colourMode === "owner") {
      this.#legend.innerHTML = `<span class="muted">hue per owner · grey: unowned matter</span>`;
      return;
    }
    const names = this.#typeNames.length ? this.#typeNames : DEFAULT_TYPE_NAMES;
    this.#legend.innerHTML =
      names.map((n, i) =>
        `<span class="legend-item"><span class="swatch" style="background:${typeCss(i)}"></span>${
          esc(n)
        }</span>`
      ).join("") + `<span class="muted">dim: unowned</span>`;
  }
}
