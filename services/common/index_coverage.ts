/**
 * How far the indexers have got with a run: for each index kind, which raw batches have their
 * index file (the kind's done key, written last; see ./index_schema.ts). Storage is the truth,
 * so this works for indexers in this process and on other hosts alike.
 *
 * @module
 */

import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { catalogKey, indexPrefix, organismsKey, statsKey } from "./index_schema.ts";
import { parseBatchKey, rawPrefix } from "./storage_layout.ts";

/** The index kinds with one file per raw batch. */
export type IndexFileKind = "stats" | "organisms" | "catalog";

/** The key of a batch's file of one kind (the kind's done key). */
export function indexFileKey(
  kind: IndexFileKind,
  runId: string,
  firstTick: number,
  lastTick: number,
): string {
  const key = kind === "stats" ? statsKey : kind === "organisms" ? organismsKey : catalogKey;
  return key(runId, firstTick, lastTick);
}

/** One kind's progress over a run. */
export interface KindCoverage {
  kind: IndexFileKind;
  /** Raw batches with their index file. */
  written: number;
  /** Raw batches without it: the index lag, in batches. */
  lag: number;
  /** Index files still missing (at most {@link MISSING_SHOWN} of them). */
  missing: string[];
}

/** Every kind's progress over a run. */
export interface IndexCoverage {
  runId: string;
  /** Raw batches stored. */
  rawBatches: number;
  kinds: KindCoverage[];
  /** Every kind has a file for every raw batch. */
  complete: boolean;
}

/** Missing files named per kind; the lag counts them all. */
export const MISSING_SHOWN = 3;

/** Lists the run's raw batches and each kind's files and compares them. */
export async function indexCoverage(
  storage: Storage,
  runId: string,
  kinds: readonly IndexFileKind[],
): Promise<IndexCoverage> {
  const raw = (await listAllKeys(storage, rawPrefix(runId)))
    .map(parseBatchKey)
    .filter((r): r is { firstTick: number; lastTick: number } => r !== null);
  const out: KindCoverage[] = [];
  for (const kind of kinds) {
    const present = new Set(await listAllKeys(storage, indexPrefix(runId, kind)));
    const missing = raw
      .map((r) => indexFileKey(kind, runId, r.firstTick, r.lastTick))
      .filter((k) => !present.has(k));
    out.push({
      kind,
      written: raw.length - missing.length,
      lag: missing.length,
      missing: missing.slice(0, MISSING_SHOWN),
    });
  }
  return {
    runId,
    rawBatches: raw.length,
    kinds: out,
    complete: out.every((k) => k.lag === 0),
  };
}

/** What is missing, one line per kind that lags, e.g. "stats: 19 of 21 batches missing (...)". */
export function describeMissingIndexes(c: IndexCoverage): string[] {
  return c.kinds.filter((k) => k.lag > 0).map((k) =>
    `${k.kind}: ${k.lag} of ${c.rawBatches} index files missing (${k.missing.join(", ")}${
      k.lag > k.missing.length ? ", ..." : ""
    })`
  );
}
