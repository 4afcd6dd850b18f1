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
