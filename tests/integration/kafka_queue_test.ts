/**
 * KafkaQueue against a real Apache Kafka broker (started by `deno task services:up`; see
 * kafka_helpers.ts for how it is found — without one these tests FAIL, they never skip).
 *
 * Runs the queue contract suite (the same one MemoryQueue passes) plus: a round trip with
 * lag, three competing consumers with exactly-once processing after commit, a consumer killed
 * with SIGKILL before its commit, a 20 MB value split and reassembled, and a throughput figure.
 */

import assert from "node:assert/strict";
import { KafkaQueue, type KafkaQueueOptions } from "../../resources/kafka/kafka_queue.ts";
import type { Consumer, Delivery } from "../../resources/queue/queue.ts";
import {
  deleteTopics,
  FAST,
  kafkaBrokers,
  kafkaQueueContract,
  uniqueTopic,
} from "./kafka_helpers.ts";

kafkaQueueContract("KafkaQueue (Kafka broker)", "queue-contract", (o) => KafkaQueue.open(o));

/** Opens a queue on a fresh topic; `body` runs, then everything is closed and deleted. */
async function withQueue(
  partitions: number,
  body: (q: KafkaQueue, brokers: string, topic: string) => Promise<void>,
  extra: Partial<KafkaQueueOptions> = {},
): Promise<void> {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("queue");
  const q = await KafkaQueue.open({ name: topic, partitions, brokers, ...FAST, ...extra });
  try {
    await body(q, brokers, topic);
  } finally {
    await q.close();
    await deleteTopics(brokers, [topic]);
  }
}

const enc = new TextEncoder();
const id = (d: Delivery) => d.headers["id"] ?? "?";

/** Drains (and commits) until `done`, failing after `ms`. */
async function drainUntil(
  c: Consumer,
  done: (got: Delivery[]) => boolean,
  { commit = true, ms = 60_000, got = [] as Delivery[] } = {},
): Promise<Delivery[]> {
  const deadline = Date.now() + ms;
  while (!done(got)) {
    assert.ok(Date.now() < deadline, `only ${got.length} records within ${ms} ms`);
    const batch = await c.drain(500, 200);
    got.push(...batch);
    if (commit && batch.length > 0) assert.equal(await c.commit(batch), true);
  }
  return got;
}

/** Waits until the consumers own disjoint non-empty sets covering all partitions. */
async function settle(cs: Consumer[], partitions: number, got: Delivery[][]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const sets = cs.map((c) => c.assignment());
    const all = sets.flat();
    if (
      sets.every((s) => s.length > 0) && all.length === partitions &&
      new Set(all).size === partitions
    ) {
      return;
    }
    assert.ok(Date.now() < deadline, `assignment did not settle: ${JSON.stringify(sets)}`);
    await Promise.all(cs.map(async (c, i) => got[i]!.push(...await c.drain(100, 200))));
  }
}

Deno.test("KafkaQueue (Kafka broker): round trip of 1000 records keeps per-key order; lag drops to 0", async () => {
  await withQueue(6, async (q) => {
    const group = `g-${crypto.randomUUID().slice(0, 8)}`;
    const c = q.consumer({ group, member: "m1" });
    const puts = [];
    for (let i = 0; i < 1000; i++) {
      puts.push(
        q.put({
          key: `key-${i % 37}`,
          value: enc.encode(`value-${i}`),
          headers: { id: String(i), seq: String(i) },
        }),
      );
    }
    await Promise.all(puts);
    await q.flush();
    assert.equal(q.stats().recordsIn, 1000);
    assert.equal(q.stats().lag[group], 1000);
    const got = await drainUntil(c, (g) => g.length >= 1000);
    assert.equal(got.length, 1000);
    assert.equal(new Set(got.map(id)).size, 1000);
    for (let k = 0; k < 37; k++) {
      const seq = got.filter((d) => d.key === `key-${k}`).map((d) => Number(d.headers["seq"]));
      assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `key-${k} in order`);
    }
    assert.equal(q.stats().lag[group], 0);
    const s = q.stats();
    assert.equal(s.recordsOut, 1000);
    assert.equal(s.redelivered, 0);
    assert.equal(q.status().ready, true);
    // kafkajs may log retried errors right after a topic is created (NOT_LEADER while the
    // new partitions load); nothing may have failed for the queue itself.
    const st = q.status();
    assert.equal(st.producer.lastError, undefined);
    for (const c of st.consumers) assert.equal(c.lastError, undefined, c.lastError);
  });
});

