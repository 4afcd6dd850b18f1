/**
 * A run's progress as server-sent events: sent on every change, and at least once per interval,
 * until the run is finished (a last `progress`, then an `end` event, then the server closes the
 * stream), the client goes away or the app's signal aborts. Mounted at `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { ApiContext } from "./api_context.ts";
import type { LiveEnd, LiveProgress } from "./api_types.ts";
import { ProgressTracker } from "./live_progress.ts";

/** GET `/:run/live` (text/event-stream of `progress` events). */
export function liveRoutes(ctx: ApiContext): Hono {
  const interval = ctx.options.liveIntervalMs ?? 1000;
  const app = new Hono();

  app.get("/:run/live", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    const tracker = new ProgressTracker(ctx.store, ctx.states, view.info, ctx.options.live);
    const first = await tracker.progress();
    // A client that goes away cancels the response body, which aborts the stream (onAbort
    // below); request.signal is not used, since Deno also aborts it after normal responses.
    const closing = followAbort(ctx.options.signal);
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => closing.abort());
      try {
        await sendProgress(stream, tracker, first, interval, closing.signal);
      } finally {
        closing.unfollow();
      }
    }, (e) => {
      ctx.log(`api: live progress of ${view.info.runId}: ${e.stack ?? e.message}`);
      return Promise.resolve();
    });
  });

  return app;
}

/** An abort controller that also aborts with `outer`, until unfollowed. */
function followAbort(outer: AbortSignal | undefined): AbortController & { unfollow(): void } {
  const closed = new AbortController();
  const onAbort = () => closed.abort();
  if (outer?.aborted) closed.abort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return Object.assign(closed, { unfollow: () => outer?.removeEventListener("abort", onAbort) });
}

/**
 * Sends `first`, then polls four times per interval: on change, and at least once per interval;
 * once the run is finished, sends `end` and returns (which closes the stream).
 */
async function sendProgress(
  stream: SSEStreamingApi,
  tracker: ProgressTracker,
  first: LiveProgress,
  interval: number,
  closed: AbortSignal,
): Promise<void> {
  let sent = first;
  let sentAt = performance.now();
  await stream.writeSSE({ event: "progress", data: JSON.stringify(first) });
  while (!closed.aborted && sent.state !== "finished") {
    await pause(interval / 4, closed);
    if (closed.aborted) break;
    const p = await tracker.progress();
    if (!sameProgress(p, sent) || performance.now() - sentAt >= interval) {
      await stream.writeSSE({ event: "progress", data: JSON.stringify(p) });
      sent = p;
      sentAt = performance.now();
    }
  }
  if (sent.state === "finished" && !closed.aborted) {
    const end: LiveEnd = {
      runId: sent.runId,
      state: "finished",
      endTick: sent.maxStoredTick ?? 0,
    };
    await stream.writeSSE({ event: "end", data: JSON.stringify(end) });
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Whether two progress reports differ in nothing a client shows. */
function sameProgress(a: LiveProgress, b: LiveProgress): boolean {
  return a.tick === b.tick && a.maxStoredTick === b.maxStoredTick && a.batches === b.batches &&
    a.organismsAlive === b.organismsAlive && a.state === b.state;
}
