import assert from "node:assert/strict";
import { join } from "node:path";
import { DataDirectoryError, FilesystemStorage } from "./filesystem_storage.ts";
import { patternBytes, put, storageContract } from "./storage_contract.ts";

async function tempRoot(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "evochora-fs-storage-" });
  return { root, cleanup: () => Deno.remove(root, { recursive: true }) };
}

storageContract("FilesystemStorage", async () => {
  const { root, cleanup } = await tempRoot();
  return { storage: new FilesystemStorage({ root: join(root, "data") }), cleanup };
});

/** Every file and directory below `dir`, relative, with '/' separators. */
async function walk(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = base + e.name;
    out.push(e.isDirectory ? rel + "/" : rel);
    if (e.isDirectory) out.push(...await walk(join(dir, e.name), rel + "/"));
  }
  return out.sort();
}

const text = (s: string) => new TextEncoder().encode(s);

async function withStorage(fn: (s: FilesystemStorage, root: string) => Promise<void>) {
  const { root, cleanup } = await tempRoot();
  const storage = new FilesystemStorage({ root });
  try {
    await fn(storage, root);
  } finally {
    await storage.close();
    await cleanup();
  }
}

Deno.test("FilesystemStorage: keys are plain files under the root", async () => {
  await withStorage(async (s, root) => {
    await put(s, "runs/r1/raw/batch_1.pb.zst", text("abc"));
    assert.equal(await Deno.readTextFile(join(root, "runs", "r1", "raw", "batch_1.pb.zst")), "abc");
    assert.equal(s.description, `filesystem ${root}`);
  });
});

Deno.test("FilesystemStorage: no temp files remain after commit, no-op commit or abort", async () => {
  await withStorage(async (s, root) => {
    await put(s, "a/b/committed", patternBytes(2_500_000));
    await put(s, "a/b/committed", text("again")); // created: false
    const aborted = await s.openWriter("a/b/aborted");
    await aborted.write(patternBytes(1_500_000));
    // While a writer is open its temp file exists, and is not listed.
    assert.equal((await walk(root)).filter((p) => p.includes("~")).length, 1);
    assert.deepEqual((await s.listKeys("")).keys, ["a/b/committed"]);
    await aborted.abort();
    const empty = await s.openWriter("c/empty");
    await empty.abort();
    assert.deepEqual(await walk(root), ["a/", "a/b/", "a/b/committed", "c/"]);
  });
});

Deno.test("FilesystemStorage: concurrent commits of one key: exactly one is created", async () => {
  await withStorage(async (s, root) => {
    const writers = await Promise.all(
      Array.from({ length: 24 }, () => s.openWriter("runs/r/raw/batch_0_9.pb.zst")),
    );
    await Promise.all(writers.map((w, i) => w.write(patternBytes(100_000 + i, i + 1))));
    const results = await Promise.all(writers.map((w) => w.commit()));
    const winners = results.flatMap((r, i) => r.created ? [i] : []);
    assert.equal(winners.length, 1);
    const winner = winners[0]!;
    assert.deepEqual(
      await s.read("runs/r/raw/batch_0_9.pb.zst"),
      patternBytes(100_000 + winner, winner + 1),
    );
    assert.deepEqual(await walk(root), [
      "runs/",
      "runs/r/",
      "runs/r/raw/",
      "runs/r/raw/batch_0_9.pb.zst",
    ]);
  });
});

Deno.test("FilesystemStorage: a root whose parent is a regular file gives a clear error", async () => {
  const { root, cleanup } = await tempRoot();
  try {
    await Deno.writeTextFile(join(root, "file"), "not a directory");
    const bad = join(root, "file", "data");
    const check = (e: unknown) => {
      assert.ok(e instanceof DataDirectoryError, `got ${e}`);
      assert.equal(e.path, bad);
      assert.match(e.message, new RegExp(`^Cannot use data directory '${bad}': `));
      assert.match(e.message, /regular file/);
      assert.match(e.message, /choose a writable --data-dir$/);
      return true;
    };
    await assert.rejects(FilesystemStorage.open({ root: bad }), check);
    // Lazily: the first writer reports the same; reads just find nothing.
    const lazy = new FilesystemStorage({ root: bad });
    await assert.rejects(lazy.openWriter("x"), check);
    assert.equal(await lazy.exists("x"), false);
    assert.deepEqual(await lazy.listKeys(""), { keys: [] });
  } finally {
    await cleanup();
  }
});

Deno.test("FilesystemStorage: a root that is a regular file gives a clear error", async () => {
  const { root, cleanup } = await tempRoot();
  try {
    const file = join(root, "file");
    await Deno.writeTextFile(file, "x");
    await assert.rejects(
      FilesystemStorage.open({ root: file }),
      new RegExp(`Cannot use data directory '${file}': it exists and is not a directory`),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("FilesystemStorage: open() creates a missing root with its parents", async () => {
  const { root, cleanup } = await tempRoot();
  try {
    const deep = join(root, "x", "y", "z");
    const s = await FilesystemStorage.open({ root: deep });
    assert.ok((await Deno.stat(deep)).isDirectory);
    assert.deepEqual(await Deno.readDir(deep)[Symbol.asyncIterator]().next(), {
      done: true,
      value: undefined,
    }, "the write probe is removed");
    await s.close();
  } finally {
    await cleanup();
  }
});

Deno.test("FilesystemStorage: foreign and temp files are never listed", async () => {
  await withStorage(async (s, root) => {
    await put(s, "runs/r/k", text("k"));
    await Deno.writeTextFile(join(root, "runs", "r", ".k.tmp~0123456789abcdef"), "stale temp");
    await Deno.writeTextFile(join(root, "runs", "r", "notes with spaces.txt"), "foreign");
    await Deno.mkdir(join(root, "lost+found"));
    await Deno.writeTextFile(join(root, "lost+found", "x"), "foreign");
    await Deno.symlink(join(root, "nowhere"), join(root, "runs", "dangling"));
    assert.deepEqual((await s.listKeys("")).keys, ["runs/r/k"]);
  });
});

Deno.test("FilesystemStorage: an object and a directory of keys cannot share a name", async () => {
  await withStorage(async (s) => {
    await put(s, "a/b", text("object"));
    await assert.rejects(s.openWriter("a/b/c"), /Cannot write 'a\/b\/c': 'a\/b' is an object/);
    await put(s, "x/y/z", text("below"));
    const w = await s.openWriter("x/y");
    await w.write(text("clash"));
    await assert.rejects(w.commit(), /Cannot commit 'x\/y': keys below 'x\/y\/' exist/);
    await w.abort();
    assert.equal(await s.exists("x/y"), false, "a directory is not an object");
    assert.equal(await s.size("x/y"), null);
    await assert.rejects(s.read("x/y"), { name: "NotFoundError" });
    await assert.rejects(s.openReader("x/y"), { name: "NotFoundError" });
    assert.deepEqual((await s.listKeys("")).keys, ["a/b", "x/y/z"]);
  });
});

Deno.test("FilesystemStorage: a directory removed behind a writer's back is recreated", async () => {
  await withStorage(async (s, root) => {
    await put(s, "d/one", text("1"));
    await Deno.remove(join(root, "d"), { recursive: true });
    await put(s, "d/two", text("2"));
    assert.deepEqual((await s.listKeys("")).keys, ["d/two"]);
  });
});

Deno.test("FilesystemStorage: a closed storage refuses calls", async () => {
  await withStorage(async (s) => {
    await s.close();
    await assert.rejects(s.exists("x"), /is closed/);
    await assert.rejects(s.openWriter("x"), /is closed/);
  });
});
