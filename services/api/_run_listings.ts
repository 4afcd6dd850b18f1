/**
 * The run store's listings of runs (see ./run_view.ts): a run's raw batches and catalog
 * entries, listed again after the TTL (a run grows), each listing taking the settled
 * beginning of the run's previous one over (see ./listing_floor.ts), and the figures derived
 * once per listing (tick spans, stored bytes), with caches of catalog entries and file sizes.
 *
 * @module
 */

import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { listAllObjects } from "../../resources/storage/list_all_keys.ts";
import { parseBatchKey, rawPrefix } from "../common/storage_layout.ts";
import {
  type BatchProblem,
  type BatchRef,
  type CatalogFacts,
  catalogFacts,
  type NamedBatch,
  resolveBatches,
} from "./batch_listing.ts";
import { BatchList, ListedCatalog, SettledBatches } from "./batch_list.ts";
import { BatchGoneError, type BatchReader } from "./_batch_reader.ts";
import { eachLimited } from "./each_limited.ts";
import type { IndexReader } from "./index_reader.ts";
import { takenOver } from "./listing_floor.ts";
import type { ListingTtl, Timed } from "./_listing_ttl.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";
import type { RunInfo } from "./run_info.ts";
import type { RunView } from "./run_view.ts";
import { joinSpan, tickCount, type TickSpan } from "./tick_spans.ts";

/** Options of {@link RunListings}. */
export interface RunListingsOptions {
  storage: Storage;
  index: IndexReader;
  ttl: ListingTtl;
  /** Reads the chunk headers of batches the catalog has not reached. */
  reader: BatchReader;
  /** Bytes of catalog entries kept (estimated). */
  cacheCatalogBytes: number;
  /** Bytes of object sizes kept (estimated). */
  cacheSizeBytes: number;
}

/** Catalog entries a listing reads at once (storage requests in flight). */
const CATALOG_READS = 8;

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

/** The runs' listings, reused for the TTL, and what is derived from each. */
export class RunListings {
  readonly #storage: Storage;
  readonly #index: IndexReader;
  readonly #ttl: ListingTtl;
  readonly #reader: BatchReader;
  readonly #views = new Map<string, Timed<RunView>>();
  /** Each run's newest finished listing: the next one takes its catalog entries over. */
  readonly #listed = new Map<string, RunView>();
  /** Stored bytes per listing: summed once, not for every request of the run list. */
  readonly #storedBytes = new WeakMap<RunView, Promise<number>>();
  readonly #tickSpans = new WeakMap<RunView, { spans: readonly TickSpan[]; count: number }>();
  readonly #catalogEntries: LruCache<string, CatalogFacts>;
  readonly #sizes: LruCache<string, number>;

  /** Listings of `options.storage` and `options.index`, with caches of the given bounds. */
  constructor(options: RunListingsOptions) {
    this.#storage = options.storage;
    this.#index = options.index;
    this.#ttl = options.ttl;
    this.#reader = options.reader;
    this.#catalogEntries = new LruCache<string, CatalogFacts>({
      name: "catalog",
      maxEntries: 50000,
      maxBytes: options.cacheCatalogBytes,
      sizeOf: approxSize,
    });
    this.#sizes = new LruCache<string, number>({
      name: "sizes",
      maxEntries: 100000,
      maxBytes: options.cacheSizeBytes,
      // The cache counts the key (a storage key of ~100 characters) itself; the value is a number.
      sizeOf: () => 16,
    });
  }

  /** The run's batches and catalog (listing reused for the TTL). */
  view(info: RunInfo): Promise<RunView> {
    const cached = this.#views.get(info.runId);
    if (this.#ttl.fresh(cached)) return cached.value;
    const at = this.#ttl.now();
    const value = this.#list(info);
    const entry: Timed<RunView> = { at, value };
    value.then(() => entry.cost = this.#ttl.now() - at, () => {});
    this.#views.set(info.runId, entry);
    value.catch(() => {
      if (this.#views.get(info.runId) === entry) this.#views.delete(info.runId);
    });
    return value;
  }

  /** Drops the reused listing of the run that holds batch `key`: the next request lists again. */
  forget(key: string): void {
    for (const runId of this.#views.keys()) {
      if (key.startsWith(rawPrefix(runId))) this.#views.delete(runId);
    }
  }

  async #list(info: RunInfo): Promise<RunView> {
    const listedAt = this.#ttl.now();
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
    for (const o of await listAllObjects(this.#storage, rawPrefix(info.runId), floor?.key)) {
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
      peek: (key) => this.#reader.peekDirectory(key),
      failed: (key) => this.#reader.failure(key),
      directory: async (key) => {
        try {
          return await this.#reader.directory(key);
        } catch (e) {
          if (e instanceof NotFoundError || e instanceof BatchGoneError) return null;
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
    const ranges = await this.#index.list(runId, "catalog", floor);
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
      const read = await this.#index.catalog(runId, range);
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
            async () => (await this.#storage.size(b.key)) ?? 0,
          );
        });
        return known;
      })();
      this.#storedBytes.set(view, total);
      total.catch(() => this.#storedBytes.delete(view));
    }
    return total;
  }

  /** Counters of the catalog entry and object size caches. */
  cacheStats(): CacheStats[] {
    return [this.#catalogEntries.stats(), this.#sizes.stats()];
  }
}
