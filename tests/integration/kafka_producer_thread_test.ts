/**
 * KafkaProducerThread against a real Apache Kafka broker (started by `deno task services:up`;
 * without one these tests FAIL, they never skip): the queue contract suite, records produced
 * from the thread consumed in order with exact stats after flush, the thread's setup errors as
 * this thread's classes, aborts, and the broker's health reported to this thread's registry.
 */

import assert from "node:assert/strict";
import { endpointHealth } from "../../resources/common/endpoint_health.ts";
import { KafkaQueue } from "../../resources/kafka/kafka_queue.ts";
import { KafkaProducerThread } from "../../resources/kafka/producer_thread.ts";
import { workerThreads } from "../fixtures/threads.ts";
import { buildResource } from "../../services/runner/resources.ts";
import { ClosedError, type Delivery } from "../../resources/queue/queue.ts";
import {
  deleteTopics,
  FAST,
  kafkaBrokers,
  kafkaQueueContract,
  uniqueTopic,
} from "./kafka_helpers.ts";

kafkaQueueContract(
  "KafkaProducerThread (Kafka broker)",
  "producer-thread-contract",
  (o) => KafkaProducerThread.open(o),
);

Deno.test("KafkaProducerThread: 300 records put from the thread are consumed in per-key order; flush() leaves exact stats", async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("producer-thread");
  const q = await KafkaProducerThread.open({
    name: topic,
    partitions: 3,
    brokers,
    transferValues: true,
    ...FAST,
  });
  try {
    const values: Uint8Array[] = [];
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const value = new Uint8Array(100).fill(i % 251);
      values.push(value);
      puts.push(q.put({ key: `k${i % 7}`, value, headers: { i: String(i) } }));
    }
    // Transferred: the caller gave the buffers away.
    assert.ok(values.every((v) => v.byteLength === 0));
    await Promise.all(puts);
    await q.flush();
    assert.equal(q.stats().recordsIn, 300);
    assert.equal(q.stats().bytesIn, 30_000);
    const c = q.consumer({ group: "g", member: "m" });
    const got: Delivery[] = [];
    const deadline = Date.now() + 60_000;
    while (got.length < 300) {
      assert.ok(Date.now() < deadline, `only ${got.length} of 300 records within 60 s`);
      const batch = await c.drain(500, 200);
      got.push(...batch);
      if (batch.length > 0) await c.commit(batch);
    }
    for (let k = 0; k < 7; k++) {
      const order = got.filter((d) => d.key === `k${k}`).map((d) => Number(d.headers["i"]));
      assert.deepEqual(order, order.toSorted((a, b) => a - b), `key k${k} out of order`);
    }
    const d = got.find((x) => x.headers["i"] === "42")!;
    assert.deepEqual(d.value, new Uint8Array(100).fill(42));
    await c.close();
  } finally {
    await q.close();
    await deleteTopics(brokers, [topic]);
  }
});

Deno.test("KafkaProducerThread: a record put after the consumers' last look at the topic counts in their group's lag", async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("producer-thread-lag");
  // The consumers here read the topic's end from the broker at most once a minute.
  const q = await KafkaProducerThread.open({
    name: topic,
    partitions: 1,
    brokers,
    ...FAST,
    lagRefreshMs: 60_000,
  });
  try {
    const c = q.consumer({ group: "g", member: "m" });
    await q.put({ key: "a", value: new Uint8Array(10) });
    const deadline = Date.now() + 60_000;
    let first: Delivery[] = [];
    while (first.length === 0) {
      assert.ok(Date.now() < deadline, "the first record was not consumed within 60 s");
      first = await c.drain(10, 200);
    }
    await c.commit(first);
    // The consumers' one look at the topic's end (started by this stats()) is over: to them the
    // topic ends after the first record. (The previous code took their lag for the group's,
    // and drained pipelines stopped before their last batch was stored.)
    q.stats();
    await new Promise((r) => setTimeout(r, 1000));
    // The second record, acknowledged and flushed: the group has it still to consume. (The
    // thread has not read the group's commit yet either: it counts both records until it does.
    // More, never less.)
    await q.put({ key: "a", value: new Uint8Array(10) });
    await q.flush();
    assert.ok(q.stats().lag["g"]! >= 1, `lag ${q.stats().lag["g"]}`);
    await c.close();
  } finally {
    await q.close();
    await deleteTopics(brokers, [topic]);
  }
});

