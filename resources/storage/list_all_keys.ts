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
  const keys: string[] = [];
  let cursor: string | undefined = after;
  do {
    const page = await storage.listKeys(prefix, cursor === undefined ? {} : { cursor });
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
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
