/**
 * zstd on a worker thread, so that compressing batches overlaps with the simulation, and
 * checking them (decompression) with draining the next records in a persistence process.
 * Same bytes as {@link compressZstd}: one-shot, content checksum, deterministic.
 *
 * @module
 */

/** The worker's answer to one request. */
interface Reply {
  id: number;
  out?: Uint8Array;
  /** The framed size, for a frame-compress request. */
  rawBytes?: number;
  error?: string;
}

interface Pending {
  op: "compression" | "decompression";
  resolve(reply: Reply & { out: Uint8Array }): void;
  reject(e: Error): void;
}

/** `bytes` itself when it spans its whole buffer (transferable), else a copy. */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}

/** A compression or decompression that failed on the worker (bad input, not a crash). */
export class ZstdWorkerError extends Error {
  override readonly name = "ZstdWorkerError";
}

/** One compression worker; terminate it with {@link ZstdWorker.close}. */
export class ZstdWorker {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  #ensure(): Worker {
    if (this.#worker !== null) return this.#worker;
    const w = new Worker(new URL("./_zstd_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (e: MessageEvent<Reply>) => {
      const p = this.#pending.get(e.data.id);
      if (p === undefined) return;
      this.#pending.delete(e.data.id);
      const { out } = e.data;
      if (out !== undefined) p.resolve({ ...e.data, out });
      else p.reject(new ZstdWorkerError(`zstd ${p.op} failed: ${e.data.error}`));
    };
    w.onerror = (e) => {
      e.preventDefault();
      const err = new Error(`zstd worker crashed: ${e.message}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#worker?.terminate();
      this.#worker = null;
    };
    this.#worker = w;
    return w;
  }

  /** Starts the thread now rather than on the first compression (it takes ~100 ms to load). */
  warmUp(): void {
    this.#ensure();
  }

  /**
   * Compresses `bytes` at `level`. The buffer is transferred to the worker: the caller must
   * not use `bytes` afterwards (pass a buffer it owns).
   */
  compress(bytes: Uint8Array, level: number): Promise<Uint8Array> {
    const owned = own(bytes);
    return this.#post("compress", { bytes: owned, level }, [owned]).then((r) => r.out);
  }

  /**
   * Decompresses `bytes` (one or more zstd frames, as {@link decompressZstd}); bad data rejects
   * with a {@link ZstdWorkerError} whose message says what and where. `bytes` is copied (the
   * caller keeps it: compressed input is small beside its output).
   */
  decompress(bytes: Uint8Array): Promise<Uint8Array> {
    const copy = bytes.slice();
    return this.#post("decompress", { bytes: copy, level: 0 }, [copy]).then((r) => r.out);
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
    const owned = messages.map(own);
    return this.#post("frame-compress", { bytes: new Uint8Array(0), messages: owned, level }, owned)
      .then((r) => ({ bytes: r.out, rawBytes: r.rawBytes ?? 0 }));
  }

  /** Sends one request, transferring the buffers of `transfer`. */
  #post(
    op: "compress" | "decompress" | "frame-compress",
    request: { bytes: Uint8Array; level: number; messages?: Uint8Array[] },
    transfer: readonly Uint8Array[],
  ): Promise<Reply & { out: Uint8Array }> {
    const worker = this.#ensure();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        op: op === "decompress" ? "decompression" : "compression",
        resolve,
        reject,
      });
      worker.postMessage({ id, op, ...request }, transfer.map((b) => b.buffer as ArrayBuffer));
    });
  }

  /** Terminates the worker; pending compressions reject. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = null;
    const err = new Error("zstd worker closed");
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
