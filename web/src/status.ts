/// <reference lib="dom" />
/**
 * The status bar: errors stay until dismissed (Esc or the x button) or replaced, info
 * messages fade after a few seconds, and a loading indicator counts requests in flight.
 *
 * @module
 */

import { isAbort } from "./api.ts";
import { byId } from "./dom.ts";

export class StatusBar {
  readonly #bar = byId("status-bar");
  readonly #message = byId("status-message");
  readonly #dismiss = byId<HTMLButtonElement>("status-dismiss");
  readonly #loading = byId("status-loading");
  #infoTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError = "";
  #repeats = 0;
  /** The error showing (for the test hook), "" when none. */
  current = "";
  onChange: () => void = () => {};

  constructor() {
    this.#dismiss.addEventListener("click", () => this.clear());
  }

  /** Shows an error. Aborted (superseded) requests are not errors and are ignored. */
  showError(e: unknown): void {
    if (isAbort(e)) return;
    const msg = e instanceof Error ? e.message : String(e);
    console.error(e);
    this.#repeats = msg === this.#lastError ? this.#repeats + 1 : 1;
    this.#lastError = msg;
    this.current = msg;
    clearTimeout(this.#infoTimer);
    this.#message.textContent = this.#repeats > 1 ? `${msg} (×${this.#repeats})` : msg;
    this.#bar.classList.add("error");
    this.#bar.classList.remove("info");
    this.#dismiss.hidden = false;
    this.onChange();
  }

  /** Shows a passing message, unless an error is showing. */
  info(msg: string, ms = 4000): void {
    if (this.current) return;
    clearTimeout(this.#infoTimer);
    this.#message.textContent = msg;
    this.#bar.classList.add("info");
    this.#infoTimer = setTimeout(() => {
      if (!this.current) this.#message.textContent = "";
      this.#bar.classList.remove("info");
    }, ms);
  }

  clear(): void {
    this.current = "";
    this.#lastError = "";
    this.#repeats = 0;
    this.#message.textContent = "";
    this.#bar.classList.remove("error", "info");
    this.#dismiss.hidden = true;
    this.onChange();
  }

  inflight(n: number): void {
    this.#loading.textContent = n > 0 ? `loading… (${n})` : "";
  }
}
