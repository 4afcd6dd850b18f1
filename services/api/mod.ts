/**
 * The query API: runs, world states, organisms, lineage, statistics, Parquet exports,
 * pipeline status, Prometheus metrics and live progress over HTTP (Hono on `Deno.serve`).
 * JSON shapes: {@link ./api_types.ts}.
 *
 * @example
 * ```ts
 * import { ApiService } from "./services/api/mod.ts";
 * const api = new ApiService({ name: "api", storage, port: 0 });
 * await api.start();
 * console.log(api.url); // http://127.0.0.1:<port>
 * ```
 *
 * @module
 */

export type * from "./api_types.ts";
export {
  type ApiApp,
  type AppOptions,
  buildApi,
  createApp,
  type PipelineProvider,
  wantsProtobuf,
} from "./app.ts";
export { ApiService, type ApiServiceOptions } from "./api_service.ts";
export { API_TOKEN_ENV, MIN_TOKEN_LENGTH, tokenProblem } from "./access_token.ts";
export { acceptedHosts, isLoopbackBind } from "./host_check.ts";
export { type CacheLimits, DEFAULT_CACHE_BYTES, splitCacheBudget } from "./cache_budget.ts";
export {
  type BatchRange,
  type IndexKind,
  type IndexReader,
  type OrganismRow,
  StorageIndexReader,
} from "./index_reader.ts";
export type { LiveProvider, LiveStatus } from "./live_progress.ts";
export { openApiDocument } from "./openapi.ts";
export { STATS_METRICS } from "./stats_series.ts";
