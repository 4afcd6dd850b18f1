/**
 * The Topic contract suite: every Topic implementation registers it from its test file.
 *
 * @example
 * ```ts
 * topicContract("MemoryTopic", async ({ partitions }) => {
 *   const topic = new MemoryTopic({ name: "t", partitions });
 *   return { topic, cleanup: () => topic.close() };
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
  rec,
  timing,
  withLog,
} from "../queue/log_contract.ts";
import type { ContractOptions } from "../queue/queue_contract.ts";
import type { Topic } from "./topic.ts";

export type { ContractOptions } from "../queue/queue_contract.ts";

/** Creates a fresh, empty topic for one test case. */
export type TopicFactory = (
  opts: { partitions: number },
) => Promise<{ topic: Topic; cleanup(): Promise<void> }>;

/**
 * Registers the topic contract as `Deno.test` cases named `${label}: <case>`: the delivery
 * rules shared with queues (round trip, per-key order, drain limits and timeout, partition
 * ownership, redelivery, commit results, close and abort) plus fan-out to every group and
 * late groups seeing earlier messages. Each case creates its own topic through `factory` and
 * calls its cleanup at the end.
 */
export function topicContract(
  label: string,
  factory: TopicFactory,
  options: ContractOptions = {},
): void {
  const t = timing(options.timeScale);
  const open = async (partitions: number): Promise<LogUnderTest> => {
    const { topic, cleanup } = await factory({ partitions });
    return {
      put: (r, signal) => topic.publish(r, signal),
      join: (o) => topic.subscribe(o),
      close: () => topic.close(),
      cleanup,
    };
  };
  logContract(label, "publish", open, t);

  const all = (n: number) => Array.from({ length: n }, (_, i) => `${i}`).sort();

  Deno.test(`${label}: every group sees every message`, () =>
    withLog(() => open(3), t, 3, async (ctx) => {
      const a = ctx.join(ctx.group("fan-a"), "m1");
      const b = ctx.join(ctx.group("fan-b"), "m1");
      for (let i = 0; i < 30; i++) await ctx.log.put(rec(`key-${i}`, i));
      const [gotA, gotB] = await Promise.all(
        [a, b].map((c) => drainUntil(c, t, (g) => g.length >= 30, { commit: true })),
      );
      assert.deepEqual(gotA?.map(idOf).sort(), all(30));
      assert.deepEqual(gotB?.map(idOf).sort(), all(30));
    }));

  Deno.test(`${label}: a group that joins late sees earlier messages`, () =>
    withLog(() => open(2), t, 2, async (ctx) => {
      // An early group consumes and commits everything first: that must not drop anything for
      // groups yet to come.
      const early = ctx.join(ctx.group("early"), "m1");
      for (let i = 0; i < 12; i++) await ctx.log.put(rec(`key-${i}`, i));
      await drainUntil(early, t, (g) => g.length >= 12, { commit: true });
      const late = ctx.join(ctx.group("late"), "m1");
      const got = await drainUntil(late, t, (g) => g.length >= 12, { commit: true });
      assert.deepEqual(got.map(idOf).sort(), all(12));
    }));
}
