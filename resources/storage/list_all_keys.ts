/**
 * Every key under a prefix, through all pages of `Storage.listKeys`.
 *
 * @module
 */

import type { Storage } from "./storage.ts";

/** Every key under `prefix`, in listing order, following the pages. */
export async function listAllKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.listKeys(prefix, cursor === undefined ? {} : { cursor });
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
}
