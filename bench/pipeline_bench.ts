/**
 * Pipeline benchmarks: persistence throughput beside plain zstd-3 of the same bytes, and the
 * in-process pipeline's ticks/s beside the engine alone, with peak memory.
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import { MemoryQueue } from "../resources/queue/memory_queue.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { MemoryTopic } from "../resources/topic/memory_topic.ts";
import { ZstdWorker } from "../resources/storage/zstd_worker.ts";
import { BatchPublisher } from "../services/simulation_engine/batch_publisher.ts";
import { PersistenceService } from "../services/persistence/persistence_service.ts";
import { defaultConfig, Pipeline, resolveConfig } from "../services/runner/mod.ts";
import type { EncodedChunk } from "../services/simulation_engine/runtime/mod.ts";
import { cpuSeconds, type Figure, joinBytes, type Suite } from "./_harness.ts";
import { engineAloneRun, evolvedChunks } from "./engine_bench.ts";

const CHUNKS_PER_BATCH = 5;

/** Wall ms and CPU seconds of one piece of work. */
interface Timing {
  ms: number;
  cpu: number;
}

/** Starts the clocks; the returned function reads the wall and CPU time since. */
function stopwatch(): () => Timing {
  const ms = performance.now();
  const cpu = cpuSeconds();
  return () => ({ ms: performance.now() - ms, cpu: cpuSeconds() - cpu });
}

/**
 * Whole batches of the evolved world: from a batch boundary after the first third, to the last
 * boundary.
 */
function evolvedBatchChunks(): EncodedChunk[] {
  const { chunks } = evolvedChunks(30000);
  const from = Math.ceil(chunks.length / 3 / CHUNKS_PER_BATCH) * CHUNKS_PER_BATCH;
  const to = Math.floor(chunks.length / CHUNKS_PER_BATCH) * CHUNKS_PER_BATCH;
  return chunks.slice(from, to);
}

