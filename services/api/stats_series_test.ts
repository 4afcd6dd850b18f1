import assert from "node:assert/strict";
import type { StatsRow } from "../common/index_schema.ts";
import { IndexData } from "./index_data.ts";
import type { BatchRange, IndexReader } from "./index_reader.ts";
import { StatsAnswers } from "./stats_series.ts";

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
  assert.equal(reads.n, 5, "a new file: computed again");
  assert.equal(grown.bucket, 6);
  // Another query is its own answer.
  await answers.series(index, "r", { ...q, maxPoints: 100 });
  assert.equal(reads.n, 8);
});
