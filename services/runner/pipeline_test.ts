import assert from "node:assert/strict";
import { listRuns, verifyRun } from "../../cli/inspect_command.ts";
import { MemoryQueue } from "../../resources/queue/memory_queue.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage, StorageWriter } from "../../resources/storage/storage.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import { PersistenceService } from "../persistence/persistence_service.ts";
import { EngineService } from "../simulation_engine/engine_service.ts";
import { defaultConfig, resolveConfig } from "./config.ts";
import { Pipeline } from "./pipeline.ts";

const ENGINE = { shape: [256, 64], seed: 5, intervals: { sampling: 5, snapshot: 10 } };

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "evochora-pipeline-" });
}

function withBatchSize(
  dataDir: string,
  ticks: number,
  persistence: number,
  chunksPerBatch: number,
) {
  const cfg = defaultConfig({ dataDir, persistence, ticks, engine: ENGINE });
  for (const s of Object.values(cfg.services)) {
    if (s.kind === "simulation-engine") s.chunksPerBatch = chunksPerBatch;
  }
  return resolveConfig(cfg);
}

Deno.test("three competing persistence workers store every sampled tick exactly once", async () => {
  const dir = await tempDir();
  const pipeline = await Pipeline.create(withBatchSize(dir, 3000, 3, 1));
  await pipeline.start();
  await pipeline.engine!.done;
  assert.equal(await pipeline.stop(30000), true);
  const status = pipeline.status();
  const workers = status.services.filter((s) => s.kind === "persistence");
  assert.equal(workers.length, 3);
  for (const w of workers) assert.ok((w.metrics.batches ?? 0) > 0, `${w.name} wrote no batch`);
  const storage = await FilesystemStorage.open({ root: dir });
  const runs = await listRuns(storage);
  assert.deepEqual(runs, [pipeline.engine!.runId]);
  const report = await verifyRun(storage, runs[0]!);
  assert.deepEqual(report.errors, []);
  assert.equal(report.metadata, true);
  assert.equal(report.firstTick, 0);
  assert.equal(report.lastTick, 3000);
  assert.equal(report.samples, 3000 / 5 + 1);
  const totalBatches = workers.reduce((n, w) => n + (w.metrics.batches ?? 0), 0);
  assert.equal(report.batches, totalBatches);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a worker that crashes mid-batch has its records redelivered and stored once", async () => {
  const dir = await tempDir();
  const pipeline = await Pipeline.create(withBatchSize(dir, 4000, 3, 4));
  await pipeline.start();
  const victim = pipeline.services.find((s) => s.name === "persistence-2") as PersistenceService;
  // Wait until the victim holds part of a batch, then kill it before it commits.
  const deadline = performance.now() + 20000;
  while ((victim.status().metrics.pending_batches ?? 0) === 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok((victim.status().metrics.pending_batches ?? 0) > 0, "victim never held a batch");
  await victim.crash();
  await pipeline.engine!.done;
  assert.equal(await pipeline.stop(30000), true);
  const queue = pipeline.resources.get("raw-tick-data")!.instance as MemoryQueue;
  assert.ok(queue.stats().redelivered > 0, "nothing was redelivered");
  const storage = await FilesystemStorage.open({ root: dir });
  const report = await verifyRun(storage, pipeline.engine!.runId);
  assert.deepEqual(report.errors, []);
  assert.equal(report.samples, 4000 / 5 + 1);
  await Deno.remove(dir, { recursive: true });
});

/** Puts the chunks of a short engine run on a fresh queue. */
async function chunkQueue(): Promise<MemoryQueue> {
  const queue = new MemoryQueue({ name: "raw", partitions: 2, maxBytes: 2 ** 30 });
  const meta = new MemoryQueue({ name: "meta", partitions: 1, maxBytes: 2 ** 30 });
  const engine = new EngineService({
    name: "engine",
    output: queue,
    metadataOutput: meta,
    engine: ENGINE,
    ticks: 600,
    chunksPerBatch: 3,
    runId: "replay-run",
  });
  await engine.start();
  await engine.done;
  return queue;
}

async function persistAll(queue: MemoryQueue, storage: Storage): Promise<PersistenceService> {
  const worker = new PersistenceService({
    name: "p",
    input: queue,
    storage,
    notify: new MemoryTopic({ name: "t", partitions: 1 }),
    group: "persistence",
    maxRecords: 64,
    drainTimeoutMs: 50,
    attempts: 3,
    retryBaseMs: 10,
  });
  await worker.start();
  const deadline = performance.now() + 20000;
  while ((queue.stats().lag.persistence ?? 1) > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await worker.stop();
  return worker;
}

Deno.test("replaying the same records rebuilds the same keys and bytes, and commits nothing new", async () => {
  const dir = await tempDir();
  const storage = await FilesystemStorage.open({ root: dir });
  const first = await persistAll(await chunkQueue(), storage);
  const keys = (await storage.listKeys("runs/replay-run/raw/")).keys;
  const bytes = await Promise.all(keys.map((k) => storage.read(k)));
  assert.ok(keys.length >= 2);
  assert.equal(first.status().metrics.batches, keys.length);
  const second = await persistAll(await chunkQueue(), storage);
  assert.equal(second.status().metrics.batches, 0);
  assert.equal(second.status().metrics.duplicate_batches, keys.length);
  assert.deepEqual((await storage.listKeys("runs/replay-run/raw/")).keys, keys);
  for (const [i, k] of keys.entries()) assert.deepEqual(await storage.read(k), bytes[i]);
  await Deno.remove(dir, { recursive: true });
});

/** A storage whose writers fail on commit: like a disk that refuses every write. */
class FailingStorage implements Storage {
  readonly description = "failing";
  openWriter(key: string): Promise<StorageWriter> {
    return Promise.resolve({
      key,
      write: () => Promise.resolve(),
      commit: () => Promise.reject(new Error("EACCES: permission denied")),
      abort: () => Promise.resolve(),
    });
  }
  openReader(): Promise<ReadableStream<Uint8Array>> {
    return Promise.reject(new Error("unreadable"));
  }
  read(): Promise<Uint8Array> {
    return Promise.reject(new Error("unreadable"));
  }
  exists(): Promise<boolean> {
    return Promise.resolve(false);
  }
  size(): Promise<number | null> {
    return Promise.resolve(null);
  }
  stat(): Promise<null> {
    return Promise.resolve(null);
  }
  listKeys() {
    return Promise.resolve({ keys: [] });
  }
  listObjects() {
    return Promise.resolve({ objects: [] });
  }
  listChildren(): Promise<string[]> {
    return Promise.resolve([]);
  }
  delete(): Promise<boolean> {
    return Promise.reject(new Error("EACCES: permission denied"));
  }
  sweepLeftovers() {
    return Promise.resolve([]);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("when storage refuses writes the records stay uncommitted and the error is reported", async () => {
  const queue = await chunkQueue();
  const total = queue.stats().recordsIn;
  const worker = new PersistenceService({
    name: "p",
    input: queue,
    storage: new FailingStorage(),
    notify: new MemoryTopic({ name: "t", partitions: 1 }),
    group: "persistence",
    maxRecords: 64,
    drainTimeoutMs: 20,
    attempts: 2,
    retryBaseMs: 5,
  });
  await worker.start();
  await new Promise((r) => setTimeout(r, 300));
  const status = worker.status();
  await worker.stop();
  assert.equal(queue.stats().lag.persistence, total);
  assert.ok((status.metrics.errors ?? 0) > 0);
  assert.equal(status.metrics.batches, 0);
  assert.equal(status.metrics.dead_letters, 0);
  assert.match(status.error ?? "", /permission denied/);
});

Deno.test("stop waits for every index of the run, and a drain timeout names the missing index files", async () => {
  const dir = await tempDir();
  const cfg = defaultConfig({ dataDir: dir, persistence: 2, ticks: 3000, engine: ENGINE });
  const pipeline = await Pipeline.create(resolveConfig(cfg));
  await pipeline.start();
  await pipeline.engine!.done;
  assert.equal(await pipeline.stop(60000), true, JSON.stringify(pipeline.lastDrain));
  const index = pipeline.lastDrain!.index!;
  assert.ok(index.rawBatches > 2);
  assert.deepEqual(
    index.kinds.map((k) => [k.kind, k.written, k.lag]),
    ["stats", "organisms", "catalog"].map((k) => [k, index.rawBatches, 0]),
  );

  // The stats indexer stops before the run: its files never come.
  const dir2 = await tempDir();
  const cfg2 = defaultConfig({ dataDir: dir2, persistence: 2, ticks: 3000, engine: ENGINE });
  const lagging = await Pipeline.create(resolveConfig(cfg2));
  await lagging.start();
  await lagging.services.find((s) => s.name === "stats-indexer")!.stop();
  await lagging.engine!.done;
  // Storage is listed when an indexer of the pipeline finishes a batch, else once a second:
  // not every 100 ms (each listing is a request per index kind on S3).
  let rawListings = 0;
  for (const r of lagging.resources.values()) {
    if (r.role !== "storage") continue;
    const storage = r.instance;
    const listKeys = storage.listKeys.bind(storage);
    storage.listKeys = (prefix, options) => {
      if (prefix.includes("/raw/")) rawListings++;
      return listKeys(prefix, options);
    };
  }
  assert.equal(await lagging.stop(1500), false);
  assert.ok(rawListings <= 6, `storage was listed ${rawListings} times in 1.5 s`);
  const drain = lagging.lastDrain!;
  assert.equal(drain.index!.kinds.find((k) => k.kind === "stats")!.written, 0);
  assert.equal(drain.missing.length, 1, drain.missing.join("\n"));
  assert.match(
    drain.missing[0]!,
    new RegExp(
      `^stats: ${drain.index!.rawBatches} of ${
        drain.index!.rawBatches
      } index files missing \\(runs/.*/index/stats/0000000/0+_0+\\d+\\.parquet, `,
    ),
  );
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(dir2, { recursive: true });
});

Deno.test("a storage sweep that fails at start is skipped, and the pipeline runs", async () => {
  const dir = await tempDir();
  const cfg = defaultConfig({ dataDir: dir, persistence: 1, ticks: 300, engine: ENGINE });
  const pipeline = await Pipeline.create(resolveConfig(cfg));
  let sweeps = 0;
  for (const r of pipeline.resources.values()) {
    if (r.role !== "storage") continue;
    // As while an S3 server restarts: the listing of pending uploads is refused.
    r.instance.sweepLeftovers = () => {
      sweeps++;
      return Promise.reject(new Error("connect ECONNREFUSED 10.0.0.2:18333"));
    };
  }
  await pipeline.start();
  await pipeline.engine!.done;
  assert.equal(await pipeline.stop(60000), true, JSON.stringify(pipeline.lastDrain));
  assert.ok(sweeps > 0, "a sweep was tried");
  assert.deepEqual(pipeline.swept, []);
  assert.ok(pipeline.services.every((s) => s.status().state !== "failed"));
  await Deno.remove(dir, { recursive: true });
});
