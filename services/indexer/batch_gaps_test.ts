import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { batchKey } from "../common/storage_layout.ts";
import { describeGap, findGaps, GapWatch } from "./batch_gaps.ts";
import type { BatchRef } from "./raw_batch.ts";

function ref(firstTick: number, lastTick: number): BatchRef {
  return { runId: "r", key: batchKey("r", firstTick, lastTick), firstTick, lastTick };
}

function gap(firstTick: number, lastTick: number, before: BatchRef | null, after: BatchRef) {
  return { runId: "r", firstTick, lastTick, before: before?.key ?? null, after: after.key };
}

Deno.test("findGaps names holes before later batches, in any listing order", () => {
  const [a, b, c, d] = [ref(0, 90), ref(100, 190), ref(200, 290), ref(300, 300)];
  deepStrictEqual(findGaps([d, c, b, a], 10), []);
  deepStrictEqual(findGaps([a, d, c], 10), [gap(100, 190, a, c)]);
  deepStrictEqual(findGaps([b, d], 10), [gap(0, 90, null, b), gap(200, 290, b, d)]);
  deepStrictEqual(findGaps([a, c, b], 10), []);
});

Deno.test("findGaps sees no gap at the growing end, nor where batches overlap", () => {
  deepStrictEqual(findGaps([ref(0, 90)], 10), []);
  deepStrictEqual(findGaps([], 10), []);
  // A stray file spanning far ahead hides nothing and makes no gap of what it covers.
  const stray = ref(100, 99_999_999_999);
  deepStrictEqual(findGaps([ref(0, 90), stray, ref(200, 290)], 10), []);
});

Deno.test("findGaps from a tick known to be stored sees no hole before it", () => {
  const [b, c, d] = [ref(100, 190), ref(200, 290), ref(300, 390)];
  deepStrictEqual(findGaps([b, d], 10, 100), [gap(200, 290, b, d)]);
  deepStrictEqual(findGaps([b, c], 10, 100), []);
});

Deno.test("a gap counts as missing only after the grace period, and a partly filled one keeps its age", () => {
  const [a, b, c, d] = [ref(0, 90), ref(100, 190), ref(200, 290), ref(300, 390)];
  const watch = new GapWatch(1000);
  deepStrictEqual(watch.observe("r", findGaps([a, d], 10), 0), []);
  deepStrictEqual(watch.missing(), []);
  strictEqual(watch.all().length, 1);
  watch.observe("r", findGaps([a, d], 10), 999);
  deepStrictEqual(watch.missing(), []);
  // Ticks 200..290 arrive: the rest of the hole is as old as the hole.
  watch.observe("r", findGaps([a, c, d], 10), 1000);
  const [g] = watch.missing();
  deepStrictEqual(g, { ...gap(100, 190, a, c), since: 0, missing: true });
  strictEqual(watch.missingAt("r", 150)?.firstTick, 100);
  strictEqual(watch.missingAt("r", 250), undefined);
  strictEqual(watch.before("r", c.key)?.lastTick, 190);
  strictEqual(
    describeGap(g!, 65_400),
    `missing: ticks 100..190 absent between batch '${a.key}' and batch '${c.key}' for 65 s`,
  );
  // Filled: reported back as resolved, and gone.
  const resolved = watch.observe("r", findGaps([a, b, c, d], 10), 2000);
  deepStrictEqual(resolved.map((x) => [x.firstTick, x.lastTick]), [[100, 190]]);
  deepStrictEqual(watch.all(), []);
  deepStrictEqual(watch.runs(), []);
});

Deno.test("a hole at the start of a run is described as before its first batch", () => {
  const b = ref(100, 190);
  const watch = new GapWatch(0);
  watch.observe("r", findGaps([b], 10), 5);
  strictEqual(
    describeGap(watch.missing()[0]!, 5),
    `missing: ticks 0..90 absent before batch '${b.key}' for 0 s`,
  );
});
