/**
 * What the indexers write next to the raw data, and where: the contract between indexers,
 * the query API and outside readers (DuckDB, pandas, polars, R read the Parquet files).
 *
 * Every derived file is keyed by its raw batch (same tick range), so reprocessing a batch
 * rebuilds the same key and the no-clobber commit makes it a no-op.
 *
 * @module
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function batchPart(firstTick: number, lastTick: number): string {
  return `${pad(Math.floor(firstTick / 1_000_000), 7)}/${pad(firstTick, 19)}_${pad(lastTick, 19)}`;
}

/** `runs/<run>/index/stats/<prefix>/<first>_<last>.parquet`: one row per sampled tick. */
export function statsKey(runId: string, firstTick: number, lastTick: number): string {
  return `runs/${runId}/index/stats/${batchPart(firstTick, lastTick)}.parquet`;
}

/** `runs/<run>/index/organisms/<prefix>/<first>_<last>.parquet`: one row per organism seen. */
export function organismsKey(runId: string, firstTick: number, lastTick: number): string {
  return `runs/${runId}/index/organisms/${batchPart(firstTick, lastTick)}.parquet`;
}

/** `runs/<run>/index/catalog/<prefix>/<first>_<last>.json`: one {@link CatalogEntry} per batch. */
export function catalogKey(runId: string, firstTick: number, lastTick: number): string {
  return `runs/${runId}/index/catalog/${batchPart(firstTick, lastTick)}.json`;
}

/** Prefix of a run's files of one index kind. */
export function indexPrefix(
  runId: string,
  kind: "stats" | "organisms" | "catalog" | "state",
): string {
  return `runs/${runId}/index/${kind}/`;
}

/**
 * `runs/<run>/index/state/stats/<last:019>.json`: the stats indexer's state after the batch that
 * ends at `lastTick` (for statistics that depend on earlier ticks), see {@link StatsState}.
 */
export function statsStateKey(runId: string, lastTick: number): string {
  return `runs/${runId}/index/state/stats/${pad(lastTick, 19)}.json`;
}

/** One raw batch as the catalog knows it. */
export interface CatalogEntry {
  runId: string;
  /** Key of the raw batch file. */
  batchKey: string;
  firstTick: number;
  lastTick: number;
  /** Sampled ticks in the batch, ascending. */
  ticks: number[];
  /** For each chunk of the batch: its first and last tick (chunks are the unit of decoding). */
  chunks: { index: number; firstTick: number; lastTick: number }[];
  rawBytes: number;
  storedBytes: number;
  organismsAlive: number;
  maxGeneration: number;
}

/** Columns of the stats Parquet files (one row per sampled tick), in file order. */
export const STATS_COLUMNS = [
  ["tick", "INT64", "sampled tick"],
  ["alive", "INT32", "organisms alive"],
  ["born", "INT32", "organisms born since the previous sample"],
  ["died", "INT32", "organisms died since the previous sample"],
  ["created_total", "INT64", "organisms created since the start"],
  ["energy_total", "INT64", "sum of ER over the living"],
  ["energy_mean", "DOUBLE", "mean ER of the living (0 when none)"],
  ["entropy_total", "INT64", "sum of SR over the living"],
  ["entropy_mean", "DOUBLE", "mean SR of the living"],
  ["generation_max", "INT32", "deepest generation among the living"],
  ["generation_mean", "DOUBLE", "mean generation of the living"],
  ["genomes_distinct", "INT32", "distinct genome hashes among the living"],
  ["genomes_active", "INT32", "genomes carried by at least 2 living organisms"],
  ["genomes_new", "INT32", "genomes seen for the first time in the run (needs earlier ticks)"],
  ["genomes_ever", "INT32", "distinct genomes seen since the start (needs earlier ticks)"],
  [
    "shannon_diversity",
    "DOUBLE",
    "Shannon entropy (nats) of the genome distribution of the living",
  ],
  ["cells_code", "INT32", "CODE molecules in the world (non-empty)"],
  ["cells_data", "INT32", "DATA molecules"],
  ["cells_energy", "INT32", "ENERGY molecules"],
  ["cells_structure", "INT32", "STRUCTURE molecules"],
  ["cells_label", "INT32", "LABEL molecules"],
  ["cells_labelref", "INT32", "LABELREF molecules"],
  ["cells_register", "INT32", "REGISTER molecules"],
  ["cells_owned", "INT32", "cells owned by a living organism"],
  ["instructions_total", "INT64", "instructions executed since the start"],
] as const;

/** Names of the stats columns. */
export type StatsColumn = typeof STATS_COLUMNS[number][0];

/** One stats row. */
export type StatsRow = Record<StatsColumn, number>;

/** Columns of the organisms Parquet files (one row per organism seen in the batch). */
export const ORGANISM_COLUMNS = [
  ["id", "INT32", "organism id"],
  ["parent_id", "INT32", "0 for organisms placed at start"],
  ["birth_tick", "INT64", "tick of birth"],
  ["death_tick", "INT64", "tick of death, or -1 if alive at the batch's last sample"],
  ["death_reason", "STRING", "why it died, empty while alive"],
  ["generation", "INT32", "0 for placed organisms"],
  ["genome_hash", "INT64", "32-bit genome hash (unsigned, stored as INT64)"],
  ["body_size", "INT32", "cells at birth"],
  ["children", "INT32", "children at its last sample in the batch"],
  ["first_seen_tick", "INT64", "first sample of the batch that shows it"],
  ["last_seen_tick", "INT64", "last sample of the batch that shows it"],
  ["energy_last", "INT32", "ER at its last sample in the batch"],
  [
    "program",
    "STRING",
    "its body when first seen: molecules in body order, e.g. 'LABEL:5 CODE:43 ...'",
  ],
] as const;

/** Names of the organism columns. */
export type OrganismColumn = typeof ORGANISM_COLUMNS[number][0];

/** One organisms row: numbers, except the two STRING columns. */
export type OrganismRow =
  & Record<Exclude<OrganismColumn, "death_reason" | "program">, number>
  & { death_reason: string; program: string };

/** State the stats indexer carries from batch to batch of a run. */
export interface StatsState {
  runId: string;
  /** Last tick covered. */
  lastTick: number;
  /** Every genome hash seen so far, ascending. */
  genomes: number[];
  /**
   * Raw batches of the run that could not be read (corrupt) and were passed over: their
   * genomes are missing from `genomes` (their own rows exist only once a readable batch
   * replaced them). Absent when none.
   */
  skippedBatches?: string[];
  /**
   * Ticks the carried statistics (`genomes_new`, `genomes_ever`) lack: raw data that was missing
   * or unreadable when the batches after it were indexed, in tick order. Absent when none.
   */
  gaps?: CarriedGap[];
}

/** Ticks the stats indexer passed over: see {@link StatsState.gaps}. */
export interface CarriedGap {
  /** First and last absent tick. */
  firstTick: number;
  lastTick: number;
  /** Why: `missing` (no raw batch) or what made the raw batch unreadable. */
  reason: string;
  /** The unreadable raw batch, when there was one. */
  batchKey?: string;
}
