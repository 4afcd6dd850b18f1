import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import { defaultConfig, Pipeline, resolveConfig } from "../runner/mod.ts";
import {
  copyRun,
  FIXTURE_ENGINE,
  pathOf,
  publishBatchInfo,
  rawBatches,
  referenceStats,
  snapshotFiles,
  tempDir,
  testIndexer,
  until,
  untilIndexed,
} from "./_test_run.ts";
import type { IndexKind } from "./batch_indexer.ts";
import { INDEXERS, IndexerService } from "./indexer_service.ts";
import { IndexThread } from "../runner/index_thread.ts";
import { readOrganisms, readStats } from "./parquet.ts";
import { CorruptBatchError, loadRawBatch, loadRunInfo, MissingBatchError } from "./raw_batch.ts";
import { batchKey } from "../common/storage_layout.ts";
import { indexPrefix, statsKey, statsStateKey } from "../common/index_schema.ts";
import { decodeStatsState, statsIndexer } from "./stats_indexer.ts";

const KINDS: IndexKind[] = ["stats", "organisms", "catalog"];

async function stopAll(services: IndexerService[]): Promise<void> {
  for (const s of services) await s.stop();
}

Deno.test("an indexer started after the run finished catches up from storage alone", async () => {
  const run = await copyRun();
  const topic = new MemoryTopic({ name: "batches", partitions: 3 });
  const services = KINDS.map((k) => testIndexer(k, topic, run.storage));
  for (const s of services) await s.start();
  for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], run.batches);
  await until("idle", () => services.every((s) => s.status().metrics.pending === 0));
  await stopAll(services);
  for (const s of services) {
    const st = s.status();
    strictEqual(st.state, "stopped");
    strictEqual(st.error, undefined, st.error);
    strictEqual(st.metrics.messages, 0);
    strictEqual(st.metrics.found_batches, run.batches.length);
    strictEqual(st.metrics.batches, run.batches.length);
    strictEqual(st.metrics.last_tick, run.batches.at(-1)!.lastTick);
  }
  deepStrictEqual(
    await readStats(run.storage, run.runId),
    await referenceStats(run.storage, run.batches),
  );
});

Deno.test("reprocessing is idempotent: no new files, the same bytes, on any storage", async () => {
  const a = await copyRun();
  const b = await copyRun();
  for (const run of [a, b]) {
    const topic = new MemoryTopic({ name: "batches", partitions: 3 });
    const services = KINDS.map((k) => testIndexer(k, topic, run.storage));
    for (const s of services) await s.start();
    for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], run.batches);
    await stopAll(services);
  }
  const prefix = `runs/${a.runId}/index/`;
  const before = await snapshotFiles(a.storage, prefix);
  strictEqual(before.size, a.batches.length * 4); // stats, state, organisms, catalog
  // Two independent indexings of the same run give the same bytes.
  deepStrictEqual(await snapshotFiles(b.storage, prefix), before);

  // Fresh groups, every BatchInfo delivered and every batch listed: all of it is a no-op.
  const topic = new MemoryTopic({ name: "batches", partitions: 3 });
  for (const ref of a.batches) await publishBatchInfo(topic, ref);
  const again = KINDS.map((k) => testIndexer(k, topic, a.storage, { group: `${k}-again` }));
  for (const s of again) await s.start();
  await until("all messages committed", () =>
    again.every((s) => {
      const m = s.status().metrics;
      return m.lag === 0 && m.pending === 0 && (m.catch_ups ?? 0) >= 1;
    }));
  await stopAll(again);
  for (const s of again) {
    strictEqual(s.status().metrics.batches, 0, s.name);
    strictEqual(s.status().metrics.messages, a.batches.length);
  }
  deepStrictEqual(await snapshotFiles(a.storage, prefix), before);

  // Indexing a batch directly again reports that nothing was created.
  const info = await loadRunInfo(a.storage, a.runId);
  for (const k of KINDS) {
    const r = await INDEXERS[k].index(
      a.storage,
      await loadRawBatch(a.storage, a.batches[3]!),
      info,
    );
    strictEqual(r.created, false, k);
  }
  deepStrictEqual(await snapshotFiles(a.storage, prefix), before);
});

