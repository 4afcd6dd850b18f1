/**
 * {@link IndexerParts}: what the indexer service's helpers (the catch-up, the prerequisites,
 * the batch outcomes) all work with.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { BatchIndexer } from "./batch_indexer.ts";
import type { FailedBatches } from "./failed_batches.ts";
import type { ErrorLog } from "./_error_log.ts";
import type { IndexerMetrics } from "./_indexer_metrics.ts";
import type { KnownKeys } from "./_known_keys.ts";
import type { PendingBatches } from "./_pending_batches.ts";

/** The parts of one indexer service that its helpers share. */
export interface IndexerParts {
  storage: Storage;
  indexer: BatchIndexer;
  known: KnownKeys;
  pending: PendingBatches;
  failed: FailedBatches;
  metrics: IndexerMetrics;
  log: ErrorLog;
}
