/**
 * Test fixtures for the indexer tests: one small real run (engine + pipeline), generated once
 * per test process and copied into a fresh directory per test.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BatchInfoSchema,
  create,
  fromBinary,
  type TickDataChunk,
  TickDataChunkSchema,
  toBinary,
} from "../../proto/mod.ts";
import { resolveChunkOrganisms } from "../../codec/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { readMessages } from "../../resources/storage/message_stream.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { defaultConfig, Pipeline, resolveConfig } from "../runner/mod.ts";
import type { EngineConfigInput } from "../simulation_engine/runtime/mod.ts";
import { ancestorPlacement } from "../simulation_engine/runtime/engine.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import type { BatchIndexer, IndexKind } from "./batch_indexer.ts";
import { type IndexerOptions, INDEXERS, IndexerService } from "./indexer_service.ts";
import { type BatchRef, batchRef, listAllKeys, loadRawBatch, loadRunInfo } from "./raw_batch.ts";
import type { StatsRow } from "../common/index_schema.ts";
import { computeStats, emptyStatsState } from "./stats_indexer.ts";
import { SHORT_CHUNKS } from "../../tests/fixtures/short_chunks.ts";

/**
 * A small world with 16 ancestors, a low entropy limit (deaths from tick ~4500) and frequent
 * mutations (new genomes in later batches): 6000 ticks, 7 batches, about 1 s to generate.
 */
export const FIXTURE_ENGINE: EngineConfigInput = {
  shape: [256, 64],
  seed: 5,
  programs: [ancestorPlacement(16)],
  thermo: { maxEntropy: 6000 },
  mutation: { substitutionPerMille: 300 },
  intervals: SHORT_CHUNKS,
};

/** Ticks of the fixture run. */
export const FIXTURE_TICKS = 6000;

/** A generated run. */
export interface RunFixture {
  /** Data directory (read-only for tests: copy it). */
  dir: string;
  runId: string;
  /** Raw batch keys in tick order. */
  batches: BatchRef[];
}

const dirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const d of dirs) {
    try {
      Deno.removeSync(d, { recursive: true });
    } catch {
      // Already gone.
    }
  }
});

/** A fresh temporary directory, removed when the process ends. */
export function tempDir(): string {
  const d = Deno.makeTempDirSync({ prefix: "evochora-indexer-test-" });
  dirs.push(d);
  return d;
}

/** Raw batches of the runs in `storage`, in run and tick order. */
export async function rawBatches(storage: FilesystemStorage): Promise<BatchRef[]> {
  const refs: BatchRef[] = [];
  for (const k of await listAllKeys(storage, "runs/")) {
    const r = batchRef(k);
    if (r !== null) refs.push(r);
  }
  return refs.sort((a, b) =>
    a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : a.firstTick - b.firstTick
  );
}

/** Runs the real pipeline (engine, metadata and persistence workers) into `dir`. */
export async function generateRun(
  dir: string,
  ticks = FIXTURE_TICKS,
  engine = FIXTURE_ENGINE,
): Promise<RunFixture> {
  const p = await Pipeline.create(
    resolveConfig(defaultConfig({ dataDir: dir, ticks, persistence: 2, engine, indexers: false })),
  );
  await p.start();
  await p.engine!.done;
  if (!(await p.stop())) throw new Error("the pipeline did not persist everything");
  const storage = new FilesystemStorage({ root: dir });
  const batches = await rawBatches(storage);
  await storage.close();
  return { dir, runId: batches[0]!.runId, batches };
}

/**
 * A directory built once per `deno test` process and shared by its test files (each file runs
 * in its own isolate, so module state is not shared): `build` fills a private directory, which
 * is then renamed into place atomically; a concurrent builder's result wins if it came first.
 * Left behind when the process ends (about 1 MB); older ones are pruned.
 */
async function sharedDir(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const root = tmpdir();
  const final = join(root, `${SHARED_PREFIX}${Deno.pid}-${name}`);
  if (await isDir(final)) return final;
  await pruneShared(root);
  const work = await Deno.makeTempDir({ dir: root, prefix: "evochora-indexer-build-" });
  try {
    await build(work);
    await Deno.rename(work, final);
  } catch (e) {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    if (!(await isDir(final))) throw e;
  }
  return final;
}

const SHARED_PREFIX = "evochora-indexer-fixture-";

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Removes shared fixtures of other processes older than an hour. */
async function pruneShared(root: string): Promise<void> {
  const mine = `${SHARED_PREFIX}${Deno.pid}-`;
  for await (const e of Deno.readDir(root)) {
    if (!e.name.startsWith(SHARED_PREFIX) || e.name.startsWith(mine)) continue;
    const path = join(root, e.name);
    try {
      const st = await Deno.stat(path);
      if (Date.now() - (st.mtime?.getTime() ?? 0) > 3600_000) {
        await Deno.remove(path, { recursive: true });
      }
    } catch {
      // Another process pruned it.
    }
  }
}

