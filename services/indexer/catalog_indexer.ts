/**
 * The catalog indexer: one {@link CatalogEntry} JSON per raw batch at {@link catalogKey} (its
 * sampled ticks, chunk tick ranges, sizes, and population at its last sample). Needs neither
 * the run's metadata nor a world replay.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { BatchIndexer, IndexResult } from "./batch_indexer.ts";
import { type RawBatch, writeObject } from "./raw_batch.ts";
import { type CatalogEntry, catalogKey, indexPrefix } from "../common/index_schema.ts";

/** Builds the catalog entry of a decoded batch. Pure: no I/O. */
export function buildCatalogEntry(batch: RawBatch): CatalogEntry {
  const ticks: number[] = [];
  const chunks: CatalogEntry["chunks"] = [];
  for (const c of batch.chunks) {
    chunks.push({
      index: c.chunkIndex,
      firstTick: c.firstTick,
      lastTick: c.lastTick,
    });
    ticks.push(c.snapshot!.tick);
    for (const d of c.deltas) ticks.push(d.tick);
  }
  const lastChunk = batch.chunks[batch.chunks.length - 1]!;
  const lastDelta = lastChunk.deltas[lastChunk.deltas.length - 1];
  const organisms = lastDelta?.organisms ?? lastChunk.snapshot!.organisms;
  let alive = 0;
  let maxGeneration = 0;
  for (let i = 0; i < organisms.count; i++) {
    if (organisms.alive[i] === 0) continue;
    alive++;
    maxGeneration = Math.max(maxGeneration, organisms.generation[i]!);
  }
  return {
    runId: batch.runId,
    batchKey: batch.key,
    firstTick: batch.firstTick,
    lastTick: batch.lastTick,
    ticks,
    chunks,
    rawBytes: batch.rawBytes,
    storedBytes: batch.storedBytes,
    organismsAlive: alive,
    maxGeneration,
  };
}

/** The catalog index kind. */
export const catalogIndexer: BatchIndexer = {
  kind: "catalog",
  needsRunInfo: false,
  doneKey: (ref) => catalogKey(ref.runId, ref.firstTick, ref.lastTick),
  donePrefix: (runId) => indexPrefix(runId, "catalog"),
  prerequisite: () => null,
  provides: () => null,
  async index(storage: Storage, batch: RawBatch): Promise<IndexResult> {
    const entry = buildCatalogEntry(batch);
    const bytes = new TextEncoder().encode(JSON.stringify(entry) + "\n");
    const created = await writeObject(
      storage,
      catalogKey(batch.runId, batch.firstTick, batch.lastTick),
      bytes,
    );
    return { rows: 1, created };
  },
};
