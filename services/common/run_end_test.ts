import assert from "node:assert/strict";
import { create, type FormatVersion, RunEndSchema, toBinary } from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { decodeRunEnd, readRunEnd, type RunEndFields, writeRunEnd } from "./run_end.ts";
import { parseRunEndKey, runEndKey } from "./storage_layout.ts";

const FIELDS: RunEndFields = {
  runId: "r1",
  lastTick: 2000,
  chunks: 41,
  batches: 9,
  chunksPerBatch: 5,
  finalBatchKey: "runs/r1/raw/0000000/batch_0000000000000002000_0000000000000002000.pb.zst",
  batchesStored: 9,
  writer: "persistence-2",
  endedAtMs: 1_800_000_000_000,
};

async function withStorage(fn: (s: FilesystemStorage) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "evochora-run-end-" });
  const storage = await FilesystemStorage.open({ root });
  try {
    await fn(storage);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function put(s: FilesystemStorage, key: string, bytes: Uint8Array): Promise<void> {
  const w = await s.openWriter(key);
  await w.write(bytes);
  await w.commit();
}

Deno.test("end record keys name the run's last tick and parse back", () => {
  const key = runEndKey("r1", 2000);
  assert.equal(key, "runs/r1/end/end_0000000000000002000.pb");
  assert.equal(parseRunEndKey(key), 2000);
  assert.equal(parseRunEndKey("runs/r1/metadata.pb"), null);
});

Deno.test("an end record is written once and reads back as written", async () => {
  await withStorage(async (s) => {
    assert.deepEqual(await readRunEnd(s, "r1"), { end: null, key: null, problem: null });
    assert.equal(await writeRunEnd(s, FIELDS), true);
    assert.equal(await writeRunEnd(s, { ...FIELDS, writer: "persistence-3" }), false);
    const read = await readRunEnd(s, "r1");
    assert.deepEqual(read, { end: FIELDS, key: runEndKey("r1", 2000), problem: null });
  });
});

Deno.test("the run's end is its newest end record (a run extended later has two)", async () => {
  await withStorage(async (s) => {
    await writeRunEnd(s, FIELDS);
    await writeRunEnd(s, { ...FIELDS, lastTick: 4000, chunks: 81, batches: 17 });
    assert.equal((await readRunEnd(s, "r1")).end?.lastTick, 4000);
  });
});

Deno.test("an end record that cannot be used is a problem naming the file", async () => {
  await withStorage(async (s) => {
    await put(s, runEndKey("r1", 2000), new Uint8Array([0xff, 0xff, 0xff]));
    const bad = await readRunEnd(s, "r1");
    assert.equal(bad.end, null);
    assert.match(bad.problem!, /'runs\/r1\/end\/end_0+2000\.pb' \(3 bytes\) does not decode/);
    await put(s, runEndKey("r2", 10), new Uint8Array(0));
    assert.match((await readRunEnd(s, "r2")).problem!, /is empty \(0 bytes\)/);
    await put(
      s,
      runEndKey("r4", 2000),
      toBinary(RunEndSchema, create(RunEndSchema, { runId: "r3", lastTick: 2000n })),
    );
    assert.match((await readRunEnd(s, "r4")).problem!, /names run 'r3'/);
    await put(
      s,
      runEndKey("r5", 2000),
      toBinary(RunEndSchema, create(RunEndSchema, { runId: "r5", lastTick: 1999n })),
    );
    assert.match((await readRunEnd(s, "r5")).problem!, /says the run ended at tick 1999/);
  });
});

Deno.test("an end record of a newer format version is refused, naming the version", () => {
  const bytes = toBinary(
    RunEndSchema,
    create(RunEndSchema, { runId: "r1", lastTick: 5n, formatVersion: 7 as FormatVersion }),
  );
  const problem = decodeRunEnd("runs/r1/end/end_0000000000000000005.pb", bytes);
  assert.equal(
    problem,
    "'runs/r1/end/end_0000000000000000005.pb' has format version 7, newer than this build " +
      "reads (up to 2); read it with a newer evochora",
  );
});
