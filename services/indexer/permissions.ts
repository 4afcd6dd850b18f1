/**
 * An indexer's needs: it consumes its topic of batch notifications, reads batch files and
 * writes its index files to the same storage; with `indexOnWorker` it loads the indexing
 * thread's modules.
 *
 * @module
 */

import type { ServiceNeeds } from "../common/service_needs.ts";

/** The fields of an indexer's resolved config that decide its needs. */
export interface IndexerNeedsConfig {
  input: string;
  storage: string;
  indexOnWorker: boolean;
}

/** What an indexer with config `s` needs. */
export function indexerNeeds(s: IndexerNeedsConfig): ServiceNeeds {
  return {
    storages: [{ resource: s.storage, access: "write" }],
    messaging: [s.input],
    env: [],
    indexWorker: s.indexOnWorker,
  };
}
