/**
 * Shared pieces of the suites that run the whole pipeline on the real Kafka broker and S3
 * server: loading their settings, deleting a test's objects.
 *
 * @module
 */

import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
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
