/**
 * What the test sees of Kafka from the root namespace (through the bridge): a consumer group's
 * lag and committed records on a topic. Every call tolerates a broker that is down (the broker
 * outage): it answers undefined.
 *
 * @module
 */

import { type Admin, Kafka, logLevel } from "kafkajs";

/** An admin client and a batch-topic reader. */
export class KafkaProbe {
  readonly #kafka: Kafka;
  readonly #admin: Admin;

  private constructor(kafka: Kafka, admin: Admin) {
    this.#kafka = kafka;
    this.#admin = admin;
  }

  static async open(broker: string): Promise<KafkaProbe> {
    const kafka = new Kafka({
      clientId: "system-test-probe",
      brokers: [broker],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    return new KafkaProbe(kafka, admin);
  }

  /** The kafkajs client (for the poison record's producer). */
  get kafka(): Kafka {
    return this.#kafka;
  }

  /** Records of `topic` not yet committed by `group`, or undefined when the broker is away. */
  async lag(group: string, topic: string): Promise<number | undefined> {
    try {
      const high = await this.#admin.fetchTopicOffsets(topic);
      const [t] = await this.#admin.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      for (const p of high) {
        const c = committed.get(p.partition) ?? -1;
        lag += c < 0 ? Number(p.high) - Number(p.low) : Math.max(0, Number(p.high) - c);
      }
      return lag;
    } catch {
      return undefined;
    }
  }

  /** Sum of the committed offsets of `group` on `topic` (records done), or undefined. */
  async committed(group: string, topic: string): Promise<number | undefined> {
    try {
      const [t] = await this.#admin.fetchOffsets({ groupId: group, topics: [topic] });
      return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.#admin.disconnect().catch(() => {});
  }
}
