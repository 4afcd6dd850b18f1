/**
 * System test: the distributed pipeline as separate OS processes (`evochora service <name>`)
 * on the real Kafka broker and S3 server, with a fault injected: once both persistence workers
 * are in the group and the engine produces, one worker is killed with SIGKILL right after its
 * first batch (no LeaveGroup, no commit, sockets just drop), and a replacement with the same
 * name starts a few seconds later, while the dead member is still in the group. The group
 * rebalances; what the killed worker left uncommitted goes to the others after the Kafka
 * session timeout, replayed writes are no-ops, and `verifyRun` must find every sampled tick
 * stored exactly once. An observer reads every BatchInfo to see who wrote what.
 *
 * The servers come from `deno task services:up` (CI starts them); without them this test
 * fails, it never skips.
 */
import assert from "node:assert/strict";
import { listRuns, type RunReport, verifyRun } from "../../cli/inspect_command.ts";
import { type BatchInfo, BatchInfoSchema, fromBinary } from "../../proto/mod.ts";
import { type Admin, AssignerProtocol, Kafka, logLevel } from "kafkajs";
import { ClosedError } from "../../resources/queue/queue.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import { KafkaTopic } from "../../resources/kafka/kafka_topic.ts";
import { rawPrefix } from "../../services/common/storage_layout.ts";
import type { PipelineConfig } from "../../services/runner/config.ts";
import type { PipelineStatus } from "../../services/runner/pipeline.ts";
import type { ServiceStatus } from "../../services/common/service.ts";
import kafkaS3 from "../../config/kafka-s3.config.ts";
import { FAST } from "./kafka_helpers.ts";
import { loadServicesEnv, removePrefix } from "./pipeline_services.ts";

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("cli/main.ts", ROOT).pathname;
const CONFIG_MODULE = new URL("services/runner/config.ts", ROOT).href;

const TICKS = 20000;
const SAMPLING = 5;
const SAMPLES = TICKS / SAMPLING + 1;
const VICTIM = "persistence-1";
const SURVIVOR = "persistence-2";
/** Delay between the kill and the replacement's start. */
const RESTART_AFTER_MS = 3000;

/** Names of this run's topics, group and key prefix. */
interface Isolation {
  tag: string;
  ticksTopic: string;
  metadataTopic: string;
  batchTopic: string;
  statusTopic: string;
  group: string;
  prefix: string;
}

function isolation(): Isolation {
  const tag = `system-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 4)}`;
  return {
    tag,
    ticksTopic: `evochora-ticks-${tag}`,
    metadataTopic: `evochora-metadata-${tag}`,
    batchTopic: `evochora-batches-${tag}`,
    statusTopic: `evochora-status-${tag}`,
    // A group of its own: the default "persistence" would be shared with every other run on
    // this broker (other topics, but one group: their joins would rebalance ours).
    group: `persistence-${tag}`,
    prefix: `test/${tag}/`,
  };
}

/** The shipped Kafka + S3 config, isolated and test-sized, with two persistence workers. */
function configFor(iso: Isolation): PipelineConfig {
  const c = structuredClone(kafkaS3);
  const topics: Record<string, string> = {
    "raw-tick-data": iso.ticksTopic,
    "metadata": iso.metadataTopic,
    "batch-topic": iso.batchTopic,
    "status-topic": iso.statusTopic,
  };
  for (const [name, r] of Object.entries(c.resources)) {
    if (r.kind === "kafka-queue" || r.kind === "kafka-topic") {
      assert.ok(topics[name], `unexpected Kafka resource '${name}' in kafka-s3.config.ts`);
      r.topic = topics[name];
    }
    if (r.kind === "kafka-queue" && r.groups !== undefined) r.groups = [iso.group];
    if (r.kind === "s3") r.prefix = iso.prefix;
  }
  // Persistence faults only: no indexers and no query API.
  for (const [name, s] of Object.entries(c.services)) {
    if (name === "persistence-3" || s.kind === "indexer" || s.kind === "http-api") {
      delete c.services[name];
      c.startupSequence = c.startupSequence!.filter((n) => n !== name);
    }
  }
  for (const [name, s] of Object.entries(c.services)) {
    if (s.kind === "persistence") s.group = iso.group;
    if (s.kind === "simulation-engine") {
      s.ticks = TICKS;
      s.chunksPerBatch = 2;
      s.engine = { shape: [256, 128], seed: 7, intervals: { sampling: SAMPLING, snapshot: 10 } };
    }
    assert.ok(c.startupSequence!.includes(name));
  }
  assert.deepEqual(
    Object.keys(c.services).sort(),
    [
      "metadata-persistence",
      VICTIM,
      SURVIVOR,
      "simulation-engine",
    ].sort(),
  );
  return c;
}

