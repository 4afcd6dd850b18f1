/**
 * Unit tests of KafkaQueue's adapter logic against an in-memory fake cluster (no network):
 * the queue contract, large messages, routing. The same contract runs against a real broker
 * in tests/integration/kafka_queue_test.ts.
 */

import assert from "node:assert/strict";
import { FakeKafka } from "./fake_kafka.ts";
import { PART_COUNT, PART_INDEX } from "./large_messages.ts";
import { KafkaQueue } from "./kafka_queue.ts";
import { partitionForKey } from "../queue/partitioned_log.ts";
import { queueContract } from "../queue/queue_contract.ts";
import type { Consumer, Delivery } from "../queue/queue.ts";

queueContract("KafkaQueue on a fake cluster", ({ partitions, maxBytes }) => {
  const client = new FakeKafka();
  const queue = new KafkaQueue({
    name: "contract",
    partitions,
    maxBytes,
    maxRetainedBytes: maxBytes,
    client,
  });
  return Promise.resolve({ queue, cleanup: () => queue.close() });
});

async function drainUntil(c: Consumer, n: number, ms = 5000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    assert.ok(Date.now() < deadline, `only ${out.length} of ${n} delivered`);
    out.push(...await c.drain(100, 20));
  }
  return out;
}

Deno.test("KafkaQueue: a 20 MB value is split into parts of one partition and reassembled", async () => {
  const client = new FakeKafka();
  const queue = new KafkaQueue({ name: "big", partitions: 4, client, maxMessageBytes: 1_000_000 });
  try {
    const value = new Uint8Array(20 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 4096) value[i] = (i / 4096) & 0xff;
    const c = queue.consumer({ group: "g", member: "m" });
    await queue.put({ key: "run/batch-1", value, headers: { id: "big" } });
    await queue.put({ key: "run/batch-1", value: new Uint8Array([1]), headers: { id: "small" } });
    const topic = client.topics.get("big")!;
    const p = partitionForKey("run/batch-1", 4);
    const log = topic.partitions[p]!;
    assert.equal(log.length, 21 + 1, "21 parts of <= 1 MB, then the small record");
    for (const [i, r] of log.slice(0, 21).entries()) {
      assert.equal(r.headers[PART_INDEX], String(i));
      assert.equal(r.headers[PART_COUNT], "21");
      assert.ok(r.value.byteLength <= 1_000_000);
    }
    assert.deepEqual(log[0]!.headers["id"], "big", "user headers on the first part");
    assert.equal(log[1]!.headers["id"], undefined);
    for (const [i, t] of topic.partitions.entries()) if (i !== p) assert.equal(t.length, 0);
    // Sends never carry more than batchBytes (default 900 KiB) of one partition, except a
    // single part.
    for (const s of client.sends) {
      const bytes = s.messages.reduce((n, m) => n + m.value.byteLength, 0);
      assert.ok(s.messages.length === 1 || bytes <= 900 * 1024, `send of ${bytes} bytes`);
    }

    const got = await drainUntil(c, 2);
    assert.equal(got.length, 2);
    const [big, small] = got;
    assert.equal(big!.headers["id"], "big");
    assert.deepEqual(Object.keys(big!.headers), ["id"], "part headers are not delivered");
    assert.equal(big!.offset, 20, "offset of the last part");
    assert.equal(big!.value.byteLength, value.byteLength);
    assert.ok(big!.value.every((x, i) => x === value[i]));
    assert.equal(small!.offset, 21);
    // Committing the big one commits all 21 parts.
    assert.equal(await c.commit([big!]), true);
    assert.equal(client.group("g").committed.get(p), 21);
    assert.equal(await c.commit([small!]), true);
    assert.equal(client.group("g").committed.get(p), 22);
    assert.equal(queue.stats().lag["g"], 0);
  } finally {
    await queue.close();
  }
});

Deno.test("KafkaQueue: records route to partitionForKey's partition, zstd by default", async () => {
  const client = new FakeKafka();
  const queue = new KafkaQueue({ name: "route", partitions: 6, client });
  try {
    for (let i = 0; i < 50; i++) await queue.put({ key: `key-${i}`, value: new Uint8Array(3) });
    const topic = client.topics.get("route")!;
    for (const [p, log] of topic.partitions.entries()) {
      for (const r of log) assert.equal(partitionForKey(r.key, 6), p, r.key);
    }
    assert.ok(client.sends.every((s) => s.compression === "zstd"));
    const s = queue.stats();
    assert.equal(s.recordsIn, 50);
    assert.equal(s.bytesIn, 150);
    assert.equal(s.retainedBytes, 0, "nothing in flight; no retained bound");
  } finally {
    await queue.close();
  }
});

