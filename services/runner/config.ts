/**
 * The typed pipeline configuration: resources chosen by a `kind` discriminant, services bound
 * to resources by name, and the order to start them. A config file is a TS module whose
 * default export is `defineConfig({...})`; secrets come from the environment, never the file.
 *
 * @example
 * ```ts
 * import { defineConfig } from "@evochora/config";
 * export default defineConfig({
 *   resources: {
 *     "raw-tick-data": { kind: "memory-queue", partitions: 6 },
 *     "tick-storage": { kind: "filesystem", root: "./data" },
 *   },
 *   services: { ... },
 * });
 * ```
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, type EngineConfigInput } from "../simulation_engine/runtime/mod.ts";

export { ConfigError };

/** In-memory queue (one process). */
export interface MemoryQueueConfig {
  kind: "memory-queue";
  /** Partitions: the most persistence instances that can work at once. Default 6. */
  partitions?: number;
  /** Backpressure bound on retained bytes. Default 256 MiB. */
  maxBytes?: number;
}

/** In-memory topic (one process). */
export interface MemoryTopicConfig {
  kind: "memory-topic";
  /** Default 3. */
  partitions?: number;
  /** Messages kept per partition. Default 100000. */
  retention?: number;
}

/** Files under a root directory. */
export interface FilesystemStorageConfig {
  kind: "filesystem";
  /** Directory; relative paths resolve against the working directory. */
  root: string;
}

/**
 * A Kafka (or Redpanda) topic used as a queue. Brokers come from the environment:
 * KAFKA_BOOTSTRAP_SERVERS or REDPANDA_BOOTSTRAP_SERVERS (SASL/TLS from KAFKA_* variables).
 */
export interface KafkaQueueConfig {
  kind: "kafka-queue";
  /** Topic; default the resource's name. Created when missing. */
  topic?: string;
  /** Partitions: the most persistence instances that can work at once. Default 6. */
  partitions?: number;
  /** Values above this are split into parts and reassembled by consumers. Default 900 KiB. */
  maxMessageBytes?: number;
  /** Producer backpressure: bytes not yet acknowledged by the broker. Default 64 MiB. */
  maxBytes?: number;
  /** Wire compression. Default "zstd". */
  compression?: "zstd" | "none";
  /** Milliseconds to wait for more records before sending. Default 0. */
  lingerMs?: number;
  /** Consumer groups whose lag this process reports (e.g. the engine's: ["persistence"]). */
  groups?: string[];
}

/** A Kafka (or Redpanda) topic for notifications. Brokers as for {@link KafkaQueueConfig}. */
export interface KafkaTopicConfig {
  kind: "kafka-topic";
  topic?: string;
  /** Default 3. */
  partitions?: number;
}

/**
 * Objects in an S3 bucket (AWS S3, MinIO, SeaweedFS). Endpoint, region and credentials come
 * from the environment: AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
 */
export interface S3StorageConfig {
  kind: "s3";
  /** Bucket; default env EVOCHORA_S3_BUCKET. It must exist. */
  bucket?: string;
  /** Key prefix inside the bucket, e.g. "evochora/". Default "". */
  prefix?: string;
  /** Multipart part size in bytes, >= 5 MiB. Default 8 MiB. */
  partSize?: number;
  /**
   * "auto" probes whether the server honours If-None-Match on writes; "required" insists;
   * "check" uses a HEAD before completing (a narrow race remains). Default "auto".
   */
  conditionalWrites?: "auto" | "required" | "check";
}

/** Any resource. */
export type ResourceConfig =
  | MemoryQueueConfig
  | MemoryTopicConfig
  | FilesystemStorageConfig
  | S3StorageConfig
  | KafkaQueueConfig
  | KafkaTopicConfig;

/** The simulation engine: writes metadata, then chunks. */
export interface SimulationEngineServiceConfig {
  kind: "simulation-engine";
  /** Queue for tick chunks. */
  output: string;
  /** Queue for the run's metadata. */
  metadataOutput: string;
  /** Engine settings (world, thermodynamics, plugins, intervals, programs). */
  engine?: EngineConfigInput;
  /** Ticks to run; 0 runs until stopped. Default 0. */
  ticks?: number;
  /** Chunks per batch file: batch boundaries are chunk index / this. Default 5. */
  chunksPerBatch?: number;
  /** Run id; default: UTC time, seed and a random suffix. */
  runId?: string;
}

/** Writes each run's metadata to storage. */
export interface MetadataPersistenceServiceConfig {
  kind: "metadata-persistence";
  input: string;
  storage: string;
  /** Consumer group. Default "metadata-persistence". */
  group?: string;
}

