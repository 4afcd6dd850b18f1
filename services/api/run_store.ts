/**
 * The API's view of the runs in storage: metadata, batch listings (cached briefly, since runs
 * grow), catalog entries, and the samples and world states of sampled ticks, with LRU caches
 * of decompressed batches, decoded chunks and replayed world states.
 *
 * Keys are only ever built from validated run ids (see params.ts) and from keys the listing
 * returned.
 *
 * @module
 */

import type { OrganismState, TickDataChunk, TickSummary } from "../../proto/mod.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { type BatchRef, spansFromHeaders } from "./batch_listing.ts";
import { BatchReader } from "./_batch_reader.ts";
import { type IndexReader, StorageIndexReader } from "./index_reader.ts";
import { LISTING_COST_FACTOR, ListingTtl } from "./_listing_ttl.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";
import { ReplayCursor } from "./replay_cursor.ts";
import type { RunInfo } from "./run_info.ts";
import { RunInfos, type UnreadableRun } from "./_run_infos.ts";
import { RunListings } from "./_run_listings.ts";
import { locateTick, type RunView } from "./run_view.ts";
import type { TickSpan } from "./tick_spans.ts";

export type { RunInfo } from "./run_info.ts";
export type { BatchProblem, BatchRef, TickGap } from "./batch_listing.ts";
export type { UnreadableRun } from "./_run_infos.ts";
export { type RunView, unreadableBatches } from "./run_view.ts";
export { LISTING_COST_FACTOR };

/** One sampled tick of a decoded chunk. */
export interface Sample {
  tick: number;
  batch: BatchRef;
  /** Position of the chunk in its batch file. */
  chunkPosition: number;
  chunk: TickDataChunk;
  organisms: OrganismState[];
  summary: TickSummary | undefined;
}

/** The whole world at a sampled tick (dense, world-flat, x fastest). Do not modify. */
export interface WorldState {
  tick: number;
  cells: Int32Array;
  owners: Int32Array;
}

/** Options of {@link RunStore}. */
export interface RunStoreOptions {
  storage: Storage;
  /** Index reader; default reads the indexers' files from `storage`. */
  index?: IndexReader;
  /**
   * How long batch listings and the run list are reused, ms. Default 1000. A run's listing is
   * reused for at least {@link LISTING_COST_FACTOR} times as long as it took, so that polling a
   * run whose catalog lags far behind (every batch after the settled beginning is listed and
   * resolved again) costs the API a bounded share of its time. 0: listed on every request.
   */
  listingTtlMs?: number;
  /** Decoded chunks kept. Default 32. */
  cacheChunks?: number;
  /** Bytes of the decoded chunks kept (about 10x their encoded size). Default 128 MiB. */
  cacheChunkBytes?: number;
  /** Bytes of decompressed batches kept (for decoding further chunks of them). Default 256 MiB. */
  cacheBatchBytes?: number;
  /** Bytes of replayed world states kept. Default 256 MiB. */
  cacheStateBytes?: number;
  /** Bytes of chunk directories, catalog entries and object sizes kept. Default 22 MiB. */
  cacheMetaBytes?: number;
  /** Clock, ms. Default performance.now. */
  now?: () => number;
}

/**
 * Storage access with caches, shared by the API's handlers: runs and their metadata
 * (./_run_infos.ts), each run's listing (./_run_listings.ts), raw batches and their chunks
 * (./_batch_reader.ts), and here the samples and world states of sampled ticks.
 */
export class RunStore {
  readonly storage: Storage;
  readonly index: IndexReader;
  readonly #infos: RunInfos;
  readonly #listings: RunListings;
  readonly #reader: BatchReader;
  readonly #states: LruCache<string, WorldState>;
  readonly #cursors: LruCache<string, ReplayCursor>;

