import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { indexedRun } from "./_test_run.ts";
import { readParquetRows, readStats, writeParquetRows } from "./parquet.ts";
import { ORGANISM_COLUMNS, organismsKey, STATS_COLUMNS, statsKey } from "../common/index_schema.ts";

/** hyparquet's view of a file: schema (below the root) and rows, without our read helper. */
async function hyparquetView(bytes: Uint8Array) {
  const meta = parquetMetadata(bytes);
  const file = {
    byteLength: bytes.byteLength,
    slice: (s: number, e?: number) => bytes.slice(s, e).buffer,
  };
  return {
    meta,
    schema: meta.schema.slice(1),
    rows: await parquetReadObjects({ file }),
  };
}

Deno.test("index files read back by hyparquet with the schema's names and types", async () => {
  const run = await indexedRun();
  const b = run.batches[4]!;
  for (
    const [key, columns] of [
      [statsKey(run.runId, b.firstTick, b.lastTick), STATS_COLUMNS],
      [organismsKey(run.runId, b.firstTick, b.lastTick), ORGANISM_COLUMNS],
    ] as const
  ) {
    const view = await hyparquetView(await run.storage.read(key));
    deepStrictEqual(
      view.schema.map((e) => [e.name, e.type, e.repetition_type]),
      columns.map(([name, type]) => [
        name,
        type === "STRING" ? "BYTE_ARRAY" : type,
        "REQUIRED",
      ]),
    );
    for (const e of view.schema) {
      if (e.type === "BYTE_ARRAY") strictEqual(e.converted_type, "UTF8", e.name);
    }
    ok(view.rows.length > 0);
    for (const row of view.rows) {
      for (const [name, type] of columns) {
        const v = row[name];
        const want = type === "INT64" ? "bigint" : type === "STRING" ? "string" : "number";
        strictEqual(typeof v, want, `${key}: ${name}`);
        if (type === "INT32") ok(Number.isInteger(v));
      }
    }
    const kv = Object.fromEntries(
      (view.meta.key_value_metadata ?? []).map((m) => [m.key, m.value]),
    );
    strictEqual(kv["evochora.batch_key"], b.key);
    strictEqual(kv["evochora.run_id"], run.runId);
  }
  // The stats rows by hyparquet equal the rows by readStats.
  const key = statsKey(run.runId, b.firstTick, b.lastTick);
  const view = await hyparquetView(await run.storage.read(key));
  const viaHelper = await readStats(run.storage, run.runId, b.firstTick, b.lastTick);
  deepStrictEqual(
    view.rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]),
      )
    ),
    viaHelper,
  );
});

Deno.test("readStats returns the rows of a tick range across batch boundaries", async () => {
  const run = await indexedRun();
  const all = await readStats(run.storage, run.runId);
  const part = await readStats(run.storage, run.runId, 1950, 3020);
  deepStrictEqual(part, all.filter((r) => r.tick >= 1950 && r.tick <= 3020));
  deepStrictEqual(part.map((r) => r.tick)[0], 1950);
  deepStrictEqual(part.map((r) => r.tick).at(-1), 3020);
  deepStrictEqual(await readStats(run.storage, "no-such-run"), []);
});

Deno.test("writeParquetRows is deterministic, handles zero rows, and names bad values", async () => {
  const cols = [["a", "INT32", ""], ["b", "INT64", ""], ["c", "DOUBLE", ""], [
    "d",
    "STRING",
    "",
  ]] as const;
  const rows = [{ a: -5, b: 2 ** 40, c: 0.25, d: "x y" }, { a: 7, b: -1, c: -1e300, d: "" }];
  const bytes = writeParquetRows(cols, rows);
  deepStrictEqual(writeParquetRows(cols, rows), bytes);
  deepStrictEqual(await readParquetRows(bytes), rows);
  deepStrictEqual(await readParquetRows(bytes, ["d", "a"]), rows.map((r) => ({ d: r.d, a: r.a })));
  deepStrictEqual(await readParquetRows(writeParquetRows(cols, [])), []);
  throws(() => writeParquetRows(cols, [{ ...rows[0]!, a: 2 ** 31 }]), /row 0: 'a' = 2147483648/);
  throws(
    () => writeParquetRows(cols, [rows[0]!, { a: 1, b: 1, c: 1 }]),
    /row 1 has no value for 'd'/,
  );
  throws(() => writeParquetRows(cols, [{ ...rows[0]!, b: 1.5 }]), /'b' = 1.5/);
  throws(() => writeParquetRows(cols, [{ ...rows[0]!, d: 3 }]), /'d' \(STRING\)/);
  await readParquetRows(bytes, ["zz"]).then(
    () => ok(false, "unknown column accepted"),
    (e: Error) => ok(e.message.includes("zz"), e.message),
  );
  await readParquetRows(new Uint8Array([1, 2, 3])).then(
    () => ok(false, "garbage accepted"),
    (e: Error) => ok(e.message.length > 0),
  );
});
