/**
 * Reading what the indexers write (services/common/index_schema.ts): the catalog JSON, the stats and
 * organisms Parquet files of each batch. Behind {@link IndexReader} so that the API can switch
 * to the indexer's own readers once services/indexer/mod.ts exports them.
 *
 * @module
 */

import { parquetReadObjects } from "hyparquet";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { NotFoundError } from "../../resources/storage/storage.ts";
import {
  type CatalogEntry,
  catalogKey,
  indexPrefix,
  ORGANISM_COLUMNS,
  type OrganismColumn,
  organismsKey,
  STATS_COLUMNS,
  statsKey,
  type StatsRow,
} from "../common/index_schema.ts";

/** The index kinds with one file per raw batch. */
export type IndexKind = "stats" | "organisms" | "catalog";

/** Tick range of one batch (and of its index files). */
export interface BatchRange {
  firstTick: number;
  lastTick: number;
}

/** One organisms row (numbers for the integer columns, strings for the text ones). */
export type OrganismRow = Record<OrganismColumn, number | string>;

/** What the API reads from the indexes. */
export interface IndexReader {
  /**
   * Batches of the run that have an index file of `kind`, ascending by first tick; with
   * `after`, at least those after that batch (a reader may return more).
   */
  list(runId: string, kind: IndexKind, after?: BatchRange): Promise<BatchRange[]>;
  /** The batch's catalog entry, or null when absent. */
  catalog(runId: string, batch: BatchRange): Promise<CatalogEntry | null>;
  /** The batch's stats rows, or null when absent. */
  stats(runId: string, batch: BatchRange): Promise<StatsRow[] | null>;
  /** The batch's organisms rows, or null when absent. */
  organisms(runId: string, batch: BatchRange): Promise<OrganismRow[] | null>;
}

/** Each kind's file of one batch. */
const INDEX_KEYS = { stats: statsKey, organisms: organismsKey, catalog: catalogKey };

const INDEX_FILE = /\/(\d{19})_(\d{19})\.(parquet|json)$/;

/** Parses the tick range from an index file key, or null. */
export function parseIndexKey(key: string): BatchRange | null {
  const m = INDEX_FILE.exec(key);
  return m ? { firstTick: Number(m[1]), lastTick: Number(m[2]) } : null;
}

async function readOrNull(storage: Storage, key: string): Promise<Uint8Array | null> {
  try {
    return await storage.read(key);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** Parquet rows with INT64 (bigint) values turned into numbers. */
export async function readParquetRows(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows: Record<string, unknown>[] = await parquetReadObjects({
    file: buffer as ArrayBuffer,
  });
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === "bigint") row[k] = Number(v);
    }
  }
  return rows;
}

function isCatalogEntry(v: unknown): v is CatalogEntry {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.firstTick === "number" && typeof o.lastTick === "number" &&
    Array.isArray(o.ticks) && o.ticks.every((t) => typeof t === "number") &&
    Array.isArray(o.chunks);
}

/** Reads the index files from storage with hyparquet. */
export class StorageIndexReader implements IndexReader {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  async list(runId: string, kind: IndexKind, after?: BatchRange): Promise<BatchRange[]> {
    const ext = kind === "catalog" ? ".json" : ".parquet";
    const out: BatchRange[] = [];
    const from = after === undefined
      ? undefined
      : INDEX_KEYS[kind](runId, after.firstTick, after.lastTick);
    for (const key of await listAllKeys(this.#storage, indexPrefix(runId, kind), from)) {
      if (!key.endsWith(ext)) continue;
      const r = parseIndexKey(key);
      if (r !== null) out.push(r);
    }
    return out.sort((a, b) => a.firstTick - b.firstTick);
  }

  async catalog(runId: string, batch: BatchRange): Promise<CatalogEntry | null> {
    const key = catalogKey(runId, batch.firstTick, batch.lastTick);
    const bytes = await readOrNull(this.#storage, key);
    if (bytes === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new Error(`Catalog '${key}' is not JSON: ${(e as Error).message}`);
    }
    if (!isCatalogEntry(parsed)) throw new Error(`Catalog '${key}' is not a CatalogEntry`);
    return parsed;
  }

  async stats(runId: string, batch: BatchRange): Promise<StatsRow[] | null> {
    const bytes = await readOrNull(
      this.#storage,
      statsKey(runId, batch.firstTick, batch.lastTick),
    );
    if (bytes === null) return null;
    const rows = await readParquetRows(bytes);
    return rows.map((r) => {
      const row = {} as StatsRow;
      for (const [name] of STATS_COLUMNS) {
        const v = r[name];
        row[name] = typeof v === "number" ? v : Number(v ?? NaN);
      }
      return row;
    });
  }

  async organisms(runId: string, batch: BatchRange): Promise<OrganismRow[] | null> {
    const bytes = await readOrNull(
      this.#storage,
      organismsKey(runId, batch.firstTick, batch.lastTick),
    );
    if (bytes === null) return null;
    const rows = await readParquetRows(bytes);
    return rows.map((r) => {
      const row = {} as OrganismRow;
      for (const [name, type] of ORGANISM_COLUMNS) {
        const v = r[name];
        row[name] = type === "STRING" ? String(v ?? "") : Number(v ?? NaN);
      }
      return row;
    });
  }
}
