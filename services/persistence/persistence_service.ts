/**
 * The persistence service: one of N competing workers. It drains batch records (each a whole
 * batch, framed and zstd-compressed once by the engine: services/common/batch_record.ts),
 * checks each (./batch_check.ts; a record that fails is a dead letter), writes it as it came
 * as the batch's file, publishes a BatchInfo, and only then commits the record. A crash before
 * the commit redelivers it; the replay writes the same key and bytes and the no-clobber commit
 * makes it a no-op. The worker compresses nothing: the CPU it spends per raw byte is the
 * check's decompression (on the decompressor's thread when there is one) and the I/O.
 *
 * The worker that stores the batch holding a run's final chunk also ends the run: it writes the
 * run's end record once the run's batches are stored (./run_ending.ts), and only then commits
 * that batch's record, so the end record is written exactly once through the same rules.
 *
 * @module
 */

import { BatchInfoSchema, create, FORMAT_VERSION, toBinary } from "../../proto/mod.ts";
import type { Consumer, Delivery, Queue } from "../../resources/queue/queue.ts";
import { writeCompressedMessages } from "../../resources/storage/message_stream.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { isTransientStorageError } from "../../resources/storage/transient_errors.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import { type BatchRecordInfo, firstChunkOf, parseBatchRecord } from "../common/batch_record.ts";
import { checkBatch, type Decompressor, inlineDecompressor } from "./batch_check.ts";
import { runConsumerLoop } from "../common/consumer_loop.ts";
import { writeDeadLetter } from "../common/dead_letters.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import { batchKey } from "../common/storage_layout.ts";
import { type RunEnding, tryEndRun } from "./run_ending.ts";

/** Options for {@link PersistenceService}. */
export interface PersistenceOptions {
  name: string;
  input: Queue;
  storage: Storage;
  notify: Topic;
  group: string;
  maxRecords: number;
  drainTimeoutMs: number;
  attempts: number;
  retryBaseMs: number;
  /**
   * Where batches are decompressed to be checked, e.g. a worker thread (the wiring makes and
   * closes it), so that checking overlaps with the rest of the process. Absent: on the calling
   * thread.
   */
  decompressor?: Decompressor;
  /**
   * Longest wait, ms, for a run's other batches before its end record is written anyway (naming
   * how many were stored). Default 60000: a crashed worker's batch returns when its records are
   * redelivered.
   */
  endWaitMs?: number;
  /** Interval between looks for those batches, ms. Default 250. */
  endPollMs?: number;
}

interface Pending {
  info: BatchRecordInfo;
  partition: number;
  /**
   * Its deliveries, the first one's value written: more than one when the batch was put again
   * (a resumed engine).
   */
  deliveries: Delivery[];
  /** Failed attempts so far, and when the next may start. */
  failures: number;
  notBefore: number;
  /** Its file's key once written and announced (the records are not committed yet). */
  stored: string | undefined;
  /** The run's end, while this batch (holding the final chunk) waits to end the run. */
  ending: RunEnding | undefined;
}

/** Longest wait between attempts to write a batch while storage is away, ms. */
const MAX_WAIT_MS = 5_000;

/** Batches written concurrently by one worker. */
const WRITES_IN_FLIGHT = 3;

