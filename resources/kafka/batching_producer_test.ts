import assert from "node:assert/strict";
import { ClosedError } from "../queue/queue.ts";
import { partitionForKey } from "../queue/partitioned_log.ts";
import { FakeKafka } from "./fake_kafka.ts";
import { BatchingProducer, type BatchingProducerOptions } from "./batching_producer.ts";
import { PART_COUNT, PART_INDEX, PART_MSG } from "./large_messages.ts";

async function setup(o: Partial<BatchingProducerOptions> = {}) {
  const client = new FakeKafka();
  await client.admin().createTopic({ topic: "t", partitions: 4, replicationFactor: 1, config: {} });
  const producerClient = client.producer();
  const producer = new BatchingProducer({
    what: "queue t",
    topic: "t",
    partitions: 4,
    maxMessageBytes: 1000,
    maxBytes: 1 << 20,
    lingerMs: 0,
    batchBytes: 4000,
    compression: "zstd",
    connect: () => Promise.resolve(producerClient),
    sink: client.sink,
    producerId: "prod",
    ...o,
  });
  return { client, producer };
}

Deno.test("BatchingProducer: parts of a large value go to the key's partition in order", async () => {
  const stored: [number, number, number][] = [];
  const { client, producer } = await setup({ onStored: (p, o, s) => stored.push([p, o, s]) });
  const value = new Uint8Array(2500).map((_, i) => i % 251);
  await producer.put({ key: "big", value, headers: { h: "1" } });
  const p = partitionForKey("big", 4);
  const log = client.topics.get("t")!.partitions[p]!;
  assert.deepEqual(log.map((r) => r.value.byteLength), [1000, 1000, 500]);
  assert.deepEqual(log.map((r) => r.headers[PART_INDEX]), ["0", "1", "2"]);
  assert.ok(log.every((r) => r.headers[PART_COUNT] === "3" && r.headers[PART_MSG] === "prod:0"));
  assert.equal(log[0]!.headers["h"], "1");
  assert.deepEqual(stored, [[p, 2, 2500 + 3 + 2]], "stored at the last part's offset");
  await producer.put({ key: "big", value: new Uint8Array(1500) });
  assert.equal(client.topics.get("t")!.partitions[p]![3]!.headers[PART_MSG], "prod:1");
  await producer.close(1000);
});

Deno.test("BatchingProducer: records put while a request is in flight go out together", async () => {
  const { client, producer } = await setup();
  let open!: () => void;
  client.gate = new Promise((r) => (open = r));
  const puts = [producer.put({ key: "a", value: new Uint8Array(10) })];
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 20; i++) puts.push(producer.put({ key: `k${i}`, value: new Uint8Array(10) }));
  assert.equal(client.sends.length, 1, "one request in flight at a time");
  client.gate = undefined;
  open();
  await Promise.all(puts);
  assert.equal(client.sends.length, 2);
  assert.equal(client.sends[1]!.messages.length, 20);
  assert.equal(producer.recordsStored, 21);
  await producer.close(1000);
});

Deno.test("BatchingProducer: lingerMs holds a lone record; batchBytes flushes early", async () => {
  const { client, producer } = await setup({ lingerMs: 200, batchBytes: 500 });
  const t0 = performance.now();
  await producer.put({ key: "a", value: new Uint8Array(10) });
  assert.ok(performance.now() - t0 >= 150, "waited for the linger");
  // A second record fills the batch: the first goes out at once, the second lingers.
  const t1 = performance.now();
  let firstAt = 0;
  const a = producer.put({ key: "b", value: new Uint8Array(300) }).then(() => {
    firstAt = performance.now() - t1;
  });
  const b = producer.put({ key: "b", value: new Uint8Array(300) });
  await Promise.all([a, b]);
  assert.ok(firstAt < 150, `first record of a full batch waited ${firstAt} ms`);
  assert.ok(performance.now() - t1 >= 150, "the rest waited for the linger");
  // No request carries more than batchBytes of one partition (unless a single message).
  for (const s of client.sends) {
    const bytes = s.messages.reduce((n, m) => n + m.value.byteLength + 64, 0);
    assert.ok(s.messages.length === 1 || bytes <= 500, `${bytes}`);
  }
  await producer.close(1000);
});

Deno.test("BatchingProducer: put() waits while maxBytes are unacknowledged", async () => {
  const { client, producer } = await setup({ maxBytes: 100 });
  let open!: () => void;
  client.gate = new Promise((r) => (open = r));
  const first = producer.put({ key: "a", value: new Uint8Array(80) });
  let second = false;
  const p2 = producer.put({ key: "b", value: new Uint8Array(80) }).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(producer.blocked, 1);
  assert.equal(producer.inflightBytes, 81);
  assert.equal(second, false);
  client.gate = undefined;
  open();
  await first;
  await p2;
  assert.equal(producer.inflightBytes, 0);
  // A record larger than maxBytes passes when nothing is in flight.
  await producer.put({ key: "c", value: new Uint8Array(500) });
  await producer.close(1000);
});

Deno.test("BatchingProducer: a failed request rejects its puts and drops their later parts", async () => {
  const { client, producer } = await setup({ batchBytes: 1100 });
  client.failNextSend = new Error("MESSAGE_TOO_LARGE");
  await assert.rejects(
    producer.put({ key: "big", value: new Uint8Array(3000) }),
    /cannot store 1 record\(s\) in Kafka topic 't': MESSAGE_TOO_LARGE/,
  );
  assert.equal(client.sends.length, 1, "the remaining parts were not sent");
  assert.equal(producer.inflightBytes, 0);
  assert.match(producer.lastError ?? "", /MESSAGE_TOO_LARGE/);
  assert.equal(client.sink.summary().errors, 1);
  await producer.put({ key: "x", value: new Uint8Array(1) });
  await producer.close(1000);
});

Deno.test("BatchingProducer: close rejects blocked puts, stores admitted ones, refuses new ones", async () => {
  const { client, producer } = await setup({ maxBytes: 10 });
  let open!: () => void;
  client.gate = new Promise((r) => (open = r));
  const admitted = producer.put({ key: "a", value: new Uint8Array(20) });
  const blocked = producer.put({ key: "b", value: new Uint8Array(20) });
  blocked.catch(() => {});
  const closing = producer.close(5000);
  await assert.rejects(blocked, ClosedError);
  client.gate = undefined;
  open();
  await admitted;
  await closing;
  await assert.rejects(producer.put({ key: "c", value: new Uint8Array(1) }), ClosedError);
});

Deno.test("BatchingProducer: reserved header names and bad records are refused", async () => {
  const { producer } = await setup();
  await assert.rejects(
    producer.put({ key: "a", value: new Uint8Array(1), headers: { [PART_INDEX]: "0" } }),
    /reserved/,
  );
  await assert.rejects(
    producer.put({ key: 1 as unknown as string, value: new Uint8Array(1) }),
    TypeError,
  );
  await assert.rejects(producer.put({ key: "a", value: "x" as unknown as Uint8Array }), TypeError);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(producer.put({ key: "a", value: new Uint8Array(1) }, ac.signal), {
    name: "AbortError",
  });
  await producer.close(1000);
});
