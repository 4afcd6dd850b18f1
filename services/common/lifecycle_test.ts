import assert from "node:assert/strict";
import { Lifecycle } from "./lifecycle.ts";

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

Deno.test("Lifecycle: stop() before start() returns at once and the service is stopped", async () => {
  const l = new Lifecycle("s", "k");
  await l.stop();
  assert.equal(l.state, "stopped");
  await l.done;
  await assert.rejects(() => l.start(() => {}, () => Promise.resolve()), /started already/);
});

Deno.test("Lifecycle: a second start() rejects", async () => {
  const l = new Lifecycle("s", "k");
  await l.start(
    () => {},
    (signal) => new Promise<void>((r) => signal.addEventListener("abort", () => r())),
  );
  await assert.rejects(
    () => l.start(() => {}, () => Promise.resolve()),
    /Service 's' was started already \(state running\)/,
  );
  await l.stop();
  assert.equal(l.state, "stopped");
});

Deno.test("Lifecycle: a failing setup fails the service and start() rejects", async () => {
  const l = new Lifecycle("s", "k");
  await assert.rejects(() =>
    l.start(() => Promise.reject(new Error("no broker")), () => {
      throw new Error("never runs");
    }), /no broker/);
  assert.equal(l.state, "failed");
  assert.equal(l.status({}).error, "no broker");
  await l.done;
  await l.stop(); // returns at once after the end
});

Deno.test("Lifecycle: the loop's end decides stopped or failed; done resolves either way", async () => {
  const ok = new Lifecycle("a", "k");
  await ok.start(() => {}, () => Promise.resolve());
  await ok.done;
  assert.equal(ok.state, "stopped");
  const bad = new Lifecycle("b", "k");
  await bad.start(() => {}, () => Promise.reject(new Error("disk on fire")));
  await bad.done;
  assert.equal(bad.state, "failed");
  assert.deepEqual(bad.status({ n: 1 }), {
    name: "b",
    kind: "k",
    state: "failed",
    metrics: { n: 1 },
    error: "disk on fire",
  });
});

Deno.test("Lifecycle: stop() aborts the loop's signal, shows stopping, waits for the end", async () => {
  const l = new Lifecycle("s", "k");
  const release = gate();
  await l.start(() => {}, async (signal) => {
    await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
    await release.p; // cleanup still running
  });
  const stopped = l.stop();
  assert.equal(l.state, "stopping");
  assert.equal(l.stopping, true);
  release.open();
  await stopped;
  assert.equal(l.state, "stopped");
  await l.stop(); // idempotent
});

Deno.test("Lifecycle: stop() during setup means the loop never runs", async () => {
  const l = new Lifecycle("s", "k");
  const setup = gate();
  let ran = false;
  const started = l.start(() => setup.p, () => {
    ran = true;
    return Promise.resolve();
  });
  const stopped = l.stop();
  setup.open();
  await started;
  await stopped;
  assert.equal(ran, false);
  assert.equal(l.state, "stopped");
});
