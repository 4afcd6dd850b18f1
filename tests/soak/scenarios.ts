/**
 * The soak scenarios: every long-lived service kind, in one process on the memory queue and
 * the filesystem, and as separate processes on Kafka and S3.
 *
 * @module
 */

import type { PipelineConfig } from "../../services/runner/config.ts";
import { deleteTopics } from "../integration/kafka_helpers.ts";
import { loadServicesEnv, removePrefix } from "../integration/pipeline_services.ts";
import { runSoak, type SoakOptions, type SoakResult, type SoakScenario } from "./soak.ts";

const INDEXERS = ["stats", "organisms", "catalog"] as const;

/**
 * The API's cache budget in the soaks: small, so that the caches are full within the warm-up
 * and any growth after it is not a cache filling up to its budget.
 */
const CACHE_BYTES = 64 * 2 ** 20;

/**
 * The in-process tick queue's bound in the soaks (default 256 MiB): the engine outruns the
 * other services on two cores, so the queue fills to its bound; a small bound fills within
 * the warm-up.
 */
const QUEUE_BYTES = 64 * 2 ** 20;

/** What the scenarios' engine simulates. */
export interface ScenarioOptions {
  /**
   * An empty world (no organisms): the engine then runs tens of times faster and stores a
   * flood of tiny batches (~90 a second here, ~7 KiB each) that the other services cannot keep
   * up with, as a run whose population died out does. Memory must stay bounded under the
   * backlog that builds. Default: the shipped ancestor's world.
   */
  emptyWorld?: boolean;
}

/**
 * Every service kind over the resources `raw-tick-data`, `metadata`, `batch-topic` and
 * `tick-storage`, with `workers` persistence workers; the engine runs until stopped.
 */
function allServices(workers: number, o: ScenarioOptions): PipelineConfig["services"] {
  const out: PipelineConfig["services"] = {
    "metadata-persistence": {
      kind: "metadata-persistence",
      input: "metadata",
      storage: "tick-storage",
    },
  };
  for (let i = 1; i <= workers; i++) {
    out[`persistence-${i}`] = {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: "batch-topic",
    };
  }
  for (const index of INDEXERS) {
    out[`${index}-indexer`] = {
      kind: "indexer",
      index,
      input: "batch-topic",
      storage: "tick-storage",
    };
  }
  out["http-api"] = { kind: "http-api", storage: "tick-storage", port: 0, cacheBytes: CACHE_BYTES };
  out["simulation-engine"] = {
    kind: "simulation-engine",
    output: "raw-tick-data",
    metadataOutput: "metadata",
    ticks: 0,
    // An empty world is simulated on (a flood of tiny batches) rather than ended at tick 0.
    ...(o.emptyWorld ? { engine: { programs: [] }, endWhenExtinct: false } : {}),
  };
  return out;
}

/** Every service in one process: memory queue and topic, files under `dataDir`. */
export function inProcessScenario(dataDir: string, o: ScenarioOptions = {}): SoakScenario {
  const config: PipelineConfig = {
    resources: {
      "raw-tick-data": { kind: "memory-queue", partitions: 6, maxBytes: QUEUE_BYTES },
      "metadata": { kind: "memory-queue", partitions: 1 },
      "batch-topic": { kind: "memory-topic", partitions: 3 },
      "tick-storage": { kind: "filesystem", root: dataDir },
    },
    services: allServices(2, o),
  };
  return {
    name: `in-process (memory queue + filesystem)${o.emptyWorld ? ", empty world" : ""}`,
    config,
    processes: [{ name: "pipeline", services: Object.keys(config.services) }],
    apiService: "http-api",
  };
}

/**
 * Separate processes on Kafka and S3: metadata persistence, one persistence worker, the
 * indexers, the API (under request load) and the engine, each its own process. Topics and the
 * key prefix carry `tag`, so a run sees only its own data.
 */
export function kafkaS3Scenario(
  tag: string,
  env: Record<string, string>,
  o: ScenarioOptions = {},
): SoakScenario {
  const config: PipelineConfig = {
    resources: {
      "raw-tick-data": {
        kind: "kafka-queue",
        topic: `${tag}-ticks`,
        partitions: 6,
        compression: "none",
        groups: [`${tag}-persistence`],
      },
      "metadata": { kind: "kafka-queue", topic: `${tag}-metadata`, partitions: 1 },
      "batch-topic": { kind: "kafka-topic", topic: `${tag}-batches`, partitions: 3 },
      "tick-storage": { kind: "s3", prefix: `${tag}/` },
    },
    services: allServices(1, o),
  };
  // Consumer groups of their own too: a group shared with another run's consumers on the same
  // broker (a test, say) rebalances with them.
  for (const s of Object.values(config.services)) {
    if (s.kind === "persistence") s.group = `${tag}-persistence`;
    if (s.kind === "metadata-persistence") s.group = `${tag}-metadata-persistence`;
    if (s.kind === "indexer") s.group = `${tag}-${s.index}-indexer`;
  }
  return {
    name: `separate processes (Kafka + S3)${o.emptyWorld ? ", empty world" : ""}`,
    config,
    processes: [
      { name: "metadata-persistence", services: ["metadata-persistence"] },
      { name: "persistence", services: ["persistence-1"] },
      { name: "indexers", services: INDEXERS.map((i) => `${i}-indexer`) },
      { name: "api", services: ["http-api"] },
      { name: "engine", services: ["simulation-engine"] },
    ],
    apiService: "http-api",
    env,
  };
}

/** The Kafka topics of {@link kafkaS3Scenario} (to delete afterwards). */
export function kafkaS3Topics(tag: string): string[] {
  return [`${tag}-ticks`, `${tag}-metadata`, `${tag}-batches`];
}

/** Runs {@link inProcessScenario} in a temporary data directory, removed afterwards. */
export async function soakInProcess(
  options: SoakOptions,
  o: ScenarioOptions = {},
): Promise<SoakResult> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-soak-data-" });
  try {
    return await runSoak(inProcessScenario(dir, o), options);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs {@link kafkaS3Scenario} on the Kafka broker and S3 server of the environment (or the
 * services env file) under a fresh tag; its topics and objects are deleted afterwards.
 */
export async function soakKafkaS3(
  options: SoakOptions,
  tagPrefix = "soak",
  o: ScenarioOptions = {},
): Promise<SoakResult> {
  const env = await loadServicesEnv();
  const tag = `${tagPrefix}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    return await runSoak(kafkaS3Scenario(tag, env, o), options);
  } finally {
    await deleteTopics(env.KAFKA_BOOTSTRAP_SERVERS!, kafkaS3Topics(tag));
    await removePrefix(`${tag}/`);
  }
}
