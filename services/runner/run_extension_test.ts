import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { catalogKey, organismsKey, statsKey, statsStateKey } from "../common/index_schema.ts";
import {
  batchKey,
  checkpointKey,
  deadLetterKey,
  metadataKey,
  runEndKey,
} from "../common/storage_layout.ts";
import { extensionRetraction, retract } from "./run_extension.ts";

const RUN = "ext";

async function put(storage: Storage, key: string): Promise<void> {
  const w = await storage.openWriter(key);
  await w.write(new Uint8Array(1));
  await w.commit();
}

/** A finished run of 2500 ticks in 1000-tick batches, checkpoints every 500 and at the end. */
async function finishedRun(storage: Storage): Promise<void> {
  await put(storage, metadataKey(RUN));
  for (const [first, last] of [[0, 990], [1000, 1990], [2000, 2500]] as const) {
    await put(storage, batchKey(RUN, first, last));
    await put(storage, catalogKey(RUN, first, last));
    await put(storage, organismsKey(RUN, first, last));
    await put(storage, statsKey(RUN, first, last));
    await put(storage, statsStateKey(RUN, last));
  }
  for (const t of [490, 990, 1490, 1990, 2490, 2500]) await put(storage, checkpointKey(RUN, t));
  await put(storage, deadLetterKey(RUN, "raw", 0, 7));
  await put(storage, runEndKey(RUN, 2500));
}

async function withStorage(f: (storage: Storage) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "evochora-extension-" });
  const storage = new FilesystemStorage({ root });
  try {
    await f(storage);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("extensionRetraction() names every file after the checkpoint, the end record last", () =>
  withStorage(async (storage) => {
    await finishedRun(storage);
    const keys = await extensionRetraction(storage, RUN, 1990);
    assert.deepEqual(keys, [
      checkpointKey(RUN, 2490),
      checkpointKey(RUN, 2500),
      catalogKey(RUN, 2000, 2500),
      organismsKey(RUN, 2000, 2500),
      statsStateKey(RUN, 2500),
      statsKey(RUN, 2000, 2500),
      batchKey(RUN, 2000, 2500),
      runEndKey(RUN, 2500),
    ]);
  }));

Deno.test("extensionRetraction() from tick 0 keeps only the metadata and dead letters", () =>
  withStorage(async (storage) => {
    await finishedRun(storage);
    assert.equal(await retract(storage, await extensionRetraction(storage, RUN, null)), 22);
    const left = (await storage.listKeys(`runs/${RUN}/`)).keys.sort();
    assert.deepEqual(left, [deadLetterKey(RUN, "raw", 0, 7), metadataKey(RUN)].sort());
  }));

Deno.test("retract() is idempotent: an interrupted retraction is finished by the next one", () =>
  withStorage(async (storage) => {
    await finishedRun(storage);
    const keys = await extensionRetraction(storage, RUN, 1990);
    assert.equal(await retract(storage, keys.slice(0, 3)), 3);
    const rest = await extensionRetraction(storage, RUN, 1990);
    assert.deepEqual(rest, keys.slice(3));
    assert.equal(await retract(storage, keys), keys.length - 3);
    assert.deepEqual(await extensionRetraction(storage, RUN, 1990), []);
  }));
