/// <reference lib="dom" />
/**
 * Live progress of a running simulation: the SSE stream GET /api/runs/:run/live, events
 * "progress" carrying {@link LiveProgress}, and one "end" ({@link LiveEnd}) once the run is
 * finished, after which the server closes the stream (and this closes its EventSource, which
 * would otherwise reconnect).
 *
 * @module
 */

import type { LiveEnd, LiveProgress } from "./api.ts";

export class LiveStream {
  #source: EventSource | null = null;
  #lostReported = false;
  onProgress: (p: LiveProgress) => void = () => {};
  /** The run is finished: the stream is over. */
  onEnd: (e: LiveEnd) => void = () => {};
  onError: (message: string) => void = () => {};
  /** Connection state changes: "connecting", "open", "closed". */
  onState: (state: "connecting" | "open" | "closed") => void = () => {};

  get active(): boolean {
    return this.#source !== null;
  }

  start(url: string): void {
    this.stop();
    const src = new EventSource(url);
    this.#source = src;
    this.#lostReported = false;
    this.onState("connecting");
    src.addEventListener("open", () => {
      this.#lostReported = false;
      this.onState("open");
    });
    src.addEventListener("progress", (e) => {
      try {
        this.onProgress(JSON.parse((e as MessageEvent<string>).data) as LiveProgress);
      } catch (err) {
        this.onError(`Live stream: bad progress event (${err})`);
      }
    });
    src.addEventListener("end", (e) => {
      if (src !== this.#source) return;
      let end: LiveEnd;
      try {
        end = JSON.parse((e as MessageEvent<string>).data) as LiveEnd;
      } catch (err) {
        this.onError(`Live stream: bad end event (${err})`);
        return;
      }
      this.stop();
      this.onEnd(end);
    });
    src.addEventListener("error", () => {
      if (src !== this.#source) return;
      if (src.readyState === EventSource.CLOSED) {
        this.onError(`Live stream ${url} closed by the server or not available`);
        this.#source = null;
        this.onState("closed");
      } else if (!this.#lostReported) {
        this.#lostReported = true;
        this.onError(`Live stream ${url}: connection lost, reconnecting…`);
        this.onState("connecting");
      }
    });
  }

  stop(): void {
    this.#source?.close();
    this.#source = null;
    this.onState("closed");
  }
}
