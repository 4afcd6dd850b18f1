/**
 * Kafka benchmark: MB/s of real chunks through the KafkaQueue (produce with zstd, then consume
 * and commit) beside Kafka's own ProducerPerformance tool from the broker's jars, same broker,
 * same run. Needs `deno task services:up`.
 *
 * @module
 */

import { KafkaQueue } from "../resources/kafka/kafka_queue.ts";
import { kafkaBrokers } from "../tests/integration/kafka_helpers.ts";
import type { Figure, Suite } from "./_harness.ts";
import { evolvedChunks } from "./engine_bench.ts";

function kafkaLibs(): string {
  const home = Deno.env.get("HOME") ?? "/root";
  const cache = Deno.env.get("EVOCHORA_CACHE") ?? `${home}/.cache/evochora`;
  return `${cache}/kafka-4.1.1/libs`;
}

/** Runs ProducerPerformance; returns its MB/s (the tool's own summary line). */
async function producerPerformance(
  brokers: string,
  topic: string,
  records: number,
  size: number,
): Promise<number> {
  const out = await new Deno.Command("java", {
    args: [
      "-Xmx512m",
      "-cp",
      `${kafkaLibs()}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(size),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${brokers}`,
      "compression.type=zstd",
      "acks=all",
      "max.request.size=2097152",
      "max.block.ms=30000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  // Last line: "N records sent, R records/sec (X MB/sec), ..."
  const m = /records\/sec \(([\d.]+) MB\/sec\)[^\n]*\n?$/.exec(text.trim());
  if (!out.success || !m) {
    throw new Error(
      `ProducerPerformance failed: ${new TextDecoder().decode(out.stderr).slice(-500)}${
        text.slice(-300)
      }`,
    );
  }
  // The tool's MB is 2^20 bytes; report 10^6 like every other figure here.
  return Number(m[1]) * 2 ** 20 / 1e6;
}

/** KafkaQueue beside ProducerPerformance. */
export const kafkaThroughput: Suite = {
  name: "kafka: KafkaQueue (zstd) vs Kafka's ProducerPerformance, same broker",
  async run(): Promise<Figure[]> {
    const brokers = kafkaBrokers();
    const { chunks } = evolvedChunks(20000);
    const values = chunks.slice(-60).map((c) => c.bytes);
    const bytes = values.reduce((n, v) => n + v.length, 0);
    const avg = Math.round(bytes / values.length);
    const tag = Date.now().toString(36);
    const queue = await KafkaQueue.open({
      name: "bench",
      topic: `bench-queue-${tag}`,
      partitions: 6,
      brokers: brokers.split(","),
      compression: "zstd",
    });
    let produceMs = performance.now();
    for (const [i, v] of values.entries()) await queue.put({ key: `b/${i % 12}`, value: v });
    await queue.flush();
    produceMs = performance.now() - produceMs;
    const consumer = queue.consumer({ group: `bench-${tag}`, member: "m" });
    let consumeMs = performance.now();
    let got = 0;
    while (got < values.length) {
      const d = await consumer.drain(64, 5000);
      if (d.length === 0) break;
      await consumer.commit(d);
      got += d.length;
    }
    consumeMs = performance.now() - consumeMs;
    await consumer.close();
    await queue.close();
    // The broker does not create topics on demand: create the tool's topic the same way.
    const perfTopic = `bench-perf-${tag}`;
    await (await KafkaQueue.open({
      name: "perf",
      topic: perfTopic,
      partitions: 6,
      brokers: brokers.split(","),
    })).close();
    const tool = await producerPerformance(brokers, perfTopic, values.length, avg);
    const produce = bytes / 1e6 / (produceMs / 1000);
    const both = bytes / 1e6 / ((produceMs + consumeMs) / 1000);
    return [
      {
        name: `records: ${values.length} chunks, ${avg} B on average`,
        value: bytes / 1e6,
        unit: "MB",
      },
      {
        name: "Kafka ProducerPerformance (Java, zstd, acks=all, same record count and size)",
        value: tool,
        unit: "MB/s",
      },
      {
        name: "KafkaQueue produce (each put awaited, as the engine does)",
        value: produce,
        unit: "MB/s",
        ratio: produce / tool,
        ratioOf: "of ProducerPerformance",
      },
      {
        name: "KafkaQueue consume + commit",
        value: bytes / 1e6 / (consumeMs / 1000),
        unit: "MB/s",
      },
      { name: "KafkaQueue produce + consume", value: both, unit: "MB/s" },
      { name: "records consumed", value: got, unit: "" },
    ];
  },
};
