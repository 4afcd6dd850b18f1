/**
 * Worker side of {@link ZstdWorker}: compresses and decompresses on its own thread. node:zlib's "async" zstd
 * runs on the calling thread in Deno, so a worker is the way to use a second core.
 *
 * @module
 */

import { compressZstd, decompressZstd } from "./zstd.ts";

interface Request {
  id: number;
  op: "compress" | "decompress" | "frame-compress";
  bytes: Uint8Array;
  /** For "frame-compress": the messages to frame (size-delimited) before compressing. */
  messages?: Uint8Array[];
  level: number;
}

/** Size-delimits `messages` into one buffer (codec/varint.ts's framing, written out here so that
 * the worker's module graph stays these two files, which its permissions name). */
function frame(messages: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const m of messages) {
    let n = m.length;
    do {
      size++;
      n = Math.floor(n / 128);
    } while (n > 0);
    size += m.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const m of messages) {
    let n = m.length;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[at++] = n;
    out.set(m, at);
    at += m.length;
  }
  return out;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (e) => {
  const { id, op, bytes, level, messages } = e.data;
  try {
    if (op === "frame-compress") {
      const framed = frame(messages ?? []);
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