/** Writes batches of chunks to storage; several instances compete for the work. */
export interface PersistenceServiceConfig {
  kind: "persistence";
  input: string;
  storage: string;
  /** Topic for BatchInfo notifications. */
  notify: string;
  /** Consumer group. Default "persistence". */
  group?: string;
  /** Records per drain. Default 64. */
  maxRecords?: number;
  /** Milliseconds a drain waits for the first record. Default 200. */
  drainTimeoutMs?: number;
  /** Write attempts before a batch goes to the dead-letter store. Default 3. */
  attempts?: number;
  /** Milliseconds before the first retry; doubles per attempt. Default 100. */
  retryBaseMs?: number;
  /** zstd level of batch files. Default 3. */
  zstdLevel?: number;
  /** Compress on a worker thread (Deno's zlib compresses on the calling thread). Default true. */
  compressOnWorker?: boolean;
}

/** Derives index files (stats, organisms, catalog) from stored batches. */
export interface IndexerServiceConfig {
  kind: "indexer";
  /** Which index. */
  index: "stats" | "organisms" | "catalog";
  /** Topic of BatchInfo notifications. */
  input: string;
  storage: string;
  /** Consumer group; default `<index>-indexer`. Instances of one group compete. */
  group?: string;
  /** Interval of the catch-up scan of storage, ms; 0 turns it off. Default 2000. */
  catchUpIntervalMs?: number;
}

/** The query API and the web client over HTTP. */
export interface HttpApiServiceConfig {
  kind: "http-api";
  storage: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Directory of the built web client; default web/dist of this repository. */
  webRoot?: string;
  /**
   * Bytes all the API's caches may hold together (decompressed batches, decoded chunks,
   * replayed world states, finished answers), at least 1 MiB. Default 704 MiB.
   */
  cacheBytes?: number;
}

/** Any service. */
export type ServiceConfig =
  | SimulationEngineServiceConfig
  | MetadataPersistenceServiceConfig
  | PersistenceServiceConfig
  | IndexerServiceConfig
  | HttpApiServiceConfig;

/** A pipeline: resources, services bound to them, start order. */
export interface PipelineConfig {
  resources: Record<string, ResourceConfig>;
  services: Record<string, ServiceConfig>;
  /** Services in start order; default: the order of `services`. */
  startupSequence?: string[];
}

/** Identity function that gives a config file its types. */
export function defineConfig(config: PipelineConfig): PipelineConfig {
  return config;
}

/** A resource with every default filled in. */
export type ResolvedResource =
  | Required<MemoryQueueConfig>
  | Required<MemoryTopicConfig>
  | Required<FilesystemStorageConfig>
  | Required<S3StorageConfig>
  | Required<KafkaQueueConfig>
  | Required<KafkaTopicConfig>;

/** A service with every default filled in (the engine settings stay partial, see EngineConfigInput). */
export type ResolvedService =
  | (Required<Omit<SimulationEngineServiceConfig, "runId" | "engine">> & {
    engine: EngineConfigInput;
    runId?: string;
  })
  | Required<MetadataPersistenceServiceConfig>
  | Required<PersistenceServiceConfig>
  | Required<IndexerServiceConfig>
  | (Required<Omit<HttpApiServiceConfig, "webRoot">> & { webRoot?: string });

/** The config after defaults and validation. */
export interface ResolvedConfig {
  resources: Record<string, ResolvedResource>;
  services: Record<string, ResolvedService>;
  startupSequence: string[];
}

const RESOURCE_KINDS = [
  "memory-queue",
  "memory-topic",
  "filesystem",
  "s3",
  "kafka-queue",
  "kafka-topic",
] as const;
const SERVICE_KINDS = [
  "simulation-engine",
  "metadata-persistence",
  "persistence",
  "indexer",
  "http-api",
] as const;
const QUEUE_KINDS = new Set(["memory-queue", "kafka-queue"]);
const TOPIC_KINDS = new Set(["memory-topic", "kafka-topic"]);
const STORAGE_KINDS = new Set(["filesystem", "s3"]);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(path: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ConfigError(path, `expected an integer, got ${JSON.stringify(v)}`);
  }
  if (v < min || v > max) throw new ConfigError(path, `expected ${min}..${max}, got ${v}`);
  return v;
}

function str(path: string, v: unknown, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string" || v.length === 0) {
    throw new ConfigError(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  }
  return v;
}

