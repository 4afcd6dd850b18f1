import assert from "node:assert/strict";
import { join } from "node:path";
import { FilesystemStorage } from "./filesystem_storage.ts";
import { patternBytes, put } from "./storage_contract.ts";

async function withStorage(fn: (s: FilesystemStorage, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "evochora-fs-sweep-" });
  const storage = await FilesystemStorage.open({ root });
  try {
    await fn(storage, root);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** The temp files below `dir`, relative. */
async function tempFiles(dir: string, base = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await tempFiles(join(dir, e.name), `${base}${e.name}/`));
    else if (e.name.includes("~")) out.push(base + e.name);
  }
  return out.sort();
}

/** Sets a file's times `ageMs` into the past. */
async function age(path: string, ageMs: number): Promise<void> {
  const t = new Date(Date.now() - ageMs);
  await Deno.utime(path, t, t);
}

Deno.test("FilesystemStorage: a writer abandoned mid-write leaves a temp file that the sweep removes once old", async () => {
  await withStorage(async (s, root) => {
    await put(s, "runs/r1/metadata.pb", new Uint8Array([1]));
    const abandoned = await s.openWriter("runs/r1/raw/0000000/batch_a.pb.zst");
    await abandoned.write(patternBytes(3 * 1024 * 1024)); // past the write buffer
    const [temp] = await tempFiles(root);
    assert.match(temp!, /^runs\/r1\/raw\/0000000\/\.batch_a\.pb\.zst\.tmp~[0-9a-f]{16}$/);
    assert.deepEqual(await s.sweepLeftovers({ olderThanMs: 60_000 }), [], "young: a live writer");
    await age(join(root, temp!), 120_000);
    const swept = await s.sweepLeftovers({ olderThanMs: 60_000 });
    assert.equal(swept.length, 1);
    assert.equal(swept[0]!.key, "runs/r1/raw/0000000/batch_a.pb.zst");
    assert.equal(swept[0]!.kind, "temp file");
    assert.equal(swept[0]!.bytes, 3 * 1024 * 1024);
    assert.ok(swept[0]!.ageMs >= 120_000 && swept[0]!.ageMs < 130_000);
    assert.deepEqual(await tempFiles(root), []);
    assert.deepEqual((await s.listKeys("")).keys, ["runs/r1/metadata.pb"]);
    await abandoned.abort(); // closes the file; there is nothing left to remove
  });
});

Deno.test("FilesystemStorage: the sweep stays under its prefix and leaves foreign files alone", async () => {
  await withStorage(async (s, root) => {
    const writers = [];
    for (const key of ["runs/r1/raw/x", "runs/r2/raw/x", "runs/r10/raw/x"]) {
      const w = await s.openWriter(key);
      await w.write(new Uint8Array(10));
      writers.push(w);
    }
    await Deno.mkdir(join(root, "runs", "r1"), { recursive: true });
    await Deno.writeTextFile(join(root, "runs", "r1", "notes.txt~"), "an editor's backup");
    await Deno.writeTextFile(join(root, "runs", "r1", ".x.tmp~nothex"), "not ours either");
    for (const f of await tempFiles(root)) await age(join(root, f), 3_600_000);
    const swept = await s.sweepLeftovers({ prefix: "runs/r1/", olderThanMs: 60_000 });
    assert.deepEqual(swept.map((l) => l.key), ["runs/r1/raw/x"]);
    const left = await tempFiles(root);
    assert.equal(left.length, 4);
    assert.ok(left.includes("runs/r1/notes.txt~"));
    assert.ok(left.includes("runs/r1/.x.tmp~nothex"));
    assert.deepEqual(
      (await s.sweepLeftovers({ prefix: "runs/r", olderThanMs: 60_000 })).map((l) => l.key).sort(),
      ["runs/r10/raw/x", "runs/r2/raw/x"],
    );
    for (const w of writers) await w.abort();
  });
});

Deno.test("FilesystemStorage: deleting a run's last object removes its empty directories", async () => {
  await withStorage(async (s, root) => {
    await put(s, "runs/r1/raw/0000000/b1", new Uint8Array(3));
    await put(s, "runs/r1/metadata.pb", new Uint8Array(3));
    await put(s, "runs/r2/metadata.pb", new Uint8Array(3));
    assert.equal(await s.delete("runs/r1/raw/0000000/b1"), true);
    await assert.rejects(Deno.stat(join(root, "runs", "r1", "raw")), Deno.errors.NotFound);
    assert.equal(await s.delete("runs/r1/metadata.pb"), true);
    await assert.rejects(Deno.stat(join(root, "runs", "r1")), Deno.errors.NotFound);
    assert.ok((await Deno.stat(join(root, "runs", "r2"))).isDirectory, "the other run stays");
    // A writer whose directory went away recreates it.
    assert.equal((await put(s, "runs/r1/raw/0000000/b2", new Uint8Array(1))).created, true);
  });
});
