/// <reference lib="dom" />
/**
 * Keyboard shortcuts (web/README.md "Keyboard") and the help dialog listing them. Shortcuts
 * never fire while typing into a text field (Esc leaves it) or with Ctrl, Meta or Alt held.
 *
 * @module
 */

import { byId, typingInto } from "./dom.ts";

/** What the shortcuts do; the app carries them out. */
export interface ShortcutActions {
  togglePlay(): void;
  /** Moves `delta` samples. */
  step(delta: number): void;
  first(): void;
  newest(): void;
  zoomBy(factor: number): void;
  fit(): void;
  /** Pans by fractions of the view's size. */
  pan(fx: number, fy: number): void;
  toggleColourMode(): void;
  toggleLive(): void;
  toggleFollow(): void;
  togglePipeline(): void;
  centreOnSelected(): void;
  focusFilter(): void;
  /** Esc outside text fields with the help closed: closes or dismisses what is on top. */
  escape(): void;
}

/**
 * Binds the shortcuts to `actions` and the help dialog to its buttons. On `slider` (the
 * timeline's) the arrow keys keep their own meaning.
 */
export function bindKeyboard(actions: ShortcutActions, slider: HTMLElement): void {
  const help = byId("help");
  const toggleHelp = (show = help.hidden) => {
    help.hidden = !show;
  };
  byId("help-button").addEventListener("click", () => toggleHelp());
  byId("help-close").addEventListener("click", () => toggleHelp(false));
  document.addEventListener("keyup", (e) => {
    // Space on a focused button would click it after our keydown already acted.
    if (e.key === " " && e.target instanceof HTMLButtonElement) e.preventDefault();
  });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement | null;
    if (e.key === "Escape") {
      if (typingInto(target)) target!.blur();
      else if (!help.hidden) toggleHelp(false);
      else actions.escape();
      return;
    }
    if (typingInto(target)) return;
    const action = e.key === "?" ? () => toggleHelp() : shortcut(e, target === slider, actions);
    if (action === undefined) return;
    action();
    e.preventDefault();
  });
}

/** The action of a key press, undefined when the key is not a shortcut there. */
function shortcut(
  e: KeyboardEvent,
  onSlider: boolean,
  a: ShortcutActions,
): (() => void) | undefined {
  const pan = e.shiftKey ? 0.5 : 0.125;
  switch (e.key) {
    case " ":
      return () => a.togglePlay();
    case ",":
    case "[":
    case "<":
      return () => a.step(e.shiftKey || e.key === "<" ? -10 : -1);
    case ".":
    case "]":
    case ">":
      return () => a.step(e.shiftKey || e.key === ">" ? 10 : 1);
    case "Home":
      return () => a.first();
    case "End":
      return () => a.newest();
    case "+":
    case "=":
      return () => a.zoomBy(1.5);
    case "-":
    case "_":
      return () => a.zoomBy(1 / 1.5);
    case "0":
      return () => a.fit();
    case "ArrowLeft":
      return onSlider ? undefined : () => a.pan(-pan, 0);
    case "ArrowRight":
      return onSlider ? undefined : () => a.pan(pan, 0);
    case "ArrowUp":
      return onSlider ? undefined : () => a.pan(0, -pan);
    case "ArrowDown":
      return onSlider ? undefined : () => a.pan(0, pan);
    case "c":
      return () => a.toggleColourMode();
    case "l":
      return () => a.toggleLive();
    case "f":
      return () => a.toggleFollow();
    case "p":
      return () => a.togglePipeline();
    case "i":
      return () => a.centreOnSelected();
    case "/":
      return () => a.focusFilter();
  }
  return undefined;
}
