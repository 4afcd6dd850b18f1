/**
 * The test hook `window.__evochora`: what the app shows, kept up to date by the app for the
 * browser tests (web/README.md "Test hooks").
 *
 * @module
 */

import type { ColourMode } from "./molecule.ts";

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

/** A hook in its initial state (nothing loaded yet), published as `window.__evochora`. */
export function installHook(screenOf: EvochoraHook["screenOf"]): EvochoraHook {
  const hook: EvochoraHook = {
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
    screenOf,
  };
  globalThis.__evochora = hook;
  return hook;
}
