/**
 * The index kinds by name, for the indexer service and the index derivation thread.
 *
 * @module
 */

import type { BatchIndexer, IndexKind } from "./batch_indexer.ts";
import { catalogIndexer } from "./catalog_indexer.ts";
import { organismIndexer } from "./organism_indexer.ts";
import { statsIndexer } from "./stats_indexer.ts";

/** The index kinds by name. */
export const INDEXERS: Readonly<Record<IndexKind, BatchIndexer>> = {
  stats: statsIndexer,
  organisms: organismIndexer,
  catalog: catalogIndexer,
};
