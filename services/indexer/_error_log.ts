/**
 * An indexer's errors: those still true, by source, for the status' `error`, and the last
 * errors and notices, for `recentErrors()`.
 *
 * @module
 */

/** Errors kept for {@link ErrorLog.recent}. */
const RECENT_ERRORS = 20;

/** Errors still true, and the last errors and notices. */
export class ErrorLog {
  readonly #recent: string[] = [];
  /** Errors that are still true, by source (`drain`, `catch-up`, a raw key), oldest first. */
  readonly #transient = new Map<string, string>();

  /** Records an error from `source`: shown in status until that source succeeds again. */
  report(source: string, message: string): void {
    this.#transient.delete(source);
    this.#transient.set(source, message);
    this.remember(message);
  }

  /** Keeps `message` for {@link recent} only. */
  remember(message: string): void {
    this.#recent.push(message);
    if (this.#recent.length > RECENT_ERRORS) this.#recent.shift();
  }

  /** `source` succeeded (or its error is shown otherwise now). */
  clear(source: string): void {
    this.#transient.delete(source);
  }

  /** The latest error that is still true. */
  latest(): string | undefined {
    return [...this.#transient.values()].at(-1);
  }

  /** The last errors and notices (at most 20), oldest first. */
  recent(): readonly string[] {
    return [...this.#recent];
  }
}
