/**
 * A Kafka queue whose producer lives on a worker thread: put() hands the record to the thread
 * (its value's buffer transferred) and resolves when the broker acknowledged it, as
 * {@link KafkaQueue.put} does. kafkajs' work per record (request encoding, CRC32C of every
 * record batch in JavaScript, buffer copies) then runs beside the caller instead of on its
 * thread: for the engine, ~7% of its thread while it produced to Kafka.
 *
 * Consumers joined through it run on the calling thread (a second client, connected on first
 * use). The thread's clients report their brokers' health to this thread's registry
 * ({@link endpointHealth}), so that a process waiting for its broker says so.
 *
 * @module
 */

import { ClosedError } from "../queue/queue.ts";
import type { Consumer, ConsumerOptions, LogStats, Queue, QueueRecord } from "../queue/queue.ts";
import { endpointHealth, type EndpointReport } from "../common/endpoint_health.ts";
import { ownBytes, WorkerRequestError, WorkerRpc } from "../worker/worker_rpc.ts";
import { KafkaQueue, type KafkaQueueOptions } from "./kafka_queue.ts";

/** Options of {@link KafkaProducerThread}: a KafkaQueue's, less what cannot cross threads. */
export interface KafkaProducerThreadOptions extends Omit<KafkaQueueOptions, "client" | "onLog"> {
  /**
   * Hand each put record's value buffer over to the thread instead of copying it (default
   * false). The caller must then own the buffer and not use it after put(), as the engine's
   * batches are.
   */
  transferValues?: boolean;
}

/** What the thread is asked (see ./_producer_thread_worker.ts). */
export type ProducerRequest =
  | { op: "open"; options: Omit<KafkaProducerThreadOptions, "transferValues"> }
  | { op: "put"; record: QueueRecord; seq: number; abortable: boolean }
  | { op: "abort"; seq: number }
  | { op: "flush" }
  | { op: "watch"; group: string }
  | { op: "stats" }
  | { op: "close" };

/** What the thread posts between replies. */
export interface ProducerEvent {
  health: EndpointReport;
}

const NO_STATS: LogStats = {
  recordsIn: 0,
  bytesIn: 0,
  recordsOut: 0,
  bytesOut: 0,
  redelivered: 0,
  retainedBytes: 0,
  lag: {},
  blockedProducers: 0,
};

/** How old the thread's stats may be before stats() asks for new ones, ms. */
const STATS_MAX_AGE_MS = 250;

