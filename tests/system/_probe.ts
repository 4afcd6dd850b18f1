/**
 * What the test sees of Kafka from the root namespace (through the bridge): a consumer group's
 * lag and committed records on a topic. Every call tolerates a broker that is down (the broker
 * outage): it answers undefined.
 *
 * @module
 */

import { type Admin, AssignerProtocol, Kafka, logLevel } from "kafkajs";

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

  /**
   * Per partition of `topic`: the group's committed offset and the high watermark, and which
   * member of `group` owns it (for a failure message), e.g. `4: 6/197 evochora-persistence-1-…`.
   */
  async describe(group: string, topic: string): Promise<string> {
    try {
      const high = await this.#admin.fetchTopicOffsets(topic);
      const [t] = await this.#admin.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = new Map((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
      const owner = new Map<number, string>();
      const { groups } = await this.#admin.describeGroups([group]);
      for (const m of groups[0]?.members ?? []) {
        const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        for (const p of a?.assignment[topic] ?? []) owner.set(p, m.memberId);
      }
      return high.sort((a, b) => a.partition - b.partition).map((p) =>
        `${p.partition}: ${committed.get(p.partition) ?? "-"}/${p.high} ${
          owner.get(p.partition) ?? "(no owner)"
        }`
      ).join("\n");
    } catch (e) {
      return `(the broker did not answer: ${(e as Error).message})`;
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
