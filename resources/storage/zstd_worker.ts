/**
 * zstd on a worker thread, so that compressing batches overlaps with the simulation, and
 * checking them (decompression) with draining the next records in a persistence process.
 * Same bytes as {@link compressZstd}: one-shot, content checksum, deterministic.
 *
 * @module
 */

import { ownBytes, WorkerRequestError, WorkerRpc } from "../worker/worker_rpc.ts";

/** What the worker thread is asked (see ./_zstd_worker.ts). */
export interface ZstdRequest {
  op: "compress" | "decompress" | "frame-compress";
  bytes: Uint8Array;
  /** For "frame-compress": the messages to frame (size-delimited) before compressing. */
  messages?: Uint8Array[];
  level: number;
}

/** Its answer: the output, and for "frame-compress" the framed size. */
export interface ZstdReply {
  out: Uint8Array;
  rawBytes?: number;
}

/** A compression or decompression that failed on the worker (bad input, not a crash). */
export class ZstdWorkerError extends Error {
  override readonly name = "ZstdWorkerError";
}

/** One compression worker; terminate it with {@link ZstdWorker.close}. */
export class ZstdWorker {
  readonly #rpc = new WorkerRpc<ZstdRequest, ZstdReply>(
    new URL("./_zstd_worker.ts", import.meta.url),
    "zstd",
  );

  /** Starts the thread now rather than on the first compression (it takes ~100 ms to load). */
  warmUp(): void {
    this.#rpc.warmUp();
  }

  /**
   * Compresses `bytes` at `level`. The buffer is transferred to the worker: the caller must
   * not use `bytes` afterwards (pass a buffer it owns).
   */
  compress(bytes: Uint8Array, level: number): Promise<Uint8Array> {
    const owned = ownBytes(bytes);
    return this.#post({ op: "compress", bytes: owned, level }, [owned]).then((r) => r.out);
  }

  /**
   * Decompresses `bytes` (one or more zstd frames, as {@link decompressZstd}); bad data rejects
   * with a {@link ZstdWorkerError} whose message says what and where. `bytes` is copied (the
   * caller keeps it: compressed input is small beside its output).
   */
  decompress(bytes: Uint8Array): Promise<Uint8Array> {
    const copy = bytes.slice();
    return this.#post({ op: "decompress", bytes: copy, level: 0 }, [copy]).then((r) => r.out);
  }

  /**
   * Frames `messages` (size-delimited, as frameDelimited) and compresses them at `level`, both
   * on the worker: the calling thread neither copies nor compresses. The messages' buffers are
   * transferred (the caller must not use them afterwards); views into a larger buffer are copied.
   * Resolves with the compressed bytes and the framed size.
   */
  compressMessages(
    messages: readonly Uint8Array[],
    level: number,
  ): Promise<{ bytes: Uint8Array; rawBytes: number }> {
    const owned = messages.map(ownBytes);
    const request: ZstdRequest = {
      op: "frame-compress",
      bytes: new Uint8Array(0),
      messages: owned,
      level,
    };
    return this.#post(request, owned).then((r) => ({ bytes: r.out, rawBytes: r.rawBytes ?? 0 }));
  }

  /** Sends one request, transferring the buffers of `transfer`. */
  async #post(request: ZstdRequest, transfer: readonly Uint8Array[]): Promise<ZstdReply> {
    try {
      return await this.#rpc.call(request, transfer);
    } catch (e) {
      if (!(e instanceof WorkerRequestError)) throw e;
      const what = request.op === "decompress" ? "decompression" : "compression";
      throw new ZstdWorkerError(`zstd ${what} failed: ${e.message}`);
    }
  }

  /** Terminates the worker; pending compressions reject. */
  close(): void {
    this.#rpc.close();
  }
}
