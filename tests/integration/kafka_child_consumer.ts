/**
 * A consumer in its own process, for the "killed consumer" integration test: joins a group of
 * a KafkaQueue, prints its assignment as it changes, drains without ever committing and
 * prints what it got, one JSON line per event, until it is killed (SIGKILL: no LeaveGroup,
 * no commit, sockets just drop).
 *
 * Usage: deno run -A tests/integration/kafka_child_consumer.ts BROKERS TOPIC PARTITIONS GROUP
 */

import { KafkaQueue } from "../../resources/kafka/kafka_queue.ts";
import { FAST } from "./kafka_helpers.ts";

const [brokers, topic, partitions, group] = Deno.args;
if (!brokers || !topic || !partitions || !group) {
  console.error("usage: kafka_child_consumer.ts BROKERS TOPIC PARTITIONS GROUP");
  Deno.exit(2);
}
const queue = new KafkaQueue({ name: topic, partitions: Number(partitions), brokers, ...FAST });
const c = queue.consumer({ group, member: "child" });
const say = (o: unknown) => console.log(JSON.stringify(o));
let last = "";
for (;;) {
  const got = await c.drain(100, 100);
  const a = JSON.stringify(c.assignment());
  if (a !== last) {
    last = a;
    say({ assignment: c.assignment() });
  }
  if (got.length > 0) say({ got: got.map((d) => d.headers["id"]) });
}
