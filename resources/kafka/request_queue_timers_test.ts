import assert from "node:assert/strict";
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import { stopIdleRequestQueueTimers } from "./request_queue_timers.ts";

/** kafkajs' RequestQueue as far as these tests touch it. */
interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
  destroy(): void;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function queue(): Queue {
  const Ctor = RequestQueue as unknown as new (o: object) => Queue;
  return new Ctor({
    maxInFlightRequests: 1,
    requestTimeout: 30000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "localhost:9092",
    logger: silent,
  });
}

Deno.test("kafkajs request queue: an idle queue arms no timer (no 1 ms wake-up loop)", () => {
  stopIdleRequestQueueTimers();
  stopIdleRequestQueueTimers(); // idempotent
  const q = queue();
  try {
    q.checkPendingRequests();
    q.scheduleCheckPendingRequests();
    assert.ok(!q.throttleCheckTimeoutId, "no timer while nothing is pending or throttled");
  } finally {
    q.destroy();
  }
});

Deno.test("kafkajs request queue: pending requests and throttles still schedule their check", () => {
  stopIdleRequestQueueTimers();
  const throttled = queue();
  const pending = queue();
  try {
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.scheduleCheckPendingRequests();
    assert.ok(throttled.throttleCheckTimeoutId, "a throttle is waited out");
    pending.pending.push({});
    pending.scheduleCheckPendingRequests();
    assert.ok(pending.throttleCheckTimeoutId, "a pending request is checked again");
  } finally {
    throttled.destroy();
    pending.destroy();
  }
});
