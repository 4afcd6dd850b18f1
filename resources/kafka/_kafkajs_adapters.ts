/**
 * kafkajs' producer, consumer and admin seen through the narrow interfaces of
 * ./client_interfaces.ts: argument and result shapes, and the cases where kafkajs' answer alone
 * would mislead (a commit that did not happen, a topic without metadata or leaders). How they
 * are configured is ./client.ts's business.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  type Admin,
  CompressionTypes,
  ConfigResourceTypes,
  type Consumer,
  type Producer,
} from "kafkajs";
import type { AdminClient, ConsumerClient, ProducerClient } from "./client_interfaces.ts";

/** A ProducerClient on `p`; every send waits for all replicas (acks=all) up to `ackTimeoutMs`. */
export function producerClient(p: Producer, ackTimeoutMs: number): ProducerClient {
  return {
    connect: () => p.connect(),
    disconnect: () => p.disconnect(),
    async send(topic, messages, compression) {
      const res = await p.send({
        topic,
        acks: -1,
        timeout: ackTimeoutMs,
        compression: compression === "zstd" ? CompressionTypes.ZSTD : CompressionTypes.None,
        messages: messages.map((m) => ({
          partition: m.partition,
          key: m.key,
          value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
          headers: m.headers,
        })),
      });
      return res.map((r) => ({
        partition: r.partition,
        baseOffset: Number(r.baseOffset ?? r.offset ?? -1),
      }));
    },
  };
}

/** A ConsumerClient on `c`: manual offsets and commits, one partition's batch at a time. */
export function consumerClient(c: Consumer): ConsumerClient {
  return {
    connect: () => c.connect(),
    disconnect: () => c.disconnect(),
    subscribe: (topic, fromBeginning) => c.subscribe({ topics: [topic], fromBeginning }),
    run: (eachBatch) =>
      c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: ({ batch, resolveOffset }) => eachBatch(batch, resolveOffset),
      }),
    commit: (topic, offsets) => commitProven(c, topic, offsets),
    seek: (topic, partition, offset) => c.seek({ topic, partition, offset: String(offset) }),
    pause: (topic, partitions) => c.pause([{ topic, partitions: [...partitions] }]),
    resume: (topic, partitions) => c.resume([{ topic, partitions: [...partitions] }]),
    onGroupJoin: (listener) => {
      c.on(c.events.GROUP_JOIN, (e) => {
        const a: Record<string, number[]> = {};
        for (const [t, ps] of Object.entries(e.payload.memberAssignment)) a[t] = [...ps];
        listener(e.payload.memberId, a);
      });
    },
    onRebalancing: (listener) => {
      c.on(c.events.REBALANCING, () => listener());
    },
    onCrash: (listener) => {
      c.on(c.events.CRASH, (e) => listener(e.payload.error, e.payload.restart));
    },
  };
}

/** Commits `offsets` for `c`'s group; rejects when kafkajs only pretended to. */
async function commitProven(
  c: Consumer,
  topic: string,
  offsets: readonly { partition: number; offset: number }[],
): Promise<void> {
  // kafkajs resolves commitOffsets without committing anything while its fetch loop is
  // stopping (a crash, a restart): only a COMMIT_OFFSETS event proves the commit.
  let committed = false;
  const off = c.on(c.events.COMMIT_OFFSETS, () => {
    committed = true;
  });
  try {
    await c.commitOffsets(
      offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })),
    );
  } finally {
    off();
  }
  if (!committed) {
    throw Object.assign(
      new Error("the consumer is not running (restarting after an error); nothing committed"),
      { type: "CONSUMER_NOT_RUNNING" },
    );
  }
}

/** An AdminClient on `a`. */
export function adminClient(a: Admin): AdminClient {
  return {
    connect: () => a.connect(),
    disconnect: () => a.disconnect(),
    listTopics: () => a.listTopics(),
    partitionCount: (topic) => partitionCount(a, topic),
    createTopic: (spec) =>
      a.createTopics({
        // ensureTopic waits for the leaders itself: kafkajs' wait gives up on the
        // UNKNOWN_TOPIC_OR_PARTITION a KRaft broker answers while the topic propagates.
        waitForLeaders: false,
        topics: [{
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        }],
      }),
    async topicConfig(topic, names) {
      const res = await a.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
      });
      const out: Record<string, string> = {};
      for (const r of res.resources) {
        for (const e of r.configEntries) out[e.configName] = e.configValue;
      }
      return out;
    },
    deleteTopics: (topics) => a.deleteTopics({ topics: [...topics] }),
    async topicOffsets(topic) {
      const res = await a.fetchTopicOffsets(topic);
      return res.map((r) => ({
        partition: r.partition,
        low: Number(r.low),
        high: Number(r.high),
      }));
    },
    async groupOffsets(group, topic) {
      const res = await a.fetchOffsets({ groupId: group, topics: [topic] });
      const t = res.find((x) => x.topic === topic);
      return (t?.partitions ?? []).map((p) => ({
        partition: p.partition,
        offset: Number(p.offset),
      }));
    },
  };
}

/**
 * The partition count of `topic`; until every partition has a leader, an error typed like the
 * broker's own answer for a propagating topic, which ensureTopic waits out.
 */
async function partitionCount(a: Admin, topic: string): Promise<number> {
  const md = await a.fetchTopicMetadata({ topics: [topic] });
  const t = md.topics.find((x) => x.name === topic);
  if (t === undefined) {
    throw Object.assign(new Error(`topic ${topic} has no metadata yet`), {
      type: "UNKNOWN_TOPIC_OR_PARTITION",
    });
  }
  if (t.partitions.some((p) => p.leader < 0)) {
    throw Object.assign(new Error(`topic ${topic} has partitions without a leader`), {
      type: "LEADER_NOT_AVAILABLE",
    });
  }
  return t.partitions.length;
}
