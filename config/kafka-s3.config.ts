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
 */
import { defineConfig } from "@evochora/config";

export default defineConfig({
  resources: {
    "raw-tick-data": {
      kind: "kafka-queue",
      topic: "evochora-ticks",
      partitions: 6,
      compression: "zstd",
      groups: ["persistence"],
    },
    "metadata": { kind: "kafka-queue", topic: "evochora-metadata", partitions: 1 },
    "batch-topic": { kind: "kafka-topic", topic: "evochora-batches", partitions: 3 },
    "tick-storage": { kind: "s3", prefix: "evochora/" },
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
  startupSequence: [
    "metadata-persistence",
    "persistence-1",
    "persistence-2",
    "persistence-3",
    "simulation-engine",
  ],
});
