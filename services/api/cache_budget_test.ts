import assert from "node:assert/strict";
import { splitCacheBudget } from "./cache_budget.ts";

Deno.test("splitCacheBudget() splits 3/8, 2/8, 1/8, 1/8, 1/8 and never exceeds the budget", () => {
  const l = splitCacheBudget(64 * 2 ** 20);
  assert.deepEqual(l, {
    cacheBatchBytes: 24 * 2 ** 20,
    cacheChunkBytes: 16 * 2 ** 20,
    cacheStateBytes: 8 * 2 ** 20,
    cacheResponseBytes: 8 * 2 ** 20,
    cacheMetaBytes: 8 * 2 ** 20,
  });
  const odd = splitCacheBudget(2 ** 20 + 7);
  const sum = Object.values(odd).reduce((a, b) => a + b, 0);
  assert.ok(sum <= 2 ** 20 + 7);
});

Deno.test("splitCacheBudget() rejects budgets below 1 MiB", () => {
  assert.throws(() => splitCacheBudget(1000), /cache budget must be an integer >= 1 MiB/);
  assert.throws(() => splitCacheBudget(1.5), RangeError);
});
