import * as assert from "node:assert/strict";
import { hasTick, neighbours, spanLast, spansOf, tickCount, writeTicks } from "./tick_spans.ts";

Deno.test("spansOf() folds evenly spaced ticks into one span per run of equal steps", () => {
  assert.deepEqual(spansOf([0, 10, 20, 30, 35, 40, 100]), [
    { first: 0, step: 10, count: 4 },
    { first: 35, step: 5, count: 2 },
    { first: 100, step: 1, count: 1 },
  ]);
  assert.deepEqual(spansOf([]), []);
  assert.deepEqual(spansOf([7]), [{ first: 7, step: 1, count: 1 }]);
});

Deno.test("spansOf() rejects ticks that are not ascending", () => {
  assert.throws(() => spansOf([0, 5, 5]), RangeError);
  assert.throws(() => spansOf([3, 1]), /not ascending at 1/);
});

Deno.test("spans give back exactly the ticks they were made of", () => {
  const ticks = [0, 2, 4, 6, 7, 8, 20, 40, 60, 61];
  const spans = spansOf(ticks);
  const out: string[] = [];
  writeTicks(spans, out);
  assert.deepEqual(out.map(Number), ticks);
  assert.equal(tickCount(spans), ticks.length);
  assert.equal(spanLast(spans.at(-1)!), 61);
  for (let t = -1; t < 70; t++) assert.equal(hasTick(spans, t), ticks.includes(t), `tick ${t}`);
});

Deno.test("neighbours() names the nearest ticks on each side, across spans", () => {
  const ticks = [10, 20, 30, 100, 110];
  const spans = spansOf(ticks);
  for (let t = 0; t < 130; t++) {
    const below = ticks.filter((x) => x < t).at(-1) ?? null;
    const above = ticks.find((x) => x > t) ?? null;
    assert.deepEqual(neighbours(spans, t), { below, above }, `tick ${t}`);
  }
  assert.deepEqual(neighbours([], 5), { below: null, above: null });
});

Deno.test("a span of a huge claimed range costs nothing to hold or search", () => {
  const spans = [{ first: 10_000, step: 1, count: 99_999_990_000 }];
  assert.ok(hasTick(spans, 5_000_000_000));
  assert.deepEqual(neighbours(spans, 5_000_000_000), {
    below: 4_999_999_999,
    above: 5_000_000_001,
  });
});
