/**
 * What the API's route groups share: the run store and the index data and lineage read through
 * it, the immutable answers' caches, the request counters and the app's options. Built once per
 * app and passed to every sub-app factory (`routes_*.ts`).
 *
 * @module
 */

import { RequestCounters } from "./api_metrics.ts";
import type { AppOptions } from "./app_options.ts";
import { ImmutableAnswers } from "./immutable_answers.ts";
import { IndexData } from "./index_data.ts";
import { LineageSource } from "./lineage.ts";
import { parseRunId } from "./params.ts";
import type { CacheStats } from "./lru_cache.ts";
import { RunStates } from "./run_states.ts";
import { RunStore, type RunView } from "./run_store.ts";
import { StatsAnswers } from "./stats_series.ts";
import { StaticFiles } from "./static_files.ts";

/** The state of one app, shared by its route groups. */
export interface ApiContext {
  /** The options the app was built with. */
  readonly options: AppOptions;
  /** Runs, batches, chunks and replayed states. */
  readonly store: RunStore;
  /** The runs' states (running, finished, incomplete, corrupt). */
  readonly states: RunStates;
  /** The indexers' files (stats, organisms), read through the store's index reader. */
  readonly index: IndexData;
  /** Parent links of a run's organisms, from the index or from scanned chunks. */
  readonly lineage: LineageSource;
  /** Statistics series, reused until the run gains a stats file. */
  readonly stats: StatsAnswers;
  /** Encoded answers of stored ticks. */
  readonly answers: ImmutableAnswers;
  /** Requests answered, for /metrics and the service status. */
  readonly counters: RequestCounters;
  /** The web client's files, when a web root is configured. */
  readonly web: StaticFiles | undefined;
  /** Where unexpected errors are logged. */
  readonly log: (message: string) => void;
  /** The run named by a `:run` parameter (an id or `latest`), with its current batches. */
  runView(run: string | undefined): Promise<RunView>;
  /** Counters of every cache of the app: together they are what the cache budget bounds. */
  cacheStats(): CacheStats[];
}

/** Builds the shared state of an app from its options. */
export function createApiContext(options: AppOptions): ApiContext {
  // The metadata share: half index rows, a quarter the store's directories and catalog, an
  // eighth lineage, a sixteenth each the URL index and statistics answers.
  const meta = options.cacheMetaBytes ?? 88 * 2 ** 20;
  const store = new RunStore(storeOptions(options, Math.floor(meta / 4)));
  const index = new IndexData({
    reader: store.index,
    maxBytes: Math.floor(meta / 2),
    ...(options.listingTtlMs === undefined ? {} : { listingTtlMs: options.listingTtlMs }),
  });
  const lineage = new LineageSource(store, index, Math.floor(meta / 8));
  const answers = new ImmutableAnswers({
    maxBytes: options.cacheResponseBytes ?? 64 * 2 ** 20,
    maxUrlBytes: Math.floor(meta / 16),
  });
  const stats = new StatsAnswers(Math.floor(meta / 16));
  return {
    options,
    store,
    states: new RunStates(
      options.storage,
      options.idleAfterMs === undefined ? {} : { idleAfterMs: options.idleAfterMs },
    ),
    index,
    lineage,
    stats,
    answers,
    counters: new RequestCounters(),
    web: options.webRoot === undefined ? undefined : new StaticFiles(options.webRoot),
    log: options.log ?? ((m: string) => console.error(m)),
    async runView(run: string | undefined): Promise<RunView> {
      return await store.view(await store.resolve(parseRunId(run)));
    },
    cacheStats(): CacheStats[] {
      return [
        ...store.cacheStats(),
        ...index.cacheStats(),
        ...lineage.cacheStats(),
        ...stats.cacheStats(),
        ...answers.stats(),
      ];
    },
  };
}

/** The store's options: only those given (exactOptionalPropertyTypes forbids `undefined`). */
function storeOptions(
  options: AppOptions,
  cacheMetaBytes: number,
): ConstructorParameters<typeof RunStore>[0] {
  const o: ConstructorParameters<typeof RunStore>[0] = { storage: options.storage, cacheMetaBytes };
  if (options.index !== undefined) o.index = options.index;
  if (options.listingTtlMs !== undefined) o.listingTtlMs = options.listingTtlMs;
  if (options.cacheChunks !== undefined) o.cacheChunks = options.cacheChunks;
  if (options.cacheChunkBytes !== undefined) o.cacheChunkBytes = options.cacheChunkBytes;
  if (options.cacheBatchBytes !== undefined) o.cacheBatchBytes = options.cacheBatchBytes;
  if (options.cacheStateBytes !== undefined) o.cacheStateBytes = options.cacheStateBytes;
  return o;
}
