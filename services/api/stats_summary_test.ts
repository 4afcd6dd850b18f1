import assert from "node:assert/strict";
import type { StatsRow } from "../common/index_schema.ts";
import { MAX_BLOCKS, StatsSummary } from "./stats_summary.ts";

const METRICS = ["alive", "energy_total"] as const;

/** `n` rows from tick `first`, every `step` ticks, with values from a small generator. */
function rows(first: number, n: number, step = 10): StatsRow[] {
  let seed = first + 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  return Array.from({ length: n }, (_, i) =>
    ({
      tick: first + i * step,
      alive: next() % 1000,
      energy_total: next() % 100000,
    }) as unknown as StatsRow);
}

/** Means of consecutive groups of `bucket` rows (the last group may be short). */
function bucketMeans(all: readonly StatsRow[], bucket: number) {
  const ticks: number[] = [];
  const series: Record<string, number[]> = { alive: [], energy_total: [] };
  for (let i = 0; i < all.length; i += bucket) {
    const group = all.slice(i, i + bucket);
    ticks.push(group[0]!.tick);
    for (const m of METRICS) {
      series[m]!.push(group.reduce((a, r) => a + r[m], 0) / group.length);
    }
  }
  return { ticks, series };
}

/** A summary of `files` (rows per file). */
function summaryOf(files: StatsRow[][]): StatsSummary {
  const s = new StatsSummary(METRICS);
  for (const f of files) s.add({ firstTick: f[0]!.tick, lastTick: f.at(-1)!.tick }, f);
  return s;
}

function close(a: readonly number[], b: readonly number[], what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-9 * Math.max(1, Math.abs(b[i]!)), `${what} [${i}]`);
  }
}

Deno.test("StatsSummary.series() equals the rows' bucket means, in at most maxPoints buckets", () => {
  for (const total of [1, 7, 1000, MAX_BLOCKS, MAX_BLOCKS + 1, 5 * MAX_BLOCKS + 123]) {
    const files: StatsRow[][] = [];
    for (let t = 0; t < total;) {
      const n = Math.min(total - t, 97);
      files.push(rows(t * 10, n));
      t += n;
    }
    const all = files.flat();
    const s = summaryOf(files);
    assert.equal(s.samples, total);
    assert.ok(s.blocks <= MAX_BLOCKS);
    for (const maxPoints of [1, 3, 500, 2000]) {
      const got = s.series(METRICS, maxPoints);
      if (got === null) {
        assert.ok(Math.ceil(total / maxPoints) < s.blockSize, `${total}/${maxPoints}: null`);
        continue;
      }
      assert.ok(got.ticks.length <= maxPoints, `${total}/${maxPoints}: at most maxPoints`);
      assert.ok(got.bucket >= Math.ceil(total / maxPoints));
      assert.equal(got.bucket % s.blockSize, 0, "whole blocks");
      const want = bucketMeans(all, got.bucket);
      assert.deepEqual(got.ticks, want.ticks);
      for (const m of METRICS) close(got.series[m]!, want.series[m]!, `${total}/${maxPoints} ${m}`);
    }
  }
});

Deno.test("StatsSummary.series() is null when the buckets asked for are finer than its blocks", () => {
  const s = summaryOf([rows(0, 4 * MAX_BLOCKS, 1)]);
  assert.equal(s.blockSize, 4);
  assert.equal(s.series(METRICS, 4 * MAX_BLOCKS), null);
  assert.equal(s.series(METRICS, MAX_BLOCKS)?.bucket, 4);
});

Deno.test("StatsSummary.add() skips ticks not after the last one and agreesWith() checks the files", () => {
  const s = new StatsSummary(METRICS);
  s.add({ firstTick: 0, lastTick: 20 }, rows(0, 3));
  s.add({ firstTick: 10, lastTick: 30 }, rows(10, 3));
  assert.equal(s.samples, 4);
  assert.ok(s.agreesWith([{ firstTick: 0, lastTick: 20 }]));
  assert.ok(s.agreesWith([{ firstTick: 0, lastTick: 20 }, { firstTick: 10, lastTick: 30 }, {
    firstTick: 40,
    lastTick: 50,
  }]));
  assert.ok(!s.agreesWith([{ firstTick: 0, lastTick: 5 }]));
});
