import assert from "node:assert/strict";
import { MemoryQueue } from "./memory_queue.ts";
import { murmur2, partitionForKey } from "./partitioned_log.ts";
import { queueContract } from "./queue_contract.ts";
import type { Consumer, Delivery } from "./queue.ts";

queueContract("MemoryQueue", ({ partitions, maxBytes }) => {
  const queue = new MemoryQueue({ name: "contract", partitions, maxBytes });
  return Promise.resolve({ queue, cleanup: () => queue.close() });
});

const enc = new TextEncoder();
const rec = (key: string, n = 10) => ({ key, value: new Uint8Array(n) });

async function drainAll(c: Consumer): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (;;) {
    const batch = await c.drain(1000, 0);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

Deno.test("murmur2 matches Kafka's Utils.murmur2 test vectors", () => {
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, h] of cases) assert.equal(murmur2(enc.encode(s)), h, s);
  assert.equal(partitionForKey("foobar", 7), (-790332482 & 0x7fffffff) % 7);
  for (let i = 0; i < 200; i++) {
    const p = partitionForKey(`key-${i}`, 6);
    assert.ok(Number.isInteger(p) && p >= 0 && p < 6);
  }
});

Deno.test("MemoryQueue routes a key to partitionForKey's partition", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 5, maxBytes: 1e6 });
  const c = q.consumer({ group: "g", member: "m" });
  for (let i = 0; i < 50; i++) await q.put(rec(`run/${i}`));
  for (const d of await drainAll(c)) assert.equal(d.partition, partitionForKey(d.key, 5));
  await q.close();
});

Deno.test("MemoryQueue assignment is round-robin over members sorted by name", async () => {
  for (const order of [["b", "a", "c"], ["c", "b", "a"], ["a", "b", "c"]]) {
    const q = new MemoryQueue({ name: "q", partitions: 5, maxBytes: 1e6 });
    const cs = new Map(order.map((m) => [m, q.consumer({ group: "g", member: m })]));
    assert.deepEqual(cs.get("a")!.assignment(), [0, 3]);
    assert.deepEqual(cs.get("b")!.assignment(), [1, 4]);
    assert.deepEqual(cs.get("c")!.assignment(), [2]);
    await cs.get("b")!.close();
    assert.deepEqual(cs.get("a")!.assignment(), [0, 2, 4]);
    assert.deepEqual(cs.get("b")!.assignment(), []);
    assert.deepEqual(cs.get("c")!.assignment(), [1, 3]);
    // A member that joins a group where another owns everything gets its share.
    const other = q.consumer({ group: "h", member: "x" });
    assert.deepEqual(other.assignment(), [0, 1, 2, 3, 4]);
    const y = q.consumer({ group: "h", member: "y" });
    assert.deepEqual(other.assignment(), [0, 2, 4]);
    assert.deepEqual(y.assignment(), [1, 3]);
    await q.close();
  }
});

Deno.test("MemoryQueue drain is fair across partitions and ordered within each", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 3, maxBytes: 1e6 });
  const c = q.consumer({ group: "g", member: "m" });
  // Keys in distinct partitions, 10 records each.
  const keys: string[] = [];
  for (let i = 0; keys.length < 3; i++) {
    const k = `k${i}`;
    if (!keys.some((x) => partitionForKey(x, 3) === partitionForKey(k, 3))) keys.push(k);
  }
  for (let i = 0; i < 10; i++) for (const k of keys) await q.put(rec(k));
  // One at a time, the partitions take turns: a busy partition cannot starve the others.
  const singles = [await c.drain(1, 0), await c.drain(1, 0), await c.drain(1, 0)].flat();
  assert.deepEqual(singles.map((d) => d.partition).sort(), [0, 1, 2]);
  const first = [...singles, ...await c.drain(3, 0)];
  assert.equal(first.length, 6);
  for (const p of [0, 1, 2]) assert.equal(first.filter((d) => d.partition === p).length, 2);
  const rest = await drainAll(c);
  for (const p of [0, 1, 2]) {
    const offs = [...first, ...rest].filter((d) => d.partition === p).map((d) => d.offset);
    assert.deepEqual(offs, Array.from({ length: 10 }, (_, i) => i));
  }
  await q.close();
});

Deno.test("MemoryQueue commit advances over contiguous done offsets only", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 1, maxBytes: 1e6 });
  const a = q.consumer({ group: "g", member: "a" });
  for (let i = 0; i < 5; i++) await q.put(rec("k"));
  const ds = await drainAll(a);
  // Done: 0, 1, 3, 4 (2 missing): committed offset stops at 2.
  assert.equal(await a.commit([ds[0]!, ds[1]!, ds[3]!, ds[4]!]), true);
  assert.equal(q.stats().lag["g"], 3);
  await a.close();
  const b = q.consumer({ group: "g", member: "b" });
  // The new owner restarts at 2: 2, 3, 4 again (done marks of the old owner are gone).
  assert.deepEqual((await drainAll(b)).map((d) => d.offset), [2, 3, 4]);
  assert.equal(q.stats().redelivered, 3);
  await q.close();
});

