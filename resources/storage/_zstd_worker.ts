/**
 * Worker side of {@link ZstdWorker}: compresses and decompresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { framedSize, frameInto } from "../../codec/varint.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";
import type { ZstdReply, ZstdRequest } from "./zstd_worker.ts";
import { ownBytes, serveRequests } from "../worker/worker_rpc.ts";

/**
 * Where batches are framed, kept from one to the next (their sizes hardly change) up to
 * {@link SCRATCH_KEPT} bytes (a 256x256 world's batches are ~5.5 MB): a big world's batches are
 * framed into buffers of their own, as the worker holding one of 30 MB for the rest of the run
 * raised a 2048x2048 run's peak by ~35 MiB.
 */
let scratch = new Uint8Array(0);
const SCRATCH_KEPT = 8 * 2 ** 20;

/** Below this many bytes a reply is copied rather than its buffer transferred. */
const COPIED_BELOW = 64 * 1024;

/**
 * `bytes`, or a copy of them that owns its buffer: node:zlib hands small results out of
 * Buffer's shared pool, whose buffer cannot be transferred ("Provided key doesn't match
 * [[ArrayBufferDetachKey]]"). Large results have buffers of their own and are transferred as
 * they are, without a copy.
 */
function transferable(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength < COPIED_BELOW ? ownBytes(bytes) : bytes;
}

serveRequests<ZstdRequest>(({ op, bytes, level, messages }) => {
  if (op === "frame-compress") {
    const size = framedSize(messages ?? []);
    let into = scratch;
    if (into.length < size) {
      // Room to grow only in a buffer that is kept: others are of the batch's size exactly.
      const kept = Math.ceil(size * 1.25);
      into = new Uint8Array(kept <= SCRATCH_KEPT ? kept : size);
      if (kept <= SCRATCH_KEPT) scratch = into;
    }
    const framed = frameInto(messages ?? [], into);
    const out = compressZstd(framed, level);
    const value: ZstdReply = { out, rawBytes: framed.length };
    return { value, transfer: [out.buffer] };
  }
  const out = transferable(
    op === "decompress" ? decompressZstd(bytes) : compressZstd(bytes, level),
  );
  const value: ZstdReply = { out };
  return { value, transfer: [out.buffer as ArrayBuffer] };
});