Deno.test("KafkaProducerThread: a topic with other partitions fails open() saying what differs", async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("producer-thread-mismatch");
  const existing = await KafkaQueue.open({ name: topic, partitions: 2, brokers });
  try {
    await assert.rejects(
      KafkaProducerThread.open({ name: topic, partitions: 3, brokers }),
      /exists with 2 partitions, but the config asks for 3/,
    );
  } finally {
    await existing.close();
    await deleteTopics(brokers, [topic]);
  }
});

Deno.test("KafkaProducerThread: an unreachable broker fails open() naming it, and this thread's registry hears of it", async () => {
  endpointHealth.clear();
  await assert.rejects(
    KafkaProducerThread.open({
      name: "nowhere",
      partitions: 1,
      brokers: "127.0.0.1:1",
      retryMaxMs: 100,
    }),
    /queue nowhere: cannot set up Kafka topic 'nowhere' at 127\.0\.0\.1:1: .*ECONNREFUSED/,
  );
  assert.ok(endpointHealth.unanswered("broker", "127.0.0.1:1"), "the broker is not reported");
  endpointHealth.clear();
});

Deno.test("KafkaProducerThread: a waiting put() is aborted by its signal; put() after close() is refused", async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("producer-thread-abort");
  // A known group that never commits: the second record waits for room.
  const q = await KafkaProducerThread.open({
    name: topic,
    partitions: 1,
    brokers,
    maxRetainedBytes: 10,
    groups: ["never-commits"],
    ...FAST,
  });
  let accepted = 0;
  try {
    await q.put({ key: "a", value: new Uint8Array(20) });
    const controller = new AbortController();
    const waiting = q.put({ key: "b", value: new Uint8Array(20) }, controller.signal);
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(waiting, (e) => e instanceof DOMException && e.name === "AbortError");
    await assert.rejects(
      q.put({ key: "c", value: new Uint8Array(1) }, AbortSignal.abort()),
      (e) => e instanceof DOMException && e.name === "AbortError",
    );
    await q.flush();
    accepted = q.stats().recordsIn;
    assert.ok(accepted >= 1, `recordsIn ${accepted}`);
  } finally {
    await q.close();
    await deleteTopics(brokers, [topic]);
  }
  await assert.rejects(q.put({ key: "d", value: new Uint8Array(1) }), ClosedError);
  // The last figures stay readable, and asking for them starts no thread (one started after
  // close() would be left running).
  await new Promise((r) => setTimeout(r, 300)); // older than stats() keeps them
  const workers = workerThreads();
  assert.equal(q.stats().recordsIn, accepted);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(workerThreads() <= workers, "stats() after close() started a thread");
  assert.throws(() => q.consumer({ group: "g", member: "m" }), ClosedError);
});

Deno.test("buildResource: a queue an engine produces to gets a producer thread, others a KafkaQueue", async () => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("producer-thread-build");
  const config = {
    kind: "kafka-queue" as const,
    topic,
    partitions: 2,
    maxMessageBytes: 900 * 1024,
    maxBytes: 2 ** 26,
    compression: "none" as const,
    lingerMs: 0,
    groups: [],
  };
  const env = Deno.env.get("KAFKA_BOOTSTRAP_SERVERS");
  Deno.env.set("KAFKA_BOOTSTRAP_SERVERS", brokers);
  const produced = await buildResource("ticks", config, { producer: true });
  const plain = await buildResource("ticks", config);
  try {
    assert.ok(produced.instance instanceof KafkaProducerThread, produced.description);
    assert.match(produced.description, /produced to from a thread of its own/);
    assert.ok(plain.instance instanceof KafkaQueue, plain.description);
  } finally {
    await produced.instance.close();
    await plain.instance.close();
    if (env === undefined) Deno.env.delete("KAFKA_BOOTSTRAP_SERVERS");
    else Deno.env.set("KAFKA_BOOTSTRAP_SERVERS", env);
    await deleteTopics(brokers, [topic]);
  }
});