Deno.test("a fresh stats indexer continues where a stopped one left off, with identical results", async () => {
  const run = await copyRun();
  const expected = await referenceStats(run.storage, run.batches);
  const topic = new MemoryTopic({ name: "batches", partitions: 3 });
  for (const ref of run.batches.slice(0, 3)) await publishBatchInfo(topic, ref);
  // Topic only: the first instance sees three messages and nothing else.
  const first = testIndexer("stats", topic, run.storage, { catchUpIntervalMs: 0 });
  await first.start();
  await untilIndexed(run.storage, statsIndexer, run.batches.slice(0, 3));
  await until("three committed", () => first.status().metrics.lag === 0);
  await first.stop();
  strictEqual(first.status().metrics.batches, 3);
  ok(!(await run.storage.exists(statsStateKey(run.runId, run.batches[3]!.lastTick))));
  // A crash between the state and the Parquet file of the second batch (the order now): only
  // the Parquet file is lost.
  const second = run.batches[1]!;
  const secondKey = statsKey(run.runId, second.firstTick, second.lastTick);
  const secondBefore = await run.storage.read(secondKey);
  await Deno.remove(pathOf(run.dir, secondKey));
  // The third batch's state lost after its Parquet file (what an older version could leave).
  const third = run.batches[2]!;
  await Deno.remove(pathOf(run.dir, statsStateKey(run.runId, third.lastTick)));
  const parquetBefore = await run.storage.read(
    statsKey(run.runId, third.firstTick, third.lastTick),
  );

  for (const ref of run.batches.slice(3)) await publishBatchInfo(topic, ref);
  const next = testIndexer("stats", topic, run.storage, { name: "stats-2" });
  await next.start();
  await untilIndexed(run.storage, statsIndexer, run.batches);
  await until("idle", () => next.status().metrics.pending === 0);
  await next.stop();
  strictEqual(next.status().error, undefined, next.status().error);
  deepStrictEqual(await readStats(run.storage, run.runId), expected);
  deepStrictEqual(await run.storage.read(secondKey), secondBefore);
  deepStrictEqual(
    await run.storage.read(statsKey(run.runId, third.firstTick, third.lastTick)),
    parquetBefore,
  );
  const state = decodeStatsState(
    "last",
    run.runId,
    await run.storage.read(statsStateKey(run.runId, run.batches.at(-1)!.lastTick)),
  );
  strictEqual(state.genomes.length, expected.at(-1)!.genomes_ever);
});

Deno.test("out-of-order BatchInfo delivery waits for predecessors and yields the same stats", async () => {
  const run = await copyRun();
  const expected = await referenceStats(run.storage, run.batches);
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const svc = testIndexer("stats", topic, run.storage, { catchUpIntervalMs: 0 });
  await svc.start();
  const late = run.batches.slice(3).reverse();
  for (const ref of late) await publishBatchInfo(topic, ref);
  await until("later batches waiting", () => svc.status().metrics.waiting === late.length);
  strictEqual(svc.status().metrics.lag, late.length, "waiting batches stay uncommitted");
  deepStrictEqual(await snapshotFiles(run.storage, indexPrefix(run.runId, "stats")), new Map());
  for (const ref of run.batches.slice(0, 3).reverse()) await publishBatchInfo(topic, ref);
  await untilIndexed(run.storage, statsIndexer, run.batches);
  await until("all committed", () => svc.status().metrics.lag === 0);
  await svc.stop();
  deepStrictEqual(await readStats(run.storage, run.runId), expected);
  ok(expected.some((r) => r.tick > run.batches[2]!.lastTick && r.genomes_new > 0));
});

