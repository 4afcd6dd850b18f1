/**
 * Worker side of {@link ZstdWorker}: compresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { compressZstd } from "./zstd.ts";

interface Request {
  id: number;
  bytes: Uint8Array;
  level: number;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { id, bytes, level } = e.data;
  try {
    const out = compressZstd(bytes, level);
    scope.postMessage({ id, out }, [out.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message }, []);
  }
};
