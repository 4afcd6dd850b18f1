import assert from "node:assert/strict";
import { LruCache } from "./lru_cache.ts";

Deno.test("LruCache evicts the least recently used beyond its count and byte bounds", () => {
  const c = new LruCache<string, number>({ name: "t", maxEntries: 2 });
  c.set("a", 1);
  c.set("b", 2);
  assert.equal(c.get("a"), 1); // a is now the most recent
  c.set("c", 3);
  assert.equal(c.has("b"), false);
  assert.equal(c.has("a"), true);
  assert.deepEqual(
    { hits: c.stats().hits, misses: c.stats().misses, evictions: c.stats().evictions },
    { hits: 1, misses: 0, evictions: 1 },
  );
  assert.equal(c.get("b"), undefined);
  assert.equal(c.stats().misses, 1);

  // Number keys: only the values count.
  const b = new LruCache<number, Uint8Array>({ name: "b", maxBytes: 10, sizeOf: (v) => v.length });
  b.set(1, new Uint8Array(6));
  b.set(2, new Uint8Array(4));
  assert.equal(b.stats().bytes, 10);
  b.set(3, new Uint8Array(3));
  assert.equal(b.has(1), false);
  assert.equal(b.stats().bytes, 7);
  b.set(4, new Uint8Array(11)); // larger than the bound: not kept, nothing evicted
  assert.equal(b.has(4), false);
  assert.equal(b.stats().entries, 2);
  b.set(2, new Uint8Array(1)); // replacing updates the bytes
  assert.equal(b.stats().bytes, 4);
});

Deno.test("LruCache counts a string key's characters against its byte bound", () => {
  const c = new LruCache<string, string>({ name: "urls", maxBytes: 10_000, sizeOf: () => 10 });
  c.set("/short", "etag");
  assert.equal(c.stats().bytes, 10 + 64 + 2 * 6);
  const junk = "/api/runs?" + "x".repeat(60_000); // a 60 KB query string is not free
  c.set(junk, "etag");
  assert.equal(c.has(junk), false, "a key larger than the whole bound is not kept");
  for (let i = 0; i < 200; i++) c.set(`/api/runs/r/world/${i}?junk=${"y".repeat(100)}`, "e");
  assert.ok(c.stats().bytes <= 10_000, `${c.stats().bytes}`);
  assert.ok(c.stats().entries < 50);
});

Deno.test("LruCache.getOrLoad shares one load between concurrent misses and keeps no failure", async () => {
  const c = new LruCache<string, number>({ name: "t" });
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    return 42;
  };
  const values = await Promise.all([c.getOrLoad("k", load), c.getOrLoad("k", load)]);
  assert.deepEqual(values, [42, 42]);
  assert.equal(loads, 1);
  assert.equal(await c.getOrLoad("k", load), 42);
  assert.equal(loads, 1);
  assert.deepEqual([c.stats().hits, c.stats().misses], [2, 1]);
  await assert.rejects(() => c.getOrLoad("bad", () => Promise.reject(new Error("no"))), /no/);
  assert.equal(c.has("bad"), false);
  assert.equal(await c.getOrLoad("bad", () => Promise.resolve(1)), 1);
});