Deno.test("bad messages and corrupt batches are reported and skipped; the loop goes on", async () => {
  const run = await copyRun();
  const expected = await referenceStats(run.storage, run.batches);
  const corrupt = run.batches[3]!;
  await Deno.writeFile(pathOf(run.dir, corrupt.key), new TextEncoder().encode("not zstd at all"));
  const missing = {
    runId: run.runId,
    key: batchKey(run.runId, 90000, 90990),
    firstTick: 90000,
    lastTick: 90990,
  };
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  await topic.publish({ key: run.runId, value: new Uint8Array([0xff, 0xff, 0xff]) });
  await publishBatchInfo(topic, missing);
  const opts = { attempts: 2, retryBaseMs: 5 };
  const stats = testIndexer("stats", topic, run.storage, opts);
  const orgs = testIndexer("organisms", topic, run.storage, opts);
  await stats.start();
  await orgs.start();
  const good = run.batches.filter((b) => b !== corrupt);
  await until("good batches indexed", async () => {
    for (const b of good) {
      if (!(await run.storage.exists(statsIndexer.doneKey(b)))) return false;
      if (!(await run.storage.exists(INDEXERS.organisms.doneKey(b)))) return false;
    }
    return [stats, orgs].every((s) =>
      s.status().metrics.skipped_batches === 3 && s.status().metrics.lag === 0
    );
  });
  for (const s of [stats, orgs]) {
    strictEqual(s.status().state, "running");
    strictEqual(s.status().metrics.failed_batches, 2);
  }
  await stopAll([stats, orgs]);
  const all = [stats, orgs].flatMap((s) => s.recentErrors().map((e) => `${s.kind}: ${e}`)).join(
    "\n",
  );
  for (const kind of ["stats-indexer", "organisms-indexer"]) {
    ok(all.includes(`${kind}: skipped undecodable BatchInfo at batches/0@0`), all);
    ok(
      new RegExp(`${kind}: skipped '${missing.key}' after 2 attempts: .*does not exist`).test(all),
      all,
    );
    ok(
      new RegExp(`${kind}: skipped '${corrupt.key}' after 2 attempts: .*Cannot read batch`).test(
        all,
      ),
      all,
    );
  }
  // The corrupt batch is passed over: later stats go on, its genomes missing from the state.
  const state = decodeStatsState(
    "s",
    run.runId,
    await run.storage.read(statsStateKey(run.runId, corrupt.lastTick)),
  );
  deepStrictEqual(state.skippedBatches, [corrupt.key]);
  const rows = await readStats(run.storage, run.runId);
  deepStrictEqual(
    rows.filter((r) => r.tick < corrupt.firstTick),
    expected.filter((r) => r.tick < corrupt.firstTick),
  );
  strictEqual(
    rows.filter((r) => r.tick >= corrupt.firstTick && r.tick <= corrupt.lastTick).length,
    0,
  );
  const after = (r: { tick: number }) => r.tick > corrupt.lastTick;
  deepStrictEqual(
    rows.filter(after).map((r) => ({ ...r, genomes_new: 0, genomes_ever: 0 })),
    expected.filter(after).map((r) => ({ ...r, genomes_new: 0, genomes_ever: 0 })),
  );
  ok((await readOrganisms(run.storage, run.runId)).length > 0);
});

