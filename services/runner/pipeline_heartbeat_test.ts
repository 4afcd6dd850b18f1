import assert from "node:assert/strict";
import type { ApiService } from "../api/mod.ts";
import type { PipelineResponse } from "../api/api_types.ts";
import { ConfigError, type PipelineConfig, resolveConfig } from "./config.ts";
import { Pipeline } from "./pipeline.ts";

function config(root: string, status?: string): PipelineConfig {
  const c: PipelineConfig = {
    resources: {
      "tick-storage": { kind: "filesystem", root },
      "status-topic": { kind: "memory-topic", partitions: 1 },
    },
    services: { "http-api": { kind: "http-api", storage: "tick-storage", port: 0 } },
  };
  if (status !== undefined) c.status = status;
  return c;
}

Deno.test("the config's status must name a topic resource", () => {
  assert.equal(resolveConfig(config("/tmp/x", "status-topic")).status, "status-topic");
  assert.equal(resolveConfig(config("/tmp/x")).status, undefined);
  const bad = (status: string) => {
    try {
      resolveConfig(config("/tmp/x", status));
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail("accepted");
  };
  assert.match(bad("tick-storage"), /status.*'tick-storage' is a filesystem, expected a topic/);
  assert.match(bad("nope"), /status.*no resource named 'nope'/);
});

Deno.test("a kafka-topic takes a retention (for a status topic), at least 10 s", () => {
  const topic = (retentionMs?: number) => {
    const c = config("/tmp/x");
    c.resources["status-topic"] = {
      kind: "kafka-topic",
      ...(retentionMs === undefined ? {} : { retentionMs }),
    };
    return resolveConfig(c).resources["status-topic"]!;
  };
  assert.deepEqual(topic(60_000), {
    kind: "kafka-topic",
    topic: "status-topic",
    partitions: 3,
    retentionMs: 60_000,
  });
  assert.equal("retentionMs" in topic(), false);
  assert.throws(() => topic(500), /resources\.status-topic\.retentionMs.*expected 10000\.\./);
});

Deno.test("with a status topic, the process beats and its API lists itself in the cluster, running", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-heartbeat-" });
  const pipeline = await Pipeline.create(resolveConfig(config(root, "status-topic")));
  await pipeline.start();
  try {
    const api = pipeline.services[0] as ApiService;
    let body: PipelineResponse | undefined;
    const deadline = Date.now() + 8000;
    while (body?.cluster?.services[0]?.state !== "running") {
      if (Date.now() > deadline) assert.fail(`no heartbeat seen: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 20));
      body = await (await api.app.request("/api/pipeline")).json() as PipelineResponse;
    }
    const [me] = body.cluster!.services;
    assert.deepEqual([me!.name, me!.kind, me!.pid, me!.host], [
      "http-api",
      "http-api",
      Deno.pid,
      Deno.hostname(),
    ]);
  } finally {
    await pipeline.stop(0);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("without a status topic nothing beats and the API shows no cluster", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-heartbeat-" });
  const pipeline = await Pipeline.create(resolveConfig(config(root)));
  await pipeline.start();
  try {
    const api = pipeline.services[0] as ApiService;
    const body = await (await api.app.request("/api/pipeline")).json() as PipelineResponse;
    assert.equal(body.cluster, undefined);
    assert.deepEqual(pipeline.status().resources.map((r) => r.name), ["tick-storage"]);
  } finally {
    await pipeline.stop(0);
    await Deno.remove(root, { recursive: true });
  }
});
