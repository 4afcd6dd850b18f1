import assert from "node:assert/strict";
import { activityOf, formatDuration, inferRunState, type RunFacts } from "./run_state.ts";

const NOW = 1_800_000_000_000;

function facts(over: Partial<RunFacts>): RunFacts {
  return {
    end: null,
    storedBatches: 21,
    storedLastTick: 2000,
    gaps: [],
    problems: [],
    lastActivityMs: NOW - 1000,
    idleAfterMs: 120_000,
    nowMs: NOW,
    ...over,
  };
}

Deno.test("a run with an end record whose batches are all stored is finished", () => {
  const v = inferRunState(facts({ end: { lastTick: 2000, batches: 21 }, lastActivityMs: 0 }));
  assert.equal(v.state, "finished");
  assert.match(v.reason, /ended at tick 2000/);
});

Deno.test("a run without an end record is running while active and incomplete once idle", () => {
  assert.equal(inferRunState(facts({})).state, "running");
  const idle = inferRunState(facts({ lastActivityMs: NOW - 600_000 }));
  assert.equal(idle.state, "incomplete");
  assert.match(idle.reason, /no end record, no progress for 10 min; last stored tick 2000/);
  assert.equal(
    inferRunState(facts({ lastActivityMs: null, storedBatches: 0 })).state,
    "incomplete",
  );
});

Deno.test("holes without an end record are the run's to fill: running or incomplete, not corrupt", () => {
  const gaps = ["no batch holds ticks 500..995"];
  assert.equal(inferRunState(facts({ gaps })).state, "running");
  assert.equal(inferRunState(facts({ gaps, lastActivityMs: NOW - 600_000 })).state, "incomplete");
});

Deno.test("an end record with batches missing is running while they may still come, corrupt after", () => {
  const end = { lastTick: 2000, batches: 21 };
  const finishing = inferRunState(facts({ end, storedBatches: 20 }));
  assert.equal(finishing.state, "running");
  assert.match(finishing.reason, /finishing: the end record names 21 batches up to tick 2000; 20/);
  const lost = inferRunState(facts({ end, storedBatches: 20, lastActivityMs: NOW - 600_000 }));
  assert.equal(lost.state, "corrupt");
  const hole = inferRunState(
    facts({ end, gaps: ["ticks 500..995"], lastActivityMs: NOW - 600_000 }),
  );
  assert.equal(hole.state, "corrupt");
  assert.match(hole.reason, /ticks 500\.\.995/);
});

Deno.test("batches past the end record mean the run was extended: running or incomplete", () => {
  const end = { lastTick: 1000, batches: 11 };
  const v = inferRunState(facts({ end }));
  assert.equal(v.state, "running");
  assert.match(v.reason, /extended past its end at tick 1000/);
  assert.equal(inferRunState(facts({ end, lastActivityMs: NOW - 600_000 })).state, "incomplete");
});

Deno.test("any verification problem makes a run corrupt, whatever else holds", () => {
  const v = inferRunState(
    facts({ end: { lastTick: 2000, batches: 21 }, problems: ["'k' is truncated at byte 6"] }),
  );
  assert.deepEqual(v, { state: "corrupt", reason: "'k' is truncated at byte 6" });
});

Deno.test("activity is the newest object's time; slow runs get a longer idle threshold", () => {
  const objects = [
    { key: "runs/r/metadata.pb", modifiedMs: 1000 },
    { key: "runs/r/raw/0000000/b1", modifiedMs: 11_000 },
    { key: "runs/r/raw/0000000/b2", modifiedMs: 611_000 },
    { key: "runs/r/raw/0000000/b3", modifiedMs: 1_211_000 },
  ];
  const a = activityOf(objects);
  assert.equal(a.lastActivityMs, 1_211_000);
  assert.equal(a.idleAfterMs, 3 * 600_000, "a batch every 10 min: idle after 30 min");
  assert.equal(activityOf(objects.slice(0, 2)).idleAfterMs, 120_000, "at least the minimum");
  assert.deepEqual(activityOf([]), { lastActivityMs: null, idleAfterMs: 120_000 });
});

Deno.test("durations read as seconds, minutes and hours", () => {
  assert.equal(formatDuration(4_400), "4 s");
  assert.equal(formatDuration(95_000), "1 min 35 s");
  assert.equal(formatDuration(600_000), "10 min");
  assert.equal(formatDuration(3_900_000), "1 h 5 min");
  assert.equal(formatDuration(Infinity), "ever");
});
