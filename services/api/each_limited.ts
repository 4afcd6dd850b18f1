/**
 * Bounded concurrency for the API's storage reads: a listing reads chunk directories and
 * catalog entries of many batches, and all at once would put hundreds of requests in flight.
 *
 * @module
 */

/**
 * Runs `fn` on every item, at most `limit` at a time, starting them in order; resolves when
 * all are done (rejects with the first error, as Promise.all does).
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
