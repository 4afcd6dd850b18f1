/**
 * Storage failures that pass by themselves: the server unreachable or restarting (refused or
 * reset connections), timeouts, 5xx answers, throttling. A writer retries these for as long as
 * it takes instead of giving up on the data.
 *
 * @module
 */

import { isTransient } from "./_s3_retry.ts";

/** Whether `e` or one of its causes is a transient storage failure (see the module doc). */
export function isTransientStorageError(e: unknown): boolean {
  let x: unknown = e;
  for (let depth = 0; x !== null && typeof x === "object" && depth < 8; depth++) {
    if (isTransient(x)) return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}
