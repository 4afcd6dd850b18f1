import assert from "node:assert/strict";
import { eachLimited } from "./each_limited.ts";

Deno.test("eachLimited runs every item once, at most limit at a time, started in order", async () => {
  const started: number[] = [];
  let running = 0;
  let most = 0;
  await eachLimited(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
    started.push(i);
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, i % 4));
    running--;
  });
  assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(most, 3);
});

Deno.test("eachLimited of no items resolves at once", async () => {
  let calls = 0;
  await eachLimited([], 4, () => Promise.resolve(void calls++));
  assert.equal(calls, 0);
});