Deno.test("MemoryQueue trims committed records: retained bytes stay bounded", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 4, maxBytes: 64 * 1024 });
  const c = q.consumer({ group: "g", member: "m" });
  let peak = 0;
  const producer = (async () => {
    for (let i = 0; i < 2000; i++) {
      await q.put({ key: `k${i}`, value: new Uint8Array(1000) });
      peak = Math.max(peak, q.stats().retainedBytes);
    }
  })();
  let seen = 0;
  while (seen < 2000) {
    const batch = await c.drain(50, 1000);
    seen += batch.length;
    assert.equal(await c.commit(batch), true);
  }
  await producer;
  const s = q.stats();
  assert.ok(peak <= 64 * 1024, `peak retained ${peak}`);
  assert.equal(s.retainedBytes, 0);
  assert.equal(s.lag["g"], 0);
  assert.equal(s.recordsIn, 2000);
  assert.equal(s.bytesIn, 2_000_000);
  await q.close();
});

Deno.test("MemoryQueue retains until every group committed; no group retains everything", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 2, maxBytes: 1e6 });
  await q.put({ key: "a", value: new Uint8Array(100) });
  await q.put({ key: "b", value: new Uint8Array(100) });
  assert.equal(q.stats().retainedBytes, 202);
  const g1 = q.consumer({ group: "g1", member: "m" });
  const g2 = q.consumer({ group: "g2", member: "m" });
  assert.equal(await g1.commit(await drainAll(g1)), true);
  assert.equal(q.stats().retainedBytes, 202);
  assert.deepEqual(q.stats().lag, { g1: 0, g2: 2 });
  assert.equal(await g2.commit(await drainAll(g2)), true);
  assert.equal(q.stats().retainedBytes, 0);
  // A group joining now starts at the earliest retained record: nothing.
  const g3 = q.consumer({ group: "g3", member: "m" });
  assert.deepEqual(await g3.drain(10, 0), []);
  await q.close();
});

Deno.test("MemoryQueue blocked producers are admitted in FIFO order", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 1, maxBytes: 1000 });
  const c = q.consumer({ group: "g", member: "m" });
  await q.put({ key: "k", value: new Uint8Array(900) });
  const order: string[] = [];
  const big = q.put({ key: "k", value: new Uint8Array(500) }).then(() => order.push("big"));
  // Would fit next to the 900 bytes, but must not overtake the waiting big one.
  const small = q.put({ key: "k", value: new Uint8Array(50) }).then(() => order.push("small"));
  await Promise.resolve();
  assert.equal(q.stats().blockedProducers, 2);
  assert.deepEqual(order, []);
  assert.equal(await c.commit(await c.drain(1, 0)), true);
  await Promise.all([big, small]);
  assert.deepEqual(order, ["big", "small"]);
  assert.equal(q.stats().blockedProducers, 0);
  await q.close();
});

Deno.test("MemoryQueue stats count records, bytes and redeliveries", async () => {
  const q = new MemoryQueue({ name: "q", partitions: 1, maxBytes: 1e6 });
  const a = q.consumer({ group: "g", member: "a" });
  for (let i = 0; i < 4; i++) {
    await q.put({ key: "k", value: new Uint8Array(10), headers: { h: "x" } });
  }
  let s = q.stats();
  assert.equal(s.recordsIn, 4);
  assert.equal(s.bytesIn, 40);
  assert.equal(s.retainedBytes, 4 * (10 + 1 + 2));
  assert.deepEqual(s.lag, { g: 4 });
  assert.equal(s.blockedProducers, 0);
  const got = await a.drain(10, 0);
  assert.equal(await a.commit(got.slice(0, 1)), true);
  await a.close();
  const b = q.consumer({ group: "g", member: "b" });
  assert.equal((await drainAll(b)).length, 3);
  s = q.stats();
  assert.equal(s.recordsOut, 7);
  assert.equal(s.bytesOut, 70);
  assert.equal(s.redelivered, 3);
  assert.deepEqual(s.lag, { g: 3 });
  // Another group's first delivery is not a redelivery. It starts at the earliest retained
  // record: the one committed by g (then the only group) is gone.
  const other = q.consumer({ group: "g2", member: "m" });
  assert.deepEqual((await drainAll(other)).map((d) => d.offset), [1, 2, 3]);
  assert.equal(q.stats().redelivered, 3);
  await q.close();
});

Deno.test("MemoryQueue rejects bad options and closed use", async () => {
  assert.throws(() => new MemoryQueue({ name: "q", partitions: 0, maxBytes: 1 }), RangeError);
  assert.throws(() => new MemoryQueue({ name: "q", partitions: 1.5, maxBytes: 1 }), RangeError);
  assert.throws(() => new MemoryQueue({ name: "q", partitions: 1, maxBytes: 0 }), RangeError);
  const q = new MemoryQueue({ name: "q", partitions: 1, maxBytes: 100 });
  const c = q.consumer({ group: "g", member: "m" });
  await assert.rejects(c.drain(0, 0), RangeError);
  await q.close();
  await q.close();
  await assert.rejects(q.put(rec("k")), { name: "ClosedError" });
  await assert.rejects(q.flush(), { name: "ClosedError" });
  assert.throws(() => q.consumer({ group: "g", member: "n" }), { name: "ClosedError" });
  await assert.rejects(c.commit([]), { name: "ClosedError" });
  assert.deepEqual(c.assignment(), []);
});
