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
import { type ChunkHeader, decodeTickDataChunk, readChunkHeader } from "../../codec/mod.ts";
import { CorruptObjectError, readMessages } from "../../resources/storage/message_stream.ts";
import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { newerFormatProblem } from "../common/format_version.ts";
import { metadataKey, parseBatchKey, rawPrefix } from "../common/storage_layout.ts";
import { ApiHttpError, corruptBatch, notFound, unreadableRun } from "./errors.ts";
import {
  type BatchProblem,
  type BatchRef,
  type CatalogFacts,
  catalogFacts,
  type NamedBatch,
  resolveBatches,
  spansFromHeaders,
  type TickGap,
} from "./batch_listing.ts";
import { eachLimited } from "./each_limited.ts";
import { hasTick, joinSpan, neighbours, tickCount, type TickSpan } from "./tick_spans.ts";
import { BatchList, ListedCatalog, SettledBatches } from "./batch_list.ts";
import { type IndexReader, StorageIndexReader } from "./index_reader.ts";
import { listAllObjects } from "../../resources/storage/list_all_keys.ts";
import { takenOver } from "./listing_floor.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";
import { ReplayCursor } from "./replay_cursor.ts";
import { type RunInfo, runInfoOf } from "./run_info.ts";

export type { RunInfo } from "./run_info.ts";
export type { BatchProblem, BatchRef, TickGap } from "./batch_listing.ts";

/** A run whose metadata cannot be used, and why. */
export interface UnreadableRun {
  runId: string;
  reason: string;
}

/** A run as listed at one moment: its batches, ascending, and the catalog entries present. */
export interface RunView {
  info: RunInfo;
  /** Served batches, ascending and disjoint, with their sampled ticks. */
  batches: BatchList;
  /** Catalog entries by raw batch key (batches the catalog indexer has not reached are absent). */
  catalog: ListedCatalog;
  /** File sizes of the raw batches this listing listed (the others are in the catalog). */
  sizes: ReadonlyMap<string, number>;
  /** Files under the run's raw prefix that are not served (unreadable, stray, overlapping). */
  problems: BatchProblem[];
  /** Ticks between served batches that no batch holds (missing, or not written yet). */
  gaps: TickGap[];
  /** When the listing was taken (ms, the store's clock). */
  listedAt: number;
}

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

interface Timed<T> {
  at: number;
  value: Promise<T>;
  /** How long making the value took, ms (0 until it is made). */
  cost?: number;
}

/** A listing is reused for at least this many times as long as it took (see listingTtlMs). */
export const LISTING_COST_FACTOR = 10;

interface BatchContents {
  messages: Uint8Array[];
  headers: ChunkHeader[];
  bytes: number;
}

/**
 * Heap bytes of a decoded chunk per encoded byte: measured 9.3-9.5 on chunks of a 256x256 run
 * (500 KiB encoded, 20 samples, ~2200 organism states), heap used before and after decoding.
 */
const DECODED_PER_ENCODED = 10;

/**
 * The same for a chunk decoded without its organisms: its cells as Int32Array columns, 12
 * bytes per cell against 5-7 encoded, counted against the whole chunk's bytes.
 */
const CELLS_DECODED_PER_ENCODED = 2;

/** How long a batch found unreadable is set aside before it is read again, ms. */
const FAILED_TTL_MS = 30_000;

/** Catalog entries a listing reads at once (storage requests in flight). */
const CATALOG_READS = 8;

function newer(a: RunInfo, b: RunInfo): boolean {
  return a.startedAtMs !== b.startedAtMs ? a.startedAtMs > b.startedAtMs : a.runId > b.runId;
}

/**
 * The settled batches of a listing that takes `count` batches of `previous` over: its table,
 * with the batches of its tail that are settled now appended (see ./batch_list.ts).
 */
function settledOf(previous: RunView, count: number): SettledBatches {
  const { batches } = previous;
  const table = batches.settled;
  // A table longer than `count` was appended to by a listing taken at the same time, from the
  // same previous listing: the same batches.
  for (let i = table.length; i < count; i++) {
    const b = batches.at(i)!;
    table.append(b, previous.catalog.get(b.key)!);
  }
  return table;
}

