/**
 * Kafka -> S3 persistence benchmark: a 6-partition tick topic filled with the engine's real
 * batches (its batch records: keys, partitioning, zstd-3 once per batch), then drained by persistence worker
 * processes started exactly as `evochora service` starts them (`deno run <derived flags>
 * services/persistence/main.ts --config F persistence-N`) into the real S3 server: once with one
 * worker, once with three competing ones (a fresh consumer group and key prefix each). CPU
 * seconds come from the workers' own accounting (/proc/<pid>/stat, all threads), beside plain
 * zstd-3 of the same batches per CPU second in this process (what the engine host spends on
 * them: it compresses each batch once). Needs `deno task services:up`.
 *
 * `deno run -A bench/kafka_s3_bench.ts [ticks]` runs this suite alone (default 105000 ticks).
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import { Kafka, logLevel } from "kafkajs";
import { planChildren } from "../cli/service_launcher.ts";
import { createKafkaClient } from "../resources/kafka/client.ts";
import { KafkaQueue, type KafkaQueueOptions } from "../resources/kafka/kafka_queue.ts";
import { KafkaTopic } from "../resources/kafka/kafka_topic.ts";
import { BatchInfoSchema, fromBinary } from "../proto/mod.ts";
import { listAllKeys } from "../resources/storage/list_all_keys.ts";
import { S3Storage } from "../resources/storage/s3_storage.ts";
import { rawPrefix } from "../services/common/storage_layout.ts";
import { type PipelineConfig, resolveConfig } from "../services/runner/mod.ts";
import type { EncodedChunk } from "../services/simulation_engine/runtime/mod.ts";
import { BatchPublisher } from "../services/simulation_engine/batch_publisher.ts";
import { deleteTopics } from "../tests/integration/kafka_helpers.ts";
import {
  isolatedKafkaS3,
  loadServicesEnv,
  removePrefix,
} from "../tests/integration/pipeline_services.ts";
import { cpuSeconds, type Figure, joinBytes, procFile, runSuites, type Suite } from "./_harness.ts";
import { evolvedChunks } from "./engine_bench.ts";

const ROOT = new URL("../", import.meta.url);
const CONFIG_MODULE = new URL("services/runner/config.ts", ROOT).href;
const RUN_ID = "bench";
/** The shipped config's chunks per batch (the engine's default). */
const CHUNKS_PER_BATCH = 5;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

