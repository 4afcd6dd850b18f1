import assert from "node:assert/strict";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import { ClusterStatusReader } from "./cluster_status_reader.ts";
import { HeartbeatPublisher } from "./heartbeat_publisher.ts";
import type { ServiceStatus } from "./service.ts";

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("a reader sees every process's services, beats before it started too, and a final stopped", async () => {
  const topic = new MemoryTopic({ name: "status", partitions: 3 });
  const states: Record<string, ServiceStatus> = {
    a: { name: "a", kind: "persistence", state: "running", metrics: { batches: 1 } },
    b: { name: "b", kind: "indexer", state: "running", metrics: { lag: 4 } },
  };
  const one = new HeartbeatPublisher({
    topic,
    services: () => [states.a!],
    intervalMs: 20,
    host: "h1",
    pid: 1,
  });
  const two = new HeartbeatPublisher({
    topic,
    services: () => [states.b!],
    intervalMs: 20,
    host: "h2",
    pid: 2,
  });
  one.start();
  two.start();
  await one.beat();
  const reader = new ClusterStatusReader({ topic, role: "test" });
  const other = new ClusterStatusReader({ topic, role: "test" });
  try {
    reader.start();
    other.start();
    await until("both services", () => reader.view().services.length === 2);
    const [a, b] = reader.view().services;
    assert.deepEqual([a!.name, a!.host, a!.pid, a!.state], ["a", "h1", 1, "running"]);
    assert.deepEqual([b!.name, b!.lag, b!.kind], ["b", 4, "indexer"]);
    // Readers do not compete: each has its own group.
    await until("the second reader", () => other.view().services.length === 2);
    states.a = { ...states.a!, state: "stopped" };
    await one.stop();
    await until("a stopped", () => reader.view().services[0]!.state === "stopped");
    assert.ok(one.stats().sent >= 2);
    assert.equal(reader.stats().skipped, 0);
    assert.ok(reader.caughtUp);
  } finally {
    await two.stop();
    await reader.stop();
    await other.stop();
    await topic.close();
  }
});

Deno.test("a reader skips and counts messages that are not heartbeats", async () => {
  const topic = new MemoryTopic({ name: "status", partitions: 1 });
  await topic.publish({ key: "x", value: new TextEncoder().encode("not json") });
  const reader = new ClusterStatusReader({ topic });
  try {
    reader.start();
    await until("the skip", () => reader.stats().skipped === 1);
    assert.match(reader.stats().lastSkip!, /partition 0 offset 0: Heartbeat is not JSON/);
    assert.deepEqual(reader.view().services, []);
  } finally {
    await reader.stop();
    await topic.close();
  }
});

Deno.test("a publisher that cannot publish says so once, and again when it recovers", async () => {
  const topic = new MemoryTopic({ name: "status", partitions: 1 });
  let fail = true;
  const flaky = {
    name: "status",
    partitions: 1,
    publish: (m: Parameters<MemoryTopic["publish"]>[0]) =>
      fail ? Promise.reject(new Error("broker down")) : topic.publish(m),
    flush: () => topic.flush(),
    subscribe: topic.subscribe.bind(topic),
    stats: () => topic.stats(),
    close: () => topic.close(),
  };
  const logged: string[] = [];
  const p = new HeartbeatPublisher({
    topic: flaky,
    services: () => [],
    intervalMs: 1000,
    log: (m) => logged.push(m),
  });
  await p.beat();
  await p.beat();
  assert.equal(p.stats().failed, 2);
  assert.equal(logged.length, 1);
  assert.match(
    logged[0]!,
    /Cannot publish the heartbeat of .* on status topic 'status': broker down/,
  );
  fail = false;
  await p.beat();
  assert.deepEqual([p.stats().sent, p.stats().lastError], [1, null]);
  assert.match(logged[1]!, /sent again/);
  await topic.close();
});
