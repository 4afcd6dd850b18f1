import assert from "node:assert/strict";
import { ClosedError, type Delivery } from "../queue/queue.ts";
import type { ConsumerClient, FetchedBatch } from "./client.ts";
import { KafkaLogSink } from "./logger.ts";
import { isRebalanceError, KafkaPullConsumer, type PullConsumerOptions } from "./pull_consumer.ts";
import { RECORD_OVERHEAD_BYTES } from "./partition_state.ts";

const enc = new TextEncoder();

/** A consumer client driven by the test: it emits joins and batches by hand. */
class ManualClient implements ConsumerClient {
  eachBatch: ((b: FetchedBatch, resolve: (o: string) => void) => Promise<void>) | undefined;
  join: ((memberId: string, a: Record<string, number[]>) => void) | undefined;
  crash: ((e: Error, restart: boolean) => void) | undefined;
  readonly commits: { partition: number; offset: number }[][] = [];
  readonly seeks: [number, number][] = [];
  readonly paused = new Set<number>();
  readonly resolved = new Map<number, string>();
  commitError: Error | undefined;
  disconnected = false;

  connect() {
    return Promise.resolve();
  }
  disconnect() {
    this.disconnected = true;
    return Promise.resolve();
  }
  subscribe() {
    return Promise.resolve();
  }
  runs = 0;
  run(eachBatch: (b: FetchedBatch, resolve: (o: string) => void) => Promise<void>) {
    this.eachBatch = eachBatch;
    this.runs++;
    return Promise.resolve();
  }
  commit(_t: string, offsets: readonly { partition: number; offset: number }[]) {
    const e = this.commitError;
    this.commitError = undefined;
    if (e) return Promise.reject(e);
    this.commits.push([...offsets]);
    return Promise.resolve();
  }
  seek(_t: string, p: number, o: number) {
    this.seeks.push([p, o]);
  }
  pause(_t: string, ps: readonly number[]) {
    this.#requireGroup();
    for (const p of ps) this.paused.add(p);
  }
  resume(_t: string, ps: readonly number[]) {
    this.#requireGroup();
    for (const p of ps) this.paused.delete(p);
  }
  /** As kafkajs between a crash and its restart: no consumer group, pauses forgotten. */
  stopGroup() {
    this.groupStopped = true;
    this.paused.clear();
  }
  groupStopped = false;
  #requireGroup() {
    if (this.groupStopped) throw new Error("Consumer group was not initialized");
  }
  onGroupJoin(l: (memberId: string, a: Record<string, number[]>) => void) {
    this.join = l;
  }
  onRebalancing() {}
  onCrash(l: (e: Error, restart: boolean) => void) {
    this.crash = l;
  }

  /** Feeds records `from`..`to`-1 of partition p, `size` bytes each. */
  async feed(p: number, from: number, to: number, size = 10): Promise<void> {
    const messages = [];
    for (let o = from; o < to; o++) {
      messages.push({
        offset: String(o),
        key: enc.encode(`k${o}`),
        value: new Uint8Array(size),
        headers: { id: enc.encode(`${p}/${o}`) },
      });
    }
    await this.eachBatch!(
      { partition: p, messages, lastOffset: () => String(to - 1) },
      (o) => this.resolved.set(p, o),
    );
  }
}

/**
 * The bound of the pause tests: 100 bytes of 30-byte values, as the buffer charges them (each
 * record also costs RECORD_OVERHEAD_BYTES), i.e. three and a third records.
 */
const BOUND = Math.round((100 / 30) * (30 + RECORD_OVERHEAD_BYTES));

