import * as assert from "node:assert/strict";
import {
  hasTick,
  joinSpans,
  neighbours,
  spanLast,
  spansOf,
  tickCount,
  ticksOf,
} from "./tick_spans.ts";

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
  assert.deepEqual(ticksOf(spans), ticks);
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

Deno.test("joinSpans() continues a progression across batches and keeps every tick", () => {
  const batches = [[0, 10, 20], [30, 40], [50], [60, 70, 80], [85, 90], [200], [300, 400]];
  const joined = joinSpans(batches.map(spansOf));
  assert.deepEqual(joined, [
    { first: 0, step: 10, count: 9 },
    { first: 85, step: 5, count: 2 },
    { first: 200, step: 100, count: 3 },
  ]);
  assert.deepEqual(ticksOf(joined), batches.flat());
  assert.deepEqual(joinSpans([]), []);
});

Deno.test("joinSpans() leaves its inputs as they were", () => {
  const a = spansOf([0, 1]);
  const b = spansOf([2, 3]);
  joinSpans([a, b]);
  assert.deepEqual(a, [{ first: 0, step: 1, count: 2 }]);
  assert.deepEqual(b, [{ first: 2, step: 1, count: 2 }]);
});

Deno.test("joinSpans() gives back any ascending ticks split anywhere", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 200; round++) {
    const ticks: number[] = [];
    let t = Math.floor(next() * 5);
    for (let i = 0; i < 40; i++) {
      ticks.push(t += 1 + Math.floor(next() * 3) * (next() < 0.8 ? 1 : 7));
    }
    const lists: number[][] = [];
    for (let i = 0; i < ticks.length;) {
      const n = 1 + Math.floor(next() * 6);
      lists.push(ticks.slice(i, i + n));
      i += n;
    }
    const joined = joinSpans(lists.map(spansOf));
    assert.deepEqual(ticksOf(joined), ticks);
    assert.ok(joined.length <= spansOf(ticks).length + lists.length);
  }
});
