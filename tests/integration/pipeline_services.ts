/**
 * Shared pieces of the suites that run the whole pipeline on the real Kafka broker and S3
 * server: loading their settings, deleting a test's objects.
 *
 * @module
 */

import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import kafkaS3 from "../../config/kafka-s3.config.ts";
import type { PipelineConfig, SimulationEngineServiceConfig } from "../../services/runner/mod.ts";
import { parseEnvFile, servicesEnvFile } from "./kafka_helpers.ts";

/** Settings the pipeline suites need. */
export const NEEDED = [
  "KAFKA_BOOTSTRAP_SERVERS",
  "AWS_ENDPOINT",
  "AWS_ACCESS_KEY_ID",
  "EVOCHORA_S3_BUCKET",
];

/** Settings passed on to child processes. */
export const PASSED = [
  ...NEEDED,
  "REDPANDA_BOOTSTRAP_SERVERS",
  "AWS_REGION",
  "AWS_SECRET_ACCESS_KEY",
];

/**
 * Takes the servers' settings from the environment, else from the services env file, into
 * this process's environment; returns those to pass to child processes. Throws (failing the
 * test) when neither has them.
 */
export async function loadServicesEnv(): Promise<Record<string, string>> {
  if (!NEEDED.every((n) => Deno.env.get(n))) {
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
  const env: Record<string, string> = {};
  for (const n of PASSED) {
    const v = Deno.env.get(n);
    if (v !== undefined) env[n] = v;
  }
  return env;
}

/** Deletes the objects under `prefix` in the test bucket. */
export async function removePrefix(prefix: string): Promise<void> {
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

/** The engine settings a test gives {@link isolatedKafkaS3}. */
export type TestEngine = Pick<SimulationEngineServiceConfig, "ticks" | "chunksPerBatch" | "engine">;

/**
 * The shipped Kafka + S3 config with topics, consumer groups and a key prefix of its own
 * (`test/<tag>/`) and a test-sized engine. Without the query API: these tests read storage
 * directly, and its port would collide with any other API on the machine.
 */
export function isolatedKafkaS3(tag: string, engine: TestEngine): PipelineConfig {
  const c = structuredClone(kafkaS3);
  for (const r of Object.values(c.resources)) {
    if (r.kind === "kafka-queue" || r.kind === "kafka-topic") r.topic = `${r.topic}-${tag}`;
    if (r.kind === "kafka-queue" && r.groups !== undefined) {
      r.groups = r.groups.map((g) => `${g}-${tag}`);
    }
    if (r.kind === "s3") r.prefix = `test/${tag}/`;
  }
  for (const [name, s] of Object.entries(c.services)) {
    if (s.kind === "http-api") {
      delete c.services[name];
      c.startupSequence = c.startupSequence!.filter((n) => n !== name);
    }
    // Consumer groups of their own: a group shared with another run on this broker (other
    // topics, one group) would rebalance ours whenever its members join or leave.
    if (s.kind === "indexer") s.group = `${s.index}-indexer-${tag}`;
    if (s.kind === "persistence") s.group = `persistence-${tag}`;
    if (s.kind === "metadata-persistence") s.group = `metadata-persistence-${tag}`;
    if (s.kind === "simulation-engine") Object.assign(s, structuredClone(engine));
  }
  return c;
}
