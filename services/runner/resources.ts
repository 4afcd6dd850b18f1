/**
 * Builds resource implementations from their resolved config, by `kind`. The only place that
 * knows implementations: services receive the interfaces.
 *
 * @module
 */

import { resolve } from "node:path";
import { MemoryQueue } from "../../resources/queue/memory_queue.ts";
import type { Queue } from "../../resources/queue/queue.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import type { ResolvedResource } from "./config.ts";

/** A built resource with what it is. */
export type Resource =
  | { role: "queue"; kind: string; description: string; instance: Queue }
  | { role: "topic"; kind: string; description: string; instance: Topic }
  | { role: "storage"; kind: string; description: string; instance: Storage };

/** Options of {@link buildResource}. */
export interface BuildResourceOptions {
  /**
   * The storage is only read here (an http-api process): a filesystem root is neither created
   * nor probed by a write, which a read-only process is not allowed to do.
   */
  readOnly?: boolean;
  /**
   * A queue this process puts records on by the batch (an engine's output): a Kafka queue's
   * producer then runs on a thread of its own (resources/kafka/producer_thread.ts), taking the
   * records' buffers over, so that kafkajs' work does not slow the engine's thread.
   */
  producer?: boolean;
}

/** Creates the implementation for one resource config. */
export async function buildResource(
  name: string,
  config: ResolvedResource,
  options: BuildResourceOptions = {},
): Promise<Resource> {
  switch (config.kind) {
    case "memory-queue":
      return {
        role: "queue",
        kind: config.kind,
        description: `in-memory queue, ${config.partitions} partitions`,
        // Producers (the engine) hand over fresh buffers: no copy per record.
        instance: new MemoryQueue({
          name,
          partitions: config.partitions,
          maxBytes: config.maxBytes,
          copyValues: false,
        }),
      };
    case "memory-topic":
      return {
        role: "topic",
        kind: config.kind,
        description: `in-memory topic, ${config.partitions} partitions`,
        instance: new MemoryTopic({
          name,
          partitions: config.partitions,
          retention: config.retention,
        }),
      };
    case "kafka-queue": {
      // Kafka's and S3's clients are loaded only where configured: an in-process run does not
      // pay their tens of MB of modules.
      const queueOptions = {
        name,
        topic: config.topic,
        partitions: config.partitions,
        maxMessageBytes: config.maxMessageBytes,
        maxBytes: config.maxBytes,
        compression: config.compression,
        lingerMs: config.lingerMs,
        groups: config.groups,
      };
      const description = `Kafka topic '${config.topic}', ${config.partitions} partitions`;
      if (options.producer === true) {
        const { KafkaProducerThread } = await import("../../resources/kafka/producer_thread.ts");
        return {
          role: "queue",
          kind: config.kind,
          description: `${description}, produced to from a thread of its own`,
          instance: await KafkaProducerThread.open({ ...queueOptions, transferValues: true }),
        };
      }
      const { KafkaQueue } = await import("../../resources/kafka/kafka_queue.ts");
      return {
        role: "queue",
        kind: config.kind,
        description,
        instance: await KafkaQueue.open(queueOptions),
      };
    }
    case "kafka-topic": {
      const { KafkaTopic } = await import("../../resources/kafka/kafka_topic.ts");
      return {
        role: "topic",
        kind: config.kind,
        description: `Kafka topic '${config.topic}', ${config.partitions} partitions`,
        instance: await KafkaTopic.open({
          name,
          topic: config.topic,
          partitions: config.partitions,
          ...(config.retentionMs === undefined ? {} : { retentionMs: config.retentionMs }),
        }),
      };
    }
    case "s3": {
      const { S3Storage } = await import("../../resources/storage/s3_storage.ts");
      const storage = await S3Storage.open({
        bucket: config.bucket,
        prefix: config.prefix,
        partSize: config.partSize,
        conditionalWrites: config.conditionalWrites,
      });
      return {
        role: "storage",
        kind: config.kind,
        description: storage.description,
        instance: storage,
      };
    }
    case "filesystem": {
      const root = resolve(config.root);
      const storage = options.readOnly === true
        ? new FilesystemStorage({ root })
        : await FilesystemStorage.open({ root });
      return {
        role: "storage",
        kind: config.kind,
        description: storage.description,
        instance: storage,
      };
    }
  }
}
