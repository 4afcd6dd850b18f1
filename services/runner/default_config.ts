/**
 * The default in-process pipeline: memory queues and a memory topic, files under a data
 * directory, persistence instances, optional indexers and query API, and the engine.
 *
 * @module
 */

import type { EngineConfigInput } from "../simulation_engine/runtime/mod.ts";
import type { PipelineConfig, ServiceConfig } from "./config_types.ts";

/** Options for {@link defaultConfig}. */
export interface DefaultConfigOptions {
  dataDir?: string;
  persistence?: number;
  /** Ticks the engine runs; 0 until stopped. Unset: the command's default (`run`: 10000). */
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
    checkpointStorage: "tick-storage",
    engine: options.engine ?? {},
    // Unset unless given, so that a command's own default applies (`run`: 10000 ticks) and
    // the resolved default (0, until stopped) elsewhere.
    ...(options.ticks === undefined ? {} : { ticks: options.ticks }),
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
