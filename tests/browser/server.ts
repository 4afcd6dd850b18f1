/**
 * The browser test's server: a short real simulation through the in-process pipeline into a
 * data directory, its indexes, and the real query API (ApiService from services/api/) serving
 * that directory and the built web client on 127.0.0.1.
 *
 * @module
 */

import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { ApiService } from "../../services/api/mod.ts";
import {
  batchRef,
  INDEXERS,
  IndexerService,
  type IndexKind,
  listAllKeys,
} from "../../services/indexer/mod.ts";
import { rawPrefix } from "../../services/common/storage_layout.ts";
import {
  defaultConfig,
  Pipeline,
  type PipelineConfig,
  resolveConfig,
} from "../../services/runner/mod.ts";

export interface WebTestServer {
  /** Base URL, ending in "/". */
  url: string;
  /** The run the simulation wrote. */
  runId: string;
  close(): Promise<void>;
}

/**
 * Simulates 3000 ticks of a 256x128 world (seed 3) into `dataDir` with the in-process
 * pipeline. Returns the run id.
 */
export async function simulate(dataDir: string): Promise<string> {
  const p = await Pipeline.create(resolveConfig(defaultConfig({
    dataDir,
    ticks: 3000,
    persistence: 2,
    engine: { shape: [256, 128], seed: 3 },
  })));
  await p.start();
  await p.engine!.done;
  const complete = await p.stop();
  if (!complete) throw new Error("The pipeline stopped before everything was persisted");
  return p.engine!.runId;
}

/** Done keys of a run's raw batches for one index kind that do not exist yet. */
async function missingIndexes(storage: Storage, runId: string, kind: IndexKind) {
  const missing: string[] = [];
  for (const key of await listAllKeys(storage, rawPrefix(runId))) {
    const ref = batchRef(key);
    if (ref === null) continue;
    const done = INDEXERS[kind].doneKey(ref);
    if (!(await storage.exists(done))) missing.push(done);
  }
  return missing;
}

/**
 * Makes sure the stats, organisms and catalog indexes of the run exist: when the pipeline did
 * not write them (a runner config without indexers), runs each indexer service's storage
 * catch-up until every batch is indexed.
 */
export async function ensureIndexed(storage: Storage, runId: string): Promise<void> {
  for (const kind of ["catalog", "organisms", "stats"] as const) {
    if ((await missingIndexes(storage, runId, kind)).length === 0) continue;
    const indexer = new IndexerService({
      name: `${kind}-indexer`,
      kind,
      input: new MemoryTopic({ name: "batch-topic", partitions: 1 }),
      storage,
      runs: [runId],
      catchUpIntervalMs: 50,
      drainTimeoutMs: 20,
    });
    await indexer.start();
    try {
      const deadline = performance.now() + 60_000;
      let missing = await missingIndexes(storage, runId, kind);
      while (missing.length > 0) {
        if (performance.now() > deadline) {
          throw new Error(`The ${kind} indexer did not write ${missing.join(", ")} in 60 s`);
        }
        await new Promise((r) => setTimeout(r, 50));
        missing = await missingIndexes(storage, runId, kind);
      }
    } finally {
      await indexer.stop();
    }
  }
}

/** Simulates, indexes, and serves the data and `webRoot` with the real API. */
export async function startWebTestServer(
  options: { dataDir: string; webRoot: string },
): Promise<WebTestServer> {
  const runId = await simulate(options.dataDir);
  const storage = new FilesystemStorage({ root: options.dataDir });
  await ensureIndexed(storage, runId);
  const api = new ApiService({ name: "api", storage, port: 0, webRoot: options.webRoot });
  await api.start();
  return {
    url: `${api.url}/`,
    runId,
    close: async () => {
      await api.stop();
      await storage.close();
    },
  };
}

/**
 * The in-process pipeline with the API, as `deno task dev` runs it but without indexers: an
 * engine that keeps simulating (up to `ticks`), persistence and the API on a free port,
 * serving `webRoot`. For the live mode.
 */
export async function startLivePipeline(
  options: { dataDir: string; webRoot: string; ticks: number },
): Promise<WebTestServer> {
  const config: PipelineConfig = defaultConfig({
    dataDir: options.dataDir,
    ticks: options.ticks,
    persistence: 2,
    engine: { shape: [256, 128], seed: 5 },
    // Without indexers: on 2 cores they would take most of the CPU the page needs, and the
    // live path (SSE, ticks, world, organisms) reads raw batches only.
    indexers: false,
    apiPort: 0,
  });
  const api = config.services["http-api"];
  if (api === undefined) throw new Error("defaultConfig({ apiPort }) added no http-api service");
  (api as { webRoot?: string }).webRoot = options.webRoot;
  const pipeline = await Pipeline.create(resolveConfig(config));
  await pipeline.start();
  const service = pipeline.services.find((s): s is ApiService => s instanceof ApiService);
  if (service === undefined) throw new Error("The pipeline has no ApiService");
  return {
    url: `${service.url}/`,
    runId: pipeline.engine!.runId,
    close: async () => {
      await pipeline.stop(10_000);
    },
  };
}
