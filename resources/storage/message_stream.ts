/**
 * Message streams: objects holding size-delimited messages (each a varint length, then that many
 * bytes; the framing of codec/varint.ts) compressed as one zstd stream. The raw batches
 * of a run are stored this way; any Storage implementation can hold them.
 *
 * @module
 */

import {
  DelimitedDecodeError,
  frameDelimited,
  MAX_MESSAGE_BYTES,
  splitDelimitedRecords,
} from "../../codec/varint.ts";
import type { CommitResult, Storage } from "./storage.ts";
import {
  checkZstdLevel,
  compressZstd,
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
  /** Compress on this worker thread instead of the calling one (the same bytes). */
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

/** The messages, checked, framed into one buffer (as the engine frames a batch). */
async function frameAll(
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const message of messages) {
    const index = parts.length;
    if (!(message instanceof Uint8Array)) {
      throw new TypeError(`writeMessages: message ${index} is not a Uint8Array`);
    }
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new RangeError(
        `writeMessages: message ${index} has ${message.length} bytes, more than protobuf's ` +
          `limit of ${MAX_MESSAGE_BYTES}`,
      );
    }
    parts.push(message);
  }
  return frameDelimited(parts);
}

/**
 * Writes `messages` (already-encoded protobuf messages) to `key` as one zstd frame of
 * size-delimited records, then commits. Deterministic: the same messages and level give the
 * same bytes on either thread (and as the engine's batch records), so a replayed batch is
 * byte-identical to the first attempt (with the same zstd library, i.e. the same Deno release)
 * and its commit is a no-op (`created: false`). The frame declares its content size, so that
 * readers decompress it into one buffer.
 *
 * On any error (a message that is not bytes, a failing iterator, a storage error) nothing is
 * left under the key, and the error is rethrown. Messages must not be changed until the
 * returned promise settles.
 */
export async function writeMessages(
  storage: Storage,
  key: string,
  messages: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteMessagesOptions = {},
): Promise<WriteMessagesResult> {
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  checkZstdLevel(level);
  const framed = await frameAll(messages);
  const size = framed.length;
  const compressed = options.worker === undefined
    ? compressZstd(framed, level)
    : await options.worker.compress(framed, level);
  return await writeCompressedMessages(storage, key, compressed, size);
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
  return decodeMessages(key, await storage.read(key));
}

/**
 * The messages of the stored object `key`, from its bytes (as {@link readMessages}, for
 * bytes read already, e.g. on another thread). Throws {@link CorruptObjectError} naming `key`.
 */
export function decodeMessages(key: string, stored: Uint8Array): ReadMessagesResult {
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