  constructor(options: RunStoreOptions) {
    this.storage = options.storage;
    this.index = options.index ?? new StorageIndexReader(options.storage);
    const ttl = new ListingTtl(
      options.listingTtlMs ?? 1000,
      options.now ?? (() => performance.now()),
    );
    // Decoded metadata counts against the budget by estimate: half directories, a quarter each
    // catalog entries and sizes (keys included: a key is a long string).
    const meta = options.cacheMetaBytes ?? 22 * 2 ** 20;
    this.#reader = new BatchReader({
      storage: this.storage,
      cacheChunks: options.cacheChunks ?? 32,
      cacheChunkBytes: options.cacheChunkBytes ?? 128 * 2 ** 20,
      cacheBatchBytes: options.cacheBatchBytes ?? 256 * 2 ** 20,
      cacheDirectoryBytes: Math.floor(meta / 2),
      now: ttl.now,
      onGone: (key) => this.#listings.forget(key),
    });
    this.#infos = new RunInfos(this.storage, ttl);
    this.#listings = new RunListings({
      storage: this.storage,
      index: this.index,
      ttl,
      reader: this.#reader,
      cacheCatalogBytes: Math.floor(meta / 4),
      cacheSizeBytes: Math.floor(meta / 4),
    });
    this.#states = new LruCache({
      name: "states",
      maxBytes: options.cacheStateBytes ?? 256 * 2 ** 20,
      sizeOf: (s) => s.cells.byteLength + s.owners.byteLength,
    });
    // Two chunks replaying at once (e.g. two clients playing different parts of a run).
    this.#cursors = new LruCache({
      name: "replay_cursors",
      maxEntries: 2,
      maxBytes: options.cacheStateBytes ?? 256 * 2 ** 20,
      sizeOf: (c) => c.bytes,
    });
  }

  /** Run ids with any key under `runs/`, sorted (listing reused for the TTL). */
  runIds(): Promise<string[]> {
    return this.#infos.runIds();
  }

  /**
   * The run's metadata, or null when it has none (yet); a 502 `unreadable_run` when it cannot
   * be used. `runId` must be validated.
   */
  info(runId: string): Promise<RunInfo | null> {
    return this.#infos.info(runId);
  }

  /** Every run with usable metadata, newest first, and those whose metadata is not usable. */
  runList(): Promise<{ runs: RunInfo[]; unreadable: UnreadableRun[] }> {
    return this.#infos.runList();
  }

  /** Every run with usable metadata, newest first. */
  runs(): Promise<RunInfo[]> {
    return this.#infos.runs();
  }

  /** A validated run id or `latest` to the run's info; 404 when unknown. */
  resolve(runId: string): Promise<RunInfo> {
    return this.#infos.resolve(runId);
  }

  /** The run's batches and catalog (listing reused for the TTL). */
  view(info: RunInfo): Promise<RunView> {
    return this.#listings.view(info);
  }

  /** The run's sampled ticks as spans continued across batches (built once per listing). */
  tickSpans(view: RunView): { spans: readonly TickSpan[]; count: number } {
    return this.#listings.tickSpans(view);
  }

  /** Stored bytes of the run's batches (catalog, else the listed file sizes, else looked up). */
  storedBytes(view: RunView): Promise<number> {
    return this.#listings.storedBytes(view);
  }

  /** The batch holding a sampled tick; 404 naming the nearest sampled ticks otherwise. */
  locate(view: RunView, tick: number): BatchRef {
    return locateTick(view, tick);
  }

  /** The decoded chunk at `position` of a batch; 502 naming the batch when it does not decode. */
  async chunk(batch: BatchRef, position: number): Promise<TickDataChunk> {
    return (await this.#reader.decoded(batch, position, true)).chunk;
  }

  /** The batch and chunk position that hold a sampled tick; 404 when the tick is not stored. */
  async #chunkOf(view: RunView, tick: number): Promise<{ batch: BatchRef; position: number }> {
    const batch = this.locate(view, tick);
    const headers = await this.#reader.directory(batch.key);
    // A catalog entry was made from the batch's data; otherwise its ticks may rest on its name.
    if (!view.catalog.has(batch.key)) {
      const wrong = spansFromHeaders(batch, headers, view.info.runId, view.info.sampling);
      if (typeof wrong === "string") throw this.#reader.corrupt(batch.key, wrong);
    }
    const position = headers.findIndex((h) => h.firstTick <= tick && tick <= h.lastTick);
    if (position < 0) throw this.#reader.corrupt(batch.key, `no chunk holds tick ${tick}`);
    return { batch, position };
  }

  /** A sampled tick's chunk, organisms and summary; 404 when the tick is not stored. */
  async sample(view: RunView, tick: number): Promise<Sample> {
    const { batch, position } = await this.#chunkOf(view, tick);
    const chunk = await this.chunk(batch, position);
    const base = { tick, batch, chunkPosition: position, chunk };
    const snap = chunk.snapshot;
    if (snap !== undefined && Number(snap.tick) === tick) {
      return { ...base, organisms: snap.organisms, summary: snap.summary };
    }
    const delta = chunk.deltas.find((d) => Number(d.tick) === tick);
    if (delta === undefined) {
      throw this.#reader.corrupt(batch.key, `chunk ${position} has no sample of tick ${tick}`);
    }
    return { ...base, organisms: delta.organisms, summary: delta.summary };
  }

  /**
   * The whole world at a sampled tick (cached), replayed from its chunk by a cursor that moves
   * forwards through the chunk, so that the next tick of a played timeline costs one delta.
   */
  async state(view: RunView, tick: number): Promise<WorldState> {
    const { batch, position } = await this.#chunkOf(view, tick);
    const { chunk } = await this.#reader.decoded(batch, position, false);
    return await this.#states.getOrLoad(`${view.info.runId}@${tick}`, () => {
      const key = `${batch.key}#${position}`;
      let cursor = this.#cursors.get(key);
      try {
        if (cursor === undefined || cursor.chunk !== chunk) {
          cursor = new ReplayCursor(chunk, view.info.cellCount);
          this.#cursors.set(key, cursor);
        }
        if (!cursor.seek(tick)) throw new RangeError(`chunk does not replay to tick ${tick}`);
      } catch (e) {
        this.#cursors.delete(key);
        return Promise.reject(
          this.#reader.corrupt(batch.key, `chunk ${position}: ${(e as Error).message}`),
        );
      }
      // Copies: the cursor moves on.
      return Promise.resolve({ tick, cells: cursor.cells.slice(), owners: cursor.owners.slice() });
    });
  }

  /** Counters of every cache of the store. */
  cacheStats(): CacheStats[] {
    const read = this.#reader.cacheStats();
    // In the order they have always been reported (the /metrics samples and the status).
    return [
      read.batches,
      read.chunks,
      this.#states.stats(),
      this.#cursors.stats(),
      read.directories,
      ...this.#listings.cacheStats(),
    ];
  }
}