Deno.test("KafkaQueue (Kafka broker): 3 competing consumers share the work, each record once", async () => {
  await withQueue(6, async (q) => {
    const group = `g-${crypto.randomUUID().slice(0, 8)}`;
    const cs = ["a", "b", "c"].map((m) => q.consumer({ group, member: m }));
    const got: Delivery[][] = [[], [], []];
    await settle(cs, 6, got);
    for (const [i, c] of cs.entries()) {
      assert.equal(c.assignment().length, 2, `consumer ${i} owns 2 of 6 partitions`);
    }
    const n = 600;
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) => q.put({ key: `k-${i}`, value: enc.encode(`v${i}`), headers: { id: String(i) } }),
      ),
    );
    const deadline = Date.now() + 60_000;
    while (got.reduce((s, g) => s + g.length, 0) < n) {
      assert.ok(Date.now() < deadline, "not all records delivered");
      await Promise.all(cs.map(async (c, i) => {
        const batch = await c.drain(50, 200);
        got[i]!.push(...batch);
        if (batch.length > 0) assert.equal(await c.commit(batch), true);
      }));
    }
    const ids = got.flat().map(id);
    assert.equal(ids.length, n, "no record twice");
    assert.equal(new Set(ids).size, n);
    for (const [i, g] of got.entries()) {
      assert.ok(g.length > n / 10, `consumer ${i} got ${g.length}`);
    }
    for (const [i, g] of got.entries()) {
      for (const d of g) assert.ok(cs[i]!.assignment().includes(d.partition));
    }
    // Every commit held: a new member of the group finds nothing old.
    await Promise.all(cs.map((c) => c.close()));
    const late = q.consumer({ group, member: "late" });
    await q.put({ key: "k-0", value: enc.encode("marker"), headers: { id: "marker" } });
    const after = await drainUntil(late, (g) => g.some((d) => id(d) === "marker"));
    assert.deepEqual(after.map(id), ["marker"]);
    assert.equal(q.stats().lag[group], 0);
  });
});

Deno.test({
  name:
    "KafkaQueue (Kafka broker): a consumer killed (SIGKILL) before committing has its records redelivered",
  // The child process' pipes are closed below; the broker needs the session timeout to evict
  // the dead member, so this test takes ~10 s.
  fn: async () => {
    await withQueue(2, async (q, brokers, topic) => {
      const group = `g-${crypto.randomUUID().slice(0, 8)}`;
      const survivor = q.consumer({ group, member: "survivor" });
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./kafka_child_consumer.ts", import.meta.url).pathname,
          brokers,
          topic,
          "2",
          group,
        ],
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      const childGot: string[] = [];
      let childAssignment: number[] = [];
      const readLines = (async () => {
        for (;;) {
          const { value, done } = await lines.read();
          if (done) return;
          buf += value;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const o = JSON.parse(line) as { assignment?: number[]; got?: string[] };
            if (o.assignment) childAssignment = o.assignment;
            if (o.got) childGot.push(...o.got);
          }
        }
      })();
      try {
        const mine: Delivery[] = [];
        // Both members own one partition each.
        const deadline = Date.now() + 60_000;
        while (
          !(survivor.assignment().length === 1 && childAssignment.length === 1 &&
            survivor.assignment()[0] !== childAssignment[0])
        ) {
          assert.ok(
            Date.now() < deadline,
            `no split: ${survivor.assignment()} / ${childAssignment}`,
          );
          mine.push(...await survivor.drain(100, 200));
        }
        const n = 40;
        for (let i = 0; i < n; i++) {
          await q.put({ key: `key-${i}`, value: enc.encode(`v${i}`), headers: { id: String(i) } });
        }
        // The survivor commits its share; the child drains its share without committing.
        await drainUntil(survivor, (g) => g.length + childGot.length >= n, { got: mine });
        assert.ok(childGot.length > 0, "the child got some records");
        child.kill("SIGKILL");
        await child.status;
        // After the session timeout the group gives the child's partition to the survivor,
        // from the last committed offset: exactly the child's records come again.
        const want = new Set(childGot);
        const again = await drainUntil(
          survivor,
          (g) => [...want].every((x) => g.some((d) => id(d) === x)),
          { ms: 60_000 },
        );
        assert.deepEqual(again.map(id).sort(), [...want].sort());
        assert.deepEqual(survivor.assignment(), [0, 1]);
        const all = new Set([...mine.map(id), ...again.map(id)]);
        assert.equal(all.size, n, "every record processed");
      } finally {
        try {
          child.kill("SIGKILL");
        } catch {
          // already dead
        }
        await child.status;
        await readLines.catch(() => {});
      }
    });
  },
});