/** Writes the config as a TS module importing defineConfig by absolute URL. */
async function writeConfig(dir: string, config: PipelineConfig): Promise<string> {
  const file = `${dir}/system.config.ts`;
  await Deno.writeTextFile(
    file,
    `import { defineConfig } from "${CONFIG_MODULE}";\n\n` +
      `export default defineConfig(${JSON.stringify(config, null, 2)});\n`,
  );
  return file;
}

/** One `evochora service <name>` process with its output captured. */
class ServiceProcess {
  readonly label: string;
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  exit: Deno.CommandStatus | undefined;
  /** performance.now() at the exit. */
  exitedAt = NaN;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #reads: Promise<void>[];

  constructor(label: string, service: string, configFile: string, env: Record<string, string>) {
    this.label = label;
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "service", service, "--config", configFile, "--json"],
      cwd: ROOT.pathname,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      const decoder = new TextDecoder();
      for await (const bytes of s) add(decoder.decode(bytes, { stream: true }));
      add(decoder.decode());
    };
    this.#reads = [
      collect(this.child.stdout, (t) => (this.stdout += t)),
      collect(this.child.stderr, (t) => (this.stderr = (this.stderr + t).slice(-20000))),
    ];
    this.exited = this.child.status.then(async (st) => {
      this.exitedAt = performance.now();
      await Promise.allSettled(this.#reads);
      this.exit = st;
      return st;
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Sends a signal unless it has exited. */
  signal(sig: Deno.Signal): void {
    if (!this.running) return;
    try {
      this.child.kill(sig);
    } catch {
      // exited meanwhile
    }
  }

  /**
   * Sends `sig` to the service processes this launcher started, then to the launcher. A kill of
   * the launcher alone leaves its service running until it notices (it then exits, but may
   * still commit meanwhile), which is not the fault under test.
   */
  async signalTree(sig: Deno.Signal): Promise<void> {
    if (!this.running) return;
    for (const pid of [...(await descendants(this.child.pid)), this.child.pid]) {
      try {
        Deno.kill(pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  }

  /** The final status the service command prints with --json (its last stdout line). */
  status(): PipelineStatus {
    const line = this.stdout.trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(line) as PipelineStatus;
    } catch {
      throw new Error(`${this.label} printed no JSON status; stdout: ${this.stdout.slice(-500)}`);
    }
  }

  service(name: string): ServiceStatus {
    const s = this.status().services.find((x) => x.name === name);
    assert.ok(s, `${this.label}: no service '${name}' in its status`);
    return s;
  }

  describe(): string {
    const ex = this.exit === undefined
      ? "still running"
      : `exit code ${this.exit.code}${this.exit.signal ? ` (${this.exit.signal})` : ""}`;
    return `--- ${this.label}: ${ex}\n[stdout]\n${this.stdout.slice(-3000)}\n[stderr]\n${
      this.stderr.slice(-3000)
    }`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The descendants of process `pid`, deepest first (Linux: from /proc/<pid>/stat's ppid). */
async function descendants(pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      // The command name may hold spaces and parentheses: fields follow its last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(e.name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent !== p) continue;
      visit(child);
      out.push(child);
    }
  };
  visit(pid);
  return out;
}

/** Polls `check` until it returns a value other than undefined; throws after `ms`. */
async function until<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(200);
  }
}

/** A process exits within `ms`, else the test fails. */
async function exitOf(p: ServiceProcess, ms: number): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${p.label} did not exit within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A BatchInfo as seen by the observer. */
interface Seen {
  info: BatchInfo;
}

/** Reads every BatchInfo of the batch topic (a group of its own, from the start). */
class BatchObserver {
  readonly seen: Seen[] = [];
  readonly #topic: KafkaTopic;
  readonly #loop: Promise<void>;
  #stopped = false;

  private constructor(topic: KafkaTopic, group: string) {
    this.#topic = topic;
    const c = topic.subscribe({ group, member: "observer" });
    this.#loop = (async () => {
      try {
        while (!this.#stopped) {
          const got = await c.drain(100, 200);
          for (const d of got) {
            this.seen.push({ info: fromBinary(BatchInfoSchema, d.value) });
          }
          if (got.length > 0) await c.commit(got);
        }
      } catch (e) {
        if (!(e instanceof ClosedError)) throw e;
      } finally {
        await c.close().catch(() => {});
      }
    })();
  }

  static async open(iso: Isolation): Promise<BatchObserver> {
    // The same settings as the services' batch-topic resource, so whoever comes first
    // creates the topic as the others expect it.
    const topic = await KafkaTopic.open({
      name: "batch-observer",
      topic: iso.batchTopic,
      partitions: 3,
      ...FAST,
    });
    return new BatchObserver(topic, BatchObserver.group(iso));
  }

  static group(iso: Isolation): string {
    return `observer-${iso.tag}`;
  }

  /** BatchInfos of `writer` written (wall clock, ms) in [from, to). */
  by(writer: string, from = 0, to = Infinity): Seen[] {
    return this.seen.filter((s) => {
      const t = Number(s.info.writtenAtMs);
      return s.info.writer === writer && t >= from && t < to;
    });
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#loop.catch(() => {});
    await this.#topic.close().catch(() => {});
  }
}

/** Offsets of one partition: the group's committed position and the high watermark. */
interface PartitionPosition {
  partition: number;
  committed: number;
  low: number;
  high: number;
}

/**
 * Group and topic offsets and a group's assignment, through kafkajs' admin directly (the
 * adapters' AdminClient does not describe groups).
 */
class KafkaProbe {
  readonly #admin: Admin;

  private constructor(admin: Admin) {
    this.#admin = admin;
  }

  static async open(brokers: string): Promise<KafkaProbe> {
    const admin = new Kafka({
      clientId: "system-test-probe",
      brokers: brokers.split(","),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      retry: { retries: 3, initialRetryTime: 300 },
    }).admin();
    try {
      await admin.connect();
    } catch (e) {
      throw new Error(
        `Kafka broker ${brokers} unreachable (${(e as Error).message}): ` +
          "start the servers with `deno task services:up`",
      );
    }
    return new KafkaProbe(admin);
  }

  /** Members of a stable group that hold partitions of `topic`, by client id. */
  async members(group: string, topic: string): Promise<Map<string, number[]>> {
    const { groups } = await this.#admin.describeGroups([group]);
    const g = groups.find((x) => x.groupId === group);
    const out = new Map<string, number[]>();
    if (g === undefined || g.state !== "Stable") return out;
    for (const m of g.members) {
      if (m.memberAssignment.length === 0) continue;
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic];
      if (a !== undefined && a.length > 0) out.set(m.clientId, a);
    }
    return out;
  }

  /** Partitions of `topic` held by the member whose client id ends with `-<member>`. */
  async assignment(group: string, member: string, topic: string): Promise<number[] | undefined> {
    for (const [clientId, a] of await this.members(group, topic)) {
      if (clientId.endsWith(`-${member}`)) return a;
    }
    return undefined;
  }

  async high(topic: string): Promise<Map<number, { low: number; high: number }>> {
    const res = await this.#admin.fetchTopicOffsets(topic);
    return new Map(res.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
  }

  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const res = await this.#admin.fetchOffsets({ groupId: group, topics: [topic] });
    const t = res.find((x) => x.topic === topic);
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  async positions(group: string, topic: string): Promise<PartitionPosition[]> {
    const high = await this.high(topic);
    const committed = await this.committed(group, topic);
    return [...high].map(([partition, h]) => ({
      partition,
      committed: committed.get(partition) ?? -1,
      ...h,
    }));
  }

  /** Records of `topic` not yet committed by `group`. */
  async lag(group: string, topic: string): Promise<number> {
    let lag = 0;
    for (const p of await this.positions(group, topic)) {
      lag += p.committed < 0 ? p.high - p.low : Math.max(0, p.high - p.committed);
    }
    return lag;
  }

  /**
   * Deletes those of `topics` that exist (kafkajs retries a missing one for about a minute).
   * Errors are ignored: cleanup must not hide the test's own failure.
   */
  async deleteTopics(topics: string[]): Promise<void> {
    try {
      const existing = new Set(await this.#admin.listTopics());
      const doomed = topics.filter((t) => existing.has(t));
      if (doomed.length > 0) await this.#admin.deleteTopics({ topics: doomed });
    } catch {
      // The topics have unique names anyway.
    }
  }

  /** Deletes consumer groups (errors ignored: cleanup must not hide the test's failure). */
  async deleteGroups(groups: string[]): Promise<void> {
    await this.#admin.deleteGroups(groups).catch(() => {});
  }

  async close(): Promise<void> {
    await this.#admin.disconnect().catch(() => {});
  }
}

Deno.test({
  name:
    "system: pipeline as OS processes on Kafka + S3, a persistence worker killed (SIGKILL) and restarted, every tick stored once",
  // Child processes (their status promises and pipes) and kafkajs (sockets, timers that
  // outlive close()) are still settling when the test function returns; the finally block
  // kills and awaits the children and closes every client this test opened.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    const env = await loadServicesEnv();
    const brokers = env["KAFKA_BOOTSTRAP_SERVERS"]!;
    const iso = isolation();
    const dir = await Deno.makeTempDir({ prefix: "evochora-system-" });
    const configFile = await writeConfig(dir, configFor(iso));
    const procs: ServiceProcess[] = [];
    const start = (service: string, label = service) => {
      const p = new ServiceProcess(label, service, configFile, env);
      procs.push(p);
      return p;
    };
    const timings: Record<string, number> = {};
    let observer: BatchObserver | undefined;
    let storage: S3Storage | undefined;
    let probe: KafkaProbe | undefined;
    try {
      probe = await KafkaProbe.open(brokers);
      observer = await BatchObserver.open(iso);
      storage = await S3Storage.open({
        bucket: env["EVOCHORA_S3_BUCKET"]!,
        prefix: iso.prefix,
      });

      // Consumers first, then the engine.
      const meta = start("metadata-persistence");
      const victim = start(VICTIM);
      const survivor = start(SURVIVOR);
      for (const p of [meta, victim, survivor]) {
        await until(`${p.label} started`, 60000, () => {
          if (!p.running) throw new Error(`${p.label} exited early\n${p.describe()}`);
          return p.stderr.includes("Started ") ? true : undefined;
        });
      }
      // Both workers in the group before the engine starts: the fault under test is the
      // kill, not the rebalance of a worker joining late.
      await until("both persistence workers in the group", 60000, async () => {
        const members = await probe!.members(iso.group, iso.ticksTopic);
        return members.size === 2 ? true : undefined;
      });
      timings.consumersStarted = ms();
      const engine = start("simulation-engine");

      // The fault: once the victim has stored a batch, SIGKILL it.
      await until(`${VICTIM} stored a batch`, 60000, () => {
        if (!victim.running) throw new Error(`${VICTIM} exited early\n${victim.describe()}`);
        return observer!.by(VICTIM).length > 0 ? true : undefined;
      });
      // What the victim holds: its partitions, and the records on them not yet committed
      // (high watermark just before the kill, committed position just after: nobody else
      // commits on them until the group evicts the victim after the session timeout).
      const victimPartitions = await until(
        `${VICTIM}'s assignment`,
        30000,
        () => probe!.assignment(iso.group, VICTIM, iso.ticksTopic),
      );
      // Kill at a moment when the victim's partitions hold records it has not committed (a
      // fast worker may have committed all the engine produced so far): the fault must leave
      // work behind for the others.
      const uncommittedOn = async (high: Map<number, { high: number }>) => {
        const committed = await probe!.committed(iso.group, iso.ticksTopic);
        return victimPartitions.reduce(
          (n, p) => n + Math.max(0, high.get(p)!.high - Math.max(0, committed.get(p) ?? 0)),
          0,
        );
      };
      // The victim is stopped (SIGSTOP) while that is measured, so that it cannot commit them
      // between the measurement and the kill; commits it sent before arrive within the pause.
      let highBeforeKill = await probe.high(iso.ticksTopic);
      await until(`records uncommitted on ${VICTIM}'s partitions`, 60000, async () => {
        await victim.signalTree("SIGSTOP");
        await sleep(300);
        highBeforeKill = await probe!.high(iso.ticksTopic);
        if ((await uncommittedOn(highBeforeKill)) >= 2) return true;
        await victim.signalTree("SIGCONT");
        return undefined;
      });
      const engineRunningAtKill = engine.running;
      await victim.signalTree("SIGKILL");
      timings.killed = ms();
      const uncommittedAtKill = await uncommittedOn(highBeforeKill);
      const victimExit = await exitOf(victim, 10000);
      assert.equal(victimExit.signal, "SIGKILL");
      // Wall clock (as BatchInfo.writtenAtMs) once it is gone: it wrote nothing later.
      const killedAtWall = Date.now();
      // The kill left work behind: records on the victim's partitions that someone else must
      // now store (those the victim had drained are redelivered).
      assert.ok(uncommittedAtKill > 0, `nothing uncommitted on ${VICTIM}'s partitions at the kill`);
      assert.ok(
        observer.by(VICTIM, 0, killedAtWall).length > 0,
        `${VICTIM} wrote no batch before it was killed`,
      );

      // A restarted worker (same name, new process, new group member).
      await sleep(RESTART_AFTER_MS);
      const replacement = start(VICTIM, `${VICTIM} (replacement)`);
      const replacementStartedAtWall = Date.now();
      timings.replacementStarted = ms();

      const engineExit = await exitOf(engine, 90000);
      timings.engineExited = Math.round(engine.exitedAt - t0);
      assert.equal(engineExit.code, 0, `engine failed\n${engine.describe()}`);
      const engineStatus = engine.service("simulation-engine");
      assert.equal(engineStatus.state, "stopped");
      assert.equal(engineStatus.metrics.tick, TICKS);
      const chunks = engineStatus.metrics.chunks!;

      // Everything committed by the persistence group, and the run complete in storage.
      await until("the persistence group committed every record", 120000, async () => {
        for (const p of [meta, survivor, replacement]) {
          if (!p.running) throw new Error(`${p.label} exited early\n${p.describe()}`);
        }
        return (await probe!.lag(iso.group, iso.ticksTopic)) === 0 ? true : undefined;
      });
      timings.drained = ms();
      const runs = await listRuns(storage);
      assert.equal(runs.length, 1, `expected one run under ${iso.prefix}, got ${runs.join(", ")}`);
      const runId = runs[0]!;
      const report = await until<RunReport>("verifyRun finds every sample", 30000, async () => {
        const r = await verifyRun(storage!, runId);
        return r.samples >= SAMPLES && r.metadata ? r : undefined;
      });
      timings.verified = ms();

      // Clean stops.
      for (const p of [survivor, replacement, meta]) p.signal("SIGTERM");
      for (const p of [survivor, replacement, meta]) {
        const st = await exitOf(p, 30000);
        assert.equal(st.code, 0, `${p.label} did not stop cleanly\n${p.describe()}`);
      }
      timings.stopped = ms();

      // Exactly once in storage.
      assert.deepEqual(report.errors, []);
      assert.equal(report.ok, true);
      assert.equal(report.metadata, true);
      assert.equal(report.samplingInterval, SAMPLING);
      assert.equal(report.samples, SAMPLES);
      assert.equal(report.firstTick, 0);
      assert.equal(report.lastTick, TICKS);
      assert.equal(report.chunks, chunks);
      assert.equal(report.batches, Math.ceil(chunks / 2));
      assert.equal(report.deadLetters, 0);

      // Every batch announced; who wrote what.
      const keys = (await listAllKeys(storage, rawPrefix(runId))).sort();
      await until("every BatchInfo observed", 30000, () => {
        const announced = new Set(observer!.seen.map((s) => s.info.storageKey));
        return keys.every((k) => announced.has(k)) ? true : undefined;
      });
      const announced = new Set(observer.seen.map((s) => s.info.storageKey));
      assert.deepEqual([...announced].sort(), keys, "BatchInfo keys differ from stored batches");
      for (const s of observer.seen) assert.equal(s.info.runId, runId);

      const survivorStatus = survivor.service(SURVIVOR);
      const replacementStatus = replacement.service(VICTIM);
      for (const s of [survivorStatus, replacementStatus]) {
        assert.equal(s.state, "stopped", `${s.name}: ${s.error ?? ""}`);
        assert.equal(s.metrics.dead_letters, 0);
        assert.equal(s.metrics.pending_batches, 0);
      }
      assert.equal(meta.service("metadata-persistence").state, "stopped");
      assert.ok(survivorStatus.metrics.batches! > 0, `${SURVIVOR} wrote no batch`);
      const replacementInfos = observer.by(VICTIM, replacementStartedAtWall);
      assert.equal(
        observer.by(VICTIM, killedAtWall, replacementStartedAtWall).length,
        0,
        `a BatchInfo of ${VICTIM} written after the kill and before the replacement`,
      );
      // Each write of a survivor published one BatchInfo (new file or no-op duplicate).
      assert.equal(
        observer.by(SURVIVOR).length,
        survivorStatus.metrics.batches! + survivorStatus.metrics.duplicate_batches!,
      );
      assert.equal(
        replacementInfos.length,
        replacementStatus.metrics.batches! + replacementStatus.metrics.duplicate_batches!,
      );
      const victimInfos = observer.by(VICTIM, 0, killedAtWall);
      const victimKeys = new Set(victimInfos.map((s) => s.info.storageKey));
      const created = survivorStatus.metrics.batches! + replacementStatus.metrics.batches!;
      const duplicates = survivorStatus.metrics.duplicate_batches! +
        replacementStatus.metrics.duplicate_batches!;
      // Records the others received beyond their share: redeliveries among them (rebalances).
      // What the victim drained and never committed is not in it (its own counters died with
      // it); `uncommittedOnVictimPartitionsAtKill` bounds that from above.
      // One record per batch: the victim's share is the batches it announced.
      const victimRecords = victimKeys.size;
      const received = survivorStatus.metrics.records! + replacementStatus.metrics.records!;
      const writersByKey = new Map<string, string[]>();
      for (const s of observer.seen) {
        const w = `${s.info.writer}@${
          Number(s.info.writtenAtMs) < killedAtWall ? "before-kill" : "after-kill"
        }`;
        writersByKey.set(s.info.storageKey, [...(writersByKey.get(s.info.storageKey) ?? []), w]);
      }
      const announcedTwice = [...writersByKey].filter(([, w]) => w.length > 1);
      console.log(
        JSON.stringify({
          timingsMs: timings,
          engineRunningAtKill,
          victimPartitions,
          uncommittedOnVictimPartitionsAtKill: uncommittedAtKill,
          chunks,
          batches: report.batches,
          victimBatchesBeforeKill: victimKeys.size,
          survivor: {
            batches: survivorStatus.metrics.batches,
            duplicates: survivorStatus.metrics.duplicate_batches,
            records: survivorStatus.metrics.records,
            abandoned: survivorStatus.metrics.abandoned_batches,
          },
          replacement: {
            batches: replacementStatus.metrics.batches,
            duplicates: replacementStatus.metrics.duplicate_batches,
            records: replacementStatus.metrics.records,
            abandoned: replacementStatus.metrics.abandoned_batches,
          },
          redeliveredAmongOthers: received - (report.batches - victimRecords),
          batchInfos: observer.seen.length,
          announcedTwice: announcedTwice.map(([k, w]) => `${k.split("/").pop()}: ${w.join(", ")}`),
        }),
      );
      // Every file was created by exactly one worker: a survivor (counted in its status) or
      // the victim (announced, or written just before the kill and then replayed as a no-op).
      // The victim's own counters died with it: a file only it announced is its creation; one
      // it announced besides another worker may have been its no-op duplicate.
      const victimOnly = [...victimKeys].filter((k) =>
        writersByKey.get(k)!.every((w) => w === `${VICTIM}@before-kill`)
      );
      assert.ok(created + victimOnly.length <= report.batches, "a file was created twice");
      assert.ok(
        created + victimKeys.size + duplicates >= report.batches,
        "a stored file was written by nobody",
      );
      assert.ok(
        received >= report.batches - victimRecords,
        `records lost? received only ${received}`,
      );
    } catch (e) {
      for (const p of procs) console.error(p.describe());
      throw e;
    } finally {
      for (const p of procs) p.signal("SIGKILL");
      await Promise.allSettled(procs.map((p) => p.exited));
      await observer?.close();
      await probe?.deleteTopics([
        iso.ticksTopic,
        iso.metadataTopic,
        iso.batchTopic,
        iso.statusTopic,
      ]);
      await probe?.deleteGroups([iso.group, BatchObserver.group(iso)]);
      await probe?.close();
      // Nothing to remove where the server was never reached (its client would retry long).
      if (storage !== undefined) {
        await storage.close().catch(() => {});
        await removePrefix(iso.prefix).catch(() => {});
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
