import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { FilesystemStorage } from "./filesystem_storage.ts";
import { listAllKeys, listKeysUpTo } from "./list_all_keys.ts";
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

Deno.test("listKeysUpTo() lists at most max keys, asking for no more pages than it needs", async () => {
  const root = await Deno.makeTempDir();
  const fs = await FilesystemStorage.open({ root });
  try {
    const keys = ["p/a", "p/b", "p/c", "p/d", "p/e"];
    for (const k of keys) await (await fs.openWriter(k)).commit();
    let pages = 0;
    const counted: Storage = Object.assign(Object.create(fs), {
      listKeys: (prefix: string, o: { cursor?: string; pageSize?: number } = {}) => {
        pages++;
        return fs.listKeys(prefix, { ...o, pageSize: Math.min(2, o.pageSize ?? 2) });
      },
    });
    deepStrictEqual(await listKeysUpTo(counted, "p/", { max: 3 }), {
      keys: ["p/a", "p/b", "p/c"],
      more: true,
    });
    strictEqual(pages, 2);
    deepStrictEqual(await listKeysUpTo(counted, "p/", { after: "p/c", max: 3 }), {
      keys: ["p/d", "p/e"],
      more: false,
    });
    deepStrictEqual(await listKeysUpTo(fs, "p/", { after: "p/e", max: 3 }), {
      keys: [],
      more: false,
    });
    await rejects(() => listKeysUpTo(fs, "p/", { max: 0 }), RangeError);
  } finally {
    await fs.close();
    await Deno.remove(root, { recursive: true });
  }
});
