/**
 * The simulation engine's needs: it produces batches and metadata to its two queues and writes
 * checkpoints to its checkpoint storage, if any; with `compressOnWorker` it loads the zstd
 * worker's module, with `encodeOnWorker` the chunk encoder's. It listens nowhere and reads no variables.
 * (Continuing a stored run also reads and trims the run's storage: the wiring adds it, since
 * which storage holds the run is a property of the whole config.)
 *
 * @module
 */

import type { ServiceNeeds } from "../common/service_needs.ts";

/** The fields of the engine's resolved config that decide its needs. */
export interface EngineNeedsConfig {
  output: string;
  metadataOutput: string;
  checkpointStorage?: string;
  compressOnWorker: boolean;
  encodeOnWorker: boolean;
}

/** What an engine service with config `s` needs. */
export function engineNeeds(s: EngineNeedsConfig): ServiceNeeds {
  return {
    storages: s.checkpointStorage === undefined
      ? []
      : [{ resource: s.checkpointStorage, access: "write" }],
    messaging: [s.output, s.metadataOutput],
    env: [],
    compressionWorker: s.compressOnWorker,
    encoderWorker: s.encodeOnWorker,
  };
}
