import assert from "node:assert/strict";
import { type ServiceStatus, withWaiting } from "./service.ts";

const detail = "waiting for broker 10.0.0.5:9092 (connection refused)";

function status(state: ServiceStatus["state"]): ServiceStatus {
  return { name: "p1", kind: "persistence", state, metrics: { batches: 3 } };
}

Deno.test("a live service whose endpoint does not answer shows as waiting, with what it waits for", () => {
  for (const state of ["created", "starting", "running", "waiting"] as const) {
    assert.deepEqual(withWaiting(status(state), detail), {
      ...status(state),
      state: "waiting",
      detail,
    });
  }
});

Deno.test("without a detail, or once stopping, stopped or failed, the status is left alone", () => {
  assert.deepEqual(withWaiting(status("running"), ""), status("running"));
  for (const state of ["stopping", "stopped", "failed"] as const) {
    assert.deepEqual(withWaiting(status(state), detail), status(state));
  }
});
