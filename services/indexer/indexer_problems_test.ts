import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { batchKey } from "../common/storage_layout.ts";
import type { WatchedGap } from "./batch_gaps.ts";
import type { FailedBatch } from "./failed_batches.ts";
import { describeProblems, summarizeProblems } from "./indexer_problems.ts";

function failed(kind: FailedBatch["kind"], first: number, last: number): FailedBatch {
  const key = batchKey("r", first, last);
  return {
    ref: { runId: "r", key, firstTick: first, lastTick: last },
    kind,
    reason: `${kind}: '${key}'`,
    size: null,
    nextCheck: 0,
    rechecks: 0,
  };
}

const missingGap: WatchedGap = {
  runId: "r",
  firstTick: 100,
  lastTick: 290,
  before: batchKey("r", 0, 90),
  after: batchKey("r", 300, 390),
  since: 0,
  missing: true,
};

Deno.test("problems list unreadable batches, missing ranges and long waits once each", () => {
  const p = describeProblems({
    kind: "stats",
    failed: [
      failed("missing", 100, 190),
      failed("unreadable", 500, 590),
      failed("missing", 900, 990),
    ],
    gaps: [missingGap, { ...missingGap, firstTick: 700, lastTick: 790, missing: false }],
    waits: [
      { key: "k1", why: "waits for 's1'", since: 0 },
      { key: "k2", why: "waits for 's2'", since: 9_500 },
    ],
    graceMs: 1000,
    now: 10_000,
  });
  deepStrictEqual(p.lines, [
    `unreadable: '${batchKey("r", 500, 590)}'`,
    `missing: ticks 100..290 absent between batch '${missingGap.before}' and batch '${missingGap.after}' for 10 s`,
    // The named batch inside the missing gap is that gap; this one is outside any.
    `missing: '${batchKey("r", 900, 990)}'`,
    "stats of 'k1' waits for 's1' for 10 s",
  ]);
  deepStrictEqual(p.metrics, {
    unreadable_batches: 1,
    missing_ranges: 2,
    gaps_waiting: 1,
    stalled_batches: 1,
    problems: 4,
  });
});

Deno.test("the status error is the first problem and how many more there are", () => {
  strictEqual(summarizeProblems([]), undefined);
  strictEqual(summarizeProblems(["a"]), "a");
  strictEqual(summarizeProblems(["a", "b"]), "a (and 1 more problem)");
  strictEqual(summarizeProblems(["a", "b", "c"]), "a (and 2 more problems)");
});
