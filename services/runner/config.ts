/**
 * The typed pipeline configuration: resources chosen by a `kind` discriminant, services bound
 * to resources by name, and the order to start them. A config file is a TS module whose
 * default export is `defineConfig({...})`; secrets come from the environment, never the file.
 *
 * Resource kinds: `memory-queue`, `memory-topic` (one process), `filesystem`, `s3` (storage),
 * `kafka-queue`, `kafka-topic` (Kafka or Redpanda). Service kinds: `simulation-engine`,
 * `metadata-persistence`, `persistence`, `indexer`, `http-api`.
 *
 * This module is the public face (`@evochora/config`): the types live in `config_types.ts`,
 * validation in `config_resolve.ts`, loading a file in `config_file.ts`, and the default
 * pipeline in `default_config.ts`.
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

import { ConfigError } from "../simulation_engine/runtime/mod.ts";
import type { PipelineConfig } from "./config_types.ts";

export { ConfigError };
export type {
  FilesystemStorageConfig,
  HttpApiServiceConfig,
  IndexerServiceConfig,
  KafkaQueueConfig,
  KafkaTopicConfig,
  MemoryQueueConfig,
  MemoryTopicConfig,
  MetadataPersistenceServiceConfig,
  PersistenceServiceConfig,
  PipelineConfig,
  ResolvedConfig,
  ResolvedResource,
  ResolvedService,
  ResourceConfig,
  S3StorageConfig,
  ServiceConfig,
  SimulationEngineServiceConfig,
} from "./config_types.ts";
export { resolveConfig } from "./config_resolve.ts";
export { defaultConfig, type DefaultConfigOptions } from "./default_config.ts";
export { CONFIG_FILE_EXTENSIONS, loadConfigFile } from "./config_file.ts";

/** Identity function that gives a config file its types. */
export function defineConfig(config: PipelineConfig): PipelineConfig {
  return config;
}
