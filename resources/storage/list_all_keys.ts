/**
 * Every key (or object) under a prefix, through all pages of `Storage.listKeys` (or
 * `Storage.listObjects`).
 *
 * @module
 */

import type { ObjectInfo, Storage } from "./storage.ts";

/**
 * Every key under `prefix`, in listing order, following the pages; with `after`, only the keys
 * that sort after that key (a listing that goes on from where an earlier one stopped).
 */
export async function listAllKeys(
  storage: Storage,
  prefix: string,
  after?: string,
): Promise<string[]> {
  return (await listKeysUpTo(storage, prefix, { after, max: Infinity })).keys;
}

/** A bounded listing: {@link listKeysUpTo}. */
export interface KeyWindow {
  keys: string[];
  /** Whether keys follow the last one returned. */
  more: boolean;
}

/**
 * At most `max` keys under `prefix` (after the key `after`, when given), following the pages
 * only as far as needed: a listing whose cost does not grow with what lies beyond. `max`
 * Infinity lists them all.
 */
export async function listKeysUpTo(
  storage: Storage,
  prefix: string,
  options: { after?: string | undefined; max: number },
): Promise<KeyWindow> {
  if (!(Number.isInteger(options.max) || options.max === Infinity) || options.max < 1) {
    throw new RangeError(`max must be an integer >= 1, got ${options.max}`);
  }
  const keys: string[] = [];
  let cursor = options.after;
  do {
    const pageSize = Math.min(1000, options.max - keys.length);
    const page = await storage.listKeys(
      prefix,
      cursor === undefined ? { pageSize } : {
        pageSize,
        cursor,
      },
    );
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined && keys.length < options.max);
  return { keys, more: cursor !== undefined };
}

/**
 * The `names` (one level below `prefix`, see Storage.listChildren) that still hold a key: a
 * directory, or an S3 server's "directory" (SeaweedFS keeps one), can outlive its last key.
 * One single-key listing per name.
 */
export async function namesHoldingKeys(
  storage: Storage,
  prefix: string,
  names: readonly string[],
): Promise<string[]> {
  const held: string[] = [];
  for (const name of names) {
    if ((await storage.listKeys(`${prefix}${name}/`, { pageSize: 1 })).keys.length > 0) {
      held.push(name);
    }
  }
  return held;
}

/**
 * Every object under `prefix` with its size and modification time, following the pages; with
 * `after`, only the objects whose keys sort after that key.
 */
export async function listAllObjects(
  storage: Storage,
  prefix: string,
  after?: string,
): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  let cursor: string | undefined = after;
  do {
    const page = await storage.listObjects(prefix, cursor === undefined ? {} : { cursor });
    objects.push(...page.objects);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return objects;
}
