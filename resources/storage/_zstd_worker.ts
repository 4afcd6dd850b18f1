/**
 * Worker side of {@link ZstdWorker}: compresses and decompresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { compressZstd, decompressZstd } from "./zstd.ts";

interface Request {
  id: number;
  op: "compress" | "decompress";
  bytes: Uint8Array;
  level: number;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { id, op, bytes, level } = e.data;
  try {
    const out = op === "decompress" ? decompressZstd(bytes) : compressZstd(bytes, level);
    scope.postMessage({ id, out }, [out.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message }, []);
  }
};
