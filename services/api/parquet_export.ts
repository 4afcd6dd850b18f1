/**
 * GET /api/runs/:run/export/:table.parquet: the per-batch index files of one table merged into
 * one Parquet file (hyparquet-writer), streamed a row group at a time so that memory stays at
 * about one row group whatever the run's length.
 *
 * @module
 */

import type { SchemaElement } from "hyparquet";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { ORGANISM_COLUMNS, STATS_COLUMNS } from "../common/index_schema.ts";
import { noIndex } from "./errors.ts";
import { strongEtag } from "./etag.ts";
import type { IndexData } from "./index_data.ts";
import type { BatchRange } from "./index_reader.ts";

/** The exportable tables. */
export const EXPORT_TABLES = ["stats", "organisms"] as const;

/** One of {@link EXPORT_TABLES}. */
export type ExportTable = typeof EXPORT_TABLES[number];

type ColumnSpec = readonly (readonly [string, string, string])[];

const COLUMNS: Record<ExportTable, ColumnSpec> = {
  stats: STATS_COLUMNS,
  organisms: ORGANISM_COLUMNS,
};

/** Rows gathered before a row group is written. */
const ROW_GROUP_ROWS = 65536;

/** The Parquet schema of a table: every column optional, types as in the index files. */
export function exportSchema(table: ExportTable): SchemaElement[] {
  const cols = COLUMNS[table];
  return [
    { name: "root", num_children: cols.length },
    ...cols.map(([name, type]): SchemaElement =>
      type === "STRING"
        ? { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" }
        : {
          name,
          type: type as "INT32" | "INT64" | "DOUBLE",
          repetition_type: "OPTIONAL",
        }
    ),
  ];
}

/** A ByteWriter that hands out what it has written at each flush. */
class ChunkWriter extends ByteWriter {
  readonly out: Uint8Array[] = [];
  flush(): void {
    if (this.index === 0) return;
    this.out.push(new Uint8Array(this.buffer.slice(0, this.index)));
    this.index = 0;
  }
  override finish(): void {
    this.flush();
  }
}

function column(
  rows: readonly Record<string, number | string>[],
  name: string,
  type: string,
): (number | bigint | string | null)[] {
  return rows.map((r) => {
    const v = r[name];
    if (v === undefined) return null;
    if (type === "STRING") return String(v);
    const n = Number(v);
    if (!Number.isFinite(n)) return null;
    return type === "INT64" ? BigInt(Math.trunc(n)) : n;
  });
}

/** An export ready to stream. */
export interface ParquetExport {
  etag: string;
  filename: string;
  /** Index files merged, ascending. */
  files: BatchRange[];
  stream(): ReadableStream<Uint8Array>;
}

/** Prepares the merged file of a table; 404 `no_index` when the run has no file of it. */
export async function parquetExport(
  index: IndexData,
  runId: string,
  table: ExportTable,
): Promise<ParquetExport> {
  const files = await index.list(runId, table);
  if (files.length === 0) {
    throw noIndex(`No ${table} index for run '${runId}' yet: nothing to export`);
  }
  const cols = COLUMNS[table];
  return {
    etag: strongEtag([
      "export",
      runId,
      table,
      ...files.map((f) => `${f.firstTick}_${f.lastTick}`),
    ]),
    filename: `${runId}-${table}.parquet`,
    files,
    stream() {
      const writer = new ChunkWriter(1 << 20);
      const pw = new ParquetWriter({
        writer,
        schema: exportSchema(table),
        createdBy: "evochora query API",
      });
      let next = 0;
      let finished = false;
      // No read-ahead (highWaterMark 0): nothing is read or written until the body is read,
      // so an answer turned into a 304 (revalidate.ts) costs no index reads.
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (finished) return;
          const rows: Record<string, number | string>[] = [];
          while (next < files.length && rows.length < ROW_GROUP_ROWS) {
            const f = files[next++]!;
            const part = table === "stats"
              ? await index.statsRows(runId, f)
              : await index.organismRows(runId, f);
            for (const r of part) rows.push(r);
          }
          if (rows.length > 0) {
            await pw.write({
              columnData: cols.map(([name, type]) => ({ name, data: column(rows, name, type) })),
              rowGroupSize: rows.length,
            });
          }
          if (next >= files.length) {
            await pw.finish();
            finished = true;
          }
          for (const b of writer.out.splice(0)) controller.enqueue(b);
          if (finished) controller.close();
        },
      }, { highWaterMark: 0 });
    },
  };
}
