/**
 * The pipeline on a real Kafka broker and a real S3 server (SeaweedFS), with the service code
 * unchanged: the same exactly-once checks as the in-process end-to-end test. The servers come
 * from `deno task services:up` (CI starts them); without them these tests fail.
 */
import assert from "node:assert/strict";
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { verifyRun } from "../../cli/inspect_command.ts";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import type { PersistenceService } from "../../services/persistence/persistence_service.ts";
import { Pipeline, type PipelineConfig, resolveConfig } from "../../services/runner/mod.ts";
import { parseEnvFile, servicesEnvFile } from "./kafka_helpers.ts";
import kafkaS3 from "../../config/kafka-s3.config.ts";

const NEEDED = [
  "KAFKA_BOOTSTRAP_SERVERS",
  "AWS_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "EVOCHORA_S3_BUCKET",
];

/** Takes the servers' settings from the environment, else from the services env file. */
async function loadServicesEnv(): Promise<void> {
  if (NEEDED.every((n) => Deno.env.get(n))) return;
  let text: string;
  try {
    text = await Deno.readTextFile(servicesEnvFile());
  } catch {
    throw new Error(
      `No Kafka/S3 settings (${NEEDED.join(", ")}) and no ${servicesEnvFile()}: ` +
        "start the servers with `deno task services:up`",
    );
  }
  for (const [k, v] of Object.entries(parseEnvFile(text))) {
    if (!Deno.env.get(k)) Deno.env.set(k, v);
  }
}

/** The shipped config with topics and a key prefix of their own, and test-sized runs. */
function isolated(tag: string, ticks: number, chunksPerBatch: number): PipelineConfig {
  const c = structuredClone(kafkaS3);
  for (const r of Object.values(c.resources)) {
    if (r.kind === "kafka-queue" || r.kind === "kafka-topic") r.topic = `${r.topic}-${tag}`;
    if (r.kind === "s3") r.prefix = `test/${tag}/`;
  }
  for (const s of Object.values(c.services)) {
    if (s.kind === "simulation-engine") {
      s.ticks = ticks;
      s.chunksPerBatch = chunksPerBatch;
      s.engine = { shape: [256, 64], seed: 5, intervals: { sampling: 5, snapshot: 10 } };
    }
  }
  return c;
}

/** Deletes the test's objects (they live under their own prefix). */
async function removePrefix(prefix: string): Promise<void> {
  const client = new S3Client({
    endpoint: Deno.env.get("AWS_ENDPOINT")!,
    region: Deno.env.get("AWS_REGION") ?? "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: Deno.env.get("AWS_ACCESS_KEY_ID")!,
      secretAccessKey: Deno.env.get("AWS_SECRET_ACCESS_KEY")!,
    },
  });
  const Bucket = Deno.env.get("EVOCHORA_S3_BUCKET")!;
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0) {
        await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
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