Deno.test("indexers beside a live pipeline index every batch from its topic, racing harmlessly", async () => {
  const dir = tempDir();
  const p = await Pipeline.create(
    resolveConfig(
      defaultConfig({
        dataDir: dir,
        ticks: 4000,
        persistence: 2,
        engine: FIXTURE_ENGINE,
        indexers: false,
      }),
    ),
  );
  const topic = p.resources.get("batch-topic")!.instance as Topic;
  const storage = p.resources.get("tick-storage")!.instance as Storage;
  const topicOnly = { catchUpIntervalMs: 0 };
  const services = [
    // Two members of one group share the work; a second group redoes all of it at the same
    // time (racing on every batch), with the catch-up on.
    testIndexer("stats", topic, storage, { ...topicOnly, name: "stats-a" }),
    testIndexer("stats", topic, storage, { ...topicOnly, name: "stats-b" }),
    testIndexer("stats", topic, storage, { name: "stats-c", group: "stats-racer" }),
    testIndexer("organisms", topic, storage, topicOnly),
    testIndexer("catalog", topic, storage, topicOnly),
  ];
  // Members join before any message exists: no rebalance moves work between them later.
  for (const s of services) await s.start();
  // Competing persistence workers store batches out of order: never a problem while it lasts.
  const seen: string[] = [];
  const watch = setInterval(() => {
    for (const s of services) seen.push(...(s.status().problems ?? []));
  }, 5);
  await p.start();
  await p.engine!.done;
  ok(await p.drained(20000));
  const view = new FilesystemStorage({ root: dir });
  const batches = await rawBatches(view);
  strictEqual(batches.length, 5);
  for (const k of KINDS) await untilIndexed(view, INDEXERS[k], batches);
  await until(
    "topic consumed",
    () => services.every((s) => s.status().metrics.lag === 0 && s.status().metrics.pending === 0),
  );
  clearInterval(watch);
  await stopAll(services);
  await p.stop();
  deepStrictEqual(seen, []);
  for (const s of services) {
    strictEqual(s.status().error, undefined, `${s.name}: ${s.status().error}`);
  }
  deepStrictEqual(await readStats(view, batches[0]!.runId), await referenceStats(view, batches));
  const messages = services.slice(0, 2).reduce((n, s) => n + (s.status().metrics.messages ?? 0), 0);
  strictEqual(messages, batches.length, "one group sees each BatchInfo once");
});

Deno.test("batches that reach storage later without a message are found by a later catch-up", async () => {
  const run = await copyRun();
  const side = tempDir();
  const later = run.batches.slice(3);
  for (const b of later) await Deno.rename(pathOf(run.dir, b.key), `${side}/${b.lastTick}`);
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const svc = testIndexer("stats", topic, run.storage, { catchUpIntervalMs: 30 });
  await svc.start();
  await untilIndexed(run.storage, statsIndexer, run.batches.slice(0, 3));
  for (const b of later) await Deno.rename(`${side}/${b.lastTick}`, pathOf(run.dir, b.key));
  await untilIndexed(run.storage, statsIndexer, run.batches);
  await svc.stop();
  const m = svc.status().metrics;
  strictEqual(m.messages, 0);
  strictEqual(m.found_batches, run.batches.length);
  ok((m.catch_ups ?? 0) >= 3, "taken on the second sighting");
  deepStrictEqual(
    await readStats(run.storage, run.runId),
    await referenceStats(run.storage, run.batches),
  );
});

Deno.test("a catch-up of a growing run lists only its batches after the indexed, gap-free beginning", async () => {
  const run = await copyRun();
  const side = tempDir();
  const later = run.batches.slice(3);
  for (const b of later) await Deno.rename(pathOf(run.dir, b.key), `${side}/${b.lastTick}`);
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const svc = testIndexer("catalog", topic, run.storage, { catchUpIntervalMs: 10 });
  await svc.start();
  await untilIndexed(run.storage, INDEXERS.catalog, run.batches.slice(0, 3));
  const metrics = () => svc.status().metrics;
  const seen = metrics().catch_ups ?? 0;
  await until("two more catch-ups", () => (metrics().catch_ups ?? 0) >= seen + 2);
  strictEqual(metrics().listed_batches, 1, "only the floor, the third batch, is listed");
  // A batch stored after a hole is listed, and so is the hole's filler once it is there.
  await Deno.rename(`${side}/${later[1]!.lastTick}`, pathOf(run.dir, later[1]!.key));
  await untilIndexed(run.storage, INDEXERS.catalog, [later[1]!]);
  for (const b of [later[0]!, ...later.slice(2)]) {
    await Deno.rename(`${side}/${b.lastTick}`, pathOf(run.dir, b.key));
  }
  await untilIndexed(run.storage, INDEXERS.catalog, run.batches);
  await svc.stop();
  strictEqual(metrics().messages, 0);
  strictEqual(svc.status().error, undefined);
});

