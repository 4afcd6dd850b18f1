/**
 * Parquet in and out: rows to a Parquet file with hyparquet-writer (column types from the
 * schema's column lists), Parquet bytes back to rows with hyparquet, and the readers the query
 * API uses to merge a run's per-batch index files in tick order.
 *
 * @module
 */

import { type AsyncBuffer, parquetMetadata, parquetReadObjects } from "hyparquet";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import type { Storage } from "../../resources/storage/storage.ts";
import { listAllKeys } from "./raw_batch.ts";
import {
  type CatalogEntry,
  indexPrefix,
  ORGANISM_COLUMNS,
  type OrganismRow,
  STATS_COLUMNS,
  type StatsRow,
} from "../common/index_schema.ts";

/** Column types the index files use. */
export type ParquetColumnType = "INT32" | "INT64" | "DOUBLE" | "STRING";

/** A column of a Parquet file: name, type, description (the shape of the schema's lists). */
export type ParquetColumn = readonly [name: string, type: ParquetColumnType, description: string];

/** Key-value metadata stored in the file footer (e.g. run id, batch key). */
export type ParquetKeyValue = { key: string; value: string };

/** Footer metadata of an index file: its kind, run and raw batch. */
export function indexFileMetadata(
  kind: string,
  batch: { runId: string; key: string },
): ParquetKeyValue[] {
  return [
    { key: "evochora.kind", value: kind },
    { key: "evochora.run_id", value: batch.runId },
    { key: "evochora.batch_key", value: batch.key },
  ];
}

/** Written into every file's footer as `created_by`. */
export const PARQUET_CREATED_BY = "evochora indexer";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function columnData(
  columns: readonly ParquetColumn[],
  rows: readonly Readonly<Record<string, unknown>>[],
): ColumnSource[] {
  return columns.map(([name, type]) => {
    const n = rows.length;
    const value = (i: number): unknown => {
      const v = rows[i]![name];
      if (v === undefined) throw new TypeError(`Parquet row ${i} has no value for '${name}'`);
      return v;
    };
    const num = (i: number): number => {
      const v = value(i);
      if (typeof v !== "number" || Number.isNaN(v)) {
        throw new TypeError(`Parquet row ${i}: '${name}' (${type}) is ${String(v)}, not a number`);
      }
      return v;
    };
    switch (type) {
      case "INT32": {
        const data = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = num(i);
          if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
            throw new RangeError(`Parquet row ${i}: '${name}' = ${v} does not fit INT32`);
          }
          data[i] = v;
        }
        return { name, data, type, nullable: false };
      }
      case "INT64": {
        const data = new BigInt64Array(n);
        for (let i = 0; i < n; i++) {
          const v = num(i);
          if (!Number.isSafeInteger(v)) {
            throw new RangeError(`Parquet row ${i}: '${name}' = ${v} is not a safe integer`);
          }
          data[i] = BigInt(v);
        }
        return { name, data, type, nullable: false };
      }
      case "DOUBLE": {
        const data = new Float64Array(n);
        for (let i = 0; i < n; i++) data[i] = num(i);
        return { name, data, type, nullable: false };
      }
      case "STRING": {
        const data: string[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = value(i);
          if (typeof v !== "string") {
            throw new TypeError(`Parquet row ${i}: '${name}' (STRING) is ${String(v)}`);
          }
          data[i] = v;
        }
        return { name, data, type, nullable: false };
      }
    }
  });
}

/**
 * Encodes `rows` as one Parquet file with exactly `columns`, in that order: INT32, INT64
 * (written from JS numbers, which must be safe integers), DOUBLE and STRING (UTF-8), all
 * REQUIRED, SNAPPY-compressed. Deterministic: the same rows give the same bytes. Zero rows give a
 * valid file with the schema and no row group. Throws TypeError/RangeError naming the row and
 * column of a missing or ill-typed value.
 */
export function writeParquetRows(
  columns: readonly ParquetColumn[],
  rows: readonly Readonly<Record<string, unknown>>[],
  metadata: readonly ParquetKeyValue[] = [],
): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: columnData(columns, rows),
    createdBy: PARQUET_CREATED_BY,
    kvMetadata: metadata.map((m) => ({ key: m.key, value: m.value })),
  });
  return new Uint8Array(buffer);
}

/** The key-value metadata in a Parquet file's footer (empty when it has none). */
export function parquetFooter(bytes: Uint8Array): ParquetKeyValue[] {
  return (parquetMetadata(bytes).key_value_metadata ?? []).map((kv) => ({
    key: kv.key,
    value: kv.value ?? "",
  }));
}

function asyncBuffer(bytes: Uint8Array): AsyncBuffer {
  return {
    byteLength: bytes.byteLength,
    slice(start: number, end?: number): ArrayBuffer {
      const from = bytes.byteOffset + start;
      const to = bytes.byteOffset + (end ?? bytes.byteLength);
      return bytes.buffer.slice(from, to) as ArrayBuffer;
    },
  };
}

function plain(v: unknown): unknown {
  if (typeof v === "bigint") {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return v;
}

/**
 * Decodes a Parquet file (any writer) into one object per row, column name to value. INT64
 * values come back as numbers when they are safe integers (every index column is), otherwise as
 * bigint; strings as strings. `columns` restricts (and orders) the columns read. Throws when
 * the bytes are not Parquet or a column is unknown.
 */
export async function readParquetRows(
  bytes: Uint8Array,
  columns?: string[],
): Promise<Record<string, unknown>[]> {
  const file = asyncBuffer(bytes);
  const metadata = parquetMetadata(bytes);
  if (columns !== undefined) {
    const known = new Set(metadata.schema.slice(1).map((e) => e.name));
    const unknown = columns.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new RangeError(
        `Unknown Parquet column(s) ${unknown.join(", ")}; the file has ${[...known].join(", ")}`,
      );
    }
  }
  const rows = await parquetReadObjects(
    columns === undefined ? { file, metadata } : { file, metadata, columns },
  );
  return rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) out[k] = plain(v);
    return out;
  });
}

