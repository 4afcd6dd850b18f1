import { deepStrictEqual } from "node:assert/strict";
import { FilesystemStorage } from "./filesystem_storage.ts";
import { listAllKeys } from "./list_all_keys.ts";
import type { Storage } from "./storage.ts";

Deno.test("listAllKeys() follows the pages, and with `after` lists only the keys after it", async () => {
  const root = await Deno.makeTempDir();
  const fs = await FilesystemStorage.open({ root });
  try {
    const keys = ["p/a", "p/b", "p/c", "p/d", "p/e", "q/a"];
    for (const k of keys) await (await fs.openWriter(k)).commit();
    // Pages of two keys each, so that the listing needs several.
    const paged: Storage = Object.assign(Object.create(fs), {
      listKeys: (prefix: string, o: { cursor?: string } = {}) =>
        fs.listKeys(prefix, { ...o, pageSize: 2 }),
    });
    deepStrictEqual(await listAllKeys(paged, "p/"), keys.slice(0, 5));
    deepStrictEqual(await listAllKeys(paged, "p/", "p/b"), ["p/c", "p/d", "p/e"]);
    deepStrictEqual(await listAllKeys(paged, "p/", "p/e"), []);
  } finally {
    await fs.close();
    await Deno.remove(root, { recursive: true });
  }
});
