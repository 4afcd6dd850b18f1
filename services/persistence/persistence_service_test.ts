import assert from "node:assert/strict";
import { MemoryQueue } from "../../resources/queue/memory_queue.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage, StorageWriter } from "../../resources/storage/storage.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import { readRunEnd } from "../common/run_end.ts";
import { deadLetterPrefix, rawPrefix, runEndPrefix } from "../common/storage_layout.ts";
import { EngineService } from "../simulation_engine/engine_service.ts";
import { PersistenceService } from "./persistence_service.ts";

const ENGINE = { shape: [128, 64], seed: 5, intervals: { sampling: 5, snapshot: 10 } };
const RUN = "end-run";

/** The chunks of a 600-tick run (3 chunks per batch) on a fresh queue; and the chunk count. */
async function chunkQueue(): Promise<{ queue: MemoryQueue; chunks: number }> {
  const queue = new MemoryQueue({ name: "raw", partitions: 3, maxBytes: 2 ** 30 });
  const meta = new MemoryQueue({ name: "meta", partitions: 1, maxBytes: 2 ** 30 });
  const engine = new EngineService({
    name: "engine",
    output: queue,
    metadataOutput: meta,
    engine: ENGINE,
    ticks: 600,
    chunksPerBatch: 3,
    runId: RUN,
  });
  await engine.start();
  await engine.done;
  return { queue, chunks: engine.status().metrics.chunks! };
}

