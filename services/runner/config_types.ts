/**
 * The types of the pipeline configuration: each resource and service config, chosen by its
 * `kind` discriminant, the {@link PipelineConfig} a config file exports, and the resolved
 * forms with every default filled in (see `config_resolve.ts`).
 *
 * Resource kinds: memory-queue, memory-topic, filesystem, s3, kafka-queue, kafka-topic.
 * Service kinds: simulation-engine, metadata-persistence, persistence, indexer, http-api.
 *
 * @module
 */

import type { EngineConfigInput } from "../simulation_engine/runtime/mod.ts";

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
  /** Messages kept per partition. Default 10000 (see MemoryTopicOptions.retention). */
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
  /**
   * How long messages stay, ms, when the topic is created here (an existing topic keeps its
   * own), e.g. 60000 for a status topic, so that a reader starting later reads only recent
   * heartbeats. Default: the broker's (7 days on Kafka).
   */
  retentionMs?: number;
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
  /**
   * End the run when its population has died out (nothing can live in the world again).
   * Default true; false simulates the empty world on to `ticks`.
   */
  endWhenExtinct?: boolean;
  /** Chunks per batch file: batch boundaries are chunk index / this. Default 5. */
  chunksPerBatch?: number;
  /**
   * zstd level of the batches. The engine compresses each batch once; persistence workers store
   * it as it comes. Default 3.
   */
  zstdLevel?: number;
  /** Compress on a worker thread, beside the simulation (Deno's zlib runs on the calling thread). Default true. */
  compressOnWorker?: boolean;
  /**
   * Encode the chunks on a worker thread: the engine's thread only copies each sample's values
   * (the cells written, each organism as a record) and goes on simulating. It pays where a
   * core is free for it; on two cores beside the pipeline's other threads it costs more than
   * it saves (docs/benchmarks.md). Default: true on machines with 4 or more cores.
   */
  encodeOnWorker?: boolean;
  /** Run id; default: UTC time, seed and a random suffix. */
  runId?: string;
  /**
   * Storage resource for the run's checkpoints (`runs/<run>/checkpoints/`, one per
   * `engine.intervals.checkpoint` chunks and one at the end), which `evochora run --resume`
   * continues from. Absent: no checkpoints are taken.
   */
  checkpointStorage?: string;
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
  /**
   * Check each batch (decompress it) on a worker thread, beside the consumer loop. Default true.
   * (Batches arrive compressed by the engine: `zstdLevel` is the engine's setting.)
   */
  checkOnWorker?: boolean;
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
  /**
   * Index on a worker thread shared by the process' indexers of this storage (reading,
   * decoding, statistics, Parquet, writing), beside the event loop (in-process: beside the
   * engine). Default true.
   */
  indexOnWorker?: boolean;
}

/** The query API and the web client over HTTP. */
export interface HttpApiServiceConfig {
  kind: "http-api";
  storage: string;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * Directory of the built web client; default web/dist of this repository, built on first
   * start when missing or older than web/src.
   */
  webRoot?: string;
  /**
   * Access token every request must carry (`Authorization: Bearer`), at least 16 characters;
   * default the EVOCHORA_API_TOKEN environment variable (better than a file). Required for a
   * `host` other than loopback.
   */
  token?: string;
  /**
   * Host names (no port) requests may address besides loopback names (e.g. a reverse proxy's);
   * with a non-loopback `host`, the only ones accepted. Default none.
   */
  allowedHosts?: string[];
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
  /**
   * The topic resource (kafka-topic across processes) on which every process running services
   * of this config publishes a heartbeat every 2 s, and from which the http-api and
   * `evochora status` read the status of the whole deployment. Absent: each process shows only
   * its own services.
   */
  status?: string;
}

/** A resource with every default filled in. */
export type ResolvedResource =
  | Required<MemoryQueueConfig>
  | Required<MemoryTopicConfig>
  | Required<FilesystemStorageConfig>
  | Required<S3StorageConfig>
  | Required<KafkaQueueConfig>
  | (Required<Omit<KafkaTopicConfig, "retentionMs">> & { retentionMs?: number });

/** A service with every default filled in (the engine settings stay partial, see EngineConfigInput). */
export type ResolvedService =
  | (Required<Omit<SimulationEngineServiceConfig, "runId" | "engine" | "checkpointStorage">> & {
    engine: EngineConfigInput;
    runId?: string;
    checkpointStorage?: string;
  })
  | Required<MetadataPersistenceServiceConfig>
  | Required<PersistenceServiceConfig>
  | Required<IndexerServiceConfig>
  | (Required<Omit<HttpApiServiceConfig, "webRoot" | "token">> & {
    webRoot?: string;
    token?: string;
  });

/** The config after defaults and validation. */
export interface ResolvedConfig {
  resources: Record<string, ResolvedResource>;
  services: Record<string, ResolvedService>;
  startupSequence: string[];
  /** The status topic resource, when the config names one. */
  status?: string;
}
