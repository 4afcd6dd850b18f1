/**
 * The behaviour every Storage implementation must show, as Deno tests. An implementation's test
 * file calls {@link storageContract} with a factory for fresh, empty instances.
 *
 * @module
 */

import assert from "node:assert/strict";
import { InvalidKeyError, NotFoundError, type Storage } from "./storage.ts";

/** A fresh, empty storage and how to dispose of it. */
export interface StorageFixture {
  storage: Storage;
  cleanup(): Promise<void>;
}

/** Keys every method must reject. */
export const INVALID_KEYS: readonly string[] = [
  "",
  "/abs",
  "../x",
  "a/../b",
  "a/..",
  "./a",
  "a/./b",
  "a//b",
  "a/",
  "a b",
  "a\\b",
  "a/b?c",
  "ü",
  "a".repeat(1025),
];

/** Prefixes listKeys must reject ("" and a trailing "/" are fine). */
export const INVALID_PREFIXES: readonly string[] = ["/", "/a", "a//", "../", "a/./", "a b", "a\\"];

/** Deterministic pseudo-random bytes (xorshift32), so failures are reproducible. */
export function patternBytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** Writes `bytes` in one write and commits. */
export async function put(storage: Storage, key: string, bytes: Uint8Array) {
  const w = await storage.openWriter(key);
  await w.write(bytes);
  return await w.commit();
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Every key under `prefix`, following cursors; asserts page sizes and order on the way. */
export async function listAll(storage: Storage, prefix: string, pageSize?: number) {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const options = pageSize === undefined ? {} : { pageSize };
    const page = await storage.listKeys(
      prefix,
      cursor === undefined ? options : {
        ...options,
        cursor,
      },
    );
    pages++;
    if (pageSize !== undefined) assert.ok(page.keys.length <= pageSize, "page too large");
    if (page.cursor !== undefined) assert.ok(page.keys.length > 0, "empty page with a cursor");
    keys.push(...page.keys);
    cursor = page.cursor;
    assert.ok(pages < 100_000, "listKeys does not terminate");
  } while (cursor !== undefined);
  return { keys, pages };
}

/** Byte order, the order listKeys promises. */
function byteOrder(keys: string[]): string[] {
  const enc = new TextEncoder();
  return [...keys].sort((a, b) => {
    const x = enc.encode(a);
    const y = enc.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i]! - y[i]!;
    }
    return x.length - y.length;
  });
}

/**
 * Registers the contract tests, each named `${label}: <behaviour>`, each on a fresh instance
 * from `factory`.
 */
