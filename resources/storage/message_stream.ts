/**
 * Message streams: objects holding size-delimited messages (each a varint length, then that many
 * bytes; the framing of codec/varint.ts) compressed as one zstd stream. The raw batches
 * of a run are stored this way; any Storage implementation can hold them.
 *
 * @module
 */

import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DelimitedDecodeError,
  frameDelimited,
  MAX_MESSAGE_BYTES,
  splitDelimitedRecords,
  writeVarint,
} from "../../codec/varint.ts";
import type { CommitResult, Storage } from "./storage.ts";
import {
  checkZstdLevel,
  createZstdCompressor,
  decompressZstd,
  DEFAULT_ZSTD_LEVEL,
  ZstdDecodeError,
} from "./zstd.ts";

/** An object that is not a valid message stream: bad zstd data or a bad record inside it. */
export class CorruptObjectError extends Error {
  /** Always "CorruptObjectError". */
  override readonly name = "CorruptObjectError";
  /** `message` is complete (it names the key and the offset already). */
  constructor(
    /** The object's key. */
    readonly key: string,
    /** Byte offset of the problem, in the stored (compressed) or in the decompressed bytes. */
    readonly offset: number,
    /** Which bytes `offset` counts. */
    readonly offsetIn: "compressed" | "decompressed",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Compresses a whole buffer, e.g. on another thread (`ZstdWorker` is one). */
export interface Compressor {
  /** zstd-compresses `bytes` at `level`; may take ownership of `bytes`. */
  compress(bytes: Uint8Array, level: number): Promise<Uint8Array>;
  /**
   * Frames `messages` (size-delimited) and compresses them, where the compression runs (so the
   * caller copies nothing); may take ownership of the messages' buffers. Optional: without it,
   * callers frame and call compress().
   */
  compressMessages?(
    messages: readonly Uint8Array[],
    level: number,
  ): Promise<{ bytes: Uint8Array; rawBytes: number }>;
}

/** Options of {@link writeMessages}. */
export interface WriteMessagesOptions {
  /** zstd level, default 3. */
  level?: number;
  /**
   * Compress on this worker thread instead of the calling one. The batch is framed into one
   * buffer first; the bytes are the same as streaming (zstd's output does not depend on how
   * the input is split).
   */
  worker?: Compressor;
}

/** What {@link writeMessages} wrote. `bytes` and `storedBytes` are the same number. */
export interface WriteMessagesResult extends CommitResult {
  /** Size of the framed messages before compression. */
  rawBytes: number;
  /** Size of the stored object. */
  storedBytes: number;
}

/** The messages of a stream and where each record (its length prefix) starts, decompressed. */
export interface ReadMessagesResult {
  /** The message bytes, in order; views into one buffer. */
  messages: Uint8Array[];
  /** For each message, the offset of its length prefix in the decompressed stream. */
  offsets: number[];
}

/** Framed input is handed to the compressor in pieces of about this size. */
const STAGING = 1024 * 1024;
/** Messages at least this large are passed on as they are instead of copied into staging. */
const PASS_THROUGH = 256 * 1024;

/**
 * Frames `messages` into chunks of about {@link STAGING} bytes: small messages are copied
 * together so the compressor sees few large writes; large ones pass through uncopied. Fresh
 * staging buffers each time, since the compressor may still hold the previous one.
 */
async function* frame(
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  counter: { raw: number },
): AsyncGenerator<Uint8Array> {
  let staging = new Uint8Array(STAGING);
  let fill = 0;
  let index = 0;
  for await (const message of messages) {
    if (!(message instanceof Uint8Array)) {
      throw new TypeError(`writeMessages: message ${index} is not a Uint8Array`);
    }
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new RangeError(
        `writeMessages: message ${index} has ${message.length} bytes, more than protobuf's ` +
          `limit of ${MAX_MESSAGE_BYTES}`,
      );
    }
    index++;
    const passThrough = message.length >= PASS_THROUGH;
    if (fill + 10 + (passThrough ? 0 : message.length) > STAGING) {
      yield staging.subarray(0, fill);
      staging = new Uint8Array(STAGING);
      fill = 0;
    }
    const start = fill;
    fill = writeVarint(message.length, staging, fill);
    counter.raw += fill - start + message.length;
    if (passThrough) {
      yield staging.subarray(0, fill);
      yield message;
      staging = new Uint8Array(STAGING);
      fill = 0;
    } else {
      staging.set(message, fill);
      fill += message.length;
    }
  }
  if (fill > 0) yield staging.subarray(0, fill);
}

/**
 * Writes `messages` (already-encoded protobuf messages) to `key` as one zstd stream of
 * size-delimited records, then commits. Deterministic: the same messages and level give the same
 * bytes however the input is split, so a replayed batch is byte-identical to the first attempt
 * (with the same zstd library, i.e. the same Deno release) and its commit is a no-op
 * (`created: false`).
 *
 * On any error (a message that is not bytes, a failing iterator, a storage error) the writer is
 * aborted, so nothing is left under the key, and the error is rethrown. Messages must not be
 * changed until the returned promise settles.
 */
export async function writeMessages(
  storage: Storage,
  key: string,
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteMessagesOptions = {},
): Promise<WriteMessagesResult> {
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  checkZstdLevel(level);
  if (options.worker !== undefined) {
    return await writeMessagesOnWorker(storage, key, messages, level, options.worker);
  }
  const writer = await storage.openWriter(key);
  try {
    const counter = { raw: 0 };
    let stored = 0;
    // pipeline() applies backpressure both ways and tears every stage down on any error.
    await pipeline(
      Readable.from(frame(messages, counter)),
      createZstdCompressor(level),
      async (compressed: AsyncIterable<Uint8Array>) => {
        for await (const chunk of compressed) {
          stored += chunk.length;
          await writer.write(chunk);
        }
      },
    );
    const result = await writer.commit();
    return { ...result, rawBytes: counter.raw, storedBytes: stored };
  } catch (e) {
    await writer.abort().catch(() => {
      // The original error matters more than a failed cleanup.
    });
    throw e;
  }
}

async function writeMessagesOnWorker(
  storage: Storage,
  key: string,
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  level: number,
  worker: Compressor,
): Promise<WriteMessagesResult> {
  const parts: Uint8Array[] = [];
  for await (const m of messages) {
    if (!(m instanceof Uint8Array)) {
      throw new TypeError(`Cannot write '${key}': a message is not a Uint8Array`);
    }
    parts.push(m);
  }
  const framed = frameDelimited(parts);
  const size = framed.length;
  return await writeCompressedMessages(storage, key, await worker.compress(framed, level), size);
}

/**
 * Writes a message stream that is compressed already (a batch record's value: the engine
 * framed and compressed it as {@link writeMessages} would), as it is, then commits. `rawBytes`
 * is its decompressed size, for the result. On an error nothing is left under the key.
 */
export async function writeCompressedMessages(
  storage: Storage,
  key: string,
  compressed: Uint8Array,
  rawBytes: number,
): Promise<WriteMessagesResult> {
  const writer = await storage.openWriter(key);
  try {
    await writer.write(compressed);
    const result = await writer.commit();
    return { ...result, rawBytes, storedBytes: compressed.length };
  } catch (e) {
    await writer.abort().catch(() => {
      // The original error matters more than a failed cleanup.
    });
    throw e;
  }
}

/**
 * Splits size-delimited records without parsing them. Throws {@link DelimitedDecodeError} with
 * the offset of the bad record's length prefix. The messages are views into `bytes`.
 */
export function splitDelimited(bytes: Uint8Array): ReadMessagesResult {
  const messages: Uint8Array[] = [];
  const offsets: number[] = [];
  // The caller says where (which key, which record); the message says what.
  const format = (head: string, detail: string) => `${head}: ${detail}`;
  for (const record of splitDelimitedRecords(bytes, MAX_MESSAGE_BYTES, format)) {
    messages.push(record.bytes);
    offsets.push(record.offset);
  }
  return { messages, offsets };
}

/**
 * Reads a message stream written by {@link writeMessages}: the messages (views into one
 * decompressed buffer) and the decompressed offset of each record. Throws NotFoundError for a
 * missing key and {@link CorruptObjectError}, naming the key and a byte offset, for an object
 * that is truncated, corrupt or not a message stream.
 */
export async function readMessages(storage: Storage, key: string): Promise<ReadMessagesResult> {
  const stored = await storage.read(key);
  let raw: Uint8Array;
  try {
    raw = decompressZstd(stored);
  } catch (e) {
    if (!(e instanceof ZstdDecodeError)) throw e;
    throw new CorruptObjectError(
      key,
      e.offset,
      "compressed",
      `Cannot read batch '${key}': ${e.message}`,
      { cause: e },
    );
  }
  try {
    return splitDelimited(raw);
  } catch (e) {
    if (!(e instanceof DelimitedDecodeError)) throw e;
    throw new CorruptObjectError(
      key,
      e.offset,
      "decompressed",
      `Cannot read batch '${key}': record at byte ${e.offset} of ${raw.length} decompressed ` +
        `bytes: ${e.message}`,
      { cause: e },
    );
  }
}