async function fixtureAt(dir: string): Promise<RunFixture> {
  const storage = new FilesystemStorage({ root: dir });
  const batches = await rawBatches(storage);
  await storage.close();
  return { dir, runId: batches[0]!.runId, batches };
}

let fixture: Promise<RunFixture> | undefined;

/** The fixture run (read-only: copy it to change it), generated once per test process. */
export function sampleRun(): Promise<RunFixture> {
  fixture ??= sharedDir("run", async (dir) => {
    await generateRun(dir);
  }).then(fixtureAt);
  return fixture;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** A copy of the fixture run in its own directory, with a storage on it. */
export async function copyRun(): Promise<RunFixture & { storage: FilesystemStorage }> {
  const run = await sampleRun();
  const dir = tempDir();
  await copyDir(join(run.dir, "runs"), join(dir, "runs"));
  return { ...run, dir, storage: new FilesystemStorage({ root: dir }) };
}

/** Path of a storage key in a filesystem storage's directory. */
export function pathOf(dir: string, key: string): string {
  return join(dir, ...key.split("/"));
}

/** The chunks of a raw batch, decoded by protobuf-es (independent of the indexer's decoder). */
export async function decodeWithProtobufEs(
  storage: FilesystemStorage,
  key: string,
): Promise<TickDataChunk[]> {
  return (await readMessages(storage, key)).messages.map((m) =>
    resolveChunkOrganisms(fromBinary(TickDataChunkSchema, m))
  );
}

/** The stats of a run computed batch after batch in tick order, without the service. */
export async function referenceStats(
  storage: FilesystemStorage,
  batches: readonly BatchRef[],
): Promise<StatsRow[]> {
  const run = await loadRunInfo(storage, batches[0]!.runId);
  let state = emptyStatsState(run.runId);
  const rows: StatsRow[] = [];
  for (const ref of batches) {
    const r = computeStats(await loadRawBatch(storage, ref), run.size, state);
    rows.push(...r.rows);
    state = r.state;
  }
  return rows;
}

/** Publishes the BatchInfo persistence would publish for `ref`. */
export async function publishBatchInfo(topic: Topic, ref: BatchRef): Promise<void> {
  const info = create(BatchInfoSchema, {
    runId: ref.runId,
    storageKey: ref.key,
    firstTick: BigInt(ref.firstTick),
    lastTick: BigInt(ref.lastTick),
    writer: "test",
  });
  await topic.publish({ key: ref.runId, value: toBinary(BatchInfoSchema, info) });
}

/** Waits until `cond` holds, polling every 10 ms; throws after `timeoutMs` naming `what`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every object under `prefix` with its bytes. */
export async function snapshotFiles(
  storage: FilesystemStorage,
  prefix: string,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const k of await listAllKeys(storage, prefix)) out.set(k, await storage.read(k));
  return out;
}

/** Waits until every batch's done key of `indexer` exists. */
export async function untilIndexed(
  storage: FilesystemStorage,
  indexer: BatchIndexer,
  batches: readonly BatchRef[],
  timeoutMs = 15000,
): Promise<void> {
  await until(`${indexer.kind} of ${batches.length} batches`, async () => {
    for (const b of batches) if (!(await storage.exists(indexer.doneKey(b)))) return false;
    return true;
  }, timeoutMs);
}

let indexed: Promise<RunFixture & { storage: FilesystemStorage }> | undefined;

/**
 * The fixture run indexed by all three kinds (catch-up only), built once per test process and
 * shared by the tests that only read it.
 */
export function indexedRun(): Promise<RunFixture & { storage: FilesystemStorage }> {
  indexed ??= (async () => {
    const run = await sampleRun();
    const dir = await sharedDir("indexed", async (work) => {
      await copyDir(join(run.dir, "runs"), join(work, "runs"));
      const storage = new FilesystemStorage({ root: work });
      const topic = new MemoryTopic({ name: "batches", partitions: 1 });
      const kinds: IndexKind[] = ["stats", "organisms", "catalog"];
      const services = kinds.map((kind) =>
        new IndexerService({ name: `${kind}-shared`, kind, input: topic, storage })
      );
      for (const s of services) await s.start();
      for (const k of kinds) await untilIndexed(storage, INDEXERS[k], run.batches);
      for (const s of services) await s.stop();
      await storage.close();
    });
    return { ...run, dir, storage: new FilesystemStorage({ root: dir }) };
  })();
  return indexed;
}

/** An indexer of `kind` named `<kind>-1` with short test timeouts; `extra` overrides. */
export function testIndexer(
  kind: IndexKind,
  input: Topic,
  storage: Storage,
  extra: Partial<IndexerOptions> = {},
): IndexerService {
  return new IndexerService({
    name: `${kind}-1`,
    kind,
    input,
    storage,
    drainTimeoutMs: 20,
    ...extra,
  });
}
