/**
 * The engine host's cost of distribution: the engine service putting its batch records on a
 * real Kafka topic (batches framed and zstd-3-compressed on its zstd thread, produced from the
 * Kafka producer's thread, the topic without Kafka compression, as the shipped config and
 * services/runner/resources.ts build it) beside the engine alone (simulation and tick stream,
 * the chunks dropped), same world, seed and ticks. Three alternating rounds, best of each. Needs
 * `deno task services:up`.
 *
 * @module
 */

import { MemoryQueue } from "../resources/queue/memory_queue.ts";
import { ZstdWorker } from "../resources/storage/zstd_worker.ts";
import { EngineService } from "../services/simulation_engine/engine_service.ts";
import { deleteTopics, kafkaBrokers } from "../tests/integration/kafka_helpers.ts";
import { cpuSeconds, type Figure, type Suite } from "./_harness.ts";
import { engineAloneRun } from "./engine_bench.ts";
import { KafkaProducerThread } from "../resources/kafka/producer_thread.ts";
import { tickTopicOptions } from "./kafka_s3_bench.ts";

const ENGINE = { shape: [256, 256], seed: 42 };

/** The engine service on a Kafka topic, until its last batch is acknowledged. */
async function engineOnKafka(
  ticks: number,
  brokers: string[],
  topic: string,
): Promise<{ ms: number; cpu: number; stored: number; raw: number }> {
  const queue = await KafkaProducerThread.open({
    ...tickTopicOptions(brokers, topic),
    transferValues: true,
  });
  const zstd = new ZstdWorker();
  await zstd.compress(new Uint8Array(16), 3);
  try {
    const engine = new EngineService({
      name: "simulation-engine",
      output: queue,
      metadataOutput: new MemoryQueue({ name: "metadata", partitions: 1, maxBytes: 2 ** 26 }),
      engine: ENGINE,
      ticks,
      chunksPerBatch: 5,
      compressor: zstd,
      runId: `bench-${topic}`,
    });
    const t = performance.now();
    const c = cpuSeconds();
    await engine.start();
    await engine.done;
    await queue.flush();
    const ms = performance.now() - t;
    const cpu = cpuSeconds() - c;
    const m = engine.status().metrics;
    if (engine.status().state !== "stopped") {
      throw new Error(`the engine ended ${engine.status().state}: ${engine.status().error}`);
    }
    return { ms, cpu, stored: m.compressed_bytes ?? 0, raw: m.bytes ?? 0 };
  } finally {
    zstd.close();
    await queue.close();
  }
}

/** Engine + Kafka producer beside the engine alone. */
export const engineHostCost: Suite = {
  name: "engine host: engine service on Kafka (batches compressed once) vs the engine alone " +
    "(256x256, seed 42, 30000 ticks)",
  async run(): Promise<Figure[]> {
    const ticks = 30000;
    const brokers = kafkaBrokers().split(",");
    const tag = Date.now().toString(36);
    const topics: string[] = [];
    let alone = { ms: Infinity, cpu: 0 };
    let kafka = { ms: Infinity, cpu: 0, stored: 0, raw: 0 };
    try {
      for (let round = 0; round < 3; round++) {
        const a = engineAloneRun(ticks);
        if (a.ms < alone.ms) alone = a;
        const topic = `bench-engine-host-${tag}-${round}`;
        topics.push(topic);
        const k = await engineOnKafka(ticks, brokers, topic);
        if (k.ms < kafka.ms) kafka = k;
      }
    } finally {
      await deleteTopics(brokers.join(","), topics).catch(() => {});
    }
    const aloneTps = ticks / (alone.ms / 1000);
    const kafkaTps = ticks / (kafka.ms / 1000);
    return [
      { name: "engine alone (simulation + tick stream)", value: aloneTps, unit: "ticks/s" },
      {
        name:
          "engine service on Kafka: batches framed, zstd-3 and producer on their threads, acked",
        value: kafkaTps,
        unit: "ticks/s",
        ratio: kafkaTps / aloneTps,
        ratioOf: "of the engine alone",
      },
      { name: "engine alone: CPU seconds", value: alone.cpu, unit: "s" },
      {
        name: "engine service on Kafka: CPU seconds (all threads)",
        value: kafka.cpu,
        unit: "s",
        ratio: kafka.cpu / alone.cpu,
        ratioOf: "of the engine alone",
      },
      { name: "raw chunk bytes produced", value: kafka.raw / 1e6, unit: "MB" },
      {
        name: "bytes on the wire (compressed batches)",
        value: kafka.stored / 1e6,
        unit: "MB",
        ratio: kafka.raw / kafka.stored,
        ratioOf: "compression",
      },
    ];
  },
};
