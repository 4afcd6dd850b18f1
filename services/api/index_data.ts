/**
 * Index data for the statistics, lineage and export endpoints: which batches have index files
 * (listing reused briefly, since the indexers keep adding), and their rows (cached: an index
 * file is written once and never changes).
 *
 * @module
 */

import type { StatsRow } from "../common/index_schema.ts";
import type { BatchRange, IndexKind, IndexReader, OrganismRow } from "./index_reader.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";

/** Options of {@link IndexData}. */
export interface IndexDataOptions {
  reader: IndexReader;
  /** How long listings are reused, ms. Default 1000. */
  listingTtlMs?: number;
  /** Clock, ms. Default performance.now. */
  now?: () => number;
  /** Bytes of index rows kept (estimated), half stats, half organisms. Default 44 MiB. */
  maxBytes?: number;
}

/** Cached access to the index files of runs. */
export class IndexData {
  readonly reader: IndexReader;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #listings = new Map<string, { at: number; value: Promise<BatchRange[]> }>();
  readonly #stats: LruCache<string, StatsRow[]>;
  readonly #organisms: LruCache<string, OrganismRow[]>;

  constructor(options: IndexDataOptions) {
    const half = Math.floor((options.maxBytes ?? 44 * 2 ** 20) / 2);
    this.#stats = new LruCache<string, StatsRow[]>({
      name: "stats_rows",
      maxEntries: 4096,
      maxBytes: half,
      sizeOf: approxSize,
    });
    this.#organisms = new LruCache<string, OrganismRow[]>({
      name: "organism_rows",
      maxEntries: 1024,
      maxBytes: half,
      sizeOf: approxSize,
    });
    this.reader = options.reader;
    this.#ttl = options.listingTtlMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Batches of the run with an index file of `kind`, ascending. */
  list(runId: string, kind: IndexKind): Promise<BatchRange[]> {
    const key = `${kind}:${runId}`;
    const cached = this.#listings.get(key);
    if (cached !== undefined && this.#now() - cached.at < this.#ttl) return cached.value;
    const value = this.reader.list(runId, kind);
    const entry = { at: this.#now(), value };
    this.#listings.set(key, entry);
    value.catch(() => {
      if (this.#listings.get(key) === entry) this.#listings.delete(key);
    });
    return value;
  }

  /** Stats rows of one batch (empty when its file vanished). */
  async statsRows(runId: string, range: BatchRange): Promise<StatsRow[]> {
    return await this.#stats.getOrLoad(
      `${runId}/${range.firstTick}_${range.lastTick}`,
      async () => (await this.reader.stats(runId, range)) ?? [],
    );
  }

  /** Organisms rows of one batch (empty when its file vanished). */
  async organismRows(runId: string, range: BatchRange): Promise<OrganismRow[]> {
    return await this.#organisms.getOrLoad(
      `${runId}/${range.firstTick}_${range.lastTick}`,
      async () => (await this.reader.organisms(runId, range)) ?? [],
    );
  }

  /** Counters of the row caches. */
  cacheStats(): CacheStats[] {
    return [this.#stats.stats(), this.#organisms.stats()];
  }
}
