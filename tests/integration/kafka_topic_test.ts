/**
 * KafkaTopic against a real Apache Kafka broker (see kafka_helpers.ts; without a broker these
 * tests FAIL). Runs the topic contract suite, the same one MemoryTopic passes.
 */

import assert from "node:assert/strict";
import { KafkaTopic } from "../../resources/kafka/kafka_topic.ts";
import { topicContract } from "../../resources/topic/topic_contract.ts";
import type { Delivery } from "../../resources/topic/topic.ts";
import { deleteTopics, FAST, kafkaBrokers, uniqueTopic } from "./kafka_helpers.ts";

topicContract("KafkaTopic (Kafka broker)", async ({ partitions }) => {
  const brokers = kafkaBrokers();
  const topic = uniqueTopic("topic-contract");
  const t = await KafkaTopic.open({ name: topic, partitions, brokers, ...FAST });
  return {
    topic: t,
    cleanup: async () => {
      await t.close();
      await deleteTopics(brokers, [topic]);
    },
  };
}, { timeScale: 4 });

Deno.test("KafkaTopic (Kafka broker): two groups each get every notification, members compete", async () => {
  const brokers = kafkaBrokers();
  const name = uniqueTopic("topic");
  const t = await KafkaTopic.open({
    name,
    partitions: 4,
    brokers,
    retentionMs: 3_600_000,
    ...FAST,
  });
  try {
    const enc = new TextEncoder();
    for (let i = 0; i < 50; i++) {
      await t.publish({ key: `b-${i}`, value: enc.encode(`${i}`), headers: { id: String(i) } });
    }
    const groups = [
      `stats-${crypto.randomUUID().slice(0, 8)}`,
      `lineage-${crypto.randomUUID().slice(0, 8)}`,
    ];
    const members = groups.flatMap((
      group,
    ) => [t.subscribe({ group, member: "1" }), t.subscribe({ group, member: "2" })]);
    const got: Delivery[][] = members.map(() => []);
    const deadline = Date.now() + 60_000;
    const total = (g: number) => got[2 * g]!.length + got[2 * g + 1]!.length;
    while (total(0) < 50 || total(1) < 50) {
      assert.ok(Date.now() < deadline, `got ${total(0)} / ${total(1)} of 50`);
      await Promise.all(members.map(async (c, i) => {
        const batch = await c.drain(100, 200);
        got[i]!.push(...batch);
        if (batch.length > 0) await c.commit(batch);
      }));
    }
    for (let g = 0; g < 2; g++) {
      const ids = [...got[2 * g]!, ...got[2 * g + 1]!].map((d) => d.headers["id"]);
      assert.equal(new Set(ids).size, 50, `group ${g} saw all 50`);
    }
    const lag = t.stats().lag;
    assert.deepEqual(Object.keys(lag).sort(), [...groups].sort());
  } finally {
    await t.close();
    await deleteTopics(brokers, [name]);
  }
});
