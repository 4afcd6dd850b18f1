/// <reference lib="dom" />
/**
 * The timeline: a slider over the sampled ticks, step buttons, play/pause with a speed.
 * It only reports the wanted position; the app loads the tick and calls {@link Timeline.show}.
 *
 * @module
 */

import { byId } from "./dom.ts";

export class Timeline {
  readonly slider = byId<HTMLInputElement>("timeline-slider");
  readonly label = byId("tick-label");
  readonly playButton = byId<HTMLButtonElement>("btn-play");
  readonly speed = byId<HTMLSelectElement>("speed");
  readonly #range = byId("tick-range");
  ticks: number[] = [];
  index = 0;
  playing = false;
  /** The user wants sample `index`. */
  onSeek: (index: number) => void = () => {};
  onPlayChange: (playing: boolean) => void = () => {};

  constructor() {
    this.slider.addEventListener("input", () => this.onSeek(Number(this.slider.value)));
    byId("btn-first").addEventListener("click", () => this.onSeek(0));
    byId("btn-back").addEventListener("click", () => this.onSeek(this.index - 1));
    byId("btn-forward").addEventListener("click", () => this.onSeek(this.index + 1));
    byId("btn-last").addEventListener("click", () => this.onSeek(this.ticks.length - 1));
    this.playButton.addEventListener("click", () => this.setPlaying(!this.playing));
    this.speed.addEventListener("change", () => {
      if (this.playing) this.onPlayChange(true);
    });
  }

  /** Samples per second when playing. */
  get samplesPerSecond(): number {
    return Number(this.speed.value) || 5;
  }

  setTicks(ticks: number[]): void {
    this.ticks = ticks;
    this.slider.max = String(Math.max(0, ticks.length - 1));
    this.slider.disabled = ticks.length === 0;
    this.#range.textContent = ticks.length
      ? `${ticks[0]}–${ticks.at(-1)} · ${ticks.length} samples`
      : "no samples stored yet";
  }

  /** Shows the position (called by the app when it moves to a sample). */
  show(index: number): void {
    this.index = index;
    this.slider.value = String(index);
    const tick = this.ticks[index];
    this.label.textContent = tick === undefined ? "–" : String(tick);
  }

  setPlaying(playing: boolean): void {
    if (playing === this.playing) return;
    this.playing = playing;
    this.playButton.textContent = playing ? "❚❚" : "▶";
    this.playButton.title = playing ? "Pause (space)" : "Play (space)";
    this.playButton.setAttribute("aria-pressed", String(playing));
    this.onPlayChange(playing);
  }
}

/** Index of the sample nearest to `tick` in ascending `ticks` (-1 when empty). */
export function nearestIndex(ticks: readonly number[], tick: number): number {
  if (ticks.length === 0) return -1;
  let lo = 0;
  let hi = ticks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ticks[mid]! < tick) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(ticks[lo - 1]! - tick) <= Math.abs(ticks[lo]! - tick)) return lo - 1;
  return lo;
}
