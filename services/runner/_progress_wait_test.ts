import assert from "node:assert/strict";
import { progressOrTimeout } from "./_progress_wait.ts";

Deno.test("progressOrTimeout() returns true as soon as the reading moves", async () => {
  let n = 0;
  const timer = setTimeout(() => n = 1, 30);
  const started = performance.now();
  const moved = await progressOrTimeout({ progress: () => n, seen: 0, maxMs: 10000, everyMs: 5 });
  clearTimeout(timer);
  assert.equal(moved, true);
  assert.ok(performance.now() - started < 5000, "it waited for the timeout instead");
});

Deno.test("progressOrTimeout() returns false after maxMs without progress", async () => {
  const started = performance.now();
  const moved = await progressOrTimeout({ progress: () => 7, seen: 7, maxMs: 40, everyMs: 5 });
  assert.equal(moved, false);
  assert.ok(performance.now() - started >= 39);
});

Deno.test("progressOrTimeout() returns at once when the reading already differs or on abort", async () => {
  assert.equal(await progressOrTimeout({ progress: () => 2, seen: 1, maxMs: 10000 }), true);
  const aborted = AbortSignal.abort();
  const started = performance.now();
  const moved = await progressOrTimeout({
    progress: () => 1,
    seen: 1,
    maxMs: 10000,
    signal: aborted,
  });
  assert.equal(moved, false);
  assert.ok(performance.now() - started < 5000);
});

Deno.test("progressOrTimeout() refuses a negative wait", async () => {
  await assert.rejects(
    () => progressOrTimeout({ progress: () => 0, seen: 0, maxMs: -1 }),
    RangeError,
    "Invalid wait -1 ms",
  );
});
