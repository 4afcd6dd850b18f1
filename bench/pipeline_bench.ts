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
import { cpuSeconds, type Figure, joinBytes, type Suite } from "./_harness.ts";
import { engineAloneRun, evolvedChunks } from "./engine_bench.ts";

const CHUNKS_PER_BATCH = 5;

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
    const { chunks } = evolvedChunks(30000);
    // Whole batches of the evolved world: from a batch boundary after the first third, to the
    // last boundary.
    const from = Math.ceil(chunks.length / 3 / CHUNKS_PER_BATCH) * CHUNKS_PER_BATCH;
    const to = Math.floor(chunks.length / CHUNKS_PER_BATCH) * CHUNKS_PER_BATCH;
    const evolved = chunks.slice(from, to);
    const raw = evolved.reduce((n, c) => n + c.bytes.length, 0);
    // Plain: concatenate each batch's chunks and compress, no framing, no files.
    let plainMs = performance.now();
    let plainCpu = cpuSeconds();
    for (let i = 0; i < evolved.length; i += CHUNKS_PER_BATCH) {
      const buf = joinBytes(evolved.slice(i, i + CHUNKS_PER_BATCH));
      zstdCompressSync(buf, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
    }
    plainMs = performance.now() - plainMs;
    plainCpu = cpuSeconds() - plainCpu;

    // The engine's half: its publisher frames and compresses each batch on a zstd thread.
    const queue = new MemoryQueue({ name: "raw", partitions: 1, maxBytes: 2 ** 31 });
    const zstd = new ZstdWorker();
    // Steady state: the zstd thread is loaded before the clock starts.
    await zstd.decompress(await zstd.compress(new Uint8Array(16), 3));
    const publisher = new BatchPublisher({
      runId: "bench",
      chunksPerBatch: CHUNKS_PER_BATCH,
      output: queue,
      zstdLevel: 3,
      compressor: zstd,
      maxInFlight: 4,
    });
    let publishMs = performance.now();
    let publishCpu = cpuSeconds();
    // Not the run's final chunk: these chunks are the middle of a run, and a final batch would
    // make the worker wait (up to a minute) for the run's earlier batches to end the run.
    for (const c of evolved) await publisher.add(c, false);
    await publisher.flush();
    publishMs = performance.now() - publishMs;
    publishCpu = cpuSeconds() - publishCpu;

    const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
    const storage = await FilesystemStorage.open({ root: dir });
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
      decompressor: zstd,
    });
    let ms = performance.now();
    let cpu = cpuSeconds();
    await worker.start();
    while ((queue.stats().lag.persistence ?? 1) > 0) await new Promise((r) => setTimeout(r, 1));
    ms = performance.now() - ms;
    cpu = cpuSeconds() - cpu;
    await worker.stop();
    zstd.close();
    const stored = worker.status().metrics.stored_bytes ?? 0;
    const dead = worker.status().metrics.dead_letters ?? 0;
    await Deno.remove(dir, { recursive: true });
    if (dead > 0) throw new Error(`${dead} batch records went to the dead-letter store`);
    const perCore = (cpuS: number) => raw / 1e6 / cpuS;
    const wall = (msTaken: number) => raw / 1e6 / (msTaken / 1000);
    const plain = { wall: wall(plainMs), core: perCore(plainCpu) };
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
        value: wall(publishMs),
        unit: "MB/s",
        ...vsPlain(wall(publishMs), plain.wall),
      },
      {
        name: "engine side per CPU second",
        value: perCore(publishCpu),
        unit: "MB/s/core",
        ...vsPlain(perCore(publishCpu), plain.core),
      },
      {
        name:
          "persistence worker: drain, check (decompress), write, fsync, BatchInfo, commit (wall)",
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
      { name: "compression ratio of the stored batches", value: raw / stored, unit: "×" },
    ];
  },
};

/** The whole in-process pipeline beside the engine alone, same seed and ticks. */
export const pipelineVsEngine: Suite = {
  name: "pipeline: in-process end to end vs the engine alone (256x256, seed 42, 30000 ticks)",
  async run(): Promise<Figure[]> {
    const ticks = 30000;
    // Peak resident memory per phase (of this process, which ran the suites before too).
    const peaks = { alone: 0, pipeline: 0 };
    let phase: keyof typeof peaks = "alone";
    const sample = () => (peaks[phase] = Math.max(peaks[phase], Deno.memoryUsage().rss));
    const sampler = setInterval(sample, 50);

    // Alternating rounds, best of each: the machine is shared and one round is noisy.
    let aloneMs = Infinity;
    let ms = Infinity;
    let rawBytes = 0;
    let stored = 0;
    for (let round = 0; round < 2; round++) {
      // Engine alone: simulation plus the tick stream (the chunks it would hand to a queue).
      phase = "alone";
      aloneMs = Math.min(aloneMs, engineAloneRun(ticks).ms);
      sample();
      phase = "pipeline";

      // The pipeline of this comparison is engine, queue and persistence; the indexers (which
      // decode every batch again) are measured separately below.
      const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
      const pipeline = await Pipeline.create(
        resolveConfig(
          defaultConfig({
            dataDir: dir,
            ticks,
            persistence: 3,
            engine: { seed: 42 },
            indexers: false,
          }),
        ),
      );
      const t = performance.now();
      await pipeline.start();
      await pipeline.engine!.done;
      const complete = await pipeline.stop(120000);
      ms = Math.min(ms, performance.now() - t);
      const st = pipeline.status();
      stored = st.services.reduce((n, s) => n + (s.metrics.stored_bytes ?? 0), 0);
      rawBytes = st.services.find((s) => s.kind === "simulation-engine")!.metrics.bytes ?? 0;
      await Deno.remove(dir, { recursive: true });
      if (!complete) throw new Error("pipeline did not drain");
    }
    clearInterval(sampler);

    const dir2 = await Deno.makeTempDir({ prefix: "evochora-bench-" });
    const withIndexers = await Pipeline.create(
      resolveConfig(defaultConfig({ dataDir: dir2, ticks, persistence: 3, engine: { seed: 42 } })),
    );
    let ms2 = performance.now();
    await withIndexers.start();
    await withIndexers.engine!.done;
    await withIndexers.stop(120000);
    ms2 = performance.now() - ms2;
    await Deno.remove(dir2, { recursive: true });
    const aloneTps = ticks / (aloneMs / 1000);
    const tps = ticks / (ms / 1000);
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
        value: ticks / (ms2 / 1000),
        unit: "ticks/s",
        ratio: ticks / (ms2 / 1000) / aloneTps,
        ratioOf: "of the engine alone",
      },
      { name: "raw chunk bytes through the pipeline", value: rawBytes / 1e6, unit: "MB" },
      { name: "stored (zstd-3)", value: stored / 1e6, unit: "MB" },
      {
        name: "peak resident memory while the engine ran alone",
        value: peaks.alone / 2 ** 20,
        unit: "MiB",
      },
      {
        name: "peak resident memory while the pipeline ran",
        value: peaks.pipeline / 2 ** 20,
        unit: "MiB",
      },
    ];
  },
};
