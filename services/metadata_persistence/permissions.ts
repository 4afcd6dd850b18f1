/**
 * The metadata persistence service's needs: it consumes its queue and writes each run's
 * metadata (and state records) to its storage.
 *
 * @module
 */

import type { ServiceNeeds } from "../common/service_needs.ts";

/** The fields of the service's resolved config that decide its needs. */
export interface MetadataPersistenceNeedsConfig {
  input: string;
  storage: string;
}

/** What a metadata persistence service with config `s` needs. */
export function metadataPersistenceNeeds(s: MetadataPersistenceNeedsConfig): ServiceNeeds {
  return {
    storages: [{ resource: s.storage, access: "write" }],
    messaging: [s.input],
    env: [],
  };
}
