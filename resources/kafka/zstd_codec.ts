/**
 * A zstd compression codec for kafkajs, built on `node:zlib`. kafkajs ships gzip only; the
 * others are registered by assigning `CompressionCodecs[type] = () => codec`.
 *
 * The codec uses the SYNCHRONOUS zlib functions on purpose: Deno's node:zlib runs the "async"
 * zstd functions on the calling (main) thread as well, so they only add promise overhead.
 * Compression happens in the producer's send path and decompression in the consumer's fetch
 * path, both on the main thread either way.
 *
 * Frames carry their decompressed size (the producer pledges it), so that the consumer
 * decompresses a record batch into one buffer of the right size (decompressFrameSync). Frames
 * without the size (other producers) are decompressed the default way.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { constants, zstdCompressSync, type ZstdOptions } from "node:zlib";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import { decompressFrameSync } from "../storage/zstd.ts";

/** node:zlib's zstd options with `pledgedSrcSize`, which its type definitions lack. */
type PledgedZstdOptions = ZstdOptions & { pledgedSrcSize: number };

/** The codec object kafkajs expects: `compress(encoder)` and `decompress(buffer)`. */
export interface KafkaCodec {
  /** Compresses the bytes of a kafkajs Encoder (its `buffer`). */
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  /** Decompresses a record batch's records section. */
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Creates a zstd codec that compresses at `level` (1-22; default 3, zstd's own default). */
export function zstdCodec(level = 3): KafkaCodec {
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new RangeError(`zstd level must be an integer in 1..22, got ${level}`);
  }
  const params = { [constants.ZSTD_c_compressionLevel]: level };
  return {
    compress(encoder) {
      try {
        const input = encoder.buffer;
        const options: PledgedZstdOptions = { params, pledgedSrcSize: input.length };
        return Promise.resolve(zstdCompressSync(input, options));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    decompress(buffer) {
      try {
        return Promise.resolve(decompressFrameSync(buffer));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}

let registeredLevel: number | undefined;

/**
 * Registers the zstd codec with kafkajs for this process (kafkajs keeps codecs globally).
 * Idempotent; a later call with another level replaces the codec. Decompression does not
 * depend on the level.
 */
export function registerZstdCodec(level = 3): void {
  if (registeredLevel === level) return;
  const codec = zstdCodec(level);
  // deno-lint-ignore no-explicit-any -- kafkajs types the codec table as `() => any`
  (CompressionCodecs as Record<number, () => any>)[CompressionTypes.ZSTD] = () => codec;
  registeredLevel = level;
}
