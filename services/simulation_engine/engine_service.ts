/**
 * The simulation-engine service: runs the engine, puts the run's metadata on its queue first,
 * then the run's batches on the tick queue, each compressed once (./batch_publisher.ts). `put`
 * backpressure slows the simulation when persistence falls behind; nothing is dropped.
 *
 * Checkpoints: given `onCheckpoint`, it takes one after every `intervals.checkpoint` chunks and
 * a final one when the run stops, and hands each over once the chunks before it are on the
 * queue. Given `restoreFrom`, it continues a run from a checkpoint instead of starting one.
 * Given `checkpointStorage`, it stores each checkpoint there itself (./checkpoint_store.ts,
 * no-clobber: a resumed run taking the same checkpoint again writes nothing).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { CapturedChunk } from "../../codec/mod.ts";
import { SimulationMetadataSchema, toBinary } from "../../proto/mod.ts";
import type { Queue } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { isTransientStorageError } from "../../resources/storage/transient_errors.ts";
import type { Compressor } from "../../resources/storage/message_stream.ts";
import { BatchPublisher } from "./batch_publisher.ts";
import type { ChunkEncoder } from "./chunk_encoder.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import {
  ancestorPlacement,
  buildMetadata,
  checkpointDue,
  checkpointEngine,
  createEngine,
  type EncodedCheckpoint,
  type EncodedChunk,
  type Engine,
  type EngineConfigInput,
  resolveEngineConfig,
  restoreEngine,
  TickStream,
} from "./runtime/mod.ts";
import { writeRunTarget } from "../common/run_target.ts";
import { storeCheckpoint } from "./checkpoint_store.ts";

/** How long the engine retries storing a checkpoint before the run fails, ms. */
export const CHECKPOINT_RETRY_MS = 120_000;

/** A checkpoint handed to {@link EngineServiceOptions.onCheckpoint}. */
export interface EngineCheckpoint extends EncodedCheckpoint {
  runId: string;
  /** Taken when the run stopped (its tick is the run's last; it may lie inside a chunk). */
  final: boolean;
}

/** Options for {@link EngineService}. */
export interface EngineServiceOptions {
  name: string;
  output: Queue;
  metadataOutput: Queue;
  engine: EngineConfigInput;
  /** Ticks to run; 0 until stopped. */
  ticks: number;
  /**
   * End the run when its population has died out (default true): a world without organisms
   * never has any again, and the engine, with nothing to execute, ran ~90000 empty ticks a
   * second into storage, faster than the rest of the pipeline could keep up with.
   */
  endWhenExtinct?: boolean;
  chunksPerBatch: number;
  /** zstd level of the batches (default 3). */
  zstdLevel?: number;
  /**
   * Compresses the batches and the checkpoints off the engine's thread, e.g. a ZstdWorker
   * (absent: on it).
   */
  compressor?: Compressor;
  /**
   * Encodes the chunks off the engine's thread (a ChunkEncoderThread): the engine then only
   * captures each sample (./chunk_encoder.ts). Absent: chunks are encoded as they come, on the
   * engine's thread. The bytes are the same.
   */
  encoder?: ChunkEncoder;
  runId?: string;
  /** Milliseconds of simulation between yields to the event loop (in-process fairness). */
  sliceMs?: number;
  /**
   * Receives the run's checkpoints: one after every `intervals.checkpoint` chunks (called once
   * the chunks before it are on the queue, i.e. the batch holding them) and a final one when the
   * run stops (after its last chunk). Without it no checkpoint is taken.
   */
  onCheckpoint?: (checkpoint: EngineCheckpoint) => Promise<void> | void;
  /**
   * Continue from this checkpoint (its bytes) instead of starting at tick 0. The config must be
   * the one it was taken with; `runId` defaults to the checkpoint's.
   */
  restoreFrom?: Uint8Array;
  /** Wall clock written into the chunks (`created_at_ms`); default Date.now. */
  clock?: () => number;
  /**
   * Stores the checkpoints a run can be resumed from (those of the cadence that fall on a batch
   * boundary: `chunksPerBatch` divides the chunks before them) and the final one under
   * `runs/<run>/checkpoints/`, before `onCheckpoint` sees them. With it, checkpoints are taken
   * even without `onCheckpoint`, and the run's tick target is recorded there at every start
   * (services/common/run_target.ts).
   */
  checkpointStorage?: Storage;
  /**
   * The run's metadata as already stored (when resuming): put on the metadata queue as is, a
   * duplicate that metadata persistence's no-clobber write ignores, instead of new metadata
   * with another start time.
   */
  metadata?: Uint8Array;
}

