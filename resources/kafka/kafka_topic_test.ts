/**
 * Unit tests of KafkaTopic against an in-memory fake cluster (no network). The same contract
 * runs against a real broker in tests/integration/kafka_topic_test.ts.
 */

import assert from "node:assert/strict";
import { FakeKafka } from "./fake_kafka.ts";
import { KafkaTopic } from "./kafka_topic.ts";
import { topicContract } from "../topic/topic_contract.ts";

topicContract("KafkaTopic on a fake cluster", ({ partitions }) => {
  const topic = new KafkaTopic({ name: "contract", partitions, client: new FakeKafka() });
  return Promise.resolve({ topic, cleanup: () => topic.close() });
});

Deno.test("KafkaTopic: retentionMs becomes the new topic's retention.ms and segment.ms", async () => {
  const client = new FakeKafka();
  const t = await KafkaTopic.open({ name: "batches", partitions: 2, client, retentionMs: 3600000 });
  try {
    assert.equal(client.topics.get("batches")!.config["retention.ms"], "3600000");
    assert.equal(client.topics.get("batches")!.config["segment.ms"], "3600000");
  } finally {
    await t.close();
  }
  assert.throws(() => new KafkaTopic({ name: "x", partitions: 1, client, retentionMs: 1.5 }));
});

Deno.test("KafkaTopic: publish of a large message is split and reassembled", async () => {
  const client = new FakeKafka();
  const t = new KafkaTopic({ name: "big", partitions: 1, client, maxMessageBytes: 1000 });
  try {
    const c = t.subscribe({ group: "g", member: "m" });
    const value = new Uint8Array(4500).map((_, i) => i & 0xff);
    await t.publish({ key: "k", value });
    assert.equal(client.topics.get("big")!.partitions[0]!.length, 5);
    let got: Awaited<ReturnType<typeof c.drain>> = [];
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) got = await c.drain(10, 20);
    assert.equal(got.length, 1);
    assert.deepEqual([...got[0]!.value], [...value]);
    assert.equal(await c.commit(got), true);
  } finally {
    await t.close();
  }
});

Deno.test("KafkaTopic: a subscriber buffers 4 MiB of notifications by default, each counted with its overhead", async () => {
  const client = new FakeKafka();
  const t = await KafkaTopic.open({ name: "notes", partitions: 1, client });
  try {
    // 5000 notifications of 100 bytes: 0.5 MB of values, 5.6 MB as the buffer counts them.
    for (let i = 0; i < 5000; i++) await t.publish({ key: "k", value: new Uint8Array(100) });
    const c = t.subscribe({ group: "g", member: "m" });
    await c.drain(1, 5000);
    const deadline = Date.now() + 5000;
    const paused = () => t.status().consumers[0]?.paused.length ?? 0;
    while (paused() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(paused(), 1, "the partition is paused");
    assert.ok(t.status().consumers[0]!.bufferedBytes >= 4 * 2 ** 20);
  } finally {
    await t.close();
  }
});
