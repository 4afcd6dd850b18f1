/**
 * An in-memory stand-in for a Kafka cluster behind the KafkaClient interfaces, for unit tests
 * of the adapters (no network). It mimics what the adapters rely on in kafkajs:
 *
 * - topics of partitions with offsets; send() appends and returns base offsets;
 * - groups with round-robin assignment over members sorted by member id, a generation per
 *   rebalance, committed offsets;
 * - after each (re)join a member fetches every assigned partition from the committed offset
 *   (or the earliest), like kafkajs, unless seek() moved it;
 * - a fetch loop per consumer that calls eachBatch, honours pause/resume and resolveOffset.
 *
 * Not a public API.
 *
 * @module
 */

import { KafkaLogSink } from "./logger.ts";
import type {
  AdminClient,
  ConsumerClient,
  ConsumerClientOptions,
  FetchedBatch,
  KafkaClient,
  OutgoingMessage,
  PartitionOffsets,
  ProducedPartition,
  ProducerClient,
  TopicSpec,
} from "./client_interfaces.ts";

/** A stored record. */
export interface FakeRecord {
  offset: number;
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

interface FakeTopic {
  partitions: FakeRecord[][];
  config: Record<string, string>;
}

type EachBatch = (batch: FetchedBatch, resolveOffset: (offset: string) => void) => Promise<void>;

class FakeMember implements ConsumerClient {
  readonly id: string;
  readonly #cluster: FakeKafka;
  readonly options: ConsumerClientOptions;
  #topic = "";
  #eachBatch: EachBatch | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #joinListeners: ((memberId: string, a: Record<string, number[]>) => void)[] = [];
  #crashListeners: ((e: Error, restart: boolean) => void)[] = [];
  assigned: number[] = [];
  readonly position = new Map<number, number>();
  readonly paused = new Set<number>();
  readonly seeks: { partition: number; offset: number }[] = [];
  generation = -1;
  /** When set, the next commit fails with this error (once). */
  failNextCommit: Error | undefined;

  constructor(cluster: FakeKafka, id: string, options: ConsumerClientOptions) {
    this.#cluster = cluster;
    this.id = id;
    this.options = options;
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cluster.leave(this);
    return Promise.resolve();
  }

