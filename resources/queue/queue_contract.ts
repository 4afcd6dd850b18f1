/**
 * The Queue contract suite: every Queue implementation registers it from its test file.
 *
 * @example
 * ```ts
 * queueContract("MemoryQueue", async ({ partitions, maxBytes }) => {
 *   const queue = new MemoryQueue({ name: "q", partitions, maxBytes });
 *   return { queue, cleanup: () => queue.close() };
 * });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  drainUntil,
  idOf,
  logContract,
  type LogUnderTest,
  settle,
  sleep,
  timing,
  within,
  withLog,
} from "./log_contract.ts";
import { ClosedError, type Queue } from "./queue.ts";

/** Creates a fresh, empty queue for one test case. */
export type QueueFactory = (
  opts: { partitions: number; maxBytes: number },
) => Promise<{ queue: Queue; cleanup(): Promise<void> }>;

/** Options of the suite. */
export interface ContractOptions {
  /**
   * Multiplies every wait and deadline (default 1, for in-memory implementations). A real
   * broker needs more: rebalances take seconds.
   */
  timeScale?: number;
}

/** maxBytes for cases that are not about backpressure: never reached. */
const ROOMY = 64 * 2 ** 20;

/**
 * Registers the queue contract as `Deno.test` cases named `${label}: <case>`: the delivery
 * rules shared with topics (round trip, per-key order, drain limits and timeout, partition
 * ownership, redelivery, commit results, close and abort) plus byte backpressure on put().
 * Each case creates its own queue through `factory` and calls its cleanup at the end.
 */
export function queueContract(
  label: string,
  factory: QueueFactory,
  options: ContractOptions = {},
): void {
  const t = timing(options.timeScale);
  const open = async (partitions: number, maxBytes: number): Promise<LogUnderTest> => {
    const { queue, cleanup } = await factory({ partitions, maxBytes });
    return {
      put: (r, signal) => queue.put(r, signal),
      join: (o) => queue.consumer(o),
      close: () => queue.close(),
      cleanup,
    };
  };
  logContract(label, "put", (partitions) => open(partitions, ROOMY), t);

  const test = (name: string, body: (log: LogUnderTest) => Promise<void>) =>
    Deno.test(`${label}: ${name}`, () =>
      withLog(() => open(1, 1000), t, 1, (ctx) => body(ctx.log)));
  const group = () => `contract-bp-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = (n: number) => new Uint8Array(n).fill(42);

  test("put() blocks at maxBytes and resumes after a commit", async (log) => {
    const c = log.join({ group: group(), member: "m1" });
    try {
      await settle([{ consumer: c, got: [] }], t, 1);
      await log.put({ key: "k", value: bytes(600), headers: { id: "first" } });
      let stored = false;
      const second = log.put({ key: "k", value: bytes(600), headers: { id: "second" } })
        .then(() => {
          stored = true;
        });
      second.catch(() => {});
      await sleep(t.short);
      assert.equal(stored, false, "600 + 600 bytes > maxBytes 1000: put() waits");
      const [first] = await drainUntil(c, t, (g) => g.length >= 1, { max: 1 });
      assert.ok(first && idOf(first) === "first");
      assert.equal(await c.commit([first]), true);
      await within(second, t.long, "put");
      assert.equal(stored, true);
      const rest = await drainUntil(c, t, (g) => g.length >= 1, { commit: true });
      assert.deepEqual(rest.map(idOf), ["second"]);
    } finally {
      await c.close();
    }
  });

  test("put() accepts a record larger than maxBytes when nothing is retained", async (log) => {
    const c = log.join({ group: group(), member: "m1" });
    try {
      await settle([{ consumer: c, got: [] }], t, 1);
      await within(
        log.put({ key: "k", value: bytes(1500), headers: { id: "big" } }),
        t.long,
        "put",
      );
      const got = await drainUntil(c, t, (g) => g.length >= 1, { commit: true });
      assert.deepEqual(got.map(idOf), ["big"]);
      // Committed: nothing is retained, so the next big one goes in too.
      await within(
        log.put({ key: "k", value: bytes(1500), headers: { id: "big2" } }),
        t.long,
        "put",
      );
    } finally {
      await c.close();
    }
  });

  test("a blocked put() rejects with AbortError when its signal aborts", async (log) => {
    const c = log.join({ group: group(), member: "m1" });
    try {
      await settle([{ consumer: c, got: [] }], t, 1);
      await log.put({ key: "k", value: bytes(800) });
      const ac = new AbortController();
      const blocked = log.put({ key: "k", value: bytes(800) }, ac.signal);
      blocked.catch(() => {});
      await sleep(t.short);
      ac.abort();
      await assert.rejects(within(blocked, t.long, "put"), { name: "AbortError" });
    } finally {
      await c.close();
    }
  });

  test("a blocked put() rejects with ClosedError when the queue closes", async (log) => {
    const c = log.join({ group: group(), member: "m1" });
    try {
      await settle([{ consumer: c, got: [] }], t, 1);
      await log.put({ key: "k", value: bytes(800) });
      const blocked = log.put({ key: "k", value: bytes(800) });
      blocked.catch(() => {});
      await sleep(t.short);
      await log.close();
      await assert.rejects(within(blocked, t.long, "put"), ClosedError);
    } finally {
      await c.close();
    }
  });
}