Deno.test("a catch-up takes at most maxFoundPending of the batches it finds, the rest later", async () => {
  const run = await copyRun();
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const svc = testIndexer("stats", topic, run.storage, {
    catchUpIntervalMs: 10,
    maxFoundPending: 1,
  });
  await svc.start();
  await untilIndexed(run.storage, statsIndexer, run.batches);
  await svc.stop();
  const m = svc.status().metrics;
  strictEqual(m.found_batches, run.batches.length);
  ok((m.catch_ups ?? 0) >= run.batches.length, `${m.catch_ups} catch-ups took them one by one`);
  deepStrictEqual(
    await readStats(run.storage, run.runId),
    await referenceStats(run.storage, run.batches),
  );
});

Deno.test("a catch-up lists at most maxListedBatches raw keys (and done keys) of a run; the windows cover the run, which is indexed and settled", async () => {
  const run = await copyRun();
  const raw = `runs/${run.runId}/raw/`;
  const sizes: number[] = [];
  const donePages: (number | undefined)[] = [];
  const storage = new Proxy(run.storage, {
    get(target, prop, receiver) {
      if (prop === "listKeys") {
        return async (prefix: string, options?: Parameters<Storage["listKeys"]>[1]) => {
          const page = await target.listKeys(prefix, options);
          if (prefix === raw) sizes.push(page.keys.length);
          if (prefix === INDEXERS.catalog.donePrefix(run.runId)) donePages.push(options?.pageSize);
          return page;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  // No BatchInfo is published: the catch-up finds every batch.
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const indexer = testIndexer("catalog", topic, storage, {
    catchUpIntervalMs: 10,
    maxListedBatches: 2,
  });
  await indexer.start();
  await untilIndexed(run.storage, INDEXERS.catalog, run.batches);
  await until("settled", () => indexer.status().metrics.settled_runs === 1);
  await indexer.stop();
  ok(run.batches.length > 2);
  ok(sizes.length > 0 && sizes.every((n) => n <= 2), `raw listings of ${sizes.join(", ")} keys`);
  // Done keys too are listed over the window only, not all of the run's at once.
  ok(donePages.length > 0 && donePages.every((n) => n !== undefined && n <= 3), `${donePages}`);
  strictEqual(indexer.status().error, undefined);
  // A fresh instance (a restart) finds every batch indexed, a window at a time.
  const again = testIndexer("catalog", topic, storage, {
    group: "catalog-again",
    catchUpIntervalMs: 10,
    maxListedBatches: 2,
  });
  await again.start();
  await until("settled again", () => again.status().metrics.settled_runs === 1);
  await again.stop();
  strictEqual(again.status().metrics.batches, 0);
  strictEqual(again.status().metrics.found_batches, 0);
});

Deno.test("a finished, fully indexed run is settled: the catch-up stops listing it until a BatchInfo names it again", async () => {
  const run = await copyRun();
  const raw = `runs/${run.runId}/raw/`;
  let rawListings = 0;
  const storage = new Proxy(run.storage, {
    get(target, prop, receiver) {
      if (prop === "listKeys") {
        return (prefix: string, options?: Parameters<Storage["listKeys"]>[1]) => {
          if (prefix.startsWith(raw) || prefix === "runs/") rawListings++;
          return target.listKeys(prefix, options);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const indexer = testIndexer("catalog", topic, storage, { catchUpIntervalMs: 10 });
  await indexer.start();
  await untilIndexed(run.storage, INDEXERS.catalog, run.batches);
  await until("settled", () => indexer.status().metrics.settled_runs === 1);
  const catchUps = () => indexer.status().metrics.catch_ups ?? 0;
  const before = catchUps();
  const listings = rawListings;
  await until("ten more catch-ups", () => catchUps() >= before + 10);
  strictEqual(rawListings, listings, "a settled run's batches were listed again");
  // A BatchInfo for the run (an extension, a redelivery) brings it back into the catch-up.
  await publishBatchInfo(topic, run.batches.at(-1)!);
  await until("listed again", () => rawListings > listings);
  await until("settled again", () => indexer.status().metrics.settled_runs === 1);
  await indexer.stop();
  strictEqual(indexer.status().error, undefined);
});

Deno.test("indexes written by the indexing thread are the files written inline, byte for byte", async () => {
  const inline = await copyRun();
  const threaded = await copyRun();
  const thread = new IndexThread({
    name: "tick-storage",
    config: { kind: "filesystem", root: threaded.dir },
  });
  try {
    for (const [run, extra] of [[inline, {}], [threaded, { offload: thread }]] as const) {
      const topic = new MemoryTopic({ name: "batches", partitions: 3 });
      const services = KINDS.map((k) => testIndexer(k, topic, run.storage, extra));
      for (const s of services) await s.start();
      for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], run.batches);
      await stopAll(services);
      for (const s of services) strictEqual(s.status().error, undefined, s.status().error);
    }
  } finally {
    thread.close();
  }
  const prefix = `runs/${inline.runId}/index/`;
  const expected = await snapshotFiles(inline.storage, prefix);
  strictEqual(expected.size, inline.batches.length * 4);
  deepStrictEqual(await snapshotFiles(threaded.storage, prefix), expected);
});

Deno.test("the indexing thread answers a batch that is missing or no batch with the errors indexing here gives, and stops there", async () => {
  const run = await copyRun();
  const thread = new IndexThread({
    name: "tick-storage",
    config: { kind: "filesystem", root: run.dir },
  });
  const ref = run.batches[0]!;
  try {
    const gone = { ...ref, key: ref.key.replace("batch_", "batch_9") };
    const [missing, notTried] = await thread.index([
      { kind: "catalog", ref: gone, run: null, skipIfDone: true },
      { kind: "catalog", ref, run: null, skipIfDone: true },
    ]);
    ok(missing instanceof MissingBatchError && missing.key === gone.key, `${missing}`);
    strictEqual(notTried, undefined, "nothing after a failure");
    await Deno.writeFile(pathOf(run.dir, ref.key), Uint8Array.of(1, 2, 3));
    const [corrupt] = await thread.index([{ kind: "catalog", ref, run: null, skipIfDone: true }]);
    ok(
      corrupt instanceof CorruptBatchError && corrupt.key === ref.key &&
        /Cannot read batch '.*': zstd stream is truncated or corrupt/.test(corrupt.message),
      `${corrupt}`,
    );
  } finally {
    thread.close();
  }
});

Deno.test("a stats indexer on the indexing thread indexes a run's batches named by messages before it knew the run", async () => {
  const run = await copyRun();
  const topic = new MemoryTopic({ name: "batches", partitions: 3 });
  for (const ref of run.batches) await publishBatchInfo(topic, ref);
  const thread = new IndexThread({
    name: "tick-storage",
    config: { kind: "filesystem", root: run.dir },
  });
  // No catch-up: the first pass groups batches whose run the indexer has not looked at yet.
  const stats = testIndexer("stats", topic, run.storage, { offload: thread, catchUpIntervalMs: 0 });
  try {
    await stats.start();
    await untilIndexed(run.storage, INDEXERS.stats, run.batches);
    await stats.stop();
    strictEqual(stats.status().state, "stopped", stats.status().error);
    strictEqual(stats.status().metrics.batches, run.batches.length);
  } finally {
    thread.close();
  }
  deepStrictEqual(
    await readStats(run.storage, run.runId),
    await referenceStats(run.storage, run.batches),
  );
});
