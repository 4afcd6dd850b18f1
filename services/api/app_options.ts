/**
 * What {@link ./app.ts} is built from: the storage of the runs, the pipeline beside the API (if
 * any), who may make requests, and the bounds of its caches and answers.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { ClusterView } from "../common/cluster_status.ts";
import type { PipelineStatus } from "../common/service.ts";
import type { PipelineResponse } from "./api_types.ts";
import type { IndexReader } from "./index_reader.ts";
import type { LiveProvider } from "./live_progress.ts";

/** The pipeline's status, as the runner reports it; `mode` defaults to "in-process". */
export type PipelineProvider = () => PipelineStatus & { mode?: PipelineResponse["mode"] };

/** Options of {@link ./app.ts!createApp}. */
export interface AppOptions {
  /** Where the runs are. */
  storage: Storage;
  /** The pipeline's status, when the API runs beside it; absent: serve mode. */
  pipeline?: PipelineProvider;
  /**
   * Every service of the deployment (heartbeats on the status topic), for `/api/pipeline` and
   * `/metrics`; absent: only the pipeline beside the API is shown.
   */
  cluster?: () => ClusterView;
  /** The running engine's progress, when the API runs beside it. */
  live?: LiveProvider;
  /** Directory of the built web client, served at `/`; absent: a small text page. */
  webRoot?: string;
  /**
   * The access token every request must carry (see access_token.ts), at least 16 visible ASCII
   * characters; absent: none is needed.
   */
  token?: string;
  /**
   * Host names (no port) a request's Host header may name, else it is answered 421 (see
   * host_check.ts); absent: any. {@link ./api_service.ts!ApiService} sets the loopback names
   * when it binds to loopback.
   */
  allowedHosts?: readonly string[];
  /** Decoded chunks kept in memory. Default 32. */
  cacheChunks?: number;
  /** Encoded bytes of the decoded chunks kept (decoded, they take a few times more). Default 128 MiB. */
  cacheChunkBytes?: number;
  /** Bytes of decompressed batches kept. Default 256 MiB. */
  cacheBatchBytes?: number;
  /** Bytes of replayed world states kept. Default 256 MiB. */
  cacheStateBytes?: number;
  /** Bytes of encoded immutable answers (world regions, organisms) kept. Default 64 MiB. */
  cacheResponseBytes?: number;
  /**
   * Bytes of decoded metadata kept: index rows, lineage records, chunk directories, catalog
   * entries, object sizes, the URL -> ETag index (sizes estimated, see approx_size.ts).
   * Default 88 MiB.
   */
  cacheMetaBytes?: number;
  /** How long storage listings are reused, ms. Default 1000. */
  listingTtlMs?: number;
  /**
   * Least time without progress that makes a run without an end record `incomplete` rather
   * than `running`, ms (slow runs get three times their batch interval). Default 120000.
   */
  idleAfterMs?: number;
  /** Longest gap between two live progress events, ms. Default 1000. */
  liveIntervalMs?: number;
  /** Largest world region per request, in cells. Default 2^22. */
  maxRegionCells?: number;
  /** Most lineage nodes per answer. Default 20000. */
  maxLineageNodes?: number;
  /** Index reader; default reads the indexers' files from `storage`. */
  index?: IndexReader;
  /** Where unexpected errors are logged. Default console.error. */
  log?: (message: string) => void;
  /** Ends open live streams when aborted (a server cannot shut down while they run). */
  signal?: AbortSignal;
}
