import assert from "node:assert/strict";
import { ClusterStatus } from "./cluster_status.ts";
import { type Heartbeat, HEARTBEAT_VERSION, type HeartbeatService } from "./heartbeat.ts";

function service(name: string, over: Partial<HeartbeatService> = {}): HeartbeatService {
  return { name, kind: "persistence", state: "running", metrics: {}, lag: null, ...over };
}

function beat(over: Partial<Heartbeat> & { sentAt: number }): Heartbeat {
  return {
    v: HEARTBEAT_VERSION,
    host: "h1",
    pid: 100,
    startedAt: 1,
    seq: 1,
    intervalMs: 2000,
    services: [service("persistence-1")],
    ...over,
  };
}

/** A collector on a clock the test moves. */
function collector(options: { maxServices?: number } = {}) {
  const clock = { now: 1_000_000 };
  const status = new ClusterStatus({
    lostAfterMs: 10_000,
    dropAfterMs: 60_000,
    now: () => clock.now,
    ...options,
  });
  return { clock, status };
}

Deno.test("a service silent for more than lostAfterMs is lost, and running again once it beats", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now }));
  clock.now += 10_000;
  assert.equal(status.view().services[0]!.state, "running");
  clock.now += 1;
  const lost = status.view().services[0]!;
  assert.equal(lost.state, "lost");
  assert.equal(lost.reportedState, "running");
  assert.equal(lost.ageMs, 10_001);
  status.record(beat({ sentAt: clock.now, seq: 2 }));
  assert.equal(status.view().services[0]!.state, "running");
});

Deno.test("a service that reported stopped is never lost, and is forgotten after dropAfterMs", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now, services: [service("p", { state: "stopped" })] }));
  clock.now += 30_000;
  assert.equal(status.view().services[0]!.state, "stopped");
  clock.now += 30_001;
  assert.deepEqual(status.view().services, []);
});

Deno.test("the newest beat of a process wins, whatever the order they arrive in", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now, seq: 5, services: [service("p", { lag: 5 })] }));
  status.record(beat({ sentAt: clock.now, seq: 4, services: [service("p", { lag: 4 })] }));
  assert.equal(status.view().services[0]!.lag, 5);
  status.record(beat({ sentAt: clock.now, seq: 6, services: [service("p", { lag: 6 })] }));
  assert.equal(status.view().services[0]!.lag, 6);
});

Deno.test("a process restarted with the same pid is a different service entry", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now - 20_000, startedAt: 1, seq: 9 }));
  status.record(beat({ sentAt: clock.now, startedAt: 2, seq: 1 }));
  const states = status.view().services.map((s) => [s.startedAt, s.state]);
  assert.deepEqual(states, [[1, "lost"], [2, "running"]]);
});

Deno.test("a beat read from the topic's history counts from when it was sent", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now - 15_000 }));
  assert.equal(status.view().services[0]!.state, "lost");
  status.record(beat({ sentAt: clock.now - 120_000, host: "h2" }));
  assert.deepEqual(status.view().services.map((s) => s.host), ["h1"]);
  // A sender whose clock is ahead counts from the arrival.
  status.record(beat({ sentAt: clock.now + 5_000, host: "h3" }));
  assert.equal(status.view().services.find((s) => s.host === "h3")!.ageMs, 0);
});

Deno.test("beyond maxServices the longest silent service is forgotten", () => {
  const { clock, status } = collector({ maxServices: 3 });
  for (let pid = 1; pid <= 5; pid++) {
    status.record(beat({ sentAt: clock.now, pid }));
    clock.now += 100;
  }
  assert.equal(status.size, 3);
  assert.deepEqual(status.view().services.map((s) => s.pid), [3, 4, 5]);
});

Deno.test("every service of a process's beat is listed, sorted by name and host", () => {
  const { clock, status } = collector();
  status.record(beat({ sentAt: clock.now, services: [service("b"), service("a")] }));
  status.record(beat({ sentAt: clock.now, host: "h0", services: [service("b")] }));
  const view = status.view();
  assert.equal(view.lostAfterMs, 10_000);
  assert.deepEqual(view.services.map((s) => `${s.name}@${s.host}`), ["a@h1", "b@h0", "b@h1"]);
  assert.equal(view.services[0]!.id, "h1/100/1/a");
});

Deno.test("thresholds are checked", () => {
  assert.throws(() => new ClusterStatus({ lostAfterMs: 0 }), /lostAfterMs/);
  assert.throws(() => new ClusterStatus({ lostAfterMs: 10, dropAfterMs: 5 }), /dropAfterMs/);
  assert.throws(() => new ClusterStatus({ maxServices: 0 }), /maxServices/);
});
