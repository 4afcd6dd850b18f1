import assert from "node:assert/strict";
import { ClosedError, type Queue } from "../../resources/queue/queue.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import { defaultConfig, resolveConfig } from "./config.ts";
import { Pipeline } from "./pipeline.ts";

/** Every service kind (an indexer's kind names its index). */
const KINDS = [
  "simulation-engine",
  "metadata-persistence",
  "persistence",
  "stats-indexer",
  "organisms-indexer",
  "catalog-indexer",
  "http-api",
];

async function build(dir: string): Promise<Pipeline> {
  const config = defaultConfig({ dataDir: dir, persistence: 1, ticks: 50, apiPort: 0 });
  return await Pipeline.create(resolveConfig(config));
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
    }),
  ]);
}

Deno.test("every service kind: stop() before start() returns at once, then start() rejects", async () => {
  const dir = await Deno.makeTempDir();
  const p = await build(dir);
  try {
    assert.deepEqual([...new Set(p.services.map((s) => s.kind))].sort(), [...KINDS].sort());
    for (const s of p.services) {
      await within(s.stop(), 1000, `${s.kind} stop() before start()`);
      assert.equal(s.status().state, "stopped", s.kind);
      await within(s.done, 1000, `${s.kind} done after stop()`);
      await assert.rejects(() => s.start(), /was started already/, s.kind);
    }
  } finally {
    await p.stop(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every service kind: a second start() rejects; stop() is idempotent", async () => {
  const dir = await Deno.makeTempDir();
  const p = await build(dir);
  try {
    await p.start();
    for (const s of p.services) {
      await assert.rejects(() => s.start(), /was started already/, s.kind);
    }
  } finally {
    await p.stop(10_000);
    for (const s of p.services) {
      assert.equal(s.status().state, "stopped", s.kind);
      await within(s.stop(), 1000, `${s.kind} second stop()`);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Pipeline.stop() stops every service and resource even when one throws", async () => {
  const dir = await Deno.makeTempDir();
  const p = await build(dir);
  await p.start();
  const broken = p.services.find((s) => s.kind === "persistence")!;
  const realStop = broken.stop.bind(broken);
  Object.defineProperty(broken, "stop", {
    value: async () => {
      await realStop();
      throw new Error("stop exploded");
    },
  });
  await assert.rejects(() => p.stop(10_000), /stop exploded/);
  for (const s of p.services) assert.equal(s.status().state, "stopped", s.kind);
  const record = { key: "k", value: new Uint8Array(1), headers: {} };
  for (const [name, r] of p.resources) {
    if (r.role === "queue") {
      await assert.rejects(() => (r.instance as Queue).put(record), ClosedError, name);
    } else if (r.role === "topic") {
      await assert.rejects(() => (r.instance as Topic).publish(record), ClosedError, name);
    }
  }
  await Deno.remove(dir, { recursive: true });
});