/** See the module doc. */
export class KafkaProducerThread implements Queue {
  readonly name: string;
  readonly partitions: number;
  /** The Kafka topic. */
  readonly topic: string;
  readonly #o: KafkaProducerThreadOptions;
  readonly #rpc = new WorkerRpc<ProducerRequest, unknown>(
    new URL("./_producer_thread_worker.ts", import.meta.url),
    "Kafka producer",
    (event) => endpointHealth.apply((event as ProducerEvent).health),
  );
  #consuming: KafkaQueue | undefined;
  #seq = 0;
  #closed = false;
  #stats: LogStats = NO_STATS;
  #statsAt = -Infinity;
  #refreshing: Promise<void> | undefined;

  private constructor(options: KafkaProducerThreadOptions) {
    this.#o = options;
    this.name = options.name;
    this.partitions = options.partitions;
    this.topic = options.topic ?? options.name;
  }

  /**
   * Starts the thread and sets the queue up there (connects, creates or checks the topic): a
   * wrong address or a mismatching topic fails here, as {@link KafkaQueue.open} does.
   */
  static async open(options: KafkaProducerThreadOptions): Promise<KafkaProducerThread> {
    const q = new KafkaProducerThread(options);
    const { transferValues: _, ...queueOptions } = options;
    try {
      await q.#call({ op: "open", options: queueOptions });
    } catch (e) {
      q.#rpc.close();
      throw e;
    }
    return q;
  }

  /** See Queue.put. Resolves when the broker acknowledged the record (all its parts). */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`queue ${this.name}`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const value = this.#o.transferValues === true ? ownBytes(record.value) : record.value.slice();
    const seq = this.#seq++;
    const sent: QueueRecord = { key: record.key, value };
    if (record.headers !== undefined) sent.headers = record.headers;
    const request: ProducerRequest = {
      op: "put",
      record: sent,
      seq,
      abortable: signal !== undefined,
    };
    const put = this.#call(request, [value]).then(() => {});
    if (signal === undefined) return put;
    const abort = () => void this.#call({ op: "abort", seq }).catch(() => {});
    signal.addEventListener("abort", abort, { once: true });
    return put.finally(() => signal.removeEventListener("abort", abort));
  }

  /** See Queue.flush. The stats are current when it resolves. */
  async flush(): Promise<void> {
    if (this.#closed) throw new ClosedError(`queue ${this.name}`);
    await this.#call({ op: "flush" });
    await this.#refresh();
  }

  /** See Queue.consumer: consumers run on this thread, on a client of their own. */
  consumer(options: ConsumerOptions): Consumer {
    if (this.#closed) throw new ClosedError(`queue ${this.name}`);
    const { transferValues: _, groups: __, ...queueOptions } = this.#o;
    this.#consuming ??= new KafkaQueue(queueOptions);
    const consumer = this.#consuming.consumer(options);
    // The thread's producer counts the group's commits (maxRetainedBytes) from now on.
    void this.#call({ op: "watch", group: options.group }).catch(() => {});
    return consumer;
  }

  /**
   * See Queue.stats. The producer's figures are the thread's latest (at most ~250 ms old while
   * asked for, exact after flush()); the consumers' are this thread's. A group's lag is the
   * larger of the two views: the thread knows its own records the moment they are acknowledged
   * but reads the group's commits from the broker now and then, the consumers here know their
   * commits but read the topic's end from the broker now and then. Either alone can read 0
   * while a record just produced is still to be consumed.
   */
  stats(): LogStats {
    // Not after close(): the thread is gone, the last figures stay.
    if (!this.#closed && performance.now() - this.#statsAt > STATS_MAX_AGE_MS) {
      void this.#refresh();
    }
    const consuming = this.#consuming?.stats();
    if (consuming === undefined) return this.#stats;
    const lag = { ...this.#stats.lag };
    for (const [group, n] of Object.entries(consuming.lag)) {
      lag[group] = Math.max(lag[group] ?? 0, n);
    }
    return {
      ...this.#stats,
      recordsOut: consuming.recordsOut,
      bytesOut: consuming.bytesOut,
      redelivered: consuming.redelivered,
      lag,
    };
  }

  /** See Queue.close. Accepted records are stored first (up to `closeTimeoutMs`). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#consuming?.close();
      await this.#call({ op: "close" });
    } finally {
      this.#rpc.close();
    }
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= this.#call({ op: "stats" })
      .then((stats) => {
        this.#stats = stats as LogStats;
        this.#statsAt = performance.now();
      })
      .catch(() => {}) // the last figures stay; put() and flush() report failures
      .finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  #call(request: ProducerRequest, transfer: Uint8Array[] = []): Promise<unknown> {
    return this.#rpc.call(request, transfer).catch((e) => {
      throw rebuild(e, this.name);
    });
  }
}

/**
 * The error the thread's queue threw, as this thread's class where callers tell them apart
 * (closed, aborted, bad argument); others keep their name and message.
 */
function rebuild(e: unknown, name: string): unknown {
  if (!(e instanceof WorkerRequestError)) return e;
  switch (e.errorName) {
    case "ClosedError":
      return new ClosedError(`queue ${name}`);
    case "AbortError":
      return new DOMException(e.message, "AbortError");
    case "TypeError":
      return new TypeError(e.message);
    case "RangeError":
      return new RangeError(e.message);
    default: {
      const error = new Error(e.message);
      error.name = e.errorName;
      return error;
    }
  }
}
