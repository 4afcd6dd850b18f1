import assert from "node:assert/strict";
import { ClosedError, type Consumer, type Delivery } from "../../resources/queue/queue.ts";
import { runConsumerLoop } from "./consumer_loop.ts";

function delivery(offset: number): Delivery {
  return { key: "k", value: new Uint8Array([offset]), headers: {}, partition: 0, offset };
}

/** A consumer whose drain answers from a script: records, an error, or "closed". */
function scripted(script: (Delivery[] | Error | "closed")[]): Consumer & { closed: boolean } {
  const c = {
    closed: false,
    drain(): Promise<Delivery[]> {
      const next = script.shift() ?? "closed";
      if (next === "closed") return Promise.reject(new ClosedError("test queue"));
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve(next);
    },
    commit: () => Promise.resolve(true),
    assignment: () => [0],
    close() {
      c.closed = true;
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("runConsumerLoop: handles every drain, also empty ones, and closes at ClosedError", async () => {
  const consumer = scripted([[delivery(1), delivery(2)], [], [delivery(3)]]);
  const seen: number[][] = [];
  await runConsumerLoop({
    consumer,
    signal: new AbortController().signal,
    maxRecords: 10,
    drainTimeoutMs: 1,
    onDrainError: () => assert.fail("no drain error expected"),
    handle: (ds) => {
      seen.push(ds.map((d) => d.offset));
      return Promise.resolve();
    },
  });
  assert.deepEqual(seen, [[1, 2], [], [3]]);
  assert.equal(consumer.closed, true);
});

Deno.test("runConsumerLoop: a failing drain is reported and retried with a doubling backoff", async () => {
  const consumer = scripted([new Error("broker gone"), new Error("broker gone"), [delivery(7)]]);
  const errors: string[] = [];
  const waits: number[] = [];
  const handled: number[] = [];
  await runConsumerLoop({
    consumer,
    signal: new AbortController().signal,
    maxRecords: 10,
    drainTimeoutMs: 1,
    retryBaseMs: 100,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    onDrainError: (m) => errors.push(m),
    handle: (ds) => {
      handled.push(...ds.map((d) => d.offset));
      return Promise.resolve();
    },
  });
  assert.deepEqual(errors, [
    "drain failed (attempt 1): broker gone",
    "drain failed (attempt 2): broker gone",
  ]);
  assert.deepEqual(waits, [100, 200]);
  assert.deepEqual(handled, [7]);
});

Deno.test("runConsumerLoop: an error in handle rejects the loop and still closes the consumer", async () => {
  const consumer = scripted([[delivery(1)]]);
  let ended = false;
  await assert.rejects(
    () =>
      runConsumerLoop({
        consumer,
        signal: new AbortController().signal,
        maxRecords: 10,
        drainTimeoutMs: 1,
        onDrainError: () => {},
        handle: () => Promise.reject(new Error("cannot write")),
        onEnd: () => (ended = true),
      }),
    /cannot write/,
  );
  assert.equal(ended, true);
  assert.equal(consumer.closed, true);
});

Deno.test("runConsumerLoop: the stop signal ends the loop before the next drain", async () => {
  const stop = new AbortController();
  const consumer = scripted([[delivery(1)], [delivery(2)]]);
  const handled: number[] = [];
  await runConsumerLoop({
    consumer,
    signal: stop.signal,
    maxRecords: 10,
    drainTimeoutMs: 1,
    onDrainError: () => {},
    handle: (ds) => {
      handled.push(...ds.map((d) => d.offset));
      stop.abort();
      return Promise.resolve();
    },
  });
  assert.deepEqual(handled, [1]);
  assert.equal(consumer.closed, true);
});
