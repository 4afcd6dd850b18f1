/**
 * One memory budget for all of the API's caches, split among them in fixed shares.
 *
 * @module
 */

import type { AppOptions } from "./app.ts";

/** The per-cache byte limits of {@link AppOptions} that one budget sets. */
export type CacheLimits = Required<
  Pick<
    AppOptions,
    | "cacheBatchBytes"
    | "cacheChunkBytes"
    | "cacheStateBytes"
    | "cacheResponseBytes"
    | "cacheMetaBytes"
  >
>;

/** The default budget: 704 MiB. */
export const DEFAULT_CACHE_BYTES = 704 * 2 ** 20;

/**
 * Splits `total` bytes: decompressed batches 3/8, decoded chunks 2/8, replayed world states,
 * finished answers and decoded metadata (index rows, lineage, chunk directories, the URL index;
 * sizes estimated) 1/8 each. Throws a RangeError for a budget below 1 MiB.
 */
export function splitCacheBudget(total: number): CacheLimits {
  if (!Number.isSafeInteger(total) || total < 2 ** 20) {
    throw new RangeError(`cache budget must be an integer >= 1 MiB, got ${total}`);
  }
  const eighth = Math.floor(total / 8);
  return {
    cacheBatchBytes: 3 * eighth,
    cacheChunkBytes: 2 * eighth,
    cacheStateBytes: eighth,
    cacheResponseBytes: eighth,
    cacheMetaBytes: eighth,
  };
}