function worker(
  name: string,
  queue: MemoryQueue,
  storage: Storage,
  extra: { attempts?: number; endWaitMs?: number } = {},
): PersistenceService {
  return new PersistenceService({
    name,
    input: queue,
    storage,
    notify: new MemoryTopic({ name: "t", partitions: 1 }),
    group: "persistence",
    maxRecords: 64,
    drainTimeoutMs: 20,
    attempts: extra.attempts ?? 3,
    retryBaseMs: 10,
    endWaitMs: extra.endWaitMs ?? 60_000,
    endPollMs: 20,
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20000) {
  const deadline = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function withStorage(fn: (s: FilesystemStorage) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "evochora-persistence-" });
  const storage = await FilesystemStorage.open({ root });
  try {
    await fn(storage);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Storage whose commits of keys matching `refuse` fail while it returns true. */
function refusing(inner: Storage, refuse: (key: string) => boolean): Storage {
  return {
    description: "refusing",
    openWriter: async (key: string): Promise<StorageWriter> => {
      const w = await inner.openWriter(key);
      if (!refuse(key)) return w;
      return {
        key,
        write: (b: Uint8Array) => w.write(b),
        commit: async () => {
          await w.abort();
          throw new Error("EIO: the disk refused it");
        },
        abort: () => w.abort(),
      };
    },
    openReader: (k) => inner.openReader(k),
    read: (k) => inner.read(k),
    exists: (k) => inner.exists(k),
    size: (k) => inner.size(k),
    stat: (k) => inner.stat(k),
    listKeys: (p, o) => inner.listKeys(p, o),
    listChildren: (p) => inner.listChildren(p),
    listObjects: (p, o) => inner.listObjects(p, o),
    delete: (k) => inner.delete(k),
    sweepLeftovers: (o) => inner.sweepLeftovers(o),
    close: () => Promise.resolve(),
  };
}

Deno.test("the worker that stores the final batch writes the run's end record once, with the last tick and totals", async () => {
  await withStorage(async (storage) => {
    const { queue, chunks } = await chunkQueue();
    const workers = [worker("p1", queue, storage), worker("p2", queue, storage)];
    for (const w of workers) await w.start();
    await until("the queue to drain", () => queue.stats().lag.persistence === 0);
    for (const w of workers) await w.stop();
    const { end, problem } = await readRunEnd(storage, RUN);
    assert.equal(problem, null);
    assert.ok(end !== null);
    assert.equal(end.lastTick, 600);
    assert.equal(end.chunks, chunks);
    assert.equal(end.chunksPerBatch, 3);
    assert.equal(end.batches, Math.ceil(chunks / 3));
    assert.equal(end.batchesStored, end.batches);
    assert.equal((await listAllKeys(storage, rawPrefix(RUN))).length, end.batches);
    assert.ok(end.finalBatchKey.endsWith("_0000000000000000600.pb.zst"), end.finalBatchKey);
    const ended = workers.reduce((n, w) => n + (w.status().metrics.runs_ended ?? 0), 0);
    assert.equal(ended, 1);
    // The same records again (a replay after a crash): the record exists, nothing new.
    const again = await chunkQueue();
    const replay = worker("p3", again.queue, storage);
    await replay.start();
    await until("the replay to drain", () => again.queue.stats().lag.persistence === 0);
    await replay.stop();
    assert.equal(replay.status().metrics.runs_ended, 0);
    assert.equal((await listAllKeys(storage, runEndPrefix(RUN))).length, 1);
  });
});

Deno.test("the final batch stays uncommitted, and the run unended, until the run's other batches are stored", async () => {
  await withStorage(async (storage) => {
    const { queue } = await chunkQueue();
    let refuse = true;
    // Batch 1 (chunks 3..5, ticks 150..295) cannot be stored for now: the disk refuses it.
    const flaky = refusing(storage, (k) => refuse && k.includes("batch_0000000000000000150_"));
    const w = worker("p1", queue, flaky, { attempts: 1_000_000 });
    await w.start();
    await until("the final batch to wait", () => (w.status().metrics.end_waits ?? 0) > 3);
    assert.ok(queue.stats().lag.persistence! > 0, "the final batch's records are uncommitted");
    assert.deepEqual(await listAllKeys(storage, runEndPrefix(RUN)), [], "no end record yet");
    refuse = false;
    await until("the queue to drain", () => queue.stats().lag.persistence === 0);
    await w.stop();
    const { end } = await readRunEnd(storage, RUN);
    assert.ok(end !== null);
    assert.equal(end.batchesStored, end.batches);
  });
});

Deno.test("a run whose batch is lost ends after the bounded wait, its end record naming the batches stored", async () => {
  await withStorage(async (storage) => {
    const { queue, chunks } = await chunkQueue();
    const lossy = refusing(storage, (k) => k.includes("batch_0000000000000000150_"));
    const w = worker("p1", queue, lossy, { attempts: 1, endWaitMs: 200 });
    await w.start();
    await until("the queue to drain", () => queue.stats().lag.persistence === 0);
    await w.stop();
    assert.ok((await listAllKeys(storage, deadLetterPrefix(RUN))).length > 0, "dead letters");
    const { end } = await readRunEnd(storage, RUN);
    assert.ok(end !== null);
    assert.equal(end.batches, Math.ceil(chunks / 3));
    assert.equal(end.batchesStored, end.batches - 1);
    assert.match(w.status().error ?? "", /ended with \d+ of \d+ batches stored/);
  });
});

/**
 * Storage whose commits of raw batches wait until `gate` resolves (and say so through
 * `waiting`); other files (the run's end record) pass, so that `waiting` counts batches only.
 */
function gated(inner: Storage, gate: Promise<void>, waiting: { n: number }): Storage {
  return {
    ...refusing(inner, () => false),
    openWriter: async (key: string): Promise<StorageWriter> => {
      const w = await inner.openWriter(key);
      if (!key.includes("/raw/")) return w;
      return {
        key,
        write: (b: Uint8Array) => w.write(b),
        commit: async () => {
          waiting.n++;
          await gate;
          return await w.commit();
        },
        abort: () => w.abort(),
      };
    },
  };
}

Deno.test("a stop while batches are being written lets them finish and commits them", async () => {
  const { queue } = await chunkQueue();
  await withStorage(async (storage) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const waiting = { n: 0 };
    const w = worker("p1", queue, gated(storage, gate, waiting));
    await w.start();
    await until("batches being written", () => waiting.n > 0);
    const stopped = w.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(w.status().metrics.batches, 0, "nothing stored before the gate opens");
    open();
    await stopped;
    const m = w.status().metrics;
    assert.ok(m.batches! >= waiting.n, `${m.batches} batches stored, ${waiting.n} were writing`);
    const afterStop = await listAllKeys(storage, rawPrefix(RUN));
    // What was stored is committed: a second worker stores no batch again, except the run's
    // final batch, which stays uncommitted until the run's other batches are stored (unless
    // the first worker stored them all and ended the run itself).
    const again = worker("p2", queue, storage);
    await again.start();
    await until("the rest stored", () => (queue.stats().lag.persistence ?? 1) === 0);
    await again.stop();
    const stored = await listAllKeys(storage, rawPrefix(RUN));
    const final = [...stored].sort().at(-1)!;
    assert.equal(
      again.status().metrics.duplicate_batches,
      afterStop.includes(final) && m.runs_ended === 0 ? 1 : 0,
    );
    assert.equal(stored.length, m.batches! + again.status().metrics.batches!);
  });
});

Deno.test("while storage is unreachable a batch waits for it, past its attempts, and never goes to the dead-letter store", async () => {
  await withStorage(async (storage) => {
    const { queue, chunks } = await chunkQueue();
    // Raw batches are refused as by a server that is down; dead letters would go through (a
    // partly recovered server), so a worker that gave up on the batch would lose it there.
    let away = true;
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.2:18333"), {
      code: "ECONNREFUSED",
    });
    const flaky: Storage = {
      ...refusing(storage, () => false),
      openWriter: (key: string) =>
        away && key.includes("/raw/")
          ? Promise.reject(new Error(`Cannot commit '${key}'`, { cause: refused }))
          : storage.openWriter(key),
    };
    const w = worker("p", queue, flaky, { attempts: 2 });
    await w.start();
    await until("retries past the attempts", () => (w.status().metrics.retries ?? 0) >= 6);
    away = false;
    await until("every chunk stored", () => queue.stats().lag.persistence === 0);
    await w.stop();
    assert.equal(w.status().metrics.dead_letters, 0);
    assert.deepEqual(await listAllKeys(storage, deadLetterPrefix(RUN)), []);
    assert.equal((await listAllKeys(storage, rawPrefix(RUN))).length, Math.ceil(chunks / 3));
  });
});
