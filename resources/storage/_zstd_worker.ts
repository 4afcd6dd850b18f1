/**
 * Worker side of {@link ZstdWorker}: compresses and decompresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { frameDelimited } from "../../codec/varint.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";
import type { ZstdReply, ZstdRequest } from "./zstd_worker.ts";
import { serveRequests } from "../worker/worker_rpc.ts";

serveRequests<ZstdRequest>(({ op, bytes, level, messages }) => {
  if (op === "frame-compress") {
    const framed = frameDelimited(messages ?? []);
    const out = compressZstd(framed, level);
    const value: ZstdReply = { out, rawBytes: framed.length };
    return { value, transfer: [out.buffer] };
  }
  const out = op === "decompress" ? decompressZstd(bytes) : compressZstd(bytes, level);
  const value: ZstdReply = { out };
  return { value, transfer: [out.buffer as ArrayBuffer] };
});
