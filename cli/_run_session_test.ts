import assert from "node:assert/strict";
import { type Engine, untilEnd } from "./_run_session.ts";
import { Progress } from "./progress.ts";

/** An engine that never finishes on its own (as `run --ticks 0` or `dev`). */
function endlessEngine(): Engine {
  return { done: new Promise<void>(() => {}), extinctAt: null, runId: "r" } as unknown as Engine;
}

Deno.test("untilEnd() returns when the stop signal came while the pipeline was starting", async () => {
  const stop = new AbortController();
  stop.abort(); // Ctrl-C during pipeline.start(), before untilEnd listens
  const ended = untilEnd({
    engine: endlessEngine(),
    stop: stop.signal,
    progress: new Progress(),
    dev: false,
  }).then(() => "ended");
  const timeout = new Promise((r) => setTimeout(() => r("still waiting"), 2000));
  assert.equal(await Promise.race([ended, timeout]), "ended");
});

Deno.test("untilEnd() returns on a stop signal during the run", async () => {
  const stop = new AbortController();
  const ended = untilEnd({
    engine: endlessEngine(),
    stop: stop.signal,
    progress: new Progress(),
    dev: false,
  });
  setTimeout(() => stop.abort(), 20);
  await ended;
  assert.ok(stop.signal.aborted);
});
