import assert from "node:assert/strict";
import type { Consumer, LogStats, Queue, QueueRecord } from "../../resources/queue/queue.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { parseBatchRecord } from "../common/batch_record.ts";
import { batchKey, checkpointKey, metadataKey } from "../common/storage_layout.ts";
import { EngineService } from "../simulation_engine/engine_service.ts";
import {
  checkpointTicks,
  readStoredCheckpoint,
  storeCheckpoint,
} from "../simulation_engine/checkpoint_store.ts";
import { findResumePoint, ResumeError } from "./resume_point.ts";

/** A queue that keeps what is put on it. */
class RecordingQueue implements Queue {
  readonly name = "recording";
  readonly partitions = 1;
  readonly records: QueueRecord[] = [];
  put(record: QueueRecord): Promise<void> {
    this.records.push(record);
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  consumer(): Consumer {
    throw new Error("RecordingQueue has no consumers");
  }
  stats(): LogStats {
    return {
      recordsIn: this.records.length,
      bytesIn: 0,
      recordsOut: 0,
      bytesOut: 0,
      redelivered: 0,
      retainedBytes: 0,
      lag: {},
      blockedProducers: 0,
    };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A chunk every 20 ticks (last samples at 15, 35, ...); 3 chunks per batch. */
const ENGINE = { shape: [64, 64], seed: 7, intervals: { sampling: 5, snapshot: 4 } };
const RUN = "resumable";

async function put(storage: Storage, key: string, bytes: Uint8Array): Promise<void> {
  const w = await storage.openWriter(key);
  await w.write(bytes);
  await w.commit();
}

/** Runs an engine to 510 ticks storing its checkpoints; stores its metadata and `batches`. */
async function storedRun(storage: Storage, batches: number) {
  const output = new RecordingQueue();
  const metadata = new RecordingQueue();
  const engine = new EngineService({
    name: "engine",
    output,
    metadataOutput: metadata,
    engine: ENGINE,
    ticks: 510,
    chunksPerBatch: 3,
    runId: RUN,
    clock: () => 0,
    checkpointStorage: storage,
  });
  await engine.start();
  await engine.done;
  await put(storage, metadataKey(RUN), metadata.records[0]!.value);
  const infos = output.records.map((r) =>
    parseBatchRecord({ ...r, headers: r.headers ?? {}, partition: 0, offset: 0 })
  );
  for (const info of infos.slice(0, batches)) {
    await put(storage, batchKey(RUN, info.firstTick, info.lastTick), new Uint8Array(1));
  }
  return { engine, metadata: metadata.records[0]!.value };
}

async function withStorage(f: (storage: Storage) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "evochora-resume-point-" });
  const storage = new FilesystemStorage({ root });
  try {
    await f(storage);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the engine service stores every checkpoint; storing one again is a no-op", () =>
  withStorage(async (storage) => {
    await storedRun(storage, 0);
    const ticks = await checkpointTicks(storage, RUN);
    // Taken after each chunk; stored after every third (a batch boundary) and at the end.
    assert.deepEqual(ticks, [510, 475, 415, 355, 295, 235, 175, 115, 55], "newest first");
    const bytes = await readStoredCheckpoint(storage, RUN, 475);
    const stored = await Deno.readFile(
      `${(storage as FilesystemStorage).root}/${checkpointKey(RUN, 475)}`,
    );
    const again = await storeCheckpoint(storage, RUN, 475, bytes);
    assert.equal(again.created, false);
    assert.deepEqual(
      await Deno.readFile(`${(storage as FilesystemStorage).root}/${checkpointKey(RUN, 475)}`),
      stored,
    );
  }));

Deno.test("a run resumes from the newest checkpoint at a batch boundary whose batches are stored", () =>
  withStorage(async (storage) => {
    const { metadata } = await storedRun(storage, 4);
    const point = await findResumePoint(storage, RUN, { chunksPerBatch: 3 });
    assert.equal(point.checkpoint?.chunks, 12, "after batches 0..3 (chunks 0..11)");
    assert.equal(point.checkpoint?.tick, 235);
    assert.deepEqual(point.metadata, metadata);
    assert.equal(point.engine.seed, 7n);
    assert.equal(point.end, null);
    assert.ok(point.skipped.some((s) => /tick 510: not at a batch boundary/.test(s)));
    assert.ok(point.skipped.some((s) => /4 of the \d+ batches before it are stored/.test(s)));
  }));

Deno.test("without a usable checkpoint a run resumes from tick 0; a missing run is refused", () =>
  withStorage(async (storage) => {
    await storedRun(storage, 0);
    const point = await findResumePoint(storage, RUN, { chunksPerBatch: 3 });
    assert.equal(point.checkpoint, null);
    await assert.rejects(
      findResumePoint(storage, "other", { chunksPerBatch: 3 }),
      (e) => e instanceof ResumeError && /'runs\/other\/metadata.pb' is missing/.test(e.message),
    );
  }));