/** Progress on stderr (the report goes to stdout). */
function progress(text: string): void {
  console.error(`[kafka -> S3 bench] ${text}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of a process, all its threads and waited-for children included. */
async function processCpu(pid: number): Promise<number> {
  const stat = await procFile(pid, "stat");
  if (stat === null) throw new Error(`Cannot read /proc/${pid}/stat: the process is gone`);
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]].map(Number);
  return (utime! + stime! + cutime! + cstime!) / USER_HZ;
}

/**
 * Plain zstd-3 of the batches (each batch's chunks concatenated, no framing) on this thread, with
 * nothing else running: raw bytes and MB per CPU second.
 */
function plainZstd(chunks: EncodedChunk[]): { raw: number; perCpu: number } {
  let raw = 0;
  let cpu = 0;
  for (let i = 0; i < chunks.length; i += CHUNKS_PER_BATCH) {
    const joined = joinBytes(chunks.slice(i, i + CHUNKS_PER_BATCH));
    const before = cpuSeconds();
    zstdCompressSync(joined, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
    cpu += cpuSeconds() - before;
    raw += joined.length;
  }
  return { raw, perCpu: raw / 1e6 / cpu };
}

/**
 * A 6-partition tick topic as the shipped config has it: without Kafka compression, since its
 * batch records are zstd already.
 */
export function tickTopicOptions(brokers: string | string[], topic: string): KafkaQueueOptions {
  return { name: "raw-tick-data", topic, partitions: 6, brokers, compression: "none" };
}

/** Opens {@link tickTopicOptions}' topic. */
export function openTickTopic(brokers: string | string[], topic: string): Promise<KafkaQueue> {
  return KafkaQueue.open(tickTopicOptions(brokers, topic));
}

/** The engine's chunks as batch records on the topic, as the engine puts them. */
async function fillTopic(brokers: string, topic: string, chunks: EncodedChunk[]): Promise<void> {
  const queue = await openTickTopic(brokers, topic);
  try {
    const publisher = new BatchPublisher({
      runId: RUN_ID,
      chunksPerBatch: CHUNKS_PER_BATCH,
      output: queue,
      zstdLevel: 3,
      maxInFlight: 4,
    });
    for (const c of chunks) await publisher.add(c, c === chunks[chunks.length - 1]);
    await publisher.flush();
    await queue.flush();
  } finally {
    await queue.close();
  }
}

/** One drain: the config's workers, their group and key prefix. */
interface Drain {
  workers: number;
  group: string;
  prefix: string;
}

/** What one drain measured. */
interface Drained {
  wallS: number;
  /** CPU seconds of the workers from their group join to the last commit. */
  cpuS: number;
  /** CPU seconds of the workers from their start to the last commit. */
  totalCpuS: number;
  batches: number;
  /** From the moment every worker was in the group (rebalances done) to the last commit. */
  steady: { wallS: number; cpuS: number; rawMB: number };
}

/**
 * Raw bytes of the batches written at or after `sinceMs` (epoch), from the BatchInfos on the
 * batch topic (each says when it was written and how many raw bytes it holds).
 */
async function rawBytesWrittenSince(
  o: { tag: string; brokers: string },
  drain: Drain,
  sinceMs: number,
): Promise<number> {
  const c = isolatedKafkaS3(o.tag, { ticks: 0 });
  const r = c.resources["batch-topic"];
  if (r?.kind !== "kafka-topic") throw new Error("kafka-s3.config.ts has no batch-topic");
  const topic = new KafkaTopic({
    name: "batch-topic",
    topic: r.topic!,
    partitions: r.partitions ?? 1,
    brokers: o.brokers,
  });
  const reader = topic.subscribe({ group: `${drain.group}-reader`, member: "bench" });
  let bytes = 0;
  try {
    for (;;) {
      const got = await reader.drain(1000, 2000);
      if (got.length === 0) break;
      for (const d of got) {
        // The drains run one after the other on one batch topic: an earlier drain's batches
        // were all written before this drain's workers joined.
        const info = fromBinary(BatchInfoSchema, d.value);
        if (Number(info.writtenAtMs) >= sinceMs) bytes += Number(info.rawBytes);
      }
    }
  } finally {
    await reader.close();
    await topic.close();
  }
  return bytes;
}

/** The isolated config with `drain.workers` persistence workers on the filled topic. */
function drainConfig(tag: string, topic: string, drain: Drain): PipelineConfig {
  const c = isolatedKafkaS3(tag, { ticks: 0 });
  const ticks = c.resources["raw-tick-data"];
  if (ticks?.kind !== "kafka-queue") {
    throw new Error("kafka-s3.config.ts has no raw-tick-data queue");
  }
  ticks.topic = topic;
  ticks.groups = [drain.group];
  for (const r of Object.values(c.resources)) if (r.kind === "s3") r.prefix = drain.prefix;
  const keep = Array.from({ length: drain.workers }, (_, i) => `persistence-${i + 1}`);
  for (const name of Object.keys(c.services)) {
    const s = c.services[name]!;
    if (!keep.includes(name)) delete c.services[name];
    else if (s.kind === "persistence") s.group = drain.group;
  }
  c.startupSequence = keep;
  return c;
}

/** Writes the config as a TS module importing defineConfig by absolute URL. */
async function writeConfig(dir: string, name: string, config: PipelineConfig): Promise<string> {
  const file = `${dir}/${name}.config.ts`;
  await Deno.writeTextFile(
    file,
    `import { defineConfig } from "${CONFIG_MODULE}";\n\n` +
      `export default defineConfig(${JSON.stringify(config, null, 2)});\n`,
  );
  return file;
}

/** Starts the workers, waits until the group committed every record, stops them. */
async function drainWith(
  o: { tag: string; topic: string; dir: string; env: Record<string, string>; brokers: string },
  drain: Drain,
): Promise<Drained> {
  const config = drainConfig(o.tag, o.topic, drain);
  const file = await writeConfig(o.dir, `${drain.workers}w`, config);
  const specs = planChildren({
    config: resolveConfig(config),
    services: config.startupSequence!,
    configPath: file,
    env: (n) => o.env[n],
    engineArgs: [],
    commonArgs: [],
  });
  const admin = createKafkaClient({ brokers: o.brokers, logLevel: "nothing" }).admin();
  const kafka = new Kafka({ brokers: o.brokers.split(","), logLevel: logLevel.NOTHING });
  const groups = kafka.admin();
  await Promise.all([admin.connect(), groups.connect()]);
  const ends = await admin.topicOffsets(o.topic);
  // EVOCHORA_KAFKA_LOG reaches the workers, and EVOCHORA_BENCH_LOGS=<dir> keeps their stderr.
  const kafkaLog = Deno.env.get("EVOCHORA_KAFKA_LOG");
  const children = specs.map((s) =>
    new Deno.Command(s.command[0]!, {
      args: s.command.slice(1),
      cwd: ROOT.pathname,
      env: kafkaLog === undefined ? o.env : { ...o.env, EVOCHORA_KAFKA_LOG: kafkaLog },
      // --exit-with-parent: the worker exits when its stdin closes, i.e. when this process ends.
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn()
  );
  const stderr = children.map((c) => new Response(c.stderr).text());
  const keep = Deno.env.get("EVOCHORA_BENCH_LOGS");
  if (keep !== undefined) {
    stderr.forEach((text, i) =>
      void text.then((t) =>
        Deno.writeTextFile(`${keep}/${o.tag}-${drain.workers}w-${specs[i]!.services[0]}.log`, t)
      )
    );
  }
  let exited: string | undefined;
  children.forEach((c, i) =>
    void c.status.then((st) => (exited ??= `${specs[i]!.services[0]} exited (code ${st.code})`))
  );
  const joinedCpu = new Map<string, number>();
  let firstJoin = NaN;
  let allJoined: { at: number; epochMs: number; cpu: number } | undefined;
  try {
    const deadline = performance.now() + 600_000;
    for (;;) {
      if (performance.now() > deadline) throw new Error("the workers did not drain in 10 min");
      if (exited !== undefined) throw new Error(exited);
      const described = await groups.describeGroups([drain.group]);
      const group = described.groups[0];
      if (
        allJoined === undefined && group?.state === "Stable" &&
        group.members.length === children.length
      ) {
        const cpus = await Promise.all(children.map((c) => processCpu(c.pid)));
        allJoined = {
          at: performance.now(),
          epochMs: Date.now(),
          cpu: cpus.reduce((a, b) => a + b, 0),
        };
      }
      for (const m of group?.members ?? []) {
        const i = specs.findIndex((s) => m.clientId === `evochora-${s.services[0]}`);
        if (i < 0 || joinedCpu.has(m.clientId)) continue;
        joinedCpu.set(m.clientId, await processCpu(children[i]!.pid));
        if (Number.isNaN(firstJoin)) firstJoin = performance.now();
      }
      const committed = await admin.groupOffsets(drain.group, o.topic);
      const done = ends.every((e) =>
        (committed.find((c) => c.partition === e.partition)?.offset ?? -1) >= e.high
      );
      if (done) break;
      await sleep(50);
    }
    const end = performance.now();
    const cpus = await Promise.all(children.map((c) => processCpu(c.pid)));
    const joined = [...joinedCpu.values()].reduce((a, b) => a + b, 0);
    const total = cpus.reduce((a, b) => a + b, 0);
    const storage = await S3Storage.open({
      bucket: o.env.EVOCHORA_S3_BUCKET!,
      prefix: drain.prefix,
    });
    const keys = await listAllKeys(storage, rawPrefix(RUN_ID));
    await storage.close();
    // Everything drained before the last join counts in the figures from the first join only.
    const after = allJoined ?? { at: end, epochMs: Date.now(), cpu: total };
    const rawAfter = await rawBytesWrittenSince(o, drain, after.epochMs);
    return {
      wallS: (end - firstJoin) / 1000,
      cpuS: total - joined,
      totalCpuS: total,
      batches: keys.length,
      steady: { wallS: (end - after.at) / 1000, cpuS: total - after.cpu, rawMB: rawAfter / 1e6 },
    };
  } catch (e) {
    const logs = (await Promise.all(stderr.map((s) => Promise.race([s, sleep(100)]))))
      .map((s) => (typeof s === "string" ? s.slice(-2000) : "")).join("\n---\n");
    throw new Error(`${(e as Error).message}\nworker stderr:\n${logs}`, { cause: e });
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch {
        // exited already
      }
    }
    await Promise.all(children.map((c) => c.status));
    await Promise.all([admin.disconnect(), groups.disconnect()]);
  }
}

/** The suite's figures: each drain from the first join, and once every worker is in the group. */
function figures(
  mb: number,
  chunks: number,
  batches: number,
  plain: number,
  one: Drained,
  three: Drained,
): Figure[] {
  const out: Figure[] = [
    { name: `raw chunk bytes: ${chunks} chunks in ${batches} batches`, value: mb, unit: "MB" },
    { name: "plain zstd-3 of the same batches per CPU second", value: plain, unit: "MB/s/core" },
  ];
  for (const [label, d] of [["1 worker", one], ["3 workers", three]] as const) {
    out.push(
      {
        name: `${label}: wall, first join to last commit`,
        value: mb / d.wallS,
        unit: "MB/s",
        ...(d === three ? { ratio: one.wallS / three.wallS, ratioOf: "of 1 worker" } : {}),
      },
      {
        name: `${label}: per CPU second of the workers, each from its join to the last commit`,
        value: mb / d.cpuS,
        unit: "MB/s/core",
        ratio: mb / d.cpuS / plain,
        ratioOf: "of plain zstd-3",
      },
      {
        name: `${label}: per CPU second of the workers, process start included`,
        value: mb / d.totalCpuS,
        unit: "MB/s/core",
        ratio: mb / d.totalCpuS / plain,
        ratioOf: "of plain zstd-3",
      },
      {
        name: `${label}: steady state (every worker joined): ${d.steady.rawMB.toFixed(0)} MB in ` +
          `${d.steady.wallS.toFixed(1)} s, wall`,
        value: d.steady.rawMB / d.steady.wallS,
        unit: "MB/s",
        ...(d === three
          ? {
            ratio: three.steady.rawMB / three.steady.wallS / (one.steady.rawMB / one.steady.wallS),
            ratioOf: "of 1 worker",
          }
          : {}),
      },
      {
        name: `${label}: steady state per CPU second`,
        value: d.steady.rawMB / d.steady.cpuS,
        unit: "MB/s/core",
        ratio: d.steady.rawMB / d.steady.cpuS / plain,
        ratioOf: "of plain zstd-3",
      },
    );
  }
  return out;
}

/**
 * The suite on the chunks of `ticks` ticks of the default world (105000 ticks: about 370 MB of
 * raw chunk bytes in about 530 chunks, the chunks growing to ~0.8 MB as the world fills).
 */
export function kafkaS3Benchmark(ticks = 105_000): Suite {
  return {
    name: `kafka -> S3 persistence: worker processes draining a 6-partition topic of real chunks ` +
      `(256x256, seed 42, ${ticks} ticks)`,
    async run(): Promise<Figure[]> {
      const env = await loadServicesEnv();
      const brokers = env.KAFKA_BOOTSTRAP_SERVERS!;
      const tag = `bench-${Date.now().toString(36)}`;
      const topic = `evochora-ticks-${tag}`;
      const dir = await Deno.makeTempDir({ prefix: "evochora-bench-" });
      const prefixes = [`test/${tag}/1w/`, `test/${tag}/3w/`];
      const topics = [
        topic,
        ...Object.values(isolatedKafkaS3(tag, { ticks: 0 }).resources)
          .flatMap((r) => r.kind === "kafka-topic" ? [r.topic!] : []),
      ];
      try {
        const { chunks } = evolvedChunks(ticks);
        progress(`${chunks.length} chunks made; filling ${topic}`);
        const plain = plainZstd(chunks);
        await fillTopic(brokers, topic, chunks);
        const mb = plain.raw / 1e6;
        progress(`filled: ${mb.toFixed(1)} MB`);
        const expected = Math.ceil(chunks.length / CHUNKS_PER_BATCH);
        const common = { tag, topic, dir, env, brokers };
        const one = await drainWith(common, {
          workers: 1,
          group: `persistence-${tag}-1w`,
          prefix: prefixes[0]!,
        });
        progress(`1 worker: ${one.wallS.toFixed(1)} s, ${one.cpuS.toFixed(1)} CPU s`);
        const three = await drainWith(common, {
          workers: 3,
          group: `persistence-${tag}-3w`,
          prefix: prefixes[1]!,
        });
        for (const [n, d] of [[1, one], [3, three]] as const) {
          if (d.batches !== expected) {
            throw new Error(`${n} worker(s) stored ${d.batches} batches, expected ${expected}`);
          }
        }
        return figures(mb, chunks.length, expected, plain.perCpu, one, three);
      } finally {
        await deleteTopics(brokers, topics);
        for (const p of prefixes) await removePrefix(p).catch(() => {});
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/** The suite at its default size. */
export const kafkaS3Throughput: Suite = kafkaS3Benchmark();

if (import.meta.main) {
  await runSuites([kafkaS3Benchmark(Number(Deno.args[0] ?? 105_000))]);
}