function onlyFields(path: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${path}.${k}`, `unknown field; allowed: ${allowed.join(", ")}`);
    }
  }
}

function resolveResource(name: string, raw: unknown): ResolvedResource {
  const path = `resources.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  const kind = raw.kind;
  switch (kind) {
    case "memory-queue":
      onlyFields(path, raw, ["kind", "partitions", "maxBytes"]);
      return {
        kind,
        partitions: int(`${path}.partitions`, raw.partitions, 6, 1, 1024),
        maxBytes: int(`${path}.maxBytes`, raw.maxBytes, 256 * 2 ** 20, 1024, 2 ** 40),
      };
    case "memory-topic":
      onlyFields(path, raw, ["kind", "partitions", "retention"]);
      return {
        kind,
        partitions: int(`${path}.partitions`, raw.partitions, 3, 1, 1024),
        retention: int(`${path}.retention`, raw.retention, 100000, 1, 2 ** 31),
      };
    case "filesystem":
      onlyFields(path, raw, ["kind", "root"]);
      return { kind, root: str(`${path}.root`, raw.root) };
    case "kafka-queue": {
      onlyFields(path, raw, [
        "kind",
        "topic",
        "partitions",
        "maxMessageBytes",
        "maxBytes",
        "compression",
        "lingerMs",
        "groups",
      ]);
      const compression = raw.compression ?? "zstd";
      if (compression !== "zstd" && compression !== "none") {
        throw new ConfigError(
          `${path}.compression`,
          `unknown compression ${JSON.stringify(compression)}; allowed: zstd, none`,
        );
      }
      const groups = raw.groups ?? [];
      if (!Array.isArray(groups) || groups.some((g) => typeof g !== "string")) {
        throw new ConfigError(`${path}.groups`, "expected an array of group names");
      }
      return {
        kind,
        topic: str(`${path}.topic`, raw.topic, name),
        partitions: int(`${path}.partitions`, raw.partitions, 6, 1, 10000),
        maxMessageBytes: int(
          `${path}.maxMessageBytes`,
          raw.maxMessageBytes,
          900 * 1024,
          1024,
          2 ** 30,
        ),
        maxBytes: int(`${path}.maxBytes`, raw.maxBytes, 64 * 2 ** 20, 1024, 2 ** 40),
        compression,
        lingerMs: int(`${path}.lingerMs`, raw.lingerMs, 0, 0, 60000),
        groups: groups as string[],
      };
    }
    case "kafka-topic":
      onlyFields(path, raw, ["kind", "topic", "partitions"]);
      return {
        kind,
        topic: str(`${path}.topic`, raw.topic, name),
        partitions: int(`${path}.partitions`, raw.partitions, 3, 1, 10000),
      };
    case "s3": {
      onlyFields(path, raw, ["kind", "bucket", "prefix", "partSize", "conditionalWrites"]);
      const bucket = raw.bucket ?? Deno.env.get("EVOCHORA_S3_BUCKET");
      if (bucket === undefined) {
        throw new ConfigError(
          `${path}.bucket`,
          "missing; set it or the EVOCHORA_S3_BUCKET variable",
        );
      }
      const cw = raw.conditionalWrites ?? "auto";
      if (cw !== "auto" && cw !== "required" && cw !== "check") {
        throw new ConfigError(
          `${path}.conditionalWrites`,
          `unknown mode ${JSON.stringify(cw)}; allowed: auto, required, check`,
        );
      }
      return {
        kind,
        bucket: str(`${path}.bucket`, bucket),
        prefix: raw.prefix === undefined ? "" : String(raw.prefix),
        partSize: int(`${path}.partSize`, raw.partSize, 8 * 2 ** 20, 5 * 2 ** 20, 5 * 2 ** 30),
        conditionalWrites: cw,
      };
    }
    default:
      throw new ConfigError(
        `${path}.kind`,
        `unknown kind ${JSON.stringify(kind)}; allowed: ${RESOURCE_KINDS.join(", ")}`,
      );
  }
}

function ref(
  path: string,
  v: unknown,
  resources: Record<string, ResolvedResource>,
  kinds: Set<string>,
  what: string,
): string {
  const name = str(path, v);
  const r = resources[name];
  if (r === undefined) {
    throw new ConfigError(
      path,
      `no resource named '${name}'; defined: ${Object.keys(resources).join(", ") || "none"}`,
    );
  }
  if (!kinds.has(r.kind)) {
    throw new ConfigError(path, `resource '${name}' is a ${r.kind}, expected ${what}`);
  }
  return name;
}