/** A derived file of a run: key and the tick range of its batch, from the key. */
export interface IndexFile {
  key: string;
  firstTick: number;
  lastTick: number;
}

const INDEX_FILE_RE = /\/(\d{19})_(\d{19})\.(parquet|json)$/;

/**
 * A run's derived files of one kind, in tick order; only those whose batch overlaps
 * `fromTick..toTick` (inclusive) when given.
 */
export async function listIndexFiles(
  storage: Storage,
  runId: string,
  kind: "stats" | "organisms" | "catalog",
  fromTick = 0,
  toTick = Number.MAX_SAFE_INTEGER,
): Promise<IndexFile[]> {
  const files: IndexFile[] = [];
  for (const key of await listAllKeys(storage, indexPrefix(runId, kind))) {
    const m = INDEX_FILE_RE.exec(key);
    if (m === null) continue; // a foreign file
    const firstTick = Number(m[1]);
    const lastTick = Number(m[2]);
    if (lastTick < fromTick || firstTick > toTick) continue;
    files.push({ key, firstTick, lastTick });
  }
  return files.sort((a, b) => a.firstTick - b.firstTick || a.lastTick - b.lastTick);
}

async function readRowsAt(storage: Storage, key: string): Promise<Record<string, unknown>[]> {
  const bytes = await storage.read(key);
  try {
    return await readParquetRows(bytes);
  } catch (e) {
    throw new Error(`Cannot read Parquet file '${key}': ${(e as Error).message}`, { cause: e });
  }
}

function checkColumns(
  key: string,
  row: Record<string, unknown>,
  columns: readonly ParquetColumn[],
): void {
  for (const [name, type] of columns) {
    const v = row[name];
    const ok = type === "STRING" ? typeof v === "string" : typeof v === "number";
    if (!ok) throw new TypeError(`Parquet file '${key}': column '${name}' is ${typeof v}`);
  }
}

/**
 * The stats rows of a run, ascending by tick, limited to `fromTick..toTick` (inclusive) when
 * given. Reads only the files whose batch overlaps the range.
 */
export async function readStats(
  storage: Storage,
  runId: string,
  fromTick = 0,
  toTick = Number.MAX_SAFE_INTEGER,
): Promise<StatsRow[]> {
  const out: StatsRow[] = [];
  for (const f of await listIndexFiles(storage, runId, "stats", fromTick, toTick)) {
    for (const row of await readRowsAt(storage, f.key)) {
      checkColumns(f.key, row, STATS_COLUMNS);
      const tick = row.tick as number;
      if (tick >= fromTick && tick <= toTick) out.push(row as StatsRow);
    }
  }
  return out.sort((a, b) => a.tick - b.tick);
}

/** Options of {@link readOrganisms}. */
export interface ReadOrganismsOptions {
  /** Only batches overlapping this tick range (inclusive). */
  fromTick?: number;
  toTick?: number;
  /**
   * true: the rows as stored, one per organism and batch, in batch order. false (default): one
   * row per organism over all batches read, see {@link readOrganisms}.
   */
  perBatch?: boolean;
}

/**
 * The organisms of a run, one row per organism ascending by id, merged over the per-batch
 * files in tick order: `first_seen_tick` and `program` from its first batch, `last_seen_tick`,
 * `energy_last`, `children` and the death columns from its last batch (death_tick -1 while it
 * was alive at the last sample read). With `perBatch`, the stored rows unmerged.
 */
export async function readOrganisms(
  storage: Storage,
  runId: string,
  options: ReadOrganismsOptions = {},
): Promise<OrganismRow[]> {
  const files = await listIndexFiles(
    storage,
    runId,
    "organisms",
    options.fromTick ?? 0,
    options.toTick ?? Number.MAX_SAFE_INTEGER,
  );
  const all: OrganismRow[] = [];
  const byId = new Map<number, OrganismRow>();
  for (const f of files) {
    for (const raw of await readRowsAt(storage, f.key)) {
      checkColumns(f.key, raw, ORGANISM_COLUMNS);
      const row = raw as OrganismRow;
      if (options.perBatch) {
        all.push(row);
        continue;
      }
      const seen = byId.get(row.id);
      if (seen === undefined) {
        byId.set(row.id, { ...row });
        continue;
      }
      seen.first_seen_tick = Math.min(seen.first_seen_tick, row.first_seen_tick);
      if (row.last_seen_tick >= seen.last_seen_tick) {
        seen.last_seen_tick = row.last_seen_tick;
        seen.energy_last = row.energy_last;
        seen.children = row.children;
        seen.death_tick = row.death_tick;
        seen.death_reason = row.death_reason;
      }
    }
  }
  if (options.perBatch) return all;
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The catalog of a run: one entry per indexed raw batch, in tick order. */
export async function readCatalog(storage: Storage, runId: string): Promise<CatalogEntry[]> {
  const out: CatalogEntry[] = [];
  for (const f of await listIndexFiles(storage, runId, "catalog")) {
    const bytes = await storage.read(f.key);
    try {
      out.push(JSON.parse(new TextDecoder().decode(bytes)) as CatalogEntry);
    } catch (e) {
      throw new Error(`Cannot read catalog entry '${f.key}': ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  return out;
}