async function start(options: Partial<PullConsumerOptions> = {}) {
  const client = new ManualClient();
  const consumer = new KafkaPullConsumer(client, {
    what: "consumer m of test",
    topic: "t",
    group: "g",
    member: "m",
    fromBeginning: true,
    bufferBytes: 1 << 20,
    abandonAfterRecords: 1000,
    rejoinWaitMs: 2000,
    ready: () => Promise.resolve(),
    sink: new KafkaLogSink(),
    ...options,
  });
  // Let the start sequence reach run().
  for (let i = 0; i < 10 && client.eachBatch === undefined; i++) {
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(client.eachBatch, "run() was called");
  return { client, consumer };
}

Deno.test("KafkaPullConsumer: drain takes fetched records; commit sends offset+1 of the contiguous run", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0, 1] });
    assert.deepEqual(consumer.assignment(), [0, 1]);
    await client.feed(0, 0, 3);
    await client.feed(1, 7, 9);
    assert.equal(client.resolved.get(0), "2", "fetch position moved past the batch");
    const got = await consumer.drain(10, 0);
    assert.equal(got.length, 5);
    assert.equal(got[0]!.headers["id"], "0/0");
    const p0 = got.filter((d) => d.partition === 0);
    assert.equal(await consumer.commit([p0[0]!, p0[2]!]), true);
    assert.deepEqual(
      client.commits,
      [[{ partition: 0, offset: 1 }]],
      "offset 1 not done: stop at 1",
    );
    assert.equal(await consumer.commit(got), true);
    assert.deepEqual(client.commits[1]!.sort((a, b) => a.partition - b.partition), [
      { partition: 0, offset: 3 },
      { partition: 1, offset: 9 },
    ]);
    assert.equal(await consumer.commit(got), true, "idempotent");
    assert.equal(client.commits.length, 2, "nothing new to commit: no request");
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a revoked partition drops its buffer and its commits return false", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0, 1] });
    await client.feed(0, 0, 2);
    await client.feed(1, 0, 2);
    const first = await consumer.drain(1, 0);
    assert.equal(first.length, 1);
    client.join!("m-1", { t: [1] });
    assert.deepEqual(consumer.assignment(), [1]);
    const rest = await consumer.drain(10, 0);
    assert.ok(rest.every((d) => d.partition === 1), "partition 0's buffered records are gone");
    const lost = [...first, ...rest].filter((d) => d.partition === 0);
    const kept = [...first, ...rest].filter((d) => d.partition === 1);
    assert.ok(lost.length > 0);
    assert.equal(await consumer.commit(lost), false);
    assert.equal(await consumer.commit([...lost, ...kept]), false, "mixed: owned part applied");
    assert.deepEqual(client.commits.at(-1), [{ partition: 1, offset: 2 }]);
    // A batch of the revoked partition still in flight is ignored.
    await client.feed(0, 2, 4);
    assert.deepEqual(await consumer.drain(10, 0), []);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a kept partition continues at its fetch position (seek)", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0] });
    await client.feed(0, 0, 5);
    const got = await consumer.drain(2, 0);
    client.join!("m-1", { t: [0, 1] });
    assert.deepEqual(client.seeks, [[0, 5]], "no refetch from the committed offset");
    // kafkajs may still hand over records it fetched before the seek: they are dropped.
    await client.feed(0, 3, 6);
    const rest = await consumer.drain(10, 0);
    assert.deepEqual(rest.map((d) => d.offset), [2, 3, 4, 5]);
    assert.equal(await consumer.commit([...got, ...rest]), true);
    assert.deepEqual(client.commits.at(-1), [{ partition: 0, offset: 6 }]);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a new member id (session lost) resets every partition", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0] });
    await client.feed(0, 0, 3);
    const got = await consumer.drain(1, 0);
    client.join!("m-2", { t: [0] });
    assert.deepEqual(client.seeks, [], "start again from the committed offset");
    assert.deepEqual(await consumer.drain(10, 0), []);
    // Records from before are delivered again by the fetcher; the old delivery's commit is
    // harmless.
    await client.feed(0, 0, 3);
    const again = await consumer.drain(10, 0);
    assert.deepEqual(again.map((d) => d.offset), [0, 1, 2]);
    assert.equal(await consumer.commit([...got, ...again]), true);
    assert.deepEqual(client.commits.at(-1), [{ partition: 0, offset: 3 }]);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: partitions pause at bufferBytes and resume after drain", async () => {
  const { client, consumer } = await start({ bufferBytes: BOUND });
  try {
    client.join!("m-1", { t: [0, 1] });
    await client.feed(0, 0, 5, 30); // 150 bytes
    assert.deepEqual([...client.paused], [0]);
    await client.feed(1, 0, 1, 30);
    assert.deepEqual([...client.paused].sort(), [0, 1]);
    await consumer.drain(5, 0);
    assert.deepEqual([...client.paused], [], "resumed below the bound");
    // Revoking a paused partition resumes it (kafkajs would keep it paused otherwise).
    await client.feed(0, 5, 10, 30);
    assert.ok(client.paused.has(0));
    client.join!("m-1", { t: [1] });
    assert.ok(!client.paused.has(0));
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: tiny records are charged their overhead: a buffer pauses after bufferBytes / RECORD_OVERHEAD_BYTES of them", async () => {
  const bufferBytes = 8 * RECORD_OVERHEAD_BYTES;
  const { client, consumer } = await start({ bufferBytes });
  try {
    client.join!("m-1", { t: [0] });
    let fed = 0;
    while (!client.paused.has(0) && fed < 1000) await client.feed(0, fed, ++fed, 10);
    assert.ok(fed <= 8, `${fed} records of 10 bytes buffered before the pause`);
    assert.ok(consumer.status().bufferedBytes >= bufferBytes);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a commit refused by a rebalance that completed meanwhile is retried at once", async () => {
  // A rejoin wait far longer than the test may take: waiting for a join that already happened
  // would hang here.
  const { client, consumer } = await start({ rejoinWaitMs: 600_000 });
  try {
    client.join!("m-1", { t: [0] });
    await client.feed(0, 0, 3);
    const got = await consumer.drain(10, 0);
    // The group rebalances while the commit is under way: the member rejoins (keeping the
    // partition) before the broker's refusal arrives.
    client.commitError = Object.assign(new Error("stale"), { type: "ILLEGAL_GENERATION" });
    const original = client.commit.bind(client);
    client.commit = (t, offsets) => {
      client.join!("m-1", { t: [0] });
      client.commit = original;
      return original(t, offsets);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<string>((r) => (timer = setTimeout(() => r("hung"), 20_000)));
    const result = await Promise.race([consumer.commit(got), hung]);
    clearTimeout(timer);
    assert.equal(result, true, "committed after the rejoin, without waiting for another");
    assert.deepEqual(client.commits.at(-1), [{ partition: 0, offset: 3 }]);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a crash while partitions are paused leaves the restarted member unpaused and fetching", async () => {
  const { client, consumer } = await start({ bufferBytes: BOUND });
  try {
    client.join!("m-1", { t: [0] });
    await client.feed(0, 0, 5, 30);
    assert.deepEqual([...client.paused], [0]);
    // kafkajs stops its consumer group before it reports the crash.
    client.stopGroup();
    client.crash!(new Error("connection lost"), true);
    assert.deepEqual(consumer.status().paused, []);
    client.groupStopped = false;
    client.join!("m-2", { t: [0] });
    await client.feed(0, 0, 5, 30);
    const again = await consumer.drain(10, 0);
    assert.deepEqual(again.map((d) => d.offset), [0, 1, 2, 3, 4]);
    assert.deepEqual([...client.paused], [], "nothing paused after the drain");
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: paused partitions resume when a rebalance frees the buffer", async () => {
  const { client, consumer } = await start({ bufferBytes: BOUND });
  try {
    client.join!("m-1", { t: [0, 1] });
    await client.feed(1, 0, 4, 30); // 120 bytes: 1 paused
    await client.feed(0, 0, 1, 30); // 0 paused too
    assert.deepEqual([...client.paused].sort(), [0, 1]);
    // Partition 1 moves away with its 120 bytes; 0 keeps 30 and must fetch again.
    client.join!("m-1", { t: [0] });
    assert.deepEqual([...client.paused], []);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a commit refused in a rebalance is retried after the rejoin", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0, 1] });
    await client.feed(0, 0, 2);
    await client.feed(1, 0, 2);
    const got = await consumer.drain(10, 0);
    client.commitError = Object.assign(new Error("The group is rebalancing"), {
      type: "REBALANCE_IN_PROGRESS",
    });
    const pending = consumer.commit(got);
    await new Promise((r) => setTimeout(r, 10));
    client.join!("m-1", { t: [1] }); // lost partition 0 in the rebalance
    assert.equal(await pending, false);
    assert.deepEqual(client.commits, [[{ partition: 1, offset: 2 }]]);
    // Other errors reject.
    await client.feed(1, 2, 3);
    const more = await consumer.drain(10, 0);
    client.commitError = new Error("broker down");
    await assert.rejects(consumer.commit(more), /commit failed: broker down/);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a crash drops the assignment; a fatal one fails drain", async () => {
  const { client, consumer } = await start({ isFatal: (e) => /not authorized/.test(String(e)) });
  try {
    client.join!("m-1", { t: [0] });
    await client.feed(0, 0, 2);
    client.crash!(new Error("connection lost"), true);
    assert.deepEqual(consumer.assignment(), []);
    assert.deepEqual(await consumer.drain(10, 0), []);
    assert.match(consumer.status().lastError ?? "", /connection lost/);
    client.crash!(new Error("not authorized"), false);
    await assert.rejects(consumer.drain(10, 0), /not authorized/);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: a consumer kafkajs gave up on (a non-retriable crash) is started again and fetches", async () => {
  const { client, consumer } = await start();
  try {
    client.join!("m-1", { t: [0] });
    assert.equal(client.runs, 1);
    // As while the broker restarts: kafkajs stops the consumer for good.
    client.crash!(new Error("Failed to find group coordinator"), false);
    for (let i = 0; i < 50 && client.runs < 2; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(client.runs, 2, "started again");
    client.join!("m-2", { t: [0] });
    await client.feed(0, 0, 2);
    assert.deepEqual((await consumer.drain(10, 0)).map((d) => d.offset), [0, 1]);
    assert.match(consumer.status().lastError ?? "", /Failed to find group coordinator/);
  } finally {
    await consumer.close();
  }
});

Deno.test("KafkaPullConsumer: close rejects pending drains, disconnects, and is idempotent", async () => {
  const { client, consumer } = await start();
  client.join!("m-1", { t: [0] });
  const pending = consumer.drain(10, 10_000);
  pending.catch(() => {});
  await consumer.close();
  await assert.rejects(pending, ClosedError);
  await assert.rejects(consumer.drain(1, 0), ClosedError);
  await assert.rejects(consumer.commit([] as Delivery[]), ClosedError);
  assert.ok(client.disconnected);
  assert.deepEqual(consumer.assignment(), []);
  await consumer.close();
});

Deno.test("isRebalanceError looks through kafkajs' wrapped causes", () => {
  const inner = Object.assign(new Error("x"), { type: "ILLEGAL_GENERATION" });
  assert.equal(isRebalanceError(new Error("retries exceeded", { cause: inner })), true);
  assert.equal(isRebalanceError(new Error("other")), false);
  assert.equal(isRebalanceError(undefined), false);
});
