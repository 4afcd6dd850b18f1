/**
 * The producing half of the Kafka queue and topic: routes records by key to a partition
 * (murmur2, as the in-memory queue and Kafka's default partitioner), splits large values into
 * parts, batches records (kafkajs has no linger: this buffer is flushed on size or time),
 * keeps one produce request in flight (the idempotent producer's ordering needs it), and
 * applies backpressure on put() by the bytes accepted but not yet acknowledged.
 *
 * @module
 */

import { ClosedError, type QueueRecord } from "../queue/queue.ts";
import { abortReason, partitionForKey } from "../queue/partitioned_log.ts";
import type { KafkaLogSink } from "./logger.ts";
import type { OutgoingMessage, ProducedPartition, ProducerClient } from "./client_interfaces.ts";
import { partHeaders, RESERVED_PREFIX, splitValue } from "./large_messages.ts";

/** Bytes counted per message on top of value, key and headers (Kafka record overhead). */
export const RECORD_OVERHEAD = 64;

/** Options of a BatchingProducer. */
export interface BatchingProducerOptions {
  /** For messages, e.g. `queue raw-tick-data`. */
  what: string;
  topic: string;
  partitions: number;
  /** Split threshold: values larger than this are sent as parts of at most this size. */
  maxMessageBytes: number;
  /** Bound on bytes accepted but not yet acknowledged (a larger record passes alone). */
  maxBytes: number;
  /** How long a record may wait for more to batch with (0: send as soon as idle). */
  lingerMs: number;
  /** Most bytes per partition in one produce request (a larger single part goes alone). */
  batchBytes: number;
  compression: "zstd" | "none";
  /** Returns the connected producer (waits for topic setup on first use). */
  connect: () => Promise<ProducerClient>;
  sink: KafkaLogSink;
  /**
   * An extra admission rule checked with the in-flight bound (the queue's retained-bytes
   * bound): may a record of `size` bytes be accepted while `inflight` bytes are unacknowledged?
   */
  canAdmit?: (size: number, inflight: number) => boolean;
  /** Called for each stored record: its partition, the offset of its last part and its size. */
  onStored?: (partition: number, offset: number, size: number, valueBytes: number) => void;
  /** Prefix of message ids (unique per producer instance; default a random UUID). */
  producerId?: string;
}

/** One put() between admission and acknowledgement. */
interface PutOp {
  readonly size: number;
  readonly valueBytes: number;
  readonly partition: number;
  partsLeft: number;
  lastOffset: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/** One message in the buffer. */
interface Outgoing {
  readonly op: PutOp;
  readonly message: OutgoingMessage;
  readonly wireBytes: number;
}

/** A put() waiting for room. */
interface Blocked {
  readonly size: number;
  admit(): void;
  reject(error: unknown): void;
}

/** A record checked and copied for sending. */
interface Prepared {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
  /** Bytes counted for backpressure (as the in-memory queue counts). */
  size: number;
}

const utf8 = new TextEncoder();

function prepare(record: QueueRecord): Prepared {
  if (typeof record.key !== "string") throw new TypeError("record key must be a string");
  if (!(record.value instanceof Uint8Array)) {
    throw new TypeError("record value must be a Uint8Array");
  }
  const headers: Record<string, string> = {};
  let size = record.value.byteLength + record.key.length;
  for (const [k, v] of Object.entries(record.headers ?? {})) {
    if (typeof v !== "string") throw new TypeError(`header ${k} must be a string`);
    if (k.startsWith(RESERVED_PREFIX)) {
      throw new TypeError(`header ${k}: names starting with ${RESERVED_PREFIX} are reserved`);
    }
    headers[k] = v;
    size += k.length + v.length;
  }
  // Copied: producers reuse encode buffers, and put() may resolve after the caller moved on.
  return { key: record.key, value: record.value.slice(), headers, size };
}

function headerBytes(h: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(h)) n += utf8.encode(k).length + utf8.encode(v).length + 4;
  return n;
}

