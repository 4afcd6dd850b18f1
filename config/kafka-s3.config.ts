/**
 * The whole pipeline on Kafka (or Redpanda) and S3, in one process or split across processes
 * with `deno task service <name> --config config/kafka-s3.config.ts`. The service code is the
 * same as in-process; only the resources differ.
 *
 * Connection settings come from the environment (never from this file):
 * - KAFKA_BOOTSTRAP_SERVERS or REDPANDA_BOOTSTRAP_SERVERS (SASL/TLS: KAFKA_SASL_*, KAFKA_SSL*)
 * - AWS_ENDPOINT (MinIO, SeaweedFS; absent: AWS S3), AWS_REGION, AWS_ACCESS_KEY_ID,
 *   AWS_SECRET_ACCESS_KEY, and EVOCHORA_S3_BUCKET for the bucket.
 *
 * `deno task services:up` starts a local Kafka broker and S3 server and prints these.
 *
 * Services: the metadata persistence, three competing persistence workers, the stats,
 * organisms and catalog indexers (each its own consumer group on the batch topic, so each sees
 * every batch), the query API with the web client, and the engine. compose.yaml runs the same
 * services, one container each.
 */
import { defineConfig } from "@evochora/config";

/**
 * The variable's value, or `fallback` when it is unset, empty, or this process may not read it (a
 * service started with the permissions of its own kind reads only the variables it needs).
 */
function envOr(name: string, fallback: string): string {
  const allowed = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return (allowed ? Deno.env.get(name) : undefined) || fallback;
}

export default defineConfig({
  resources: {
    "raw-tick-data": {
      kind: "kafka-queue",
      topic: "evochora-ticks",
      partitions: 6,
      // Its records are whole batches the engine compressed with zstd already: Kafka's own
      // compression would only compress them again, costing CPU on both ends.
      compression: "none",
      groups: ["persistence"],
    },
    "metadata": { kind: "kafka-queue", topic: "evochora-metadata", partitions: 1 },
    "batch-topic": { kind: "kafka-topic", topic: "evochora-batches", partitions: 3 },
    "tick-storage": { kind: "s3", prefix: "evochora/" },
    // Heartbeats of every service process, for `evochora status` and the API's /api/pipeline;
    // kept a minute, so that a reader starting later reads only recent ones.
    "status-topic": {
      kind: "kafka-topic",
      topic: "evochora-status",
      partitions: 1,
      retentionMs: 60000,
    },
  },
  services: {
    "metadata-persistence": {
      kind: "metadata-persistence",
      input: "metadata",
      storage: "tick-storage",
    },
    "persistence-1": {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: "batch-topic",
    },
    "persistence-2": {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: "batch-topic",
    },
    "persistence-3": {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: "batch-topic",
    },
    "stats-indexer": {
      kind: "indexer",
      index: "stats",
      input: "batch-topic",
      storage: "tick-storage",
    },
    "organisms-indexer": {
      kind: "indexer",
      index: "organisms",
      input: "batch-topic",
      storage: "tick-storage",
    },
    "catalog-indexer": {
      kind: "indexer",
      index: "catalog",
      input: "batch-topic",
      storage: "tick-storage",
    },
    // The query API and the web client on port 8080, bound to 127.0.0.1 (this machine only).
    // To let other machines reach it, set EVOCHORA_API_HOST (e.g. 0.0.0.0, as compose.yaml
    // does) and an access token in EVOCHORA_API_TOKEN (at least 16 characters, e.g. from
    // 'openssl rand -hex 16'); bound beyond loopback without a token it refuses to start.
    "http-api": {
      kind: "http-api",
      storage: "tick-storage",
      port: 8080,
      host: envOr("EVOCHORA_API_HOST", "127.0.0.1"),
    },
    "simulation-engine": {
      kind: "simulation-engine",
      output: "raw-tick-data",
      metadataOutput: "metadata",
      // Resumable checkpoints, so that an engine started again on the same run id (`--run-id`)
      // continues the run where its batches end.
      checkpointStorage: "tick-storage",
      ticks: 0,
    },
  },
  status: "status-topic",
  startupSequence: [
    "metadata-persistence",
    "persistence-1",
    "persistence-2",
    "persistence-3",
    "stats-indexer",
    "organisms-indexer",
    "catalog-indexer",
    "http-api",
    "simulation-engine",
  ],
});