Deno.test("KafkaQueue: an existing topic with another partition count is refused clearly", async () => {
  const client = new FakeKafka();
  await client.admin().createTopic({ topic: "t", partitions: 3, replicationFactor: 1, config: {} });
  const queue = new KafkaQueue({ name: "t", partitions: 6, client });
  try {
    await assert.rejects(queue.ready(), /exists with 3 partitions, but the config asks for 6/);
    await assert.rejects(queue.put({ key: "k", value: new Uint8Array(1) }), /3 partitions/);
    assert.match(queue.status().lastError ?? "", /3 partitions/);
    // A consumer cannot work on it either: drain() fails instead of retrying forever.
    const c = queue.consumer({ group: "g", member: "m" });
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 100; i++) await c.drain(1, 10);
      })(),
      /3 partitions/,
    );
  } finally {
    await queue.close();
  }
});

Deno.test("KafkaQueue: a topic whose max.message.bytes is too small is refused", async () => {
  const client = new FakeKafka();
  await client.admin().createTopic({
    topic: "small",
    partitions: 2,
    replicationFactor: 1,
    config: { "max.message.bytes": "100000" },
  });
  await assert.rejects(
    KafkaQueue.open({ name: "small", partitions: 2, client }),
    /max\.message\.bytes=100000/,
  );
  // With parts and batches under the limit it works.
  const q = await KafkaQueue.open({
    name: "small",
    partitions: 2,
    client,
    maxMessageBytes: 50_000,
    batchBytes: 50_000,
  });
  await q.close();
});

Deno.test("KafkaQueue: a new topic gets the partitions and max.message.bytes asked for", async () => {
  const client = new FakeKafka();
  client.propagating = 3; // a new topic's metadata takes a moment to appear
  const q = await KafkaQueue.open({ name: "q", topic: "evochora.raw", partitions: 5, client });
  try {
    const t = client.topics.get("evochora.raw")!;
    assert.equal(t.partitions.length, 5);
    assert.equal(t.config["max.message.bytes"], String(2 * 1024 * 1024));
    assert.equal(q.topic, "evochora.raw");
  } finally {
    await q.close();
  }
});

Deno.test("KafkaQueue: lag counts uncommitted records of known groups", async () => {
  const client = new FakeKafka();
  const queue = new KafkaQueue({ name: "lag", partitions: 2, client, groups: ["remote"] });
  try {
    const c = queue.consumer({ group: "local", member: "m" });
    for (let i = 0; i < 10; i++) await queue.put({ key: `k${i}`, value: new Uint8Array(1) });
    assert.deepEqual(queue.stats().lag, { remote: 10, local: 10 });
    const got = await drainUntil(c, 10);
    await c.commit(got.slice(0, 4));
    assert.ok(queue.stats().lag["local"]! <= 8);
    await c.commit(got);
    assert.equal(queue.stats().lag["local"], 0);
    assert.equal(queue.stats().lag["remote"], 10);
  } finally {
    await queue.close();
  }
});

Deno.test("KafkaQueue: a broker that drops the connection during setup (restarting) is tried again", async () => {
  const client = new FakeKafka();
  client.failNextAdminConnect = Object.assign(new Error("Closed connection"), {
    name: "KafkaJSConnectionClosedError",
  });
  const queue = new KafkaQueue({ name: "restarting", partitions: 2, client });
  try {
    await queue.ready();
    assert.equal(client.failNextAdminConnect, undefined, "the first connect failed");
    assert.ok(client.topics.has(queue.topic), "set up on the second try");
  } finally {
    await queue.close();
  }
});

Deno.test("KafkaQueue: a setup error other than a lost connection fails at once", async () => {
  const client = new FakeKafka();
  client.failNextAdminConnect = new Error("SASL authentication failed");
  const queue = new KafkaQueue({ name: "refused", partitions: 2, client });
  try {
    await assert.rejects(queue.ready(), /cannot set up Kafka topic .*SASL authentication failed/);
  } finally {
    await queue.close();
  }
});
