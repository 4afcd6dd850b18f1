import assert from "node:assert/strict";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  type Heartbeat,
  HEARTBEAT_VERSION,
  heartbeatService,
} from "./heartbeat.ts";

const BEAT: Heartbeat = {
  v: HEARTBEAT_VERSION,
  host: "h",
  pid: 7,
  startedAt: 123,
  seq: 2,
  sentAt: 456,
  intervalMs: 2000,
  services: [
    heartbeatService({
      name: "stats",
      kind: "indexer",
      state: "failed",
      error: "boom",
      metrics: { lag: 12, records: 3 },
    }),
    heartbeatService({ name: "p1", kind: "persistence", state: "running", metrics: {} }),
    heartbeatService({
      name: "p2",
      kind: "persistence",
      state: "waiting",
      detail: "waiting for broker 10.0.0.5:9092 (connection refused)",
      metrics: {},
    }),
  ],
};

Deno.test("a heartbeat survives encoding; lag comes from the service's lag metric", () => {
  const back = decodeHeartbeat(encodeHeartbeat(BEAT));
  assert.deepEqual(back, BEAT);
  assert.equal(back.services[0]!.lag, 12);
  assert.equal(back.services[0]!.error, "boom");
  assert.equal(back.services[1]!.lag, null);
  assert.equal(back.services[2]!.state, "waiting");
  assert.equal(back.services[2]!.detail, "waiting for broker 10.0.0.5:9092 (connection refused)");
});

Deno.test("messages that are not heartbeats of this version are refused, naming what is wrong", () => {
  const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.throws(() => decodeHeartbeat(new TextEncoder().encode("{")), /not JSON/);
  assert.throws(() => decodeHeartbeat(bytes({ ...BEAT, v: 2 })), /version 2, expected 1/);
  assert.throws(() => decodeHeartbeat(bytes({ ...BEAT, pid: "x" })), /'pid'/);
  assert.throws(() => decodeHeartbeat(bytes({ ...BEAT, services: {} })), /'services'/);
  const badState = { ...BEAT, services: [{ name: "a", kind: "k", state: "dancing" }] };
  assert.throws(() => decodeHeartbeat(bytes(badState)), /'a'.*unknown state "dancing"/);
});
