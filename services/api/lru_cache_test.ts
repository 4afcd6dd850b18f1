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

  const b = new LruCache<string, Uint8Array>({ name: "b", maxBytes: 10, sizeOf: (v) => v.length });
  b.set("x", new Uint8Array(6));
  b.set("y", new Uint8Array(4));
  assert.equal(b.stats().bytes, 10);
  b.set("z", new Uint8Array(3));
  assert.equal(b.has("x"), false);
  assert.equal(b.stats().bytes, 7);
  b.set("huge", new Uint8Array(11)); // larger than the bound: not kept, nothing evicted
  assert.equal(b.has("huge"), false);
  assert.equal(b.stats().entries, 2);
  b.set("y", new Uint8Array(1)); // replacing updates the bytes
  assert.equal(b.stats().bytes, 4);
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