export function storageContract(label: string, factory: () => Promise<StorageFixture>): void {
  const test = (name: string, fn: (storage: Storage) => Promise<void>) =>
    Deno.test(`${label}: ${name}`, async () => {
      const { storage, cleanup } = await factory();
      try {
        await fn(storage);
      } finally {
        await storage.close();
        await cleanup();
      }
    });

  test("a committed object reads back as written", async (s) => {
    const w = await s.openWriter("runs/r1/meta/a.json");
    assert.equal(w.key, "runs/r1/meta/a.json");
    await w.write(text("hello, "));
    await w.write(text("world"));
    assert.deepEqual(await w.commit(), { created: true, bytes: 12 });
    assert.deepEqual(await s.read("runs/r1/meta/a.json"), text("hello, world"));
    assert.equal(await s.exists("runs/r1/meta/a.json"), true);
    assert.equal(await s.size("runs/r1/meta/a.json"), 12);
  });

  test("a multi-MB object streamed in many writes reads back intact", async (s) => {
    const data = patternBytes(5 * 1024 * 1024 + 12345, 7);
    const w = await s.openWriter("big/object.bin");
    // Uneven pieces from 1 byte to ~200 KiB so that every buffering boundary gets crossed.
    let pos = 0;
    let n = 0;
    while (pos < data.length) {
      const len = Math.min(data.length - pos, [1, 7, 4096, 65536, 200_003, 1_048_576][n++ % 6]!);
      await w.write(data.subarray(pos, pos + len));
      pos += len;
    }
    assert.deepEqual(await w.commit(), { created: true, bytes: data.length });
    assert.equal(await s.size("big/object.bin"), data.length);
    assert.ok((await s.read("big/object.bin")).every((b, i) => b === data[i]));
    const streamed = await collect(await s.openReader("big/object.bin"));
    assert.equal(streamed.length, data.length);
    assert.ok(streamed.every((b, i) => b === data[i]));
  });

  test("an empty object exists and reads as zero bytes", async (s) => {
    const w = await s.openWriter("empty");
    assert.deepEqual(await w.commit(), { created: true, bytes: 0 });
    assert.equal(await s.exists("empty"), true);
    assert.equal(await s.size("empty"), 0);
    assert.deepEqual(await s.read("empty"), new Uint8Array(0));
    assert.deepEqual(await collect(await s.openReader("empty")), new Uint8Array(0));
    assert.deepEqual((await s.listKeys("")).keys, ["empty"]);
  });

  test("write() copies: changing the buffer afterwards does not change the object", async (s) => {
    const w = await s.openWriter("copied");
    const buf = text("abc");
    await w.write(buf);
    buf.fill(0x7a);
    await w.write(buf);
    await w.commit();
    assert.deepEqual(await s.read("copied"), text("abczzz"));
  });

  test("commit never replaces an existing object", async (s) => {
    assert.deepEqual(await put(s, "k/x", text("first")), { created: true, bytes: 5 });
    assert.deepEqual(await put(s, "k/x", text("second!")), { created: false, bytes: 7 });
    assert.deepEqual(await s.read("k/x"), text("first"));
    assert.equal(await s.size("k/x"), 5);
    assert.deepEqual((await s.listKeys("k/")).keys, ["k/x"]);
  });

  test("two writers of one key: the first commit wins, the second is a no-op", async (s) => {
    const a = await s.openWriter("race");
    const b = await s.openWriter("race");
    await a.write(text("A"));
    await b.write(text("B"));
    assert.equal((await b.commit()).created, true);
    assert.equal((await a.commit()).created, false);
    assert.deepEqual(await s.read("race"), text("B"));
  });

  test("an aborted writer leaves no key", async (s) => {
    const w = await s.openWriter("gone/away");
    await w.write(patternBytes(3 * 1024 * 1024));
    await w.abort();
    await w.abort(); // twice is fine
    assert.equal(await s.exists("gone/away"), false);
    assert.equal(await s.size("gone/away"), null);
    await assert.rejects(s.read("gone/away"), NotFoundError);
    assert.deepEqual(await s.listKeys(""), { keys: [] });
    await assert.rejects(w.write(text("x")), /aborted/);
    await assert.rejects(w.commit(), /aborted/);
  });

  test("an uncommitted writer is invisible", async (s) => {
    const w = await s.openWriter("pending/obj");
    await w.write(patternBytes(2 * 1024 * 1024 + 5)); // past any write buffer
    assert.equal(await s.exists("pending/obj"), false);
    assert.equal(await s.size("pending/obj"), null);
    await assert.rejects(s.read("pending/obj"), NotFoundError);
    await assert.rejects(s.openReader("pending/obj"), NotFoundError);
    assert.deepEqual(await s.listKeys(""), { keys: [] });
    assert.deepEqual(await s.listKeys("pending/"), { keys: [] });
    await w.commit();
    assert.deepEqual((await s.listKeys("")).keys, ["pending/obj"]);
  });

  test("a committed writer refuses further writes and commits; abort is a no-op", async (s) => {
    const w = await s.openWriter("done");
    await w.write(text("x"));
    await w.commit();
    await assert.rejects(w.write(text("y")), /committed/);
    await assert.rejects(w.commit(), /committed/);
    await w.abort();
    assert.deepEqual(await s.read("done"), text("x"));
  });

  test("listKeys filters by plain string prefix and returns byte order", async (s) => {
    // Chosen so that '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f) before '0' (0x30): a
    // directory-by-directory walk in name order would get this wrong.
    const keys = [
      "a",
      "a-b",
      "a.c",
      "a0",
      "ab",
      "b/x",
      "B",
      "_",
      "=",
      "runs/r1/raw/batch_001.pb.zst",
      "runs/r1/raw/batch_002.pb.zst",
      "runs/r1/raw.x",
      "runs/r1/raw-old/batch_001.pb.zst",
      "runs/r10/raw/batch_001.pb.zst",
      "runs/r2/meta.json",
      "z/a/b/c/d",
    ];
    await Promise.all(keys.map((k) => put(s, k, text(k))));
    assert.deepEqual((await s.listKeys("")).keys, byteOrder(keys));
    assert.deepEqual((await s.listKeys("a")).keys, ["a", "a-b", "a.c", "a0", "ab"]);
    assert.deepEqual((await s.listKeys("runs/r1/")).keys, [
      "runs/r1/raw-old/batch_001.pb.zst",
      "runs/r1/raw.x",
      "runs/r1/raw/batch_001.pb.zst",
      "runs/r1/raw/batch_002.pb.zst",
    ]);
    assert.deepEqual((await s.listKeys("runs/r1")).keys, [
      "runs/r1/raw-old/batch_001.pb.zst",
      "runs/r1/raw.x",
      "runs/r1/raw/batch_001.pb.zst",
      "runs/r1/raw/batch_002.pb.zst",
      "runs/r10/raw/batch_001.pb.zst",
    ]);
    assert.deepEqual((await s.listKeys("runs/r1/raw/batch_00")).keys, [
      "runs/r1/raw/batch_001.pb.zst",
      "runs/r1/raw/batch_002.pb.zst",
    ]);
    assert.deepEqual((await s.listKeys("runs/r1/raw/batch_002.pb.zst")).keys, [
      "runs/r1/raw/batch_002.pb.zst",
    ]);
    assert.deepEqual((await s.listKeys("z/a/b/")).keys, ["z/a/b/c/d"]);
    assert.deepEqual(await s.listKeys("nothing/here/"), { keys: [] });
    assert.deepEqual(await s.listKeys("runs/r3"), { keys: [] });
    assert.deepEqual(await s.listKeys("a/"), { keys: [] }); // 'a' is an object, not a directory
    // Paging through the ordering traps one key at a time gives the same order.
    assert.deepEqual((await listAll(s, "", 1)).keys, byteOrder(keys));
    assert.deepEqual(
      (await listAll(s, "runs/", 2)).keys,
      byteOrder(keys).filter((k) => k.startsWith("runs/")),
    );
  });

  test("listChildren names the levels below a prefix that hold keys, in byte order", async (s) => {
    const keys = ["runs/r1/raw/b", "runs/r10/meta", "runs/r2/x/y/z", "runs-old/q", "top", "z/a"];
    await Promise.all(keys.map((k) => put(s, k, text(k))));
    assert.deepEqual(await s.listChildren("runs/"), ["r1", "r10", "r2"]);
    assert.deepEqual(await s.listChildren("runs/r2/"), ["x"]);
    assert.deepEqual(await s.listChildren(""), ["runs", "runs-old", "z"]);
    assert.deepEqual(await s.listChildren("nothing/"), []);
    await s.delete("runs/r10/meta");
    assert.deepEqual(await s.listChildren("runs/"), ["r1", "r2"], "no keys left under r10");
    await assert.rejects(() => s.listChildren("runs"), TypeError);
  });

  test("listKeys pages through more than 1000 keys in order", async (s) => {
    const keys: string[] = [];
    for (let i = 0; i < 1150; i++) {
      const dir = ["x", "y", "y0", "y-z"][i % 4]!;
      keys.push(`runs/p/${dir}/batch_${String(i).padStart(6, "0")}.pb.zst`);
    }
    keys.push("runs/q/other", "runs/o/other");
    for (let i = 0; i < keys.length; i += 64) {
      await Promise.all(keys.slice(i, i + 64).map((k) => put(s, k, text(k))));
    }
    const want = byteOrder(keys.filter((k) => k.startsWith("runs/p/")));
    assert.equal(want.length, 1150);

    const first = await s.listKeys("runs/p/");
    assert.equal(first.keys.length, 1000, "default page size is 1000");
    assert.equal(first.cursor !== undefined, true);
    const second = await s.listKeys("runs/p/", { cursor: first.cursor! });
    assert.equal(second.cursor, undefined, "the last page has no cursor");
    assert.deepEqual([...first.keys, ...second.keys], want);

    const paged = await listAll(s, "runs/p/", 97);
    assert.deepEqual(paged.keys, want);
    assert.equal(paged.pages, Math.ceil(1150 / 97));
    const exact = await s.listKeys("runs/p/", { pageSize: 1150 });
    assert.deepEqual(exact.keys, want);
    assert.equal(exact.cursor, undefined);
    assert.deepEqual((await listAll(s, "runs/", 500)).keys, byteOrder(keys));
    assert.deepEqual((await listAll(s, "runs/p/y0/", 100)).keys.length, 287);
  });

  test("every method rejects invalid keys", async (s) => {
    for (const key of INVALID_KEYS) {
      await assert.rejects(s.openWriter(key), InvalidKeyError, `openWriter(${key})`);
      await assert.rejects(s.openReader(key), InvalidKeyError, `openReader(${key})`);
      await assert.rejects(s.read(key), InvalidKeyError, `read(${key})`);
      await assert.rejects(s.exists(key), InvalidKeyError, `exists(${key})`);
      await assert.rejects(s.size(key), InvalidKeyError, `size(${key})`);
      await assert.rejects(s.stat(key), InvalidKeyError, `stat(${key})`);
      await assert.rejects(s.delete(key), InvalidKeyError, `delete(${key})`);
    }
    for (const prefix of INVALID_PREFIXES) {
      await assert.rejects(s.listKeys(prefix), InvalidKeyError, `listKeys(${prefix})`);
      await assert.rejects(s.listObjects(prefix), InvalidKeyError, `listObjects(${prefix})`);
      await assert.rejects(
        s.sweepLeftovers({ prefix, olderThanMs: 0 }),
        InvalidKeyError,
        `sweepLeftovers(${prefix})`,
      );
    }
    // Prefixes that only begin a segment are fine, even '.' and '..' (they begin '.x', '..y').
    for (const prefix of ["", "a", "a/", "a/b", "a/.", "a/..", "."]) {
      assert.deepEqual(await s.listKeys(prefix), { keys: [] });
    }
    assert.deepEqual(await s.listKeys(""), { keys: [] });
  });

  test("keys may contain dots, dashes, underscores and '='", async (s) => {
    const keys = [".hidden", "a/..b", "a/.c", "x=1/y_2/z-3.pb.zst", "...", "-"];
    for (const k of keys) await put(s, k, text(k));
    for (const k of keys) assert.deepEqual(await s.read(k), text(k));
    assert.deepEqual((await s.listKeys("")).keys, byteOrder(keys));
  });

  test("missing keys: NotFoundError on read and openReader, exists false, size null", async (s) => {
    await put(s, "present/x", text("x"));
    for (const key of ["absent", "present/y", "present", "present/x/deeper"]) {
      await assert.rejects(s.read(key), (e: unknown) => {
        assert.ok(e instanceof NotFoundError, `read(${key}) threw ${e}`);
        assert.equal(e.key, key);
        assert.match(e.message, new RegExp(key));
        return true;
      });
      await assert.rejects(s.openReader(key), NotFoundError);
      assert.equal(await s.exists(key), false, `exists(${key})`);
      assert.equal(await s.size(key), null, `size(${key})`);
    }
  });

  test("openReader streams the object and can be cancelled early", async (s) => {
    const data = patternBytes(3 * 1024 * 1024, 3);
    await put(s, "stream/me", data);
    const reader = (await s.openReader("stream/me")).getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    assert.ok(first.value!.length > 0 && first.value!.length <= data.length);
    assert.ok(first.value!.every((b, i) => b === data[i]));
    await reader.cancel(); // must release the underlying handle
    const all = await collect(await s.openReader("stream/me"));
    assert.equal(all.length, data.length);
    assert.ok(all.every((b, i) => b === data[i]));
  });

  test("stat gives an object's size and commit time, and null when there is none", async (s) => {
    const before = Date.now();
    await put(s, "runs/r1/metadata.pb", text("meta"));
    const after = Date.now();
    const info = await s.stat("runs/r1/metadata.pb");
    assert.ok(info !== null);
    assert.equal(info.key, "runs/r1/metadata.pb");
    assert.equal(info.size, 4);
    // Servers keep seconds (S3's Last-Modified) and their clock may differ a little from ours.
    assert.ok(
      info.modifiedMs >= before - 5000 && info.modifiedMs <= after + 5000,
      `modifiedMs ${info.modifiedMs} is not near ${before}..${after}`,
    );
    assert.equal(await s.stat("runs/r1/absent"), null);
    assert.equal(await s.stat("runs/r1"), null, "a prefix of keys is no object");
  });

  test("listObjects lists what listKeys lists, with sizes and times, page by page", async (s) => {
    const keys = ["runs/a/x", "runs/a/y/z", "runs/a-b", "runs/b/c", "other"];
    for (const [i, k] of keys.entries()) await put(s, k, patternBytes(i * 10 + 1, i + 1));
    const all = (await s.listObjects("runs/")).objects;
    assert.deepEqual(all.map((o) => o.key), (await s.listKeys("runs/")).keys);
    for (const o of all) {
      assert.equal(o.size, keys.indexOf(o.key) * 10 + 1, `size of ${o.key}`);
      assert.deepEqual(o, await s.stat(o.key));
    }
    const first = await s.listObjects("runs/", { pageSize: 3 });
    assert.equal(first.objects.length, 3);
    assert.ok(first.cursor !== undefined);
    const second = await s.listObjects("runs/", { pageSize: 3, cursor: first.cursor });
    assert.equal(second.cursor, undefined);
    assert.deepEqual([...first.objects, ...second.objects], all);
    assert.deepEqual(await s.listObjects("nothing/"), { objects: [] });
  });

  test("delete removes one object, which may then be written anew", async (s) => {
    await put(s, "runs/r1/raw/b1", text("one"));
    await put(s, "runs/r1/raw/b2", text("two"));
    await put(s, "runs/r1x", text("beside"));
    assert.equal(await s.delete("runs/r1/raw/b1"), true);
    assert.equal(await s.exists("runs/r1/raw/b1"), false);
    await assert.rejects(s.read("runs/r1/raw/b1"), NotFoundError);
    assert.deepEqual((await s.listKeys("")).keys, ["runs/r1/raw/b2", "runs/r1x"]);
    assert.equal(await s.delete("runs/r1/raw/b1"), false, "a second delete finds nothing");
    assert.equal(await s.delete("runs/r1/raw"), false, "a prefix of keys is no object");
    assert.equal(await s.delete("runs/r1"), false);
    assert.deepEqual((await s.listKeys("runs/r1/")).keys, ["runs/r1/raw/b2"]);
    // The no-clobber rule is about commits: a deleted key is a new key.
    assert.deepEqual(await put(s, "runs/r1/raw/b1", text("again")), { created: true, bytes: 5 });
    assert.deepEqual(await s.read("runs/r1/raw/b1"), text("again"));
    assert.deepEqual(await put(s, "runs/r1/raw/b1", text("third")), { created: false, bytes: 5 });
    for (const k of (await s.listKeys("")).keys) assert.equal(await s.delete(k), true);
    assert.deepEqual(await s.listKeys(""), { keys: [] });
    // Everything gone: writing below the old keys works again.
    assert.equal((await put(s, "runs/r1/raw/b3", text("new"))).created, true);
  });

  test("sweepLeftovers leaves committed objects and live writers alone", async (s) => {
    await put(s, "runs/r1/metadata.pb", text("meta"));
    const live = await s.openWriter("runs/r1/raw/live");
    await live.write(patternBytes(2 * 1024 * 1024 + 5));
    assert.deepEqual(await s.sweepLeftovers({ olderThanMs: 60_000 }), []);
    assert.deepEqual(await s.sweepLeftovers({ prefix: "runs/r1/", olderThanMs: 60_000 }), []);
    assert.equal((await live.commit()).created, true);
    assert.equal(await s.size("runs/r1/raw/live"), 2 * 1024 * 1024 + 5);
    assert.deepEqual(await s.sweepLeftovers({ olderThanMs: 0 }), []);
    assert.deepEqual((await s.listKeys("")).keys, ["runs/r1/metadata.pb", "runs/r1/raw/live"]);
  });

  test("listKeys rejects a bad page size", async (s) => {
    for (const pageSize of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(s.listKeys("", { pageSize }), RangeError);
    }
  });

  test("description names the store", (s) => {
    assert.equal(typeof s.description, "string");
    assert.ok(s.description.length > 0);
    return Promise.resolve();
  });
}
