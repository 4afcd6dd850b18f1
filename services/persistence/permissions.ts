/**
 * A persistence worker's needs: it consumes its queue, writes batch files to its storage and
 * notifies its topic; with `checkOnWorker` it loads the zstd worker's module.
 *
 * @module
 */

import type { ServiceNeeds } from "../common/service_needs.ts";

/** The fields of a persistence worker's resolved config that decide its needs. */
export interface PersistenceNeedsConfig {
  input: string;
  storage: string;
  notify: string;
  checkOnWorker: boolean;
}

/** What a persistence worker with config `s` needs. */
export function persistenceNeeds(s: PersistenceNeedsConfig): ServiceNeeds {
  return {
    storages: [{ resource: s.storage, access: "write" }],
    messaging: [s.input, s.notify],
    env: [],
    compressionWorker: s.checkOnWorker,
  };
}
