/**
 * The indexers: services that turn raw batches into query-friendly files next to them (stats
 * and organisms as Parquet, a JSON catalog entry per batch), and the readers the query API
 * uses to read those files back. Keys and columns: ../common/index_schema.ts.
 *
 * @module
 */

export * from "../common/index_schema.ts";
export {
  type BatchIndexer,
  type IndexKind,
  type IndexOffload,
  type IndexResult,
  type OffloadRequest,
  type PassedOver,
} from "./batch_indexer.ts";
export { type BatchGap, findGaps } from "./batch_gaps.ts";
export { type IndexerOptions, INDEXERS, IndexerService } from "./indexer_service.ts";
export {
  type IndexFile,
  indexFileMetadata,
  listIndexFiles,
  PARQUET_CREATED_BY,
  type ParquetColumn,
  type ParquetColumnType,
  parquetFooter,
  type ParquetKeyValue,
  readCatalog,
  readOrganisms,
  type ReadOrganismsOptions,
  readParquetRows,
  readStats,
  writeParquetRows,
} from "./parquet.ts";
export {
  type BatchRef,
  batchRef,
  CorruptBatchError,
  listAllKeys,
  loadRawBatch,
  loadRunInfo,
  MissingBatchError,
  MissingMetadataError,
  type RawBatch,
  type RunInfo,
  writeObject,
} from "./raw_batch.ts";
export {
  CARRIED_GAPS_KEY,
  carriedGaps,
  computeStats,
  decodeStatsState,
  emptyStatsState,
  encodeStatsState,
  predecessorStateKey,
  readPredecessorState,
  statsIndexer,
  type StatsResult,
} from "./stats_indexer.ts";
export { computeOrganisms, organismIndexer } from "./organism_indexer.ts";
export { buildCatalogEntry, catalogIndexer } from "./catalog_indexer.ts";
