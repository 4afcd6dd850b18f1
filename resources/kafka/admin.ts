/**
 * Topic administration: create a topic when it is missing, check an existing one.
 *
 * Topics are never created implicitly by a metadata request (auto-creation would make them
 * with the broker's default partition count and message size): the producer and consumers are
 * created with `allowAutoTopicCreation: false`, and `ensureTopic` creates the topic with the
 * partition count and `max.message.bytes` the config asks for.
 *
 * @module
 */

import type { AdminClient } from "./client_interfaces.ts";

/** What ensureTopic should make sure of. */
export interface EnsureTopicOptions {
  topic: string;
  partitions: number;
  /** Replication factor for a new topic; -1 = the broker's default. */
  replicationFactor: number;
  /** `max.message.bytes` for a new topic (largest record batch the broker accepts). */
  maxMessageBytes: number;
  /**
   * Largest record batch the producer will send (checked against an existing topic's
   * `max.message.bytes`).
   */
  requiredMessageBytes: number;
  /** Further configs for a new topic (e.g. `retention.ms`). */
  config?: Record<string, string>;
  /** For messages, e.g. `queue raw-tick-data`. */
  what: string;
  /** How long to wait for a (new) topic's metadata and leaders, ms (default 30000). */
  waitMs?: number;
}

/** Errors a broker answers while a new topic propagates. */
const PROPAGATING = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"]);

function errorType(e: unknown): unknown {
  for (let x: unknown = e, depth = 0; x !== undefined && x !== null && depth < 8; depth++) {
    const type = (x as { type?: unknown }).type;
    if (type !== undefined) return type;
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The topic's partition count once every partition has a leader (polls while it propagates). */
async function waitForTopic(admin: AdminClient, topic: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (let delay = 50;; delay = Math.min(delay * 2, 1000)) {
    try {
      return await admin.partitionCount(topic);
    } catch (e) {
      if (!PROPAGATING.has(errorType(e) as string) || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** What ensureTopic found or did. */
export interface EnsureTopicResult {
  created: boolean;
  partitions: number;
  /** The topic's `max.message.bytes` (undefined when the broker did not say). */
  maxMessageBytes: number | undefined;
}

/** A topic exists with settings that the config cannot work with. */
export class TopicMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopicMismatchError";
  }
}

/**
 * Creates `topic` if missing; otherwise checks that its partition count equals the configured
 * one (keys are routed by that count, as the in-memory queue does) and that it accepts the
 * producer's largest batch. Throws TopicMismatchError saying what differs and what to do.
 */
export async function ensureTopic(
  admin: AdminClient,
  o: EnsureTopicOptions,
): Promise<EnsureTopicResult> {
  let created = false;
  const topics = await admin.listTopics();
  if (!topics.includes(o.topic)) {
    created = await admin.createTopic({
      topic: o.topic,
      partitions: o.partitions,
      replicationFactor: o.replicationFactor,
      config: { "max.message.bytes": String(o.maxMessageBytes), ...o.config },
    });
  }
  const partitions = await waitForTopic(admin, o.topic, o.waitMs ?? 30_000);
  if (partitions !== o.partitions) {
    throw new TopicMismatchError(
      `${o.what}: Kafka topic '${o.topic}' exists with ${partitions} partitions, but the config ` +
        `asks for ${o.partitions}. Keys are routed by the configured count, so they must match: ` +
        `set partitions: ${partitions} in the config, or delete the topic (or pick another ` +
        `topic name) to have it created with ${o.partitions}.`,
    );
  }
  let maxMessageBytes: number | undefined;
  try {
    const cfg = await admin.topicConfig(o.topic, ["max.message.bytes"]);
    const v = cfg["max.message.bytes"];
    if (v !== undefined && /^\d+$/.test(v)) maxMessageBytes = Number(v);
  } catch {
    // Some brokers (or ACLs) refuse DescribeConfigs; the producer's own limits still hold.
  }
  if (maxMessageBytes !== undefined && maxMessageBytes < o.requiredMessageBytes) {
    throw new TopicMismatchError(
      `${o.what}: Kafka topic '${o.topic}' has max.message.bytes=${maxMessageBytes}, but the ` +
        `producer sends record batches of up to ${o.requiredMessageBytes} bytes. Lower ` +
        `maxMessageBytes/batchBytes in the config, or raise the topic's max.message.bytes ` +
        `(kafka-configs --alter --entity-type topics --entity-name ${o.topic} ` +
        `--add-config max.message.bytes=${o.requiredMessageBytes}).`,
    );
  }
  return { created, partitions, maxMessageBytes };
}