/** Writes batches of chunks to storage. */
export class PersistenceService implements Service {
  readonly name: string;
  readonly kind = "persistence";
  readonly #life: Lifecycle;
  readonly #o: PersistenceOptions;
  #consumer: Consumer | null = null;
  readonly #pending = new Map<string, Pending>();
  readonly #m = {
    records: 0,
    bytes: 0,
    stored_bytes: 0,
    batches: 0,
    duplicate_batches: 0,
    dead_letters: 0,
    errors: 0,
    retries: 0,
    abandoned_batches: 0,
    runs_ended: 0,
    end_waits: 0,
  };

  constructor(options: PersistenceOptions) {
    this.#o = options;
    this.name = options.name;
    this.#life = new Lifecycle(this.name, this.kind);
  }

  /** See Service.done. */
  get done(): Promise<void> {
    return this.#life.done;
  }

  /** See Service.start. */
  start(): Promise<void> {
    return this.#life.start(
      () => {
        this.#consumer = this.#o.input.consumer({ group: this.#o.group, member: this.name });
      },
      (signal) =>
        runConsumerLoop({
          consumer: this.#consumer!,
          signal,
          maxRecords: this.#o.maxRecords,
          drainTimeoutMs: this.#o.drainTimeoutMs,
          onDrainError: (message) => {
            this.#m.errors++;
            this.#life.error = message;
          },
          handle: async (deliveries) => {
            for (const d of deliveries) await this.#accept(d);
            await this.#writePending();
            this.#dropLost();
          },
          // In-flight incomplete batches are abandoned uncommitted: whoever gets their
          // partitions next receives the records again.
          onEnd: () => {
            this.#m.abandoned_batches += this.#pending.size;
            this.#pending.clear();
          },
        }),
    );
  }

  async #accept(d: Delivery): Promise<void> {
    this.#m.records++;
    let info: BatchRecordInfo;
    try {
      info = parseBatchRecord(d);
      await checkBatch(info, d.value, this.#o.decompressor ?? inlineDecompressor);
    } catch (e) {
      await this.#deadLetterAndCommit([d], `undecodable batch record: ${(e as Error).message}`, 1);
      return;
    }
    this.#m.bytes += info.rawBytes;
    const id = `${info.runId}/${info.batch}`;
    const p = this.#pending.get(id);
    if (p !== undefined) {
      // The same batch again (put again by a resumed engine, or redelivered): one file, and
      // every delivery of it committed once the file is written.
      p.deliveries.push(d);
      return;
    }
    this.#pending.set(id, {
      info,
      partition: d.partition,
      deliveries: [d],
      failures: 0,
      notBefore: 0,
      stored: undefined,
      ending: undefined,
    });
  }

  /**
   * Writes the pending batches with up to {@link WRITES_IN_FLIGHT} at once, starting the next
   * as soon as one finishes, so that the storage's round trips overlap.
   */
  async #writePending(): Promise<void> {
    const ready = [...this.#pending].filter(([, p]) => performance.now() >= p.notBefore);
    let next = 0;
    const lane = async () => {
      while (next < ready.length) {
        const [id, p] = ready[next++]!;
        if (await this.#writeBatch(p)) this.#pending.delete(id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, ready.length) }, lane));
  }

  /**
   * Writes and notifies (once), ends the run when the batch holds its final chunk, commits.
   * Returns false when the batch must be tried again later.
   */
  async #writeBatch(p: Pending): Promise<boolean> {
    if (p.stored === undefined) {
      const stored = await this.#storeBatch(p);
      if (typeof stored === "boolean") return stored;
      p.stored = stored;
      this.#life.error = undefined;
    }
    if (p.info.final && !(await this.#endRun(p))) return false;
    await this.#consumer!.commit(p.deliveries);
    return true;
  }

  /**
   * Writes the batch's file and publishes its BatchInfo. Returns the key, or whether the batch
   * is done with (true: dead-lettered and committed; false: try again later).
   */
  async #storeBatch(p: Pending): Promise<string | boolean> {
    const { info } = p;
    const key = batchKey(info.runId, info.firstTick, info.lastTick);
    const deliveries = p.deliveries;
    let written: Awaited<ReturnType<typeof writeCompressedMessages>>;
    try {
      const value = deliveries[0]!.value;
      written = await writeCompressedMessages(this.#o.storage, key, value, info.rawBytes);
    } catch (e) {
      p.failures++;
      this.#m.errors++;
      this.#life.error = `writing '${key}' failed (attempt ${p.failures}): ${(e as Error).message}`;
      // Storage away (unreachable, restarting, 5xx) is no fault of the records: they wait for it
      // however long it takes, never to the dead-letter store (which a partly recovered server
      // may accept before it accepts the batch).
      const transient = isTransientStorageError(e);
      if (p.failures < this.#o.attempts || transient) {
        this.#m.retries++;
        const backoff = this.#o.retryBaseMs * 2 ** Math.min(p.failures - 1, 16);
        p.notBefore = performance.now() + (transient ? Math.min(backoff, MAX_WAIT_MS) : backoff);
        return false;
      }
      // Bounded retries are over: the records go to the dead-letter store with the reason, so
      // the partition moves on. If even that fails, they stay uncommitted and are retried.
      const ok = await this.#deadLetterAndCommit(
        deliveries,
        `batch '${key}' could not be written after ${p.failures} attempts: ${(e as Error).message}`,
        p.failures,
      );
      if (!ok) p.notBefore = performance.now() + this.#o.retryBaseMs * 2 ** this.#o.attempts;
      return ok;
    }
    if (written.created) this.#m.batches++;
    else this.#m.duplicate_batches++;
    this.#m.stored_bytes += written.storedBytes;
    const batchInfo = create(BatchInfoSchema, {
      runId: info.runId,
      storageKey: key,
      firstTick: BigInt(info.firstTick),
      lastTick: BigInt(info.lastTick),
      rawBytes: BigInt(written.rawBytes),
      storedBytes: BigInt(written.storedBytes),
      chunkCount: info.chunkCount,
      writer: this.name,
      writtenAtMs: BigInt(Date.now()),
      formatVersion: FORMAT_VERSION,
    });
    try {
      await this.#o.notify.publish({
        key: info.runId,
        value: toBinary(BatchInfoSchema, batchInfo),
        headers: { run: info.runId, key },
      });
    } catch (e) {
      // The file is durable; without a notification the records stay uncommitted, and a
      // replay re-publishes (the write is then a no-op).
      this.#m.errors++;
      this.#life.error = `publishing BatchInfo for '${key}' failed: ${(e as Error).message}`;
      p.notBefore = performance.now() + this.#o.retryBaseMs;
      return false;
    }
    return key;
  }

  /**
   * Tries to write the run's end record (see ./run_ending.ts). false: not yet (the run's other
   * batches are still missing, or storage failed); the batch stays pending, uncommitted.
   */
  async #endRun(p: Pending): Promise<boolean> {
    const { info } = p;
    p.ending ??= {
      runId: info.runId,
      finalIndex: firstChunkOf(info) + info.chunkCount - 1,
      chunksPerBatch: info.batchChunks,
      lastTick: info.lastTick,
      finalBatchKey: p.stored!,
      since: performance.now(),
    };
    let attempt: Awaited<ReturnType<typeof tryEndRun>>;
    try {
      attempt = await tryEndRun(
        this.#o.storage,
        p.ending,
        this.name,
        this.#o.endWaitMs ?? 60_000,
        performance.now(),
      );
    } catch (e) {
      this.#m.errors++;
      this.#life.error = `ending run '${info.runId}' failed: ${(e as Error).message}; will retry`;
      p.notBefore = performance.now() + this.#o.retryBaseMs;
      return false;
    }
    if (!attempt.ended) {
      this.#m.end_waits++;
      p.notBefore = performance.now() + (this.#o.endPollMs ?? 250);
      return false;
    }
    if (attempt.created) this.#m.runs_ended++;
    if (attempt.stored < attempt.expected) {
      this.#life.error =
        `run '${info.runId}' ended with ${attempt.stored} of ${attempt.expected} ` +
        `batches stored after waiting ${this.#o.endWaitMs ?? 60_000} ms`;
    }
    return true;
  }

  /** Stores each record as a DeadLetter, then commits them. false when storing failed. */
  async #deadLetterAndCommit(
    deliveries: readonly Delivery[],
    reason: string,
    attempts: number,
  ): Promise<boolean> {
    const from = { source: this.#o.input.name, service: this.name };
    try {
      for (const d of deliveries) {
        await writeDeadLetter(this.#o.storage, from, d, reason, attempts);
        this.#m.dead_letters++;
      }
    } catch (e) {
      this.#m.errors++;
      this.#life.error = `dead-letter store failed: ${
        (e as Error).message
      }; records stay uncommitted`;
      return false;
    }
    await this.#consumer!.commit(deliveries);
    return true;
  }

  /** Forgets batches of partitions this member lost in a rebalance (never commits them). */
  #dropLost(): void {
    const owned = new Set(this.#consumer!.assignment());
    for (const [id, p] of this.#pending) {
      if (!owned.has(p.partition)) {
        this.#pending.delete(id);
        this.#m.abandoned_batches++;
      }
    }
  }

  /** See Service.stop. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  /** Simulates a crash for tests: leaves the group without finishing or committing anything. */
  async crash(): Promise<void> {
    this.#pending.clear();
    const stopped = this.#life.stop();
    await this.#consumer?.close();
    await stopped;
  }

  /** See Service.status. */
  status(): ServiceStatus {
    return this.#life.status({ ...this.#m, pending_batches: this.#pending.size });
  }
}