function resolveService(
  name: string,
  raw: unknown,
  resources: Record<string, ResolvedResource>,
): ResolvedService {
  const path = `services.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  const kind = raw.kind;
  const queue = (f: string) => ref(`${path}.${f}`, raw[f], resources, QUEUE_KINDS, "a queue");
  switch (kind) {
    case "simulation-engine": {
      onlyFields(path, raw, [
        "kind",
        "output",
        "metadataOutput",
        "engine",
        "ticks",
        "chunksPerBatch",
        "runId",
      ]);
      if (raw.engine !== undefined && !isObj(raw.engine)) {
        throw new ConfigError(`${path}.engine`, "expected an object");
      }
      const out: ResolvedService = {
        kind,
        output: queue("output"),
        metadataOutput: queue("metadataOutput"),
        engine: (raw.engine ?? {}) as EngineConfigInput,
        ticks: int(`${path}.ticks`, raw.ticks, 0, 0, Number.MAX_SAFE_INTEGER),
        chunksPerBatch: int(`${path}.chunksPerBatch`, raw.chunksPerBatch, 5, 1, 100000),
      };
      if (raw.runId !== undefined) {
        const id = str(`${path}.runId`, raw.runId);
        if (!/^[A-Za-z0-9._=-]{1,128}$/.test(id) || id === "." || id === "..") {
          throw new ConfigError(`${path}.runId`, "expected 1-128 characters of [A-Za-z0-9._=-]");
        }
        out.runId = id;
      }
      return out;
    }
    case "metadata-persistence":
      onlyFields(path, raw, ["kind", "input", "storage", "group"]);
      return {
        kind,
        input: queue("input"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        group: str(`${path}.group`, raw.group, "metadata-persistence"),
      };
    case "persistence":
      onlyFields(path, raw, [
        "kind",
        "input",
        "storage",
        "notify",
        "group",
        "maxRecords",
        "drainTimeoutMs",
        "attempts",
        "retryBaseMs",
        "zstdLevel",
        "compressOnWorker",
      ]);
      if (raw.compressOnWorker !== undefined && typeof raw.compressOnWorker !== "boolean") {
        throw new ConfigError(`${path}.compressOnWorker`, "expected true or false");
      }
      return {
        kind,
        input: queue("input"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        notify: ref(`${path}.notify`, raw.notify, resources, TOPIC_KINDS, "a topic"),
        group: str(`${path}.group`, raw.group, "persistence"),
        maxRecords: int(`${path}.maxRecords`, raw.maxRecords, 64, 1, 100000),
        drainTimeoutMs: int(`${path}.drainTimeoutMs`, raw.drainTimeoutMs, 200, 1, 600000),
        attempts: int(`${path}.attempts`, raw.attempts, 3, 1, 100),
        retryBaseMs: int(`${path}.retryBaseMs`, raw.retryBaseMs, 100, 0, 600000),
        zstdLevel: int(`${path}.zstdLevel`, raw.zstdLevel, 3, 1, 19),
        compressOnWorker: raw.compressOnWorker ?? true,
      };
    case "indexer": {
      onlyFields(path, raw, ["kind", "index", "input", "storage", "group", "catchUpIntervalMs"]);
      const index = raw.index;
      if (index !== "stats" && index !== "organisms" && index !== "catalog") {
        throw new ConfigError(
          `${path}.index`,
          `unknown index ${JSON.stringify(index)}; allowed: stats, organisms, catalog`,
        );
      }
      return {
        kind,
        index,
        input: ref(`${path}.input`, raw.input, resources, TOPIC_KINDS, "a topic"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        group: str(`${path}.group`, raw.group, `${index}-indexer`),
        catchUpIntervalMs: int(
          `${path}.catchUpIntervalMs`,
          raw.catchUpIntervalMs,
          2000,
          0,
          3600000,
        ),
      };
    }
    case "http-api": {
      onlyFields(path, raw, ["kind", "storage", "host", "port", "webRoot", "cacheBytes"]);
      const out: ResolvedService = {
        kind,
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        host: str(`${path}.host`, raw.host, "127.0.0.1"),
        port: int(`${path}.port`, raw.port, 8080, 0, 65535),
        cacheBytes: int(`${path}.cacheBytes`, raw.cacheBytes, 704 * 2 ** 20, 2 ** 20, 2 ** 40),
      };
      if (raw.webRoot !== undefined) out.webRoot = str(`${path}.webRoot`, raw.webRoot);
      return out;
    }
    default:
      throw new ConfigError(
        `${path}.kind`,
        `unknown kind ${JSON.stringify(kind)}; allowed: ${SERVICE_KINDS.join(", ")}`,
      );
  }
}

/** Validates a config and fills in defaults. Throws ConfigError naming the field. */
export function resolveConfig(input: unknown): ResolvedConfig {
  if (!isObj(input)) throw new ConfigError("(root)", "expected an object from defineConfig()");
  onlyFields("(root)", input, ["resources", "services", "startupSequence"]);
  if (!isObj(input.resources)) throw new ConfigError("resources", "expected an object");
  if (!isObj(input.services)) throw new ConfigError("services", "expected an object");
  const resources: Record<string, ResolvedResource> = {};
  for (const [name, raw] of Object.entries(input.resources)) {
    resources[name] = resolveResource(name, raw);
  }
  const services: Record<string, ResolvedService> = {};
  for (const [name, raw] of Object.entries(input.services)) {
    services[name] = resolveService(name, raw, resources);
  }
  const names = Object.keys(services);
  let sequence = names;
  if (input.startupSequence !== undefined) {
    if (!Array.isArray(input.startupSequence)) {
      throw new ConfigError("startupSequence", "expected an array of service names");
    }
    sequence = input.startupSequence.map((n, i) => {
      if (typeof n !== "string" || services[n] === undefined) {
        throw new ConfigError(
          `startupSequence[${i}]`,
          `no service named ${JSON.stringify(n)}; defined: ${names.join(", ")}`,
        );
      }
      return n;
    });
    const dup = sequence.find((n, i) => sequence.indexOf(n) !== i);
    if (dup) throw new ConfigError("startupSequence", `'${dup}' appears twice`);
    const missing = names.filter((n) => !sequence.includes(n));
    if (missing.length > 0) {
      throw new ConfigError("startupSequence", `does not start: ${missing.join(", ")}`);
    }
  }
  const engines = names.filter((n) => services[n]!.kind === "simulation-engine");
  if (engines.length > 1) {
    throw new ConfigError("services", `more than one simulation-engine: ${engines.join(", ")}`);
  }
  return { resources, services, startupSequence: sequence };
}

/** Options for {@link defaultConfig}. */
export interface DefaultConfigOptions {
  dataDir?: string;
  persistence?: number;
  ticks?: number;
  engine?: EngineConfigInput;
  /** Add the three indexers (stats, organisms, catalog). Default true. */
  indexers?: boolean;
  /** Add the query API and web client on this port (0: any free port); absent: no API. */
  apiPort?: number;
}

/** The in-process pipeline: memory queues and topic, files under `dataDir`. */
export function defaultConfig(options: DefaultConfigOptions = {}): PipelineConfig {
  const persistence = options.persistence ?? 3;
  const services: Record<string, ServiceConfig> = {
    "metadata-persistence": {
      kind: "metadata-persistence",
      input: "metadata",
      storage: "tick-storage",
    },
  };
  for (let i = 1; i <= persistence; i++) {
    services[`persistence-${i}`] = {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: "batch-topic",
    };
  }
  if (options.indexers ?? true) {
    for (const index of ["stats", "organisms", "catalog"] as const) {
      services[`${index}-indexer`] = {
        kind: "indexer",
        index,
        input: "batch-topic",
        storage: "tick-storage",
      };
    }
  }
  if (options.apiPort !== undefined) {
    services["http-api"] = { kind: "http-api", storage: "tick-storage", port: options.apiPort };
  }
  services["simulation-engine"] = {
    kind: "simulation-engine",
    output: "raw-tick-data",
    metadataOutput: "metadata",
    engine: options.engine ?? {},
    ticks: options.ticks ?? 0,
  };
  return {
    resources: {
      "raw-tick-data": { kind: "memory-queue", partitions: 6 },
      "metadata": { kind: "memory-queue", partitions: 1 },
      "batch-topic": { kind: "memory-topic", partitions: 3 },
      "tick-storage": { kind: "filesystem", root: options.dataDir ?? "./data" },
    },
    services,
    startupSequence: Object.keys(services),
  };
}

/** Loads a config file (a module whose default export is the config) and resolves it. */
export async function loadConfigFile(path: string): Promise<PipelineConfig> {
  let mod: { default?: unknown };
  try {
    await Deno.stat(path);
  } catch {
    throw new ConfigError("--config", `cannot read '${path}': no such file`);
  }
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (e) {
    throw new ConfigError("--config", `cannot load '${path}': ${(e as Error).message}`);
  }
  if (!isObj(mod.default)) {
    throw new ConfigError("--config", `'${path}' has no default export from defineConfig()`);
  }
  return mod.default as unknown as PipelineConfig;
}
