/**
 * Requests to a module worker thread and their replies, matched by id: the one implementation
 * of the offload threads (zstd, index derivation, the Kafka producer). The thread starts on
 * first use (or {@link WorkerRpc.warmUp}); a crash rejects what is pending and the next request
 * starts a new thread; {@link WorkerRpc.close} terminates it for good.
 *
 * The worker module answers each `{ id, ...request }` with `{ id, value }` or
 * `{ id, error, errorName? }` (see {@link serveRequests}); between replies it may post events,
 * `{ event }` (see {@link postEvent}), which go to the `onEvent` given to {@link WorkerRpc}.
 *
 * @module
 */

import { getPriority, setPriority } from "node:os";

/** A reply as the worker posts it. */
interface Reply {
  /** Absent on an event. */
  id?: number;
  event?: unknown;
  value?: unknown;
  error?: string;
  errorName?: string;
}

/** A request the worker answered with an error (bad input, not a crash). */
export class WorkerRequestError extends Error {
  override readonly name = "WorkerRequestError";
  /** The name of the error the worker threw (e.g. "CorruptBatchError"). */
  readonly errorName: string;
  constructor(message: string, errorName: string) {
    super(message);
    this.errorName = errorName;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
}

/** `bytes` itself when it spans its whole buffer (transferable), else a copy. */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}

/** One worker thread running `url`'s module; see the module doc. */
export class WorkerRpc<Req extends object, Rep> {
  #worker: Worker | null = null;
  #closed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /**
   * `name` says whose thread it is in errors ("zstd worker crashed: ..."); `onEvent` receives
   * what the worker posts with {@link postEvent}.
   */
  constructor(
    readonly url: URL,
    readonly name: string,
    readonly onEvent?: (event: unknown) => void,
  ) {}

  #ensure(): Worker {
    if (this.#worker !== null) return this.#worker;
    const w = new Worker(this.url.href, { type: "module" });
    w.onmessage = (e: MessageEvent<Reply>) => {
      if (e.data.id === undefined) {
        this.onEvent?.(e.data.event);
        return;
      }
      const p = this.#pending.get(e.data.id);
      if (p === undefined) return;
      this.#pending.delete(e.data.id);
      if (e.data.error === undefined) p.resolve(e.data.value);
      else p.reject(new WorkerRequestError(e.data.error, e.data.errorName ?? "Error"));
    };
    w.onerror = (e) => {
      e.preventDefault();
      this.#fail(new Error(`${this.name} worker crashed: ${e.message}`));
      this.#worker?.terminate();
      this.#worker = null;
    };
    this.#worker = w;
    return w;
  }

  /** Starts the thread now rather than on the first request (loading takes a while). */
  warmUp(): void {
    if (!this.#closed) this.#ensure();
  }

  /**
   * Sends `request`, transferring the buffers of `transfer` (arrays or buffers); resolves with
   * the reply. Rejects after close(): a new thread then would be one that nothing closes.
   */
  call(request: Req, transfer: readonly (ArrayBufferView | ArrayBuffer)[] = []): Promise<Rep> {
    if (this.#closed) return Promise.reject(new Error(`${this.name} worker closed`));
    const worker = this.#ensure();
    const id = this.#nextId++;
    return new Promise<Rep>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const buffers = transfer.map((b) => ArrayBuffer.isView(b) ? b.buffer as ArrayBuffer : b);
      worker.postMessage({ ...request, id }, buffers);
    });
  }

  /** Terminates the thread for good; pending and later requests reject. */
  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = null;
    this.#fail(new Error(`${this.name} worker closed`));
  }

  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

/** What a request handler answers: the value, and the buffers to transfer with it. */
export interface Answer {
  value: unknown;
  transfer?: ArrayBuffer[];
}

/** How far below the thread that started it a worker runs (a nice value, 0..19). */
const WORKER_NICENESS = 5;

/**
 * The worker side: answers each request with `handle`'s value (and the buffers it names for
 * transfer) or its error. An asynchronous handler's requests overlap (their I/O does).
 *
 * The worker's thread runs at a lower priority than the process's main thread: a worker helps
 * the main thread (compression for the engine, indexing beside it), and when the process has
 * more busy threads than free cores, the one that should wait is the helper, not the engine.
 * Where the process may not change priorities (no `--allow-sys=setPriority`) or the system
 * refuses, the thread keeps its priority.
 */
export function serveRequests<Req>(handle: (request: Req) => Answer | Promise<Answer>): void {
  lowerPriority();
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent<Req & { id: number }>) => Promise<void>) | null;
    postMessage(message: unknown, transfer: Transferable[]): void;
  };
  scope.onmessage = async (e) => {
    const { id } = e.data;
    try {
      const answer = await handle(e.data);
      scope.postMessage({ id, value: answer.value }, answer.transfer ?? []);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      scope.postMessage({ id, error: error.message, errorName: error.name }, []);
    }
  };
}

/** Posts `event` from a worker to its {@link WorkerRpc}'s `onEvent` (between or during replies). */
export function postEvent(event: unknown): void {
  (self as unknown as { postMessage(message: unknown): void }).postMessage({ event });
}

/** Lowers this thread's priority by {@link WORKER_NICENESS}: see {@link serveRequests}. */
function lowerPriority(): void {
  // Asked first: a process started from a terminal without the permission would prompt.
  const allowed = Deno.permissions.querySync({ name: "sys", kind: "setPriority" });
  if (allowed.state !== "granted") return;
  try {
    // On Linux a nice value is per thread: pid 0 is the calling thread, this worker's.
    setPriority(0, Math.min(19, getPriority(0) + WORKER_NICENESS));
  } catch {
    // Not allowed or not supported: only the scheduling differs, the work is the same.
  }
}