/** 404 for a tick that is not a stored sample, naming the nearest sampled ticks. */
function tickNotStored(
  runId: string,
  tick: number,
  below: number | null,
  above: number | null,
  range: [number, number] | null,
): ApiHttpError {
  const nearest = [below, above].filter((t): t is number => t !== null);
  const where = range === null
    ? `run '${runId}' has no stored ticks yet`
    : tick < range[0] || tick > range[1]
    ? `run '${runId}' holds ticks ${range[0]}..${range[1]}`
    : `it is not a sampled tick of run '${runId}'`;
  const err = notFound(
    `Tick ${tick} is not stored: ${where}` +
      (nearest.length > 0 ? `; nearest sampled ticks: ${nearest.join(" and ")}` : ""),
  );
  err.nearestTicks = nearest;
  return err;
}

/** The files of a view set aside because they cannot be read (not merely overlapping). */
export function unreadableBatches(view: RunView): BatchProblem[] {
  return view.problems.filter((p) => !p.overlaps);
}

/** Storage access with caches, shared by the API's handlers. */
export class RunStore {
  readonly storage: Storage;
  readonly index: IndexReader;
  readonly #ttl: number;
  readonly #now: () => number;
  #runIds: Timed<string[]> | undefined;
  readonly #infos = new Map<string, RunInfo>();
  readonly #unreadable = new Map<string, Timed<string>>();
  /** Stored bytes per listing: summed once, not for every request of the run list. */
  readonly #storedBytes = new WeakMap<RunView, Promise<number>>();
  readonly #tickSpans = new WeakMap<RunView, { spans: readonly TickSpan[]; count: number }>();
  /** Batches found unreadable (reason by key): set aside at the next listing. */
  readonly #failed = new LruCache<string, { at: number; reason: string }>({
    name: "failed",
    maxEntries: 4096,
  });
  readonly #views = new Map<string, Timed<RunView>>();
  /** Each run's newest finished listing: the next one takes its catalog entries over. */
  readonly #listed = new Map<string, RunView>();
  readonly #catalogEntries: LruCache<string, CatalogFacts>;
  readonly #sizes: LruCache<string, number>;
  readonly #directories: LruCache<string, ChunkHeader[]>;
  readonly #batches: LruCache<string, BatchContents>;
  readonly #chunks: LruCache<string, { chunk: TickDataChunk; bytes: number }>;
  readonly #states: LruCache<string, WorldState>;
  readonly #cursors: LruCache<string, ReplayCursor>;

  constructor(options: RunStoreOptions) {
    this.storage = options.storage;
    this.index = options.index ?? new StorageIndexReader(options.storage);
    this.#ttl = options.listingTtlMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
    // Decoded metadata counts against the budget by estimate: half directories, a quarter each
    // catalog entries and sizes (keys included: a key is a long string).
    const meta = options.cacheMetaBytes ?? 22 * 2 ** 20;
    this.#directories = new LruCache<string, ChunkHeader[]>({
      name: "directories",
      maxEntries: 10000,
      maxBytes: Math.floor(meta / 2),
      sizeOf: approxSize,
    });
    this.#catalogEntries = new LruCache<string, CatalogFacts>({
      name: "catalog",
      maxEntries: 50000,
      maxBytes: Math.floor(meta / 4),
      sizeOf: approxSize,
    });
    this.#sizes = new LruCache<string, number>({
      name: "sizes",
      maxEntries: 100000,
      maxBytes: Math.floor(meta / 4),
      // The cache counts the key (a storage key of ~100 characters) itself; the value is a number.
      sizeOf: () => 16,
    });
    this.#batches = new LruCache({
      name: "batches",
      maxBytes: options.cacheBatchBytes ?? 256 * 2 ** 20,
      sizeOf: (b) => b.bytes,
    });
    this.#chunks = new LruCache({
      name: "chunks",
      maxEntries: options.cacheChunks ?? 32,
      maxBytes: options.cacheChunkBytes ?? 128 * 2 ** 20,
      sizeOf: (c) => c.bytes,
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

  #fresh<T>(t: Timed<T> | undefined): t is Timed<T> {
    // A TTL of 0 (relist on every request) stays 0.
    const ttl = this.#ttl > 0 ? Math.max(this.#ttl, LISTING_COST_FACTOR * (t?.cost ?? 0)) : 0;
    return t !== undefined && this.#now() - t.at < ttl;
  }

  /**
   * Run ids with any key under `runs/`, sorted (listing reused for the TTL). Lists the runs,
   * not their keys: a listing of every key cost the API gigabytes once a run had 50000
   * batches (several index files each), on every poll of the run list.
   */
  runIds(): Promise<string[]> {
    if (this.#fresh(this.#runIds)) return this.#runIds.value;
    const value = this.storage.listChildren("runs/");
    const entry = { at: this.#now(), value };
    this.#runIds = entry;
    value.catch(() => {
      if (this.#runIds === entry) this.#runIds = undefined;
    });
    return value;
  }

  /**
   * The run's metadata, or null when it has none (yet); a 502 `unreadable_run` when it cannot
   * be used. `runId` must be validated.
   */
  async info(runId: string): Promise<RunInfo | null> {
    const cached = this.#infos.get(runId);
    if (cached !== undefined) return cached;
    const bad = this.#unreadable.get(runId);
    if (this.#fresh(bad)) throw unreadableRun(runId, await bad.value);
    let bytes: Uint8Array;
    try {
      bytes = await this.storage.read(metadataKey(runId));
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
    const info = runInfoOf(runId, bytes);
    if (typeof info === "string") {
      this.#unreadable.set(runId, { at: this.#now(), value: Promise.resolve(info) });
      throw unreadableRun(runId, info);
    }
    this.#unreadable.delete(runId);
    this.#infos.set(runId, info);
    return info;
  }

  /** Every run with usable metadata, newest first, and those whose metadata is not usable. */
  async runList(): Promise<{ runs: RunInfo[]; unreadable: UnreadableRun[] }> {
    const unreadable: UnreadableRun[] = [];
    const infos = await Promise.all((await this.runIds()).map(async (id) => {
      try {
        return await this.info(id);
      } catch (e) {
        if (!(e instanceof ApiHttpError)) throw e;
        unreadable.push({ runId: id, reason: e.message });
        return null;
      }
    }));
    const runs = infos.filter((i): i is RunInfo => i !== null).sort((a, b) => newer(a, b) ? -1 : 1);
    unreadable.sort((a, b) => a.runId < b.runId ? -1 : 1);
    return { runs, unreadable };
  }

  /** Every run with usable metadata, newest first. */
  async runs(): Promise<RunInfo[]> {
    return (await this.runList()).runs;
  }

  /** A validated run id or `latest` to the run's info; 404 when unknown. */
  async resolve(runId: string): Promise<RunInfo> {
    if (runId === "latest") {
      const newest = (await this.runs())[0];
      if (newest === undefined) throw notFound("No runs in storage yet");
      return newest;
    }
    const info = await this.info(runId);
    if (info === null) throw notFound(`No run '${runId}' (or it has no metadata yet)`);
    return info;
  }

  /** The run's batches and catalog (listing reused for the TTL). */
  view(info: RunInfo): Promise<RunView> {
    const cached = this.#views.get(info.runId);
    if (this.#fresh(cached)) return cached.value;
    const at = this.#now();
    const value = this.#list(info);
    const entry: Timed<RunView> = { at, value };
    value.then(() => entry.cost = this.#now() - at, () => {});
    this.#views.set(info.runId, entry);
    value.catch(() => {
      if (this.#views.get(info.runId) === entry) this.#views.delete(info.runId);
    });
    return value;
  }

  async #list(info: RunInfo): Promise<RunView> {
    const listedAt = this.#now();
    const previous = this.#listed.get(info.runId);
    // The previous listing's settled beginning is taken over; its last batch is listed again
    // (by name, not from storage), so that what follows is checked against it.
    const kept = previous === undefined ? 0 : takenOver(previous);
    const floor = kept > 0 ? previous!.batches.at(kept - 1)! : undefined;
    const named: NamedBatch[] = [];
    if (floor !== undefined) named.push(floor);
    const problems: BatchProblem[] = [];
    // With their sizes: a batch the catalog has not reached yet counts its file's size, and
    // a size looked up per batch was thousands of requests at once while the catalog lagged.
    const sizes = new Map<string, number>();
    for (const o of await listAllObjects(this.storage, rawPrefix(info.runId), floor?.key)) {
      const key = o.key;
      sizes.set(key, o.size);
      const r = parseBatchKey(key);
      if (r === null) continue;
      if (!Number.isSafeInteger(r.lastTick) || r.firstTick > r.lastTick) {
        problems.push({
          key,
          reason: `its name's tick range ${r.firstTick}..${r.lastTick} is not valid`,
          overlaps: false,
        });
      } else named.push({ key, ...r });
    }
    const catalog = await this.#catalogOf(info.runId, named, previous, floor);
    const resolved = await resolveBatches({
      runId: info.runId,
      sampling: info.sampling,
      named,
      catalog,
      peek: (key) => this.#directories.get(key),
      failed: (key) => {
        const f = this.#failed.get(key);
        // Tried again after a while: a bad file may have been replaced.
        return f !== undefined && this.#now() - f.at < FAILED_TTL_MS ? f.reason : undefined;
      },
      directory: async (key) => {
        try {
          return await this.#directory(key);
        } catch (e) {
          if (e instanceof NotFoundError) return null;
          throw e;
        }
      },
    });
    // The batches before the floor: the previous listing's settled ones, in columns shared
    // with it (and appended to).
    const settled = kept > 1 ? settledOf(previous!, kept - 1) : new SettledBatches(info.runId);
    const batches = new BatchList(settled, Math.max(0, kept - 1), resolved.batches);
    const view = {
      info,
      batches,
      catalog: new ListedCatalog(batches, catalog),
      sizes,
      problems: [...problems, ...resolved.problems],
      gaps: resolved.gaps,
      listedAt,
    };
    const newest = this.#listed.get(info.runId);
    if (newest === undefined || newest.listedAt <= listedAt) this.#listed.set(info.runId, view);
    return view;
  }

  /**
   * Catalog entries of the named batches that the catalog indexer has written. Entries of the
   * previous listing are taken over (a view holds every entry of its run anyway), so a listing
   * reads only the entries that are new since, whatever the cache holds: a run with more
   * entries than the cache re-read all of them at every listing, hundreds of reads at once.
   * The rest are read at most {@link CATALOG_READS} at a time.
   */
  async #catalogOf(
    runId: string,
    named: readonly NamedBatch[],
    previous: RunView | undefined,
    floor: BatchRef | undefined,
  ): Promise<Map<string, CatalogFacts>> {
    const catalog = new Map<string, CatalogFacts>();
    if (floor !== undefined) catalog.set(floor.key, previous!.catalog.get(floor.key)!);
    const byRange = new Map(named.map((b) => [`${b.firstTick}_${b.lastTick}`, b]));
    const ranges = await this.index.list(runId, "catalog", floor);
    await eachLimited(ranges, CATALOG_READS, async (range) => {
      const batch = byRange.get(`${range.firstTick}_${range.lastTick}`);
      if (batch === undefined) return;
      const facts = previous?.catalog.get(batch.key) ??
        await this.#readCatalogFacts(runId, range, batch.key);
      if (facts !== undefined) catalog.set(batch.key, facts);
    });
    return catalog;
  }

  /** The catalog entry of one batch (cached), or undefined when absent or unreadable. */
  async #readCatalogFacts(
    runId: string,
    range: { firstTick: number; lastTick: number },
    key: string,
  ): Promise<CatalogFacts | undefined> {
    let facts = this.#catalogEntries.get(key);
    if (facts !== undefined) return facts;
    try {
      const read = await this.index.catalog(runId, range);
      if (read === null) return undefined;
      facts = catalogFacts(read);
      this.#catalogEntries.set(key, facts);
      return facts;
    } catch (e) {
      // A malformed catalog file is the indexer's problem; the batch's own headers serve.
      console.warn(`api: ignoring catalog of ${key}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * The run's sampled ticks as spans continued across batches, built once per listing: clients
   * poll the tick list while a run grows, and an evenly sampled run is a single span.
   */
  tickSpans(view: RunView): { spans: readonly TickSpan[]; count: number } {
    let ticks = this.#tickSpans.get(view);
    if (ticks === undefined) {
      const { settled, settledCount, tail } = view.batches;
      const spans = settled.joinedSpans(settledCount);
      for (const b of tail) for (const s of b.spans) joinSpan(spans, s);
      ticks = { spans, count: tickCount(spans) };
      this.#tickSpans.set(view, ticks);
    }
    return ticks;
  }

  /** The batch holding a sampled tick; 404 naming the nearest sampled ticks otherwise. */
  locate(view: RunView, tick: number): BatchRef {
    const { batches } = view;
    if (batches.length === 0) throw tickNotStored(view.info.runId, tick, null, null, null);
    const i = batches.floorIndex(tick);
    const range: [number, number] = [batches.firstTick(0), batches.at(-1)!.lastTick];
    const batch = i < 0 ? undefined : batches.at(i);
    if (batch !== undefined && hasTick(batch.spans, tick)) return batch;
    const inBatch = batch === undefined
      ? { below: null, above: null }
      : neighbours(batch.spans, tick);
    const below = inBatch.below ?? null;
    const above = inBatch.above ?? (i + 1 < batches.length ? batches.firstTick(i + 1) : null);
    const bad = unreadableBatches(view).find((p) =>
      p.firstTick !== undefined && p.lastTick !== undefined && p.firstTick <= tick &&
      tick <= p.lastTick
    );
    if (bad !== undefined) {
      throw new ApiHttpError(
        502,
        "corrupt_batch",
        `Cannot serve tick ${tick}: batch '${bad.key}' ${bad.reason}`,
      );
    }
    const gap = view.gaps.find((g) => g.after < tick && tick < g.before);
    if (gap !== undefined) {
      const err = notFound(
        `Tick ${tick} is not stored: run '${view.info.runId}' has no batch for ticks after ` +
          `${gap.after} and before ${gap.before} (missing from storage, or not written yet); ` +
          `nearest sampled ticks: ${gap.after} and ${gap.before}`,
      );
      err.nearestTicks = [gap.after, gap.before];
      throw err;
    }
    throw tickNotStored(view.info.runId, tick, below, above, range);
  }

  async #loadBatch(key: string): Promise<BatchContents> {
    let messages: Uint8Array[];
    try {
      messages = (await readMessages(this.storage, key)).messages;
    } catch (e) {
      throw this.#readFailure(key, e);
    }
    const headers = messages.map((m, i) => {
      let h: ChunkHeader;
      try {
        h = readChunkHeader(m);
      } catch (e) {
        throw this.#corrupt(key, `chunk ${i}: ${(e as Error).message}`);
      }
      const newer = newerFormatProblem(`chunk ${i}`, h.formatVersion);
      if (newer !== null) throw this.#corrupt(key, newer);
      return h;
    });
    this.#directories.set(key, headers);
    return { messages, headers, bytes: messages.reduce((n, m) => n + m.length, 0) };
  }

  /** A 502 for a batch that cannot be read, remembered so that the next listing sets it aside. */
  #corrupt(key: string, detail: string): ApiHttpError {
    this.#failed.set(key, { at: this.#now(), reason: `it cannot be read: ${detail}` });
    return corruptBatch(key, detail);
  }

  /** What a failed batch read answers: 502 naming the batch and offset, 404 when it is gone. */
  #readFailure(key: string, e: unknown): unknown {
    if (e instanceof CorruptObjectError) {
      const detail = e.message.replace(`Cannot read batch '${key}': `, "");
      return this.#corrupt(key, detail);
    }
    if (e instanceof NotFoundError) {
      // Listed a moment ago and gone now: the next request lists again.
      for (const runId of this.#views.keys()) {
        if (key.startsWith(rawPrefix(runId))) this.#views.delete(runId);
      }
      return notFound(`Batch '${key}' is no longer in storage; ask again for the run's ticks`);
    }
    return e;
  }

  /** The chunk headers of a batch (reads the batch once). */
  async #directory(key: string): Promise<ChunkHeader[]> {
    const cached = this.#directories.get(key);
    if (cached !== undefined) return cached;
    return (await this.#batches.getOrLoad(key, () => this.#loadBatch(key))).headers;
  }

  /** The decoded chunk at `position` of a batch; 502 naming the batch when it does not decode. */
  async chunk(batch: BatchRef, position: number): Promise<TickDataChunk> {
    return (await this.#decoded(batch, position, true)).chunk;
  }

  /**
   * The chunk at `position` decoded with or without its organisms (cached apart: a world
   * replay needs only the cells, which decode several times faster); a chunk with its
   * organisms in the cache serves for both.
   */
  async #decoded(batch: BatchRef, position: number, organisms: boolean) {
    const whole = `${batch.key}#${position}`;
    if (!organisms && this.#chunks.has(whole)) return this.#chunks.get(whole)!;
    return await this.#chunks.getOrLoad(organisms ? whole : `${whole}#cells`, async () => {
      const contents = await this.#batches.getOrLoad(batch.key, () => this.#loadBatch(batch.key));
      const bytes = contents.messages[position];
      if (bytes === undefined) throw this.#corrupt(batch.key, `it has no chunk ${position}`);
      try {
        const chunk = decodeTickDataChunk(bytes, { organisms });
        const perByte = organisms ? DECODED_PER_ENCODED : CELLS_DECODED_PER_ENCODED;
        return { chunk, bytes: bytes.length * perByte };
      } catch (e) {
        throw this.#corrupt(batch.key, `chunk ${position}: ${(e as Error).message}`);
      }
    });
  }

  /** The batch and chunk position that hold a sampled tick; 404 when the tick is not stored. */
  async #chunkOf(view: RunView, tick: number): Promise<{ batch: BatchRef; position: number }> {
    const batch = this.locate(view, tick);
    const headers = await this.#directory(batch.key);
    // A catalog entry was made from the batch's data; otherwise its ticks may rest on its name.
    if (!view.catalog.has(batch.key)) {
      const wrong = spansFromHeaders(batch, headers, view.info.runId, view.info.sampling);
      if (typeof wrong === "string") throw this.#corrupt(batch.key, wrong);
    }
    const position = headers.findIndex((h) => h.firstTick <= tick && tick <= h.lastTick);
    if (position < 0) throw this.#corrupt(batch.key, `no chunk holds tick ${tick}`);
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
      throw this.#corrupt(batch.key, `chunk ${position} has no sample of tick ${tick}`);
    }
    return { ...base, organisms: delta.organisms, summary: delta.summary };
  }

  /**
   * The whole world at a sampled tick (cached), replayed from its chunk by a cursor that moves
   * forwards through the chunk, so that the next tick of a played timeline costs one delta.
   */
  async state(view: RunView, tick: number): Promise<WorldState> {
    const { batch, position } = await this.#chunkOf(view, tick);
    const { chunk } = await this.#decoded(batch, position, false);
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
          this.#corrupt(batch.key, `chunk ${position}: ${(e as Error).message}`),
        );
      }
      // Copies: the cursor moves on.
      return Promise.resolve({ tick, cells: cursor.cells.slice(), owners: cursor.owners.slice() });
    });
  }

  /** Stored bytes of the run's batches (catalog, else the listed file sizes, else looked up). */
  storedBytes(view: RunView): Promise<number> {
    let total = this.#storedBytes.get(view);
    if (total === undefined) {
      // Summed in place from the catalog and the listed sizes (a long run has tens of
      // thousands of batches); looked up, a few at a time, only for a batch neither knows.
      const { settled, settledCount, tail } = view.batches;
      let known = settled.storedBytes(settledCount);
      const unknown: BatchRef[] = [];
      for (const b of tail) {
        const bytes = view.catalog.get(b.key)?.storedBytes ?? view.sizes.get(b.key);
        if (bytes !== undefined) known += bytes;
        else unknown.push(b);
      }
      total = (async () => {
        await eachLimited(unknown, CATALOG_READS, async (b) => {
          known += await this.#sizes.getOrLoad(
            b.key,
            async () => (await this.storage.size(b.key)) ?? 0,
          );
        });
        return known;
      })();
      this.#storedBytes.set(view, total);
      total.catch(() => this.#storedBytes.delete(view));
    }
    return total;
  }

  /** Counters of every cache of the store. */
  cacheStats(): CacheStats[] {
    return [
      this.#batches.stats(),
      this.#chunks.stats(),
      this.#states.stats(),
      this.#cursors.stats(),
      this.#directories.stats(),
      this.#catalogEntries.stats(),
      this.#sizes.stats(),
    ];
  }
}
