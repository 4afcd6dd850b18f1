import assert from "node:assert/strict";
import type { StatsRow } from "../common/index_schema.ts";
import { IndexData } from "./index_data.ts";
import type { BatchRange, IndexReader } from "./index_reader.ts";
import { downsample, StatsAnswers } from "./stats_series.ts";

/** An index of stats files in memory, counting the files read. */
function memoryIndex(files: Map<string, StatsRow[]>) {
  const reads = { n: 0 };
  const key = (r: BatchRange) => `${r.firstTick}_${r.lastTick}`;
  const reader: IndexReader = {
    list: () =>
      Promise.resolve(
        [...files.keys()].map((k) => {
          const [a, b] = k.split("_").map(Number);
          return { firstTick: a!, lastTick: b! };
        }).sort((x, y) => x.firstTick - y.firstTick),
      ),
    catalog: () => Promise.resolve(null),
    stats: (_run, r) => {
      reads.n++;
      return Promise.resolve(files.get(key(r)) ?? null);
    },
    organisms: () => Promise.resolve(null),
  };
  // No listing reuse and no row cache: every series would read every file.
  return { index: new IndexData({ reader, listingTtlMs: 0, maxBytes: 0 }), reads };
}

function rows(first: number, n: number): StatsRow[] {
  return Array.from(
    { length: n },
    (_, i) => ({ tick: first + i, alive: i } as unknown as StatsRow),
  );
}

Deno.test("a statistics answer is reused until the run gains a stats file", async () => {
  const files = new Map([["0_9", rows(0, 10)], ["10_19", rows(10, 10)]]);
  const { index, reads } = memoryIndex(files);
  const answers = new StatsAnswers(1 << 20);
  const q = { metrics: ["alive" as const], from: 0, to: Number.MAX_SAFE_INTEGER, maxPoints: 5 };
  const first = await answers.series(index, "r", q);
  assert.equal(first.ticks.length, 5);
  assert.equal(reads.n, 2);
  assert.deepEqual(await answers.series(index, "r", q), first);
  assert.equal(reads.n, 2, "answered from the cache");
  files.set("20_29", rows(20, 10));
  const grown = await answers.series(index, "r", q);
  assert.equal(reads.n, 3, "a new file: computed again, reading only the new file");
  assert.equal(grown.bucket, 6);
  const all = [...rows(0, 10), ...rows(10, 10), ...rows(20, 10)];
  assert.deepEqual(grown, { runId: "r", metrics: ["alive"], ...downsample(all, ["alive"], 5) });
  // Another whole-run query comes from the same summary; a range reads the rows it covers.
  await answers.series(index, "r", { ...q, maxPoints: 100 });
  assert.equal(reads.n, 3);
  const part = await answers.series(index, "r", { ...q, from: 12, to: 17 });
  assert.deepEqual(part.ticks, [12, 14, 16]);
  assert.equal(reads.n, 4);
});

Deno.test("a stats file that appears between others rebuilds the summary with it", async () => {
  const files = new Map([["0_9", rows(0, 10)], ["20_29", rows(20, 10)]]);
  const { index, reads } = memoryIndex(files);
  const answers = new StatsAnswers(1 << 20);
  const q = { metrics: ["alive" as const], from: 0, to: Number.MAX_SAFE_INTEGER, maxPoints: 100 };
  assert.equal((await answers.series(index, "r", q)).ticks.length, 20);
  files.set("10_19", rows(10, 10));
  const filled = await answers.series(index, "r", q);
  assert.deepEqual(filled.ticks, Array.from({ length: 30 }, (_, i) => i));
  assert.equal(reads.n, 2 + 3);
});