/** Plain: concatenate each batch's chunks and compress, no framing, no files. */
function timePlainZstd(evolved: readonly EncodedChunk[]): Timing {
  const elapsed = stopwatch();
  for (let i = 0; i < evolved.length; i += CHUNKS_PER_BATCH) {
    const buf = joinBytes(evolved.slice(i, i + CHUNKS_PER_BATCH));
    zstdCompressSync(buf, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
  }
  return elapsed();
}

/** Where the engine's half publishes to, and the zstd thread both halves share. */
interface PersistenceRig {
  queue: MemoryQueue;
  zstd: ZstdWorker;
}

/** The engine's half: its publisher frames and compresses each batch on the zstd thread. */
async function timeEngineSide(
  rig: PersistenceRig,
  evolved: readonly EncodedChunk[],
): Promise<Timing> {
  // Steady state: the zstd thread is loaded before the clock starts.
  await rig.zstd.decompress(await rig.zstd.compress(new Uint8Array(16), 3));
  const publisher = new BatchPublisher({
    runId: "bench",
    chunksPerBatch: CHUNKS_PER_BATCH,
    output: rig.queue,
    zstdLevel: 3,
    compressor: rig.zstd,
    maxInFlight: 4,
  });
  const elapsed = stopwatch();
  // Not the run's final chunk: these chunks are the middle of a run, and a final batch would
  // make the worker wait (up to a minute) for the run's earlier batches to end the run.
  for (const c of evolved) await publisher.add(c, false);
  await publisher.flush();
  return elapsed();
}

/** The persistence half's time, and what its worker stored and dead-lettered. */
interface WorkerDrain {
  timing: Timing;
  stored: number;
  dead: number;
}

/** One persistence worker draining the queue into files in a temporary directory. */
async function timePersistenceWorker(rig: PersistenceRig): Promise<WorkerDrain> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
  const storage = await FilesystemStorage.open({ root: dir });
  try {
    return await drainWith(rig, storage);
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Times one persistence worker on `storage` until the queue is drained. */
async function drainWith(rig: PersistenceRig, storage: FilesystemStorage): Promise<WorkerDrain> {
  const { queue } = rig;
  const worker = new PersistenceService({
    name: "p",
    input: queue,
    storage,
    notify: new MemoryTopic({ name: "t", partitions: 1 }),
    group: "persistence",
    maxRecords: 64,
    drainTimeoutMs: 5,
    attempts: 3,
    retryBaseMs: 10,
    decompressor: rig.zstd,
  });
  const elapsed = stopwatch();
  await worker.start();
  while ((queue.stats().lag.persistence ?? 1) > 0) await new Promise((r) => setTimeout(r, 1));
  const timing = elapsed();
  await worker.stop();
  const stored = worker.status().metrics.stored_bytes ?? 0;
  const dead = worker.status().metrics.dead_letters ?? 0;
  return { timing, stored, dead };
}

/** Everything the persistence table is made of. */
interface PersistenceMeasurements {
  /** Raw chunk bytes of the batches. */
  raw: number;
  plain: Timing;
  engine: Timing;
  worker: WorkerDrain;
}

/** The persistence table: each half's wall and per-core speed beside plain zstd-3's. */
function persistenceFigures(m: PersistenceMeasurements): Figure[] {
  const { raw, engine } = m;
  const perCore = (cpuS: number) => raw / 1e6 / cpuS;
  const wall = (msTaken: number) => raw / 1e6 / (msTaken / 1000);
  const plain = { wall: wall(m.plain.ms), core: perCore(m.plain.cpu) };
  const { ms, cpu } = m.worker.timing;
  const vsPlain = (value: number, of: number) => ({
    ratio: value / of,
    ratioOf: "of plain zstd-3",
  });
  return [
    { name: `raw chunk bytes persisted`, value: raw / 1e6, unit: "MB" },
    { name: "plain zstd-3 of the batches (wall)", value: plain.wall, unit: "MB/s" },
    { name: "plain zstd-3 per CPU second", value: plain.core, unit: "MB/s/core" },
    {
      name: "engine side: frame + zstd-3 per batch on its zstd thread, put (wall)",
      value: wall(engine.ms),
      unit: "MB/s",
      ...vsPlain(wall(engine.ms), plain.wall),
    },
    {
      name: "engine side per CPU second",
      value: perCore(engine.cpu),
      unit: "MB/s/core",
      ...vsPlain(perCore(engine.cpu), plain.core),
    },
    {
      name: "persistence worker: drain, check (decompress), write, fsync, BatchInfo, commit (wall)",
      value: wall(ms),
      unit: "MB/s",
      ...vsPlain(wall(ms), plain.wall),
    },
    {
      name: "persistence worker per CPU second",
      value: perCore(cpu),
      unit: "MB/s/core",
      ...vsPlain(perCore(cpu), plain.core),
    },
    { name: "compression ratio of the stored batches", value: raw / m.worker.stored, unit: "×" },
  ];
}

/**
 * The two halves of persisting real batches: the engine host's batch compression (frame and
 * zstd-3 once per batch, on its worker thread) and one persistence worker storing the batch
 * records (check by decompression, write, fsync, BatchInfo, commit), beside plain zstd-3 of
 * the same batches.
 */
export const persistenceThroughput: Suite = {
  name:
    "persistence: engine-side batch compression and one worker vs plain zstd-3 (256x256 chunks)",
  async run(): Promise<Figure[]> {
    const evolved = evolvedBatchChunks();
    const raw = evolved.reduce((n, c) => n + c.bytes.length, 0);
    const plain = timePlainZstd(evolved);
    const rig: PersistenceRig = {
      queue: new MemoryQueue({ name: "raw", partitions: 1, maxBytes: 2 ** 31 }),
      zstd: new ZstdWorker(),
    };
    try {
      const engine = await timeEngineSide(rig, evolved);
      const worker = await timePersistenceWorker(rig);
      if (worker.dead > 0) {
        throw new Error(`${worker.dead} batch records went to the dead-letter store`);
      }
      return persistenceFigures({ raw, plain, engine, worker });
    } finally {
      rig.zstd.close();
    }
  },
};

/** Ticks of every run in the pipeline comparison. */
const PIPELINE_TICKS = 30000;

/**
 * Peak resident memory per phase (of this process, which ran the suites before too), sampled
 * every 50 ms from construction until stop().
 */
class PhasePeaks {
  readonly peaks = { alone: 0, pipeline: 0 };
  phase: keyof PhasePeaks["peaks"] = "alone";
  readonly #sampler = setInterval(() => this.sample(), 50);

  /** Counts the current resident memory toward the current phase. */
  sample(): void {
    this.peaks[this.phase] = Math.max(this.peaks[this.phase], Deno.memoryUsage().rss);
  }

  stop(): void {
    clearInterval(this.#sampler);
  }
}

/** One in-process pipeline run, timed from start until its stop returned. */
interface PipelineRun {
  ms: number;
  /** Whether the pipeline drained within the stop's timeout. */
  complete: boolean;
  /** Raw chunk bytes the engine produced. */
  rawBytes: number;
  /** Bytes the persistence workers stored. */
  stored: number;
}

/**
 * The default in-process pipeline (engine, memory queue, 3 persistence workers, files in a
 * temporary directory), with or without the indexers, seed 42.
 */
async function timePipeline(options: { ticks: number; indexers: boolean }): Promise<PipelineRun> {
  const { ticks, indexers } = options;
  const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
  const pipeline = await Pipeline.create(
    resolveConfig(
      defaultConfig({ dataDir: dir, ticks, persistence: 3, engine: { seed: 42 }, indexers }),
    ),
  );
  const t = performance.now();
  await pipeline.start();
  await pipeline.engine!.done;
  const complete = await pipeline.stop(120000);
  const ms = performance.now() - t;
  const st = pipeline.status();
  const stored = st.services.reduce((n, s) => n + (s.metrics.stored_bytes ?? 0), 0);
  const rawBytes = st.services.find((s) => s.kind === "simulation-engine")!.metrics.bytes ?? 0;
  await Deno.remove(dir, { recursive: true });
  return { ms, complete, rawBytes, stored };
}

/** Everything the pipeline table is made of. */
interface PipelineMeasurements {
  /** The engine alone's best time, ms. */
  aloneMs: number;
  /** The pipeline's (without indexers) best time, ms. */
  ms: number;
  /** Raw and stored bytes of the pipeline's last round. */
  rawBytes: number;
  stored: number;
  withIndexersMs: number;
  peaks: PhasePeaks["peaks"];
}

/** The pipeline table: each pipeline's ticks/s beside the engine alone, then bytes and memory. */
function pipelineFigures(m: PipelineMeasurements): Figure[] {
  const ticks = PIPELINE_TICKS;
  const aloneTps = ticks / (m.aloneMs / 1000);
  const tps = ticks / (m.ms / 1000);
  return [
    { name: "engine alone (simulation + tick stream)", value: aloneTps, unit: "ticks/s" },
    {
      name: "pipeline: engine, memory queue, 3 persistence workers, files",
      value: tps,
      unit: "ticks/s",
      ratio: tps / aloneTps,
      ratioOf: "of the engine alone",
    },
    {
      name: "pipeline with the three indexers as well (2 cores shared)",
      value: ticks / (m.withIndexersMs / 1000),
      unit: "ticks/s",
      ratio: ticks / (m.withIndexersMs / 1000) / aloneTps,
      ratioOf: "of the engine alone",
    },
    { name: "raw chunk bytes through the pipeline", value: m.rawBytes / 1e6, unit: "MB" },
    { name: "stored (zstd-3)", value: m.stored / 1e6, unit: "MB" },
    {
      name: "peak resident memory while the engine ran alone",
      value: m.peaks.alone / 2 ** 20,
      unit: "MiB",
    },
    {
      name: "peak resident memory while the pipeline ran",
      value: m.peaks.pipeline / 2 ** 20,
      unit: "MiB",
    },
  ];
}

/** The whole in-process pipeline beside the engine alone, same seed and ticks. */
export const pipelineVsEngine: Suite = {
  name: "pipeline: in-process end to end vs the engine alone (256x256, seed 42, 30000 ticks)",
  async run(): Promise<Figure[]> {
    const ticks = PIPELINE_TICKS;
    const rss = new PhasePeaks();
    // Alternating rounds, best of each: the machine is shared and one round is noisy.
    let aloneMs = Infinity;
    let ms = Infinity;
    let rawBytes = 0;
    let stored = 0;
    for (let round = 0; round < 2; round++) {
      // Engine alone: simulation plus the tick stream (the chunks it would hand to a queue).
      rss.phase = "alone";
      aloneMs = Math.min(aloneMs, engineAloneRun(ticks).ms);
      rss.sample();
      rss.phase = "pipeline";
      // The pipeline of this comparison is engine, queue and persistence; the indexers (which
      // decode every batch again) are measured separately below.
      const run = await timePipeline({ ticks, indexers: false });
      ms = Math.min(ms, run.ms);
      ({ rawBytes, stored } = run);
      if (!run.complete) throw new Error("pipeline did not drain");
    }
    rss.stop();
    const withIndexers = await timePipeline({ ticks, indexers: true });
    return pipelineFigures({
      aloneMs,
      ms,
      rawBytes,
      stored,
      withIndexersMs: withIndexers.ms,
      peaks: rss.peaks,
    });
  },
};
