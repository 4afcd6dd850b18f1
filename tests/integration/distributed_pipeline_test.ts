/**
 * The pipeline on a real Kafka broker and a real S3 server (SeaweedFS), with the service code
 * unchanged: the same exactly-once checks as the in-process end-to-end test. The servers come
 * from `deno task services:up` (CI starts them); without them these tests fail.
 */
import assert from "node:assert/strict";
import { verifyRun } from "../../cli/inspect_command.ts";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import type { PersistenceService } from "../../services/persistence/persistence_service.ts";
import { Pipeline, type PipelineConfig, resolveConfig } from "../../services/runner/mod.ts";
import { isolatedKafkaS3, loadServicesEnv, removePrefix } from "./pipeline_services.ts";
import type { Queue } from "../../resources/queue/queue.ts";
import { createApp } from "../../services/api/app.ts";
import type { RunDetail } from "../../services/api/api_types.ts";
import { EngineService } from "../../services/simulation_engine/engine_service.ts";

/** The shipped config, isolated, with a test-sized run. */
function isolated(tag: string, ticks: number, chunksPerBatch: number): PipelineConfig {
  return isolatedKafkaS3(tag, {
    ticks,
    chunksPerBatch,
    engine: { shape: [256, 64], seed: 5, intervals: { sampling: 5, snapshot: 10 } },
  });
}

Deno.test({
  name: "Kafka + S3: three persistence workers store every sampled tick exactly once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await loadServicesEnv();
    const tag = `e2e-${Date.now().toString(36)}`;
    const config = resolveConfig(isolated(tag, 2000, 1));
    const pipeline = await Pipeline.create(config);
    await pipeline.start();
    await pipeline.engine!.done;
    assert.equal(await pipeline.stop(120000), true, "pipeline did not drain");
    const workers = pipeline.status().services.filter((s) => s.kind === "persistence");
    for (const w of workers) assert.ok((w.metrics.batches ?? 0) > 0, `${w.name} wrote no batch`);
    const storage = await S3Storage.open({
      bucket: Deno.env.get("EVOCHORA_S3_BUCKET")!,
      prefix: `test/${tag}/`,
    });
    try {
      const report = await verifyRun(storage, pipeline.engine!.runId);
      assert.deepEqual(report.errors, []);
      assert.equal(report.state, "finished");
      assert.equal(report.end?.lastTick, 2000);
      assert.equal(report.end?.batches, report.batches);
      assert.equal(report.metadata, true);
      assert.equal(report.samples, 2000 / 5 + 1);
      const written = workers.reduce((n, w) => n + (w.metrics.batches ?? 0), 0);
      assert.equal(report.batches, written);
    } finally {
      await removePrefix(`test/${tag}/`);
      await storage.close();
    }
  },
});

Deno.test({
  name: "Kafka + S3: a worker that crashes mid-batch has its records redelivered and stored once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await loadServicesEnv();
    const tag = `crash-${Date.now().toString(36)}`;
    const config = resolveConfig(isolated(tag, 3000, 4));
    const pipeline = await Pipeline.create(config);
    await pipeline.start();
    const victim = pipeline.services.find((s) => s.name === "persistence-2") as PersistenceService;
    const deadline = performance.now() + 60000;
    while ((victim.status().metrics.pending_batches ?? 0) === 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok((victim.status().metrics.pending_batches ?? 0) > 0, "victim never held a batch");
    await victim.crash();
    await pipeline.engine!.done;
    assert.equal(await pipeline.stop(180000), true, "pipeline did not drain");
    const storage = await S3Storage.open({
      bucket: Deno.env.get("EVOCHORA_S3_BUCKET")!,
      prefix: `test/${tag}/`,
    });
    try {
      const report = await verifyRun(storage, pipeline.engine!.runId);
      assert.deepEqual(report.errors, []);
      assert.equal(report.samples, 3000 / 5 + 1);
    } finally {
      await removePrefix(`test/${tag}/`);
      await storage.close();
    }
  },
});

/**
 * The queue, except that the run's final batch never reaches it: what a killed engine leaves
 * behind (it dies with its last batch open, so that batch and the run's end are never put).
 */
function withoutFinal(queue: Queue): Queue {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "put") {
        return (r: Parameters<Queue["put"]>[0]) =>
          r.headers?.final === "1" ? Promise.resolve() : target.put(r);
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

Deno.test({
  name: "Kafka + S3: a run whose engine died reads incomplete in inspect and the API; none ends it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await loadServicesEnv();
    const tag = `killed-${Date.now().toString(36)}`;
    const config = resolveConfig(isolated(tag, 2000, 2));
    const services = config.startupSequence.filter((n) => n !== "simulation-engine");
    const pipeline = await Pipeline.create(config, services);
    await pipeline.start();
    const queue = (n: string) => pipeline.resources.get(n)!.instance as Queue;
    const engine = new EngineService({
      name: "simulation-engine",
      output: withoutFinal(queue("raw-tick-data")),
      metadataOutput: queue("metadata"),
      engine: { shape: [256, 64], seed: 5, intervals: { sampling: 5, snapshot: 10 } },
      ticks: 2000,
      chunksPerBatch: 2,
      runId: `killed-${tag}`,
    });
    await engine.start();
    await engine.done;
    // What was put is stored; the run's final batch and its end never come.
    assert.equal(await pipeline.stop(8000), true);
    const storage = await S3Storage.open({
      bucket: Deno.env.get("EVOCHORA_S3_BUCKET")!,
      prefix: `test/${tag}/`,
    });
    try {
      const running = await verifyRun(storage, engine.runId);
      assert.equal(running.state, "running", running.stateReason);
      const report = await verifyRun(storage, engine.runId, { idleAfterMs: 0 });
      assert.equal(report.state, "incomplete", report.stateReason);
      assert.equal(report.end, null);
      assert.deepEqual(report.problems, []);
      assert.ok(report.lastTick! > 0 && report.lastTick! < 2000, `last tick ${report.lastTick}`);
      const api = createApp({ storage, idleAfterMs: 0 });
      const detail = await (await api.request(`/api/runs/${engine.runId}`)).json() as RunDetail;
      assert.equal(detail.state, "incomplete");
    } finally {
      await removePrefix(`test/${tag}/`);
      await storage.close();
    }
  },
});
