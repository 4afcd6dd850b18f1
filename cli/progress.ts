/**
 * A live status line on stderr: redrawn in place on a terminal, silent elsewhere (logs stay
 * clean), with a final line kept on screen.
 *
 * @module
 */

/** Options for {@link Progress}. */
export interface ProgressOptions {
  /** Minimum milliseconds between redraws. */
  intervalMs?: number;
  /** Force on or off; default: stderr is a terminal. */
  enabled?: boolean;
}

/** Redraws one status line at most every `intervalMs`. */
export class Progress {
  readonly #enabled: boolean;
  readonly #interval: number;
  #last = 0;
  #width = 0;
  readonly #encoder = new TextEncoder();

  constructor(options: ProgressOptions = {}) {
    this.#enabled = options.enabled ?? Deno.stderr.isTerminal();
    this.#interval = options.intervalMs ?? 250;
  }

  /** Whether anything is drawn. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Calls `render` and redraws when the interval has passed (or `force`). */
  update(render: () => string, force = false): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < this.#interval) return;
    this.#last = now;
    const text = render();
    const pad = Math.max(0, this.#width - text.length);
    this.#width = text.length;
    Deno.stderr.writeSync(this.#encoder.encode(`\r${text}${" ".repeat(pad)}`));
  }

  /** Leaves the last line on screen and moves to a new line. */
  done(render?: () => string): void {
    if (!this.#enabled) return;
    if (render) this.update(render, true);
    Deno.stderr.writeSync(this.#encoder.encode("\n"));
  }
}

/** 1234567 -> "1.23M", for compact status lines. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}
