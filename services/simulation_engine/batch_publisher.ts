/**
 * Turns the engine's chunks into batch records (services/common/batch_record.ts) and puts them
 * on the tick queue. A batch closes with its last chunk (chunk index / chunksPerBatch decides,
 * never timing) or with the run's final chunk; its chunks are framed and zstd-compressed once,
 * on the compressor's thread when there is one, while the simulation goes on. Up to
 * `maxInFlight` closed batches are being compressed or waiting for the queue's acknowledgement
 * at a time; the next one waits for room, which is how a slow queue slows the simulation.
 * Records are put in batch order, each as soon as it is compressed: a put does not wait for the
 * acknowledgement of the one before (the queue batches them into its requests).
 *
 * Work that must follow a chunk onto the queue (handing over a checkpoint taken after it) is
 * given to {@link BatchPublisher.afterAdded}: it runs once the batch holding every chunk added so
 * far is on the queue.
 *
 * @module
 */

import { frameDelimited } from "../../codec/varint.ts";
import type { Queue } from "../../resources/queue/queue.ts";
import type { Compressor } from "../../resources/storage/message_stream.ts";
import { compressZstd } from "../../resources/storage/zstd.ts";
import { batchRecord } from "../common/batch_record.ts";
import type { EncodedChunk } from "./runtime/mod.ts";

/** Options of {@link BatchPublisher}. */
export interface BatchPublisherOptions {
  runId: string;
  chunksPerBatch: number;
  output: Queue;
  zstdLevel: number;
  /** Compresses off the engine's thread (absent: on it). */
  compressor?: Compressor;
  /** Closed batches compressed or put at a time (default 2). */
  maxInFlight?: number;
}

/** Counters of a {@link BatchPublisher}. */
export interface BatchPublisherStats {
  batches: number;
  /** Compressed bytes put. */
  storedBytes: number;
}

/** See the module doc. */
export class BatchPublisher {
  readonly #o: BatchPublisherOptions;
  readonly #max: number;
  #open: EncodedChunk[] = [];
  /** Work waiting for the open batch to be put. */
  #afterOpen: (() => Promise<void>)[] = [];
  /** Everything handed to the queue so far acknowledged, in order; never rejects (see #failure). */
  #tail: Promise<void> = Promise.resolve();
  /** Every put so far issued (not necessarily acknowledged); never rejects. */
  #issued: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  readonly stats: BatchPublisherStats = { batches: 0, storedBytes: 0 };

  constructor(options: BatchPublisherOptions) {
    if (!Number.isInteger(options.chunksPerBatch) || options.chunksPerBatch < 1) {
      throw new RangeError(`chunksPerBatch must be an integer >= 1, got ${options.chunksPerBatch}`);
    }
    this.#o = options;
    this.#max = options.maxInFlight ?? 4;
  }

  /**
   * Adds the next chunk; `final` marks the run's last one. When the chunk closes its batch, the
   * batch is compressed and put in the background; this waits only for room. The chunk's bytes
   * are handed over (a compressor on another thread takes their buffer): do not use them after.
   */
  async add(chunk: EncodedChunk, final: boolean): Promise<void> {
    this.#check();
    const prev = this.#open.at(-1);
    if (prev !== undefined && chunk.index !== prev.index + 1) {
      throw new RangeError(
        `chunk ${chunk.index} after chunk ${prev.index}: chunks must be added in order`,
      );
    }
    if (prev === undefined && chunk.index % this.#o.chunksPerBatch !== 0 && !final) {
      throw new RangeError(
        `chunk ${chunk.index} does not start a batch of ${this.#o.chunksPerBatch} chunks`,
      );
    }
    this.#open.push(chunk);
    if (!final && (chunk.index + 1) % this.#o.chunksPerBatch !== 0) return;
    const chunks = this.#open;
    const after = this.#afterOpen;
    this.#open = [];
    this.#afterOpen = [];
    while (this.#inFlight.size >= this.#max) await Promise.race(this.#inFlight);
    this.#check();
    this.#publish(chunks, final, after);
  }

  /** Runs `work` once every chunk added so far is on the queue (in order with the puts). */
  afterAdded(work: () => Promise<void>): void {
    if (this.#open.length > 0) this.#afterOpen.push(work);
    else this.#chain(work);
  }

  /** Waits until everything closed so far is on the queue and its work done; rethrows a failure. */
  async flush(): Promise<void> {
    await this.#tail;
    this.#check();
  }

  #publish(chunks: EncodedChunk[], final: boolean, after: (() => Promise<void>)[]): void {
    const first = chunks[0]!;
    const last = chunks[chunks.length - 1]!;
    const level = this.#o.zstdLevel;
    // Compression starts now, beside the puts of the batches before it; the chunks' buffers go
    // to the compressor (framed there when it can: no copy on the engine's thread).
    const compressed = compressBatch(chunks.map((c) => c.bytes), level, this.#o.compressor);
    compressed.catch(() => {}); // reported through the chain below
    // Issued in batch order: once compressed and once the batch before was issued.
    let markIssued!: () => void;
    const issued = new Promise<void>((resolve) => (markIssued = resolve));
    const acked = this.#issued.then(async () => {
      try {
        const { bytes, rawBytes } = await compressed;
        if (this.#failure !== undefined) return;
        // The value is handed over: a queue on another thread may take its buffer.
        const size = bytes.length;
        const put = this.#o.output.put(batchRecord({
          runId: this.#o.runId,
          batch: Math.floor(first.index / this.#o.chunksPerBatch),
          batchChunks: this.#o.chunksPerBatch,
          chunkCount: chunks.length,
          firstTick: first.firstTick,
          lastTick: last.lastTick,
          rawBytes,
          final,
        }, bytes));
        // put() has enqueued the record: the next batch may go out before this one is acked.
        markIssued();
        await put;
        this.stats.batches++;
        this.stats.storedBytes += size;
      } finally {
        markIssued();
      }
    });
    acked.catch(() => {}); // reported through the chain below
    this.#issued = issued;
    const flight = this.#chain(() => acked);
    this.#inFlight.add(flight);
    flight.finally(() => this.#inFlight.delete(flight));
    for (const work of after) this.#chain(work);
  }

  /** Appends `work` to the chain; a failure stops the chain and is rethrown by add/flush. */
  #chain(work: () => Promise<void>): Promise<void> {
    this.#tail = this.#tail.then(async () => {
      if (this.#failure !== undefined) return;
      try {
        await work();
      } catch (error) {
        this.#failure ??= { error };
      }
    });
    return this.#tail;
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}

/** Frames and compresses a batch's chunks: on the compressor (framed there when it can), or here. */
function compressBatch(
  messages: Uint8Array[],
  level: number,
  compressor: Compressor | undefined,
): Promise<{ bytes: Uint8Array; rawBytes: number }> {
  if (compressor?.compressMessages !== undefined) {
    return compressor.compressMessages(messages, level);
  }
  const framed = frameDelimited(messages);
  const rawBytes = framed.length;
  if (compressor === undefined) {
    return Promise.resolve().then(() => ({ bytes: compressZstd(framed, level), rawBytes }));
  }
  return compressor.compress(framed, level).then((bytes) => ({ bytes, rawBytes }));
}