/**
 * Chunks an engine with an encoder lets the encoder work on beyond the one held back: enough
 * to ride out the encoder's thread being descheduled for a while, a capture each
 * (~1-3 MB at 256x256).
 */
const ENCODING_AHEAD = 2;

/** An encoded chunk as {@link Completed}. */
function completed(chunk: EncodedChunk | null): Completed | null {
  return chunk === null ? null : { index: chunk.index, chunk };
}

/** A chunk waiting to be put, with the checkpoint taken right after it (if one was due). */
interface HeldChunk {
  /** The chunk; being encoded while the engine goes on, when there is an encoder. */
  chunk: EncodedChunk | Promise<EncodedChunk>;
  checkpoint: EncodedCheckpoint | null;
}

/** A completed chunk: its index (known at once) and the chunk, maybe still being encoded. */
interface Completed {
  index: number;
  chunk: EncodedChunk | Promise<EncodedChunk>;
}

/**
 * A run continues only where a batch begins: a batch record holds whole batches, and the
 * chunks before the checkpoint in its batch are not there to put again.
 */
function checkBatchBoundary(stream: TickStream, tick: number, chunksPerBatch: number): void {
  const at = stream.state();
  const done = at.chunkIndex % chunksPerBatch;
  if (at.open === null && done === 0) return;
  throw new RangeError(
    `Cannot continue from the checkpoint at tick ${tick}: it lies inside batch ` +
      `${Math.floor(at.chunkIndex / chunksPerBatch)} (${done} of its ${chunksPerBatch} chunks ` +
      `done${at.open === null ? "" : ", and inside a chunk"}); continue from one at a batch ` +
      "boundary (evochora run --resume picks it)",
  );
}

/** A run id: UTC time, seed and a random suffix, e.g. `20261127T101530Z-s42-7f3a`. */
export function newRunId(seed: bigint | number | undefined): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const r = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16).padStart(4, "0");
  return `${t}-s${seed ?? 42}-${r}`;
}

/** Runs the simulation and feeds the queues. */
export class EngineService implements Service {
  readonly name: string;
  readonly kind = "simulation-engine";
  readonly runId: string;
  readonly engine: Engine;
  readonly #life: Lifecycle;
  readonly #options: EngineServiceOptions;
  readonly #stream: TickStream;
  readonly #publisher: BatchPublisher;
  #chunks = 0;
  #bytes = 0;
  #startedAt = 0;
  #ticksAtStart = 0;
  #blockedMs = 0;
  #yieldMs = 0;
  #checkpoints = 0;
  #checkpointBytes = 0;
  #checkpointMs = 0;
  #extinctAt: number | null = null;

