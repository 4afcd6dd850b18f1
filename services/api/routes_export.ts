/**
 * A run's index tables as one merged Parquet file each, streamed; revalidated by an ETag that
 * changes when index files are added. Mounted at `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import { badParameter } from "./errors.ts";
import { printable } from "./params.ts";
import { EXPORT_TABLES, type ExportTable, parquetExport } from "./parquet_export.ts";
import { revalidate } from "./revalidate.ts";

/** GET `/:run/export/:table.parquet`. */
export function exportRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get("/:run/export/:file", revalidate, async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    const file = c.req.param("file");
    const table = file.endsWith(".parquet") ? file.slice(0, -".parquet".length) : "";
    if (!(EXPORT_TABLES as readonly string[]).includes(table)) {
      throw badParameter(
        "table",
        `Unknown export '${printable(file)}'; valid: ${
          EXPORT_TABLES.map((t) => `${t}.parquet`).join(", ")
        }`,
      );
    }
    const exp = await parquetExport(ctx.index, view.info.runId, table as ExportTable);
    return c.body(exp.stream(), 200, {
      "etag": exp.etag,
      // The file grows as batches are indexed: clients revalidate every time.
      "cache-control": "no-cache",
      "content-type": "application/vnd.apache.parquet",
      "content-disposition": `attachment; filename="${exp.filename}"`,
    });
  });

  return app;
}