Deno.test("KafkaQueue (Kafka broker): a 20 MB value is split, reassembled and committed as one", async () => {
  await withQueue(3, async (q, _brokers, _topic) => {
    const group = `g-${crypto.randomUUID().slice(0, 8)}`;
    const c = q.consumer({ group, member: "m" });
    const value = new Uint8Array(20 * 1024 * 1024);
    // Barely compressible bytes (xorshift), so the parts really are ~900 KiB on the wire.
    let x = 2463534242;
    for (let i = 0; i < value.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      value[i] = x & 0xff;
    }
    await q.put({ key: "run/batch-7", value, headers: { id: "big" } });
    await q.put({ key: "run/batch-7", value: enc.encode("after"), headers: { id: "after" } });
    const got = await drainUntil(c, (g) => g.length >= 2, { commit: false });
    assert.deepEqual(got.map(id), ["big", "after"]);
    const big = got[0]!;
    assert.equal(big.value.byteLength, value.byteLength);
    assert.ok(big.value.every((b, i) => b === value[i]), "bytes equal");
    assert.deepEqual(Object.keys(big.headers), ["id"]);
    assert.equal(got[1]!.offset, big.offset + 1);
    assert.ok(
      big.offset >= 22,
      `offset of the last of ${Math.ceil(value.length / (900 * 1024))} parts`,
    );
    assert.equal(await c.commit([big]), true);
    // The lag counts records: the parts are committed; only "after" is left.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(q.stats().lag[group], 1);
    assert.equal(await c.commit([got[1]!]), true);
    assert.equal(q.stats().lag[group], 0);
  });
});

Deno.test("KafkaQueue (Kafka broker): throughput, produce and consume with zstd", async () => {
  for (const compression of ["zstd", "none"] as const) {
    await withQueue(6, async (q) => {
      // 742 kB chunks, like the engine's 256x256 chunks, compressible about 3:1.
      const chunk = 742_000;
      const n = 120;
      const values = Array.from({ length: 4 }, (_, k) => {
        const v = new Uint8Array(chunk);
        let x = 88172645 + k;
        for (let i = 0; i < chunk; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          v[i] = (x & 0x3) === 0 ? x & 0xff : (i >> 4) & 0x0f;
        }
        return v;
      });
      const group = `g-${crypto.randomUUID().slice(0, 8)}`;
      const c = q.consumer({ group, member: "m" });
      await settle([c], 6, [[]]);
      const mb = (n * chunk) / 1e6;
      // Sequential puts, awaited one by one: what the engine does.
      let t = performance.now();
      for (let i = 0; i < n / 2; i++) {
        await q.put({
          key: `run/batch-${Math.floor(i / 5)}`,
          value: values[i % 4]!,
          headers: { id: String(i) },
        });
      }
      const seqS = (performance.now() - t) / 1000;
      // Concurrent puts: the producer batches what accumulates while a request is in flight.
      t = performance.now();
      await Promise.all(Array.from({ length: n / 2 }, (_, j) => {
        const i = n / 2 + j;
        return q.put({
          key: `run/batch-${Math.floor(i / 5)}`,
          value: values[i % 4]!,
          headers: { id: String(i) },
        });
      }));
      const parS = (performance.now() - t) / 1000;
      t = performance.now();
      const got = await drainUntil(c, (g) => g.length >= n);
      const consumeS = (performance.now() - t) / 1000;
      assert.equal(got.length, n);
      console.log(
        `kafka ${compression}: produce sequential ${(mb / 2 / seqS).toFixed(1)} MB/s, ` +
          `concurrent ${(mb / 2 / parS).toFixed(1)} MB/s; consume+commit ${
            (mb / consumeS).toFixed(1)
          } MB/s ` +
          `(${n} x ${chunk} B, ${q.status().producer.requests} requests)`,
      );
    }, { compression });
  }
});

Deno.test("KafkaQueue: an unreachable broker fails open() with a message naming it", async () => {
  const t0 = Date.now();
  await assert.rejects(
    KafkaQueue.open({ name: "nowhere", partitions: 1, brokers: "127.0.0.1:1", retryMaxMs: 100 }),
    /queue nowhere: cannot set up Kafka topic 'nowhere' at 127\.0\.0\.1:1: .*ECONNREFUSED/,
  );
  assert.ok(Date.now() - t0 < 30_000);
  // A queue that never connected closes cleanly; its put() reports the same problem.
  const q = new KafkaQueue({
    name: "nowhere",
    partitions: 1,
    brokers: "127.0.0.1:1",
    retryMaxMs: 100,
  });
  await assert.rejects(q.put({ key: "k", value: new Uint8Array(1) }), /ECONNREFUSED/);
  assert.match(q.status().lastError ?? "", /ECONNREFUSED/);
  await q.close();
});