  constructor(options: EngineServiceOptions) {
    this.#options = options;
    this.name = options.name;
    const config = resolveEngineConfig(options.engine, ancestorPlacement());
    const clock = options.clock === undefined ? {} : { clock: options.clock };
    if (options.restoreFrom !== undefined) {
      const restored = restoreEngine(options.restoreFrom, config, {
        ...(options.runId === undefined ? {} : { runId: options.runId }),
        ...clock,
        capture: options.encoder !== undefined,
      });
      this.runId = options.runId ?? restored.runId;
      this.engine = restored.engine;
      this.#stream = restored.stream;
      checkBatchBoundary(restored.stream, restored.tick, options.chunksPerBatch);
    } else {
      this.runId = options.runId ?? newRunId(config.seed);
      this.engine = createEngine(config);
      this.#stream = new TickStream(this.engine.sim, {
        intervals: config.intervals,
        runId: this.runId,
        ...clock,
        capture: options.encoder !== undefined,
      });
    }
    this.#publisher = new BatchPublisher({
      runId: this.runId,
      chunksPerBatch: options.chunksPerBatch,
      output: options.output,
      zstdLevel: options.zstdLevel ?? 3,
      ...(options.compressor === undefined ? {} : { compressor: options.compressor }),
    });
    this.#life = new Lifecycle(this.name, this.kind);
  }

  /** See Service.done. */
  get done(): Promise<void> {
    return this.#life.done;
  }

  /** Writes the run's metadata, then simulates in the background. */
  start(): Promise<void> {
    return this.#life.start(async () => {
      const value = this.#options.metadata ??
        toBinary(SimulationMetadataSchema, buildMetadata(this.engine, this.runId, Date.now()));
      await this.#options.metadataOutput.put({
        key: this.runId,
        value,
        headers: { run: this.runId },
      });
      const storage = this.#options.checkpointStorage;
      if (storage !== undefined) {
        await this.#retryStorage(
          "recording the run's tick target",
          () => writeRunTarget(storage, this.runId, this.#options.ticks),
        );
      }
      this.#startedAt = performance.now();
      this.#ticksAtStart = this.engine.sim.tick;
    }, (signal) => this.#loop(signal));
  }

  /** The tick at which the run ended because its population had died out, or null. */
  get extinctAt(): number | null {
    return this.#extinctAt;
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const sim = this.engine.sim;
    const target = this.#options.ticks;
    const extinction = this.#options.endWhenExtinct ?? true;
    const goesOn = () => {
      if (target !== 0 && sim.tick >= target) return false;
      if (!extinction || sim.organisms.length > 0) return true;
      this.#extinctAt = sim.tick;
      return false;
    };
    const slice = this.#options.sliceMs ?? 20;
    // One chunk is held back so the run's last chunk can be marked final, which closes the
    // last (short) batch without waiting for chunks that never come. A checkpoint taken after
    // a chunk waits with it, so it is handed over only once that chunk is on the queue. With
    // an encoder, a few more are held while they are being encoded: the engine waits for an
    // encoding only when the encoder falls that far behind.
    const held: HeldChunk[] = [];
    const depth = this.#options.encoder === undefined ? 1 : ENCODING_AHEAD + 1;
    const emit = async (c: Completed | null, flushed = false) => {
      if (c === null) return;
      // A flushed chunk ends early: a checkpoint after it would continue into another chunk.
      held.push({ chunk: c.chunk, checkpoint: flushed ? null : this.#dueCheckpoint(c.index) });
      while (held.length > depth) await this.#release(held.shift()!, false);
    };
    await emit(this.#observe()); // tick 0 (nothing when restored at an observed tick)
    while (!signal.aborted && goesOn()) {
      const until = performance.now() + slice;
      let chunk: Completed | null = null;
      while (chunk === null && goesOn()) {
        sim.step();
        chunk = this.#observe();
        if (performance.now() > until) break;
      }
      await emit(chunk);
      // Let consumers and I/O run: the pipeline shares this thread in-process. setImmediate
      // costs ~10 µs here; setTimeout(0) costs ~2 ms (measured), a third of the run time.
      const y = performance.now();
      await new Promise((r) => setImmediate(r));
      this.#yieldMs += performance.now() - y;
    }
    // The final checkpoint comes before the flush: it holds the open chunk's samples, so a
    // continuation completes that chunk as an uninterrupted longer run would.
    const last = this.#takesCheckpoints() ? this.#takeCheckpoint() : null;
    const newest = held.at(-1);
    if (last !== null && newest?.checkpoint?.tick === last.tick) newest.checkpoint = null;
    await emit(this.#flush(), true);
    while (held.length > 0) await this.#release(held.shift()!, held.length === 0);
    await this.#publisher.flush();
    if (last !== null) await this.#handOver(last, true);
  }

  /** Observes the tick; a completed chunk is encoded here, or handed to the encoder. */
  #observe(): Completed | null {
    const encoder = this.#options.encoder;
    if (encoder === undefined) return completed(this.#stream.observe());
    return this.#toEncoder(encoder, this.#stream.capture());
  }

  /** The run's last, partial chunk, as {@link #observe}. */
  #flush(): Completed | null {
    const encoder = this.#options.encoder;
    if (encoder === undefined) return completed(this.#stream.flush());
    return this.#toEncoder(encoder, this.#stream.flushCapture());
  }

  /** A captured chunk, given to the encoder. */
  #toEncoder(encoder: ChunkEncoder, capture: CapturedChunk | null): Completed | null {
    if (capture === null) return null;
    const chunk = encoder.encode(capture, this.#stream.recycle);
    // Awaited when the chunk is put; a failure meanwhile is not an unhandled rejection.
    chunk.catch(() => {});
    return { index: capture.fields.chunkIndex, chunk };
  }

  /** The checkpoint due after chunk `index` (taken now: it has just closed), if any. */
  #dueCheckpoint(index: number): EncodedCheckpoint | null {
    if (!this.#takesCheckpoints()) return null;
    if (!checkpointDue(this.engine.sim.config.intervals, { index })) return null;
    // Stored only at batch boundaries (see #handOver): without onCheckpoint the others are
    // not worth taking.
    const boundary = (index + 1) % this.#options.chunksPerBatch === 0;
    if (this.#options.onCheckpoint === undefined && !boundary) return null;
    return this.#takeCheckpoint();
  }

  #takesCheckpoints(): boolean {
    return this.#options.onCheckpoint !== undefined ||
      this.#options.checkpointStorage !== undefined;
  }

  #takeCheckpoint(): EncodedCheckpoint {
    const t = performance.now();
    const checkpoint = checkpointEngine(this.engine, this.#stream);
    this.#checkpointMs += performance.now() - t;
    return checkpoint;
  }

  /** Adds a held chunk to its batch; its checkpoint follows it onto the queue. */
  async #release(held: HeldChunk, final: boolean): Promise<void> {
    const t = performance.now();
    const chunk = await held.chunk;
    this.#chunks++;
    this.#bytes += chunk.bytes.length; // before add(): its buffer goes to the compressor
    await this.#publisher.add(chunk, final);
    this.#blockedMs += performance.now() - t;
    const checkpoint = held.checkpoint;
    if (checkpoint !== null) this.#publisher.afterAdded(() => this.#handOver(checkpoint, false));
  }

  async #handOver(checkpoint: EncodedCheckpoint, final: boolean): Promise<void> {
    const storage = this.#options.checkpointStorage;
    // Only a checkpoint at a batch boundary can be resumed from (services/runner/
    // resume_point.ts), so only those, and the final one, are stored.
    const resumable = !checkpoint.insideChunk &&
      checkpoint.chunks % this.#options.chunksPerBatch === 0;
    if (storage !== undefined && (resumable || final)) {
      const t = performance.now();
      await this.#store(storage, checkpoint);
      this.#checkpointMs += performance.now() - t;
    }
    await this.#options.onCheckpoint?.({ ...checkpoint, runId: this.runId, final });
    this.#checkpoints++;
    this.#checkpointBytes += checkpoint.bytes.length;
  }

  /**
   * Stores a checkpoint, retrying through a storage outage (an S3 server restarting: a
   * transient failure) for up to {@link CHECKPOINT_RETRY_MS}: the simulation waits meanwhile, as
   * for a full queue; a longer outage or another failure ends the run.
   */
  async #store(storage: Storage, checkpoint: EncodedCheckpoint): Promise<void> {
    await this.#retryStorage(
      `storing the checkpoint at tick ${checkpoint.tick}`,
      () =>
        storeCheckpoint(
          storage,
          this.runId,
          checkpoint.tick,
          checkpoint.bytes,
          this.#options.compressor,
        ),
    );
  }

  /**
   * Runs a write to the checkpoint storage, trying it again through a transient failure (an S3
   * server restarting) for up to {@link CHECKPOINT_RETRY_MS}, the error in the status meanwhile;
   * a longer outage or another failure propagates.
   */
  async #retryStorage(what: string, write: () => Promise<unknown>): Promise<void> {
    const since = performance.now();
    for (let attempt = 1;; attempt++) {
      try {
        await write();
        this.#life.error = undefined;
        return;
      } catch (e) {
        if (!isTransientStorageError(e) || performance.now() - since >= CHECKPOINT_RETRY_MS) {
          throw e;
        }
        this.#life.error = `${what} failed (attempt ${attempt}): ${(e as Error).message}; retrying`;
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** (attempt - 1))));
      }
    }
  }

  /** Stops at the next slice; the partial chunk is flushed and marked final. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  status(): ServiceStatus {
    const sim = this.engine.sim;
    const secs = this.#startedAt === 0 ? 0 : (performance.now() - this.#startedAt) / 1000;
    return this.#life.status({
      tick: sim.tick,
      ticks_per_second: secs > 0 ? (sim.tick - this.#ticksAtStart) / secs : 0,
      organisms_alive: sim.organisms.length,
      organisms_created: sim.organismsCreated,
      max_generation: sim.maxGeneration,
      instructions: sim.instructionsExecuted,
      chunks: this.#chunks,
      bytes: this.#bytes,
      batches: this.#publisher.stats.batches,
      compressed_bytes: this.#publisher.stats.storedBytes,
      backpressure_ms: this.#blockedMs,
      yielded_ms: this.#yieldMs,
      checkpoints: this.#checkpoints,
      checkpoint_bytes: this.#checkpointBytes,
      checkpoint_ms: this.#checkpointMs,
      extinct_at_tick: this.#extinctAt ?? -1,
    });
  }
}
