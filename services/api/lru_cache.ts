/**
 * A least-recently-used cache bounded by entry count and by bytes, with hit/miss counters and
 * de-duplicated loading (concurrent misses of one key share one load).
 *
 * @module
 */

/** Bytes counted per string key besides its characters (entry, map slot, string header). */
const KEY_OVERHEAD = 64;

/** Options of {@link LruCache}. */
export interface LruCacheOptions<V> {
  /** Name for metrics, e.g. "chunks". */
  name: string;
  /** Most entries kept; default unbounded. */
  maxEntries?: number;
  /**
   * Most bytes kept (by `sizeOf`, plus a string key's characters); default unbounded. An entry
   * larger than this is not kept.
   */
  maxBytes?: number;
  /** Bytes of a value; default 0 (count-bounded only). */
  sizeOf?: (value: V) => number;
}

/** Counters of a cache. */
export interface CacheStats {
  name: string;
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  evictions: number;
}

/** An LRU cache (a Map keeps insertion order; a hit re-inserts the key at the end). */
export class LruCache<K, V> {
  readonly name: string;
  readonly #map = new Map<K, { value: V; bytes: number }>();
  readonly #pending = new Map<K, Promise<V>>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options: LruCacheOptions<V>) {
    this.name = options.name;
    this.#maxEntries = options.maxEntries ?? Infinity;
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#sizeOf = options.sizeOf ?? (() => 0);
    if (!(this.#maxEntries >= 0) || !(this.#maxBytes >= 0)) {
      throw new RangeError(`Cache '${this.name}': bounds must be non-negative`);
    }
  }

  /** The value, counting a hit or a miss, and marking it most recently used. */
  get(key: K): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** Whether the key is cached (no counting, no reordering). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores a value, evicting the least recently used entries beyond the bounds. */
  set(key: K, value: V): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.bytes;
      this.#map.delete(key);
    }
    // A string key counts too (a URL key can be as large as its value).
    const bytes = this.#sizeOf(value) +
      (this.#maxBytes !== Infinity && typeof key === "string" ? KEY_OVERHEAD + 2 * key.length : 0);
    if (bytes > this.#maxBytes || this.#maxEntries === 0) return;
    this.#map.set(key, { value, bytes });
    this.#bytes += bytes;
    while (this.#map.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#bytes -= this.#map.get(oldest.value)!.bytes;
      this.#map.delete(oldest.value);
      this.#evictions++;
    }
  }

  /**
   * The cached value, or the result of `load` (stored, unless it throws). Concurrent calls for
   * a key that is loading wait for that load and count as hits.
   */
  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      // get() counted a miss; this one is served without a second load.
      this.#misses--;
      this.#hits++;
      return await pending;
    }
    const p = load();
    this.#pending.set(key, p);
    try {
      const value = await p;
      this.set(key, value);
      return value;
    } finally {
      this.#pending.delete(key);
    }
  }

  /** Drops one entry, if cached. */
  delete(key: K): void {
    const old = this.#map.get(key);
    if (old === undefined) return;
    this.#bytes -= old.bytes;
    this.#map.delete(key);
  }

  /** Drops every entry (counters stay). */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  /** Current counters. */
  stats(): CacheStats {
    return {
      name: this.name,
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#map.size,
      bytes: this.#bytes,
      evictions: this.#evictions,
    };
  }
}
