import assert from "node:assert/strict";
import { MemoryTopic } from "./memory_topic.ts";
import { topicContract } from "./topic_contract.ts";
import type { Consumer, Delivery } from "./topic.ts";

topicContract("MemoryTopic", ({ partitions }) => {
  const topic = new MemoryTopic({ name: "contract", partitions });
  return Promise.resolve({ topic, cleanup: () => topic.close() });
});

async function drainAll(c: Consumer): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (;;) {
    const batch = await c.drain(1000, 0);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

const msg = (key: string, i: number) => ({
  key,
  value: new Uint8Array(8),
  headers: { id: String(i) },
});

Deno.test("MemoryTopic keeps only `retention` messages per partition", async () => {
  const t = new MemoryTopic({ name: "t", partitions: 1, retention: 100 });
  const early = t.subscribe({ group: "early", member: "m" });
  for (let i = 0; i < 1000; i++) await t.publish(msg("k", i));
  const s = t.stats();
  assert.equal(s.recordsIn, 1000);
  // Retention, not the groups, bounds memory: only the last 100 are kept, for everybody.
  assert.equal(s.retainedBytes, 100 * (8 + 1 + 2 + 3));
  assert.deepEqual(s.lag, { early: 100 });
  const got = await drainAll(early);
  assert.deepEqual(
    got.map((d) => d.headers["id"]),
    Array.from({ length: 100 }, (_, i) => `${900 + i}`),
  );
  assert.equal(got[0]!.offset, 900);
  const late = t.subscribe({ group: "late", member: "m" });
  assert.equal((await drainAll(late)).length, 100);
  await t.close();
});

Deno.test("MemoryTopic: a group that fell behind retention skips ahead and commits again", async () => {
  const t = new MemoryTopic({ name: "t", partitions: 1, retention: 10 });
  const c = t.subscribe({ group: "g", member: "m" });
  for (let i = 0; i < 5; i++) await t.publish(msg("k", i));
  assert.equal(await c.commit(await c.drain(2, 0)), true);
  for (let i = 5; i < 30; i++) await t.publish(msg("k", i));
  assert.deepEqual(t.stats().lag, { g: 10 });
  const got = await drainAll(c);
  assert.deepEqual(got.map((d) => d.offset), Array.from({ length: 10 }, (_, i) => 20 + i));
  assert.equal(await c.commit(got), true);
  assert.deepEqual(t.stats().lag, { g: 0 });
  assert.equal(t.stats().retainedBytes, 0);
  await t.close();
});

Deno.test("MemoryTopic retention defaults to 10000; publish never blocks", async () => {
  const t = new MemoryTopic({ name: "t", partitions: 2 });
  assert.equal(t.retention, 10_000);
  t.subscribe({ group: "g", member: "m" });
  for (let i = 0; i < 1000; i++) await t.publish({ key: `k${i}`, value: new Uint8Array(1000) });
  assert.equal(t.stats().blockedProducers, 0);
  assert.equal(t.stats().lag["g"], 1000);
  await t.close();
});

Deno.test("MemoryTopic retained bytes drop as every group commits", async () => {
  const t = new MemoryTopic({ name: "t", partitions: 2 });
  for (let i = 0; i < 10; i++) await t.publish({ key: `k${i}`, value: new Uint8Array(10) });
  assert.equal(t.stats().retainedBytes, 10 * 12);
  const a = t.subscribe({ group: "a", member: "m" });
  const b = t.subscribe({ group: "b", member: "m" });
  assert.equal(await a.commit(await drainAll(a)), true);
  assert.equal(t.stats().retainedBytes, 10 * 12);
  assert.equal(await b.commit(await drainAll(b)), true);
  assert.equal(t.stats().retainedBytes, 0);
  assert.deepEqual(t.stats().lag, { a: 0, b: 0 });
  // Still kept for groups to come (retention, not commits, drops messages).
  const c = t.subscribe({ group: "c", member: "m" });
  assert.equal((await drainAll(c)).length, 10);
  await t.close();
});

Deno.test("MemoryTopic assignment is deterministic and rebalances on join", async () => {
  const t = new MemoryTopic({ name: "t", partitions: 3 });
  const z = t.subscribe({ group: "g", member: "z" });
  assert.deepEqual(z.assignment(), [0, 1, 2]);
  const a = t.subscribe({ group: "g", member: "a" });
  assert.deepEqual(a.assignment(), [0, 2]);
  assert.deepEqual(z.assignment(), [1]);
  await t.close();
  await assert.rejects(t.publish(msg("k", 0)), { name: "ClosedError" });
  assert.throws(() => new MemoryTopic({ name: "t", partitions: 1, retention: 0 }), RangeError);
});
