import assert from "node:assert/strict";
import { analyze, leakVerdict, type MemoryPoint, slope } from "./analysis.ts";

const MiB = 2 ** 20;

function series(n: number, stepMs: number, rss: (i: number) => number): MemoryPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    tMs: i * stepMs,
    rss: rss(i),
    heapUsed: 20 * MiB,
    external: 5 * MiB,
  }));
}

Deno.test("slope() is the least-squares slope", () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(slope([5], [1]), 0);
  assert.equal(slope([1, 1], [1, 9]), 0);
});

Deno.test("analyze() measures from the first samples after warm-up to the last ones", () => {
  const f = analyze(series(13, 10_000, (i) => (100 + i) * MiB), 60_000);
  assert.equal(f.warmRss, 108 * MiB, "median of the first five samples after warm-up");
  assert.equal(f.endRss, 110 * MiB, "median of the last five samples");
  assert.equal(f.steadyRss, 109 * MiB);
  assert.equal(f.peakRss, 112 * MiB);
  assert.ok(Math.abs(f.rssSlopePerMin - 6 * MiB) < 1, `${f.rssSlopePerMin}`);
  assert.equal(f.steadySeconds, 60);
});

Deno.test("analyze() rejects a run with no sample after warm-up", () => {
  assert.throws(() => analyze(series(3, 1000, () => MiB), 60_000), /no memory sample after/);
});

Deno.test("leakVerdict() passes a level that fluctuates within the margin", () => {
  const f = analyze(series(60, 5000, (i) => (300 + (i % 3 === 0 ? 30 : -20)) * MiB), 30_000);
  assert.equal(leakVerdict(f, { marginBytes: 50 * MiB }), undefined);
});

Deno.test("leakVerdict() names a steady climb past the margin", () => {
  // 17 MB/s, the Kafka consumer leak of issue 8, sampled every 5 s for 3 minutes.
  const f = analyze(series(36, 5000, (i) => 100 * MiB + i * 5 * 17e6), 30_000);
  const v = leakVerdict(f, { marginBytes: 50 * MiB });
  assert.match(v ?? "", /RSS rose from \d+ MiB after warm-up to \d+ MiB at the end/);
});

Deno.test("leakVerdict() ignores one high last sample and one low first sample", () => {
  const f = analyze(series(30, 5000, (i) => (i === 29 ? 400 : i === 6 ? 200 : 300) * MiB), 30_000);
  assert.equal(f.warmRss, 300 * MiB);
  assert.equal(f.endRss, 300 * MiB);
  assert.equal(leakVerdict(f, { marginBytes: 50 * MiB }), undefined);
});

Deno.test("leakVerdict() leaves out what the caches account for, and only that", () => {
  // RSS grows by 300 MiB over the run; the caches grow by 290 MiB of it: filling, not leaking.
  const filling = series(60, 10_000, (i) => (200 + 5 * i) * MiB)
    .map((p, i) => ({ ...p, cached: (5 * i - (i % 3)) * MiB }));
  assert.equal(leakVerdict(analyze(filling, 60_000), { marginBytes: 50 * MiB }), undefined);
  // Same RSS, caches flat: a leak, and the message says what the caches held.
  const leaking = filling.map((p) => ({ ...p, cached: 10 * MiB }));
  assert.match(
    leakVerdict(analyze(leaking, 60_000), { marginBytes: 50 * MiB }) ?? "",
    /not counting 10 MiB of caches at the end/,
  );
});

Deno.test("leakVerdict() names a rise late in the run that lasts, but not a spike at its end", () => {
  // Flat at 400 MiB for 16 of 22 minutes, then up to 2.6 GiB (the API before its listing fixes).
  const late = series(264, 5000, (i) => (i < 192 ? 400 : 400 + (i - 192) * 30) * MiB);
  assert.match(leakVerdict(analyze(late, 60_000), { marginBytes: 50 * MiB }) ?? "", /RSS rose/);
  // The last five samples high, the rest flat: a burst, not a level.
  const spike = series(264, 5000, (i) => (i >= 259 ? 600 : 400) * MiB);
  assert.equal(leakVerdict(analyze(spike, 60_000), { marginBytes: 50 * MiB }), undefined);
});
