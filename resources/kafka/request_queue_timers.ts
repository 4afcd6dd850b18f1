/**
 * A fix for an idle busy loop in kafkajs 2.2.4: every broker connection's request queue re-arms
 * a timer on each check of its pending requests, also when nothing is pending and nothing is
 * throttled. The delay it computes then is negative (`throttledUntil` is -1), which timers clamp
 * to 1 ms, so each connection wakes the event loop about 1000 times a second for as long as it
 * exists (the TimeoutNegativeWarning that ./timeout_negative_warnings.ts filters is its
 * symptom). A consumer process holds several connections (group coordinator, fetches, the
 * notification producer, admin), and these wake-ups cost a persistence worker ~45 ms of CPU per
 * second while idle and the same while busy.
 *
 * {@link stopIdleRequestQueueTimers} patches the queue's scheduling so that a timer is armed
 * only when it has work: requests pending (checked every 10 ms, as before, until they leave) or
 * a throttle to wait out. A request that can go at once is sent at once, as before; a request
 * that must wait is queued and schedules its own check.
 *
 * @module
 */

import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

/** The part of kafkajs' RequestQueue this patch reads. */
interface QueueState {
  pending: unknown[];
  throttledUntil: number;
}

let installed = false;

/** Installs the fix (once per process; later calls do nothing). */
export function stopIdleRequestQueueTimers(): void {
  if (installed) return;
  installed = true;
  const proto = (RequestQueue as { prototype: Record<string, unknown> }).prototype;
  const schedule = proto.scheduleCheckPendingRequests as (this: QueueState) => void;
  if (typeof schedule !== "function") {
    throw new TypeError(
      "kafkajs' RequestQueue has no scheduleCheckPendingRequests: this fix is for kafkajs 2.2.4",
    );
  }
  proto.scheduleCheckPendingRequests = function (this: QueueState): void {
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    schedule.call(this);
  };
}