/** See the module doc. */
export class BatchingProducer {
  readonly #o: BatchingProducerOptions;
  readonly #producerId: string;
  #seq = 0;
  /** Per partition, messages waiting to be sent, in order. */
  readonly #queues: Outgoing[][];
  #bufferedBytes = 0;
  #bufferedCount = 0;
  /** When the oldest buffered message arrived (performance.now()). */
  #oldest = 0;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes of admitted, unsettled puts. */
  #inflight = 0;
  #unsettled = 0;
  readonly #blocked: Blocked[] = [];
  #sending = false;
  /** Set by flush()/close(): send regardless of linger until the buffer is empty. */
  #flushing = 0;
  readonly #idleWaiters: (() => void)[] = [];
  #closed = false;
  /** Counters. */
  recordsStored = 0;
  bytesStored = 0;
  requests = 0;
  lastError: string | undefined;

  constructor(options: BatchingProducerOptions) {
    for (
      const [name, v] of [
        ["maxMessageBytes", options.maxMessageBytes],
        ["maxBytes", options.maxBytes],
        ["batchBytes", options.batchBytes],
      ] as const
    ) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
      }
    }
    if (!(options.lingerMs >= 0)) {
      throw new RangeError(`lingerMs must be >= 0, got ${options.lingerMs}`);
    }
    this.#o = options;
    this.#producerId = options.producerId ?? crypto.randomUUID();
    this.#queues = Array.from({ length: options.partitions }, () => []);
  }

  /** Puts waiting for room. */
  get blocked(): number {
    return this.#blocked.length;
  }

  /** Bytes accepted but not yet acknowledged (or failed). */
  get inflightBytes(): number {
    return this.#inflight;
  }

  /** Accepts a record; resolves when the broker acknowledged all its parts. */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void> {
    try {
      if (this.#closed) throw new ClosedError(this.#o.what);
      if (signal?.aborted) throw abortReason(signal);
      const prepared = prepare(record);
      if (this.#blocked.length === 0 && this.#fits(prepared.size)) {
        return this.#enqueue(prepared);
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.#blocked.indexOf(entry);
          if (i < 0) return;
          this.#blocked.splice(i, 1);
          reject(abortReason(signal));
          this.admit();
        };
        const entry: Blocked = {
          size: prepared.size,
          admit: () => {
            signal?.removeEventListener("abort", onAbort);
            this.#enqueue(prepared).then(resolve, reject);
          },
          reject: (e) => {
            signal?.removeEventListener("abort", onAbort);
            reject(e);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#blocked.push(entry);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Admits blocked puts in order while they fit (call when the canAdmit rule may pass). */
  admit(): void {
    while (!this.#closed) {
      const head = this.#blocked[0];
      if (head === undefined || !this.#fits(head.size)) return;
      this.#blocked.shift();
      head.admit();
    }
  }

  /** Sends everything buffered now; resolves when every admitted put has settled. */
  async flush(): Promise<void> {
    if (this.#unsettled === 0) return;
    this.#flushing++;
    try {
      this.#pump();
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Stops accepting: blocked puts reject with ClosedError; admitted ones are sent for up to
   * `timeoutMs`, then what is left rejects with ClosedError.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const b of this.#blocked.splice(0)) b.reject(new ClosedError(this.#o.what));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.#clearLinger();
    const left: Outgoing[] = [];
    for (const q of this.#queues) left.push(...q.splice(0));
    this.#bufferedBytes = 0;
    this.#bufferedCount = 0;
    for (const m of left) this.#settle(m.op, new ClosedError(this.#o.what));
  }

  #fits(size: number): boolean {
    const inflightOk = this.#inflight === 0 || this.#inflight + size <= this.#o.maxBytes;
    return inflightOk && (this.#o.canAdmit?.(size, this.#inflight) ?? true);
  }

  #enqueue(p: Prepared): Promise<void> {
    const partition = partitionForKey(p.key, this.#o.partitions);
    const parts = splitValue(p.value, this.#o.maxMessageBytes);
    const keyBytes = utf8.encode(p.key).length;
    return new Promise<void>((resolve, reject) => {
      const op: PutOp = {
        size: p.size,
        valueBytes: p.value.byteLength,
        partition,
        partsLeft: parts.length,
        lastOffset: -1,
        settled: false,
        resolve,
        reject,
      };
      this.#inflight += p.size;
      this.#unsettled++;
      const msg = parts.length > 1 ? `${this.#producerId}:${this.#seq++}` : "";
      const q = this.#queues[partition]!;
      if (this.#bufferedCount === 0) this.#oldest = performance.now();
      parts.forEach((value, i) => {
        const headers = parts.length > 1 ? partHeaders(i, parts.length, msg, p.headers) : p.headers;
        const wireBytes = value.byteLength + keyBytes + headerBytes(headers) + RECORD_OVERHEAD;
        q.push({ op, message: { partition, key: p.key, value, headers }, wireBytes });
        this.#bufferedBytes += wireBytes;
        this.#bufferedCount++;
      });
      this.#pump();
    });
  }

  #clearLinger(): void {
    if (this.#lingerTimer !== undefined) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
    }
  }

  /** Sends the next request if one is due and none is in flight. */
  #pump(): void {
    if (this.#sending) return;
    if (this.#bufferedCount === 0) {
      this.#clearLinger();
      if (this.#unsettled === 0) { for (const w of this.#idleWaiters.splice(0)) w(); }
      return;
    }
    const wait = this.#oldest + this.#o.lingerMs - performance.now();
    const due = this.#flushing > 0 || this.#closed || this.#o.lingerMs === 0 ||
      this.#bufferedBytes >= this.#o.batchBytes || wait <= 0;
    if (!due) {
      if (this.#lingerTimer === undefined) {
        this.#lingerTimer = setTimeout(() => {
          this.#lingerTimer = undefined;
          this.#pump();
        }, Math.max(1, Math.ceil(wait)));
      }
      return;
    }
    this.#clearLinger();
    const batch: Outgoing[] = [];
    for (const q of this.#queues) {
      let bytes = 0;
      let n = 0;
      while (n < q.length && (n === 0 || bytes + q[n]!.wireBytes <= this.#o.batchBytes)) {
        bytes += q[n]!.wireBytes;
        n++;
      }
      if (n > 0) {
        batch.push(...q.splice(0, n));
        this.#bufferedBytes -= bytes;
        this.#bufferedCount -= n;
      }
    }
    if (this.#bufferedCount > 0) this.#oldest = performance.now();
    this.#sending = true;
    this.requests++;
    this.#send(batch).finally(() => {
      this.#sending = false;
      this.admit();
      this.#pump();
    });
  }

  async #send(batch: Outgoing[]): Promise<void> {
    let produced: ProducedPartition[];
    try {
      const producer = await this.#o.connect();
      produced = await producer.send(
        this.#o.topic,
        batch.map((m) => m.message),
        this.#o.compression,
      );
    } catch (e) {
      const message = `${this.#o.what}: cannot store ${batch.length} record(s) in Kafka topic ` +
        `'${this.#o.topic}': ${(e as Error)?.message ?? e}`;
      this.lastError = message;
      this.#o.sink.error("producer", message, e);
      const error = new Error(message, { cause: e });
      for (const m of batch) this.#settle(m.op, error);
      // Parts of the failed puts still buffered must not go out without their first parts.
      this.#dropSettled();
      return;
    }
    const base = new Map<number, number>();
    for (const r of produced) base.set(r.partition, r.baseOffset);
    const next = new Map<number, number>();
    for (const m of batch) {
      const p = m.message.partition;
      const b = base.get(p);
      const offset = b === undefined || b < 0 ? -1 : b + (next.get(p) ?? 0);
      next.set(p, (next.get(p) ?? 0) + 1);
      const op = m.op;
      if (op.settled) continue;
      op.partsLeft--;
      op.lastOffset = offset;
      if (op.partsLeft === 0) this.#settle(op, undefined);
    }
  }

  #settle(op: PutOp, error: unknown): void {
    if (op.settled) return;
    op.settled = true;
    this.#inflight -= op.size;
    this.#unsettled--;
    if (error === undefined) {
      this.recordsStored++;
      this.bytesStored += op.valueBytes;
      try {
        this.#o.onStored?.(op.partition, op.lastOffset, op.size, op.valueBytes);
      } catch (e) {
        this.#o.sink.error("producer", "onStored callback failed", e);
      }
      op.resolve();
    } else {
      op.reject(error);
    }
    if (this.#unsettled === 0 && this.#bufferedCount === 0) {
      for (const w of this.#idleWaiters.splice(0)) w();
    }
  }

  #dropSettled(): void {
    for (const q of this.#queues) {
      const keep = q.filter((m) => !m.op.settled);
      for (const m of q) {
        if (m.op.settled) {
          this.#bufferedBytes -= m.wireBytes;
          this.#bufferedCount--;
        }
      }
      q.splice(0, q.length, ...keep);
    }
  }
}
