import assert from "node:assert/strict";
import { approxSize } from "./approx_size.ts";

Deno.test("approxSize() grows with the data it is given", () => {
  const row = { id: 1, name: "ancestor", program: "x".repeat(400), tags: [1, 2, 3] };
  const one = approxSize(row);
  assert.ok(one >= 800, `a 400-character string counts at least its UTF-16 bytes: ${one}`);
  const many = approxSize(Array.from({ length: 1000 }, () => ({ ...row })));
  assert.ok(many > 900 * one && many < 1100 * one + 10_000, `${many} vs ${one}`);
  assert.equal(approxSize(new Uint8Array(1000)), 1096);
  assert.ok(approxSize(new Map([[1, "a".repeat(100)]])) > 200);
});

Deno.test("approxSize() samples long arrays instead of walking them", () => {
  const big = Array.from({ length: 200_000 }, (_, i) => ({ i, s: "abc" }));
  const t = performance.now();
  const n = approxSize(big);
  assert.ok(performance.now() - t < 1000);
  const exact = approxSize(big.slice(0, 1000)) * 200;
  assert.ok(Math.abs(n - exact) / exact < 0.05, `${n} vs ${exact}`);
});
