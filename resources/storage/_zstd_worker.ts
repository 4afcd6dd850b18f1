/**
 * Worker side of {@link ZstdWorker}: compresses and decompresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { frameDelimited } from "../../codec/varint.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";

interface Request {
  id: number;
  op: "compress" | "decompress" | "frame-compress";
  bytes: Uint8Array;
  /** For "frame-compress": the messages to frame (size-delimited) before compressing. */
  messages?: Uint8Array[];
  level: number;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { id, op, bytes, level, messages } = e.data;
  try {
    if (op === "frame-compress") {
      const framed = frameDelimited(messages ?? []);
      const out = compressZstd(framed, level);
      scope.postMessage({ id, out, rawBytes: framed.length }, [out.buffer]);
      return;
    }
    const out = op === "decompress" ? decompressZstd(bytes) : compressZstd(bytes, level);
    scope.postMessage({ id, out }, [out.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message }, []);
  }
};