  subscribe(topic: string, _fromBeginning: boolean): Promise<void> {
    if (!this.#cluster.topics.has(topic)) return Promise.reject(new Error(`no topic ${topic}`));
    this.#topic = topic;
    return Promise.resolve();
  }

  run(eachBatch: EachBatch): Promise<void> {
    this.#eachBatch = eachBatch;
    this.#running = true;
    this.#cluster.joinGroup(this);
    this.#schedule();
    return Promise.resolve();
  }

  get topic(): string {
    return this.#topic;
  }

  /** Called by the cluster after a rebalance. */
  assign(partitions: number[], generation: number): void {
    this.assigned = partitions;
    this.generation = generation;
    this.position.clear();
    const group = this.#cluster.group(this.options.group);
    for (const p of partitions) this.position.set(p, group.committed.get(p) ?? 0);
    for (const l of this.#joinListeners) l(this.id, { [this.#topic]: [...partitions] });
  }

  crash(error: Error, restart: boolean): void {
    for (const l of this.#crashListeners) l(error, restart);
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => this.#fetch(), 2);
  }

  async #fetch(): Promise<void> {
    this.#timer = undefined;
    if (!this.#running || this.#eachBatch === undefined) return;
    const topic = this.#cluster.topics.get(this.#topic);
    for (const p of [...this.assigned]) {
      if (!this.#running || this.paused.has(p) || !this.assigned.includes(p)) continue;
      const log = topic?.partitions[p] ?? [];
      const from = this.position.get(p) ?? 0;
      const messages = log.filter((r) => r.offset >= from).slice(0, 50);
      if (messages.length === 0) continue;
      const last = messages[messages.length - 1]!.offset;
      await this.#eachBatch(
        {
          partition: p,
          messages: messages.map((r) => ({
            offset: String(r.offset),
            key: new TextEncoder().encode(r.key),
            value: r.value,
            headers: Object.fromEntries(
              Object.entries(r.headers).map(([k, v]) => [k, new TextEncoder().encode(v)]),
            ),
          })),
          lastOffset: () => String(last),
        },
        (o) => this.position.set(p, Number(o) + 1),
      );
    }
    this.#schedule();
  }

  commit(topic: string, offsets: readonly { partition: number; offset: number }[]): Promise<void> {
    const e = this.failNextCommit;
    if (e !== undefined) {
      this.failNextCommit = undefined;
      return Promise.reject(e);
    }
    const group = this.#cluster.group(this.options.group);
    if (!group.members.includes(this) || group.generation !== this.generation) {
      return Promise.reject(
        Object.assign(new Error("stale generation"), { type: "ILLEGAL_GENERATION" }),
      );
    }
    if (topic !== this.#topic) return Promise.reject(new Error("wrong topic"));
    for (const o of offsets) group.committed.set(o.partition, o.offset);
    this.#cluster.commits.push({
      group: this.options.group,
      member: this.id,
      offsets: [...offsets],
    });
    return Promise.resolve();
  }

  seek(_topic: string, partition: number, offset: number): void {
    this.seeks.push({ partition, offset });
    this.position.set(partition, offset);
  }

  pause(_topic: string, partitions: readonly number[]): void {
    for (const p of partitions) this.paused.add(p);
  }

  resume(_topic: string, partitions: readonly number[]): void {
    for (const p of partitions) this.paused.delete(p);
  }

  onGroupJoin(listener: (memberId: string, a: Record<string, number[]>) => void): void {
    this.#joinListeners.push(listener);
  }

  onRebalancing(_listener: () => void): void {}

  onCrash(listener: (e: Error, restart: boolean) => void): void {
    this.#crashListeners.push(listener);
  }
}

interface FakeGroup {
  members: FakeMember[];
  generation: number;
  committed: Map<number, number>;
}

/** A send the fake producer received. */
export interface FakeSend {
  topic: string;
  messages: OutgoingMessage[];
  compression: "zstd" | "none";
}

/** The fake cluster; see the module doc. */
export class FakeKafka implements KafkaClient {
  readonly brokers = ["fake:9092"];
  readonly sink = new KafkaLogSink();
  readonly topics = new Map<string, FakeTopic>();
  readonly groups = new Map<string, FakeGroup>();
  readonly sends: FakeSend[] = [];
  readonly commits: {
    group: string;
    member: string;
    offsets: { partition: number; offset: number }[];
  }[] = [];
  readonly members: FakeMember[] = [];
  /** When set, send() waits for it before storing (to hold requests in flight). */
  gate: Promise<void> | undefined;
  /** partitionCount answers UNKNOWN_TOPIC_OR_PARTITION this many more times (propagation). */
  propagating = 0;
  /** When set, the next send fails with it (once). */
  failNextSend: Error | undefined;
  /** When set, the next admin connect fails with it (once). */
  failNextAdminConnect: Error | undefined;
  #nextMember = 0;

  group(name: string): FakeGroup {
    let g = this.groups.get(name);
    if (g === undefined) {
      g = { members: [], generation: 0, committed: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  joinGroup(m: FakeMember): void {
    const g = this.group(m.options.group);
    g.members.push(m);
    this.rebalance(m.options.group);
  }

  leave(m: FakeMember): void {
    const g = this.group(m.options.group);
    if (!g.members.includes(m)) return;
    g.members = g.members.filter((x) => x !== m);
    this.rebalance(m.options.group);
  }

  /** Round-robin over members sorted by id; every member rejoins (eager protocol). */
  rebalance(groupName: string): void {
    const g = this.group(groupName);
    g.generation++;
    const members = [...g.members].sort((a, b) => (a.id < b.id ? -1 : 1));
    if (members.length === 0) return;
    const topic = this.topics.get(members[0]!.topic);
    const n = topic?.partitions.length ?? 0;
    const byMember = new Map<FakeMember, number[]>(members.map((m) => [m, []]));
    for (let p = 0; p < n; p++) byMember.get(members[p % members.length]!)!.push(p);
    for (const [m, ps] of byMember) m.assign(ps, g.generation);
  }

  producer(): ProducerClient {
    return {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: async (topic, messages, compression) => {
        this.sends.push({ topic, messages: [...messages], compression });
        if (this.gate) await this.gate;
        const e = this.failNextSend;
        if (e !== undefined) {
          this.failNextSend = undefined;
          throw e;
        }
        const t = this.topics.get(topic);
        if (t === undefined) throw new Error(`no topic ${topic}`);
        const out = new Map<number, number>();
        for (const m of messages) {
          const log = t.partitions[m.partition];
          if (log === undefined) throw new Error(`no partition ${m.partition}`);
          const offset = log.length;
          if (!out.has(m.partition)) out.set(m.partition, offset);
          log.push({ offset, key: m.key, value: m.value.slice(), headers: { ...m.headers } });
        }
        const res: ProducedPartition[] = [];
        for (const [partition, baseOffset] of out) res.push({ partition, baseOffset });
        return res;
      },
    };
  }

  consumer(options: ConsumerClientOptions): ConsumerClient {
    const m = new FakeMember(
      this,
      `${options.member}-${String(this.#nextMember++).padStart(4, "0")}`,
      options,
    );
    this.members.push(m);
    return m;
  }

  admin(): AdminClient {
    return {
      connect: () => {
        const e = this.failNextAdminConnect;
        this.failNextAdminConnect = undefined;
        return e === undefined ? Promise.resolve() : Promise.reject(e);
      },
      disconnect: () => Promise.resolve(),
      listTopics: () => Promise.resolve([...this.topics.keys()]),
      partitionCount: (topic) => {
        if (this.propagating > 0) {
          this.propagating--;
          return Promise.reject(
            Object.assign(new Error("not yet"), { type: "UNKNOWN_TOPIC_OR_PARTITION" }),
          );
        }
        const t = this.topics.get(topic);
        return t
          ? Promise.resolve(t.partitions.length)
          : Promise.reject(new Error(`no topic ${topic}`));
      },
      createTopic: (spec: TopicSpec) => {
        if (this.topics.has(spec.topic)) return Promise.resolve(false);
        this.topics.set(spec.topic, {
          partitions: Array.from({ length: spec.partitions }, () => []),
          config: { ...spec.config },
        });
        return Promise.resolve(true);
      },
      topicConfig: (topic, names) => {
        const t = this.topics.get(topic);
        const out: Record<string, string> = {};
        for (const n of names) if (t?.config[n] !== undefined) out[n] = t.config[n]!;
        return Promise.resolve(out);
      },
      deleteTopics: (topics) => {
        for (const t of topics) this.topics.delete(t);
        return Promise.resolve();
      },
      topicOffsets: (topic) => {
        const t = this.topics.get(topic);
        const out: PartitionOffsets[] = (t?.partitions ?? []).map((log, partition) => ({
          partition,
          low: 0,
          high: log.length,
        }));
        return Promise.resolve(out);
      },
      groupOffsets: (group, topic) => {
        const g = this.groups.get(group);
        const n = this.topics.get(topic)?.partitions.length ?? 0;
        return Promise.resolve(
          Array.from({ length: n }, (_, partition) => ({
            partition,
            offset: g?.committed.get(partition) ?? -1,
          })),
        );
      },
    };
  }
}
