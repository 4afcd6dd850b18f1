/**
 * Reading raw batches for the run store: a batch's chunk headers and its chunks decoded, with
 * LRU caches of decompressed batches, decoded chunks and chunk directories, and the batches
 * found unreadable, which the next listing sets aside for a while.
 *
 * @module
 */

import type { TickDataChunk } from "../../proto/mod.ts";
import { type ChunkHeader, decodeTickDataChunk, readChunkHeader } from "../../codec/mod.ts";
import { CorruptObjectError, readMessages } from "../../resources/storage/message_stream.ts";
import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { newerFormatProblem } from "../common/format_version.ts";
import { ApiHttpError, corruptBatch } from "./errors.ts";
import type { BatchRef } from "./batch_listing.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";

/** Options of {@link BatchReader}. */
export interface BatchReaderOptions {
  storage: Storage;
  /** Decoded chunks kept. */
  cacheChunks: number;
  /** Bytes of the decoded chunks kept (estimated). */
  cacheChunkBytes: number;
  /** Bytes of decompressed batches kept. */
  cacheBatchBytes: number;
  /** Bytes of chunk directories kept (estimated). */
  cacheDirectoryBytes: number;
  /** The store's clock, ms. */
  now: () => number;
  /** Told of a batch that was listed but is gone from storage. */
  onGone: (key: string) => void;
}

/** A decoded chunk and the heap bytes it is counted at. */
export interface DecodedChunk {
  chunk: TickDataChunk;
  bytes: number;
}

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

/**
 * A batch listed a moment ago and gone from storage when read: 404 to a client, and a listing
 * that meets it leaves the batch out (it was deleted, not damaged).
 */
export class BatchGoneError extends ApiHttpError {
  constructor(readonly key: string) {
    super(
      404,
      "not_found",
      `Batch '${key}' is no longer in storage; ask again for the run's ticks`,
    );
  }
}

/** Raw batches read and decoded, cached. */
export class BatchReader {
  readonly #storage: Storage;
  readonly #now: () => number;
  readonly #onGone: (key: string) => void;
  /** Batches found unreadable (reason by key): set aside at the next listing. */
  readonly #failed = new LruCache<string, { at: number; reason: string }>({
    name: "failed",
    maxEntries: 4096,
  });
  readonly #directories: LruCache<string, ChunkHeader[]>;
  readonly #batches: LruCache<string, BatchContents>;
  readonly #chunks: LruCache<string, DecodedChunk>;

  /** A reader of `options.storage` with caches of the given bounds. */
  constructor(options: BatchReaderOptions) {
    this.#storage = options.storage;
    this.#now = options.now;
    this.#onGone = options.onGone;
    this.#directories = new LruCache<string, ChunkHeader[]>({
      name: "directories",
      maxEntries: 10000,
      maxBytes: options.cacheDirectoryBytes,
      sizeOf: approxSize,
    });
    this.#batches = new LruCache({
      name: "batches",
      maxBytes: options.cacheBatchBytes,
      sizeOf: (b) => b.bytes,
    });
    this.#chunks = new LruCache({
      name: "chunks",
      maxEntries: options.cacheChunks,
      maxBytes: options.cacheChunkBytes,
      sizeOf: (c) => c.bytes,
    });
  }

  /** The chunk headers of a batch if they were read before (no reading). */
  peekDirectory(key: string): ChunkHeader[] | undefined {
    return this.#directories.get(key);
  }

  /** Why a batch could not be read a moment ago, if it could not. */
  failure(key: string): string | undefined {
    const f = this.#failed.get(key);
    // Tried again after a while: a bad file may have been replaced.
    return f !== undefined && this.#now() - f.at < FAILED_TTL_MS ? f.reason : undefined;
  }

  /** The chunk headers of a batch (reads the batch once). */
  async directory(key: string): Promise<ChunkHeader[]> {
    const cached = this.#directories.get(key);
    if (cached !== undefined) return cached;
    return (await this.#contents(key)).headers;
  }

  /** A batch's messages and headers (read once while cached). */
  #contents(key: string): Promise<BatchContents> {
    return this.#batches.getOrLoad(key, () => this.#loadBatch(key));
  }

  /**
   * The chunk at `position` decoded with or without its organisms (cached apart: a world
   * replay needs only the cells, which decode several times faster); a chunk with its
   * organisms in the cache serves for both. 502 naming the batch when it does not decode.
   */
  async decoded(batch: BatchRef, position: number, organisms: boolean): Promise<DecodedChunk> {
    const whole = `${batch.key}#${position}`;
    if (!organisms && this.#chunks.has(whole)) return this.#chunks.get(whole)!;
    return await this.#chunks.getOrLoad(organisms ? whole : `${whole}#cells`, async () => {
      const contents = await this.#contents(batch.key);
      const bytes = contents.messages[position];
      if (bytes === undefined) throw this.corrupt(batch.key, `it has no chunk ${position}`);
      try {
        const chunk = decodeTickDataChunk(bytes, { organisms });
        const perByte = organisms ? DECODED_PER_ENCODED : CELLS_DECODED_PER_ENCODED;
        return { chunk, bytes: bytes.length * perByte };
      } catch (e) {
        throw this.corrupt(batch.key, `chunk ${position}: ${(e as Error).message}`);
      }
    });
  }

  /** A 502 for a batch that cannot be read, remembered so that the next listing sets it aside. */
  corrupt(key: string, detail: string): ApiHttpError {
    this.#failed.set(key, { at: this.#now(), reason: `it cannot be read: ${detail}` });
    return corruptBatch(key, detail);
  }

  /** Counters of the reader's caches. */
  cacheStats(): { batches: CacheStats; chunks: CacheStats; directories: CacheStats } {
    return {
      batches: this.#batches.stats(),
      chunks: this.#chunks.stats(),
      directories: this.#directories.stats(),
    };
  }

  async #loadBatch(key: string): Promise<BatchContents> {
    let messages: Uint8Array[];
    try {
      messages = (await readMessages(this.#storage, key)).messages;
    } catch (e) {
      throw this.#readFailure(key, e);
    }
    const headers = messages.map((m, i) => {
      let h: ChunkHeader;
      try {
        h = readChunkHeader(m);
      } catch (e) {
        throw this.corrupt(key, `chunk ${i}: ${(e as Error).message}`);
      }
      const newer = newerFormatProblem(`chunk ${i}`, h.formatVersion);
      if (newer !== null) throw this.corrupt(key, newer);
      return h;
    });
    this.#directories.set(key, headers);
    return { messages, headers, bytes: messages.reduce((n, m) => n + m.length, 0) };
  }

  /** What a failed batch read answers: 502 naming the batch and offset, 404 when it is gone. */
  #readFailure(key: string, e: unknown): unknown {
    if (e instanceof CorruptObjectError) {
      const detail = e.message.replace(`Cannot read batch '${key}': `, "");
      return this.corrupt(key, detail);
    }
    if (e instanceof NotFoundError) {
      // Listed a moment ago and gone now: the next request lists again.
      this.#onGone(key);
      return new BatchGoneError(key);
    }
    return e;
  }
}
