/**
 * Waiting, at a run's end, until every raw batch of the run has its file of every index kind
 * the pipeline's indexers write: storage is listed again when one of them has finished a batch,
 * not on a timer (each listing is a request per kind on S3).
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { Service } from "../common/service.ts";
import { type IndexCoverage, indexCoverage, type IndexFileKind } from "../common/index_coverage.ts";
import type { IndexerService } from "../indexer/mod.ts";
import type { ResolvedConfig } from "./config.ts";
import type { Resource } from "./resources.ts";
import { progressOrTimeout } from "./_progress_wait.ts";

/**
 * Longest wait between two listings of the indexes while no indexer of this process finishes a
 * batch (index files written by indexers elsewhere).
 */
const INDEX_RELIST_MS = 1000;
/** Shortest time between two listings of the indexes. */
const INDEX_LIST_MIN_MS = 100;

/** The index kinds a pipeline's indexers write, and the storage they write them to. */
export interface RunIndexes {
  kinds: IndexFileKind[];
  storage: Storage;
}

/** The index kinds the pipeline's indexers write beside an engine, and their storage. */
export function indexesOf(
  config: ResolvedConfig,
  services: readonly Service[],
  resources: ReadonlyMap<string, Resource>,
): RunIndexes | undefined {
  const built = new Set(services.map((s) => s.name));
  const indexers = Object.entries(config.services).flatMap(([name, s]) =>
    s.kind === "indexer" && built.has(name) ? [s] : []
  );
  const first = indexers[0];
  if (first === undefined) return undefined;
  const kinds = [...new Set(indexers.map((s) => s.index))];
  return { kinds, storage: resources.get(first.storage)!.instance as Storage };
}

/** Options of {@link waitForIndexes}. */
export interface IndexWait extends RunIndexes {
  runId: string;
  /** This process's indexers: their finished batches say when to list again. */
  indexers: readonly IndexerService[];
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Waits until the run's indexes are complete, the timeout or the abort; their coverage then. */
export async function waitForIndexes(o: IndexWait): Promise<IndexCoverage> {
  const deadline = performance.now() + o.timeoutMs;
  const progress = () => o.indexers.reduce((sum, s) => sum + s.outcomes, 0);
  const signal = o.signal;
  for (;;) {
    // Read before listing: what the indexers finish meanwhile is listed again.
    const seen = progress();
    const listedAt = performance.now();
    const c = await indexCoverage(o.storage, o.runId, o.kinds);
    if (c.complete || performance.now() >= deadline || signal?.aborted) return c;
    const maxMs = Math.min(INDEX_RELIST_MS, Math.max(0, deadline - performance.now()));
    await progressOrTimeout({ progress, seen, maxMs, signal });
    // At most one listing per INDEX_LIST_MIN_MS however fast the indexers go.
    const rest = Math.min(listedAt + INDEX_LIST_MIN_MS, deadline) - performance.now();
    if (rest > 0 && !signal?.aborted) await new Promise((r) => setTimeout(r, rest));
  }
}
