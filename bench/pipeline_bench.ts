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
import { chunkRecord } from "../services/common/chunk_record.ts";
import { PersistenceService } from "../services/persistence/persistence_service.ts";
import { defaultConfig, Pipeline, resolveConfig } from "../services/runner/mod.ts";
import {
  ancestorPlacement,
  createEngine,
  resolveEngineConfig,
  TickStream,
} from "../services/simulation_engine/runtime/mod.ts";
import { cpuSeconds, type Figure, joinBytes, type Suite } from "./_harness.ts";
import { evolvedChunks } from "./engine_bench.ts";

const CHUNKS_PER_BATCH = 5;

/** One persistence worker writing real chunks to files, beside zstd-3 of the same batches. */
export const persistenceThroughput: Suite = {
  name: "persistence: one worker vs plain zstd-3 of the same bytes (256x256 chunks)",
  async run(): Promise<Figure[]> {
    const { chunks } = evolvedChunks(30000);
    // Whole batches of the evolved world: from a batch boundary after the first third, to the
    // last boundary (a partial batch would wait for the rest of its chunks).
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

    const queue = new MemoryQueue({ name: "raw", partitions: 1, maxBytes: 2 ** 31 });
    for (const c of evolved) {
      await queue.put(chunkRecord({
        runId: "bench",
        chunkIndex: c.index,
        firstTick: c.firstTick,
        lastTick: c.lastTick,
        batchChunks: CHUNKS_PER_BATCH,
        // Not the run's final chunk: these chunks are the middle of a run, and a final chunk
        // would make the worker wait (up to a minute) for the run's earlier batches before it
        // writes the end record, which measured that wait instead of the worker.
        final: false,
      }, c.bytes));
    }
    const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
    const storage = await FilesystemStorage.open({ root: dir });
    // Steady state: the compression thread is loaded before the clock starts.
    const zstd = new ZstdWorker();
    await zstd.compress(new Uint8Array(16), 3);
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
      zstdLevel: 3,
      compressor: zstd,
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
    await Deno.remove(dir, { recursive: true });
    const mbs = raw / 1e6 / (ms / 1000);
    const plainMbs = raw / 1e6 / (plainMs / 1000);
    const perCore = raw / 1e6 / cpu;
    const plainPerCore = raw / 1e6 / plainCpu;
    return [
      { name: `raw chunk bytes persisted`, value: raw / 1e6, unit: "MB" },
      { name: "plain zstd-3 of the batches (wall)", value: plainMbs, unit: "MB/s" },
      {
        name: "persistence worker: drain, frame, zstd-3, fsync, BatchInfo, commit (wall)",
        value: mbs,
        unit: "MB/s",
        ratio: mbs / plainMbs,
        ratioOf: "of plain zstd-3",
      },
      { name: "plain zstd-3 per CPU second", value: plainPerCore, unit: "MB/s/core" },
      {
        name: "persistence worker per CPU second",
        value: perCore,
        unit: "MB/s/core",
        ratio: perCore / plainPerCore,
        ratioOf: "of plain zstd-3",
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
      const config = resolveEngineConfig({ shape: [256, 256], seed: 42 }, ancestorPlacement());
      const engine = createEngine(config);
      const stream = new TickStream(engine.sim, { intervals: config.intervals, runId: "bench" });
      let t = performance.now();
      stream.observe();
      for (let i = 0; i < ticks; i++) {
        engine.sim.step();
        stream.observe();
      }
      stream.flush();
      sample();
      aloneMs = Math.min(aloneMs, performance.now() - t);
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
      t = performance.now();
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
