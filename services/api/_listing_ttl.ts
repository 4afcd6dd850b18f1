/**
 * How long the run store reuses what it listed (the run list, a run's batches, a run found
 * unreadable): the listing TTL, stretched for listings that took long.
 *
 * @module
 */

/** A listing (or anything read like one) and when it was taken. */
export interface Timed<T> {
  at: number;
  value: Promise<T>;
  /** How long making the value took, ms (0 until it is made). */
  cost?: number;
}

/** A listing is reused for at least this many times as long as it took (see listingTtlMs). */
export const LISTING_COST_FACTOR = 10;

/** The store's clock and listing TTL, shared by the parts of the store that list. */
export class ListingTtl {
  /** The store's clock, ms. */
  readonly now: () => number;
  readonly #ttl: number;

  /** Listings reused for `ttlMs` (0: never), timed by `now`. */
  constructor(ttlMs: number, now: () => number) {
    this.#ttl = ttlMs;
    this.now = now;
  }

  /** Whether `t` may still be reused. */
  fresh<T>(t: Timed<T> | undefined): t is Timed<T> {
    // A TTL of 0 (relist on every request) stays 0.
    const ttl = this.#ttl > 0 ? Math.max(this.#ttl, LISTING_COST_FACTOR * (t?.cost ?? 0)) : 0;
    return t !== undefined && this.now() - t.at < ttl;
  }
}
