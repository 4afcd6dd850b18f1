/**
 * The pipeline deployed on the namespace hosts: a config of its own (the shipped Kafka + S3
 * config with topics, groups and a key prefix of this run, four persistence workers, the API
 * bound to the `view` host), and each service as its own least-privilege process: the command
 * line `evochora service` would use (cli/service_launcher.ts planChildren: `deno run <derived
 * flags> services/<kind>/main.ts --config F <name>`), run inside its host's namespace with
 * only the servers' settings in its environment. Status reports (every second) keep each
 * process' counters, also of processes that were killed.
 *
 * @module
 */

import kafkaS3 from "../../config/kafka-s3.config.ts";
import { planChildren } from "../../cli/service_launcher.ts";
import { loadConfigFlag } from "../../cli/config_flag.ts";
import type { PipelineConfig, ResolvedConfig } from "../../services/runner/mod.ts";
import type { ServiceStatus } from "../../services/common/service.ts";
import type { Netns } from "./_netns.ts";

/** Which services run on which host. */
export const PLACEMENT: Readonly<Record<string, readonly string[]>> = {
  sim: ["metadata-persistence", "simulation-engine"],
  work1: ["persistence-1", "persistence-2"],
  work2: ["persistence-3", "persistence-4"],
  view: ["stats-indexer", "organisms-indexer", "catalog-indexer", "http-api"],
};

/** The persistence workers. */
export const WORKERS = ["persistence-1", "persistence-2", "persistence-3", "persistence-4"];

/** Chunks per raw batch (records a worker commits per batch it writes). */
export const CHUNKS_PER_BATCH = 2;

/** The API's port on the view host. */
export const API_PORT = 8080;

/** The engine settings of a run. */
export interface RunShape {
  ticks: number;
  sampling: number;
}

/** Names of one run's topics, groups and keys. */
export interface RunNames {
  tag: string;
  runId: string;
  prefix: string;
  ticksTopic: string;
  batchTopic: string;
  persistenceGroup: string;
}

/** Topic, group and prefix names of a run tagged `tag`. */
export function runNames(tag: string): RunNames {
  return {
    tag,
    runId: `system-${tag}`,
    prefix: `sys/${tag}/`,
    ticksTopic: `evochora-ticks-${tag}`,
    batchTopic: `evochora-batches-${tag}`,
    persistenceGroup: `persistence-${tag}`,
  };
}

/** The shipped Kafka + S3 config for one run of this test. */
export function systemConfig(
  names: RunNames,
  run: RunShape,
  where: { apiHost: string; bucket: string },
): PipelineConfig {
  const c = structuredClone(kafkaS3);
  for (const r of Object.values(c.resources)) {
    if (r.kind === "kafka-queue" || r.kind === "kafka-topic") r.topic = `${r.topic}-${names.tag}`;
    if (r.kind === "kafka-queue" && r.groups !== undefined) {
      r.groups = r.groups.map((g) => `${g}-${names.tag}`);
    }
    if (r.kind === "s3") Object.assign(r, { prefix: names.prefix, bucket: where.bucket });
  }
  // Two workers on each worker host.
  c.services["persistence-4"] = structuredClone(c.services["persistence-1"]!);
  const seq = c.startupSequence!;
  seq.splice(seq.indexOf("persistence-3") + 1, 0, "persistence-4");
  for (const s of Object.values(c.services)) {
    if (s.kind === "indexer") s.group = `${s.index}-indexer-${names.tag}`;
    if (s.kind === "persistence") s.group = names.persistenceGroup;
    if (s.kind === "metadata-persistence") s.group = `metadata-persistence-${names.tag}`;
    if (s.kind === "http-api") Object.assign(s, { host: where.apiHost, port: API_PORT });
    if (s.kind === "simulation-engine") {
      Object.assign(s, {
        ticks: run.ticks,
        // The stored check expects every sampled tick up to `ticks`, population or not.
        endWhenExtinct: false,
        chunksPerBatch: CHUNKS_PER_BATCH,
        engine: {
          shape: [128, 128],
          seed: 11,
          intervals: { sampling: run.sampling, snapshot: 50 },
        },
      });
    }
  }
  return c;
}

/** One service process (one instance: a restart is a new one). */
export class ServiceProcess {
  readonly service: string;
  readonly host: string;
  readonly instance: number;
  readonly child: Deno.ChildProcess;
  /** The last status report's entry for the service (counters so far). */
  last: ServiceStatus | undefined;
  stderrTail = "";
  startedAt = performance.now();
  exit: Deno.CommandStatus | undefined;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #log: Deno.FsFile;

  constructor(o: {
    service: string;
    host: string;
    instance: number;
    command: string[];
    env: Record<string, string>;
    logFile: string;
  }) {
    this.service = o.service;
    this.host = o.host;
    this.instance = o.instance;
    this.#log = Deno.openSync(o.logFile, { create: true, append: true });
    const [cmd, ...args] = o.command;
    this.child = new Deno.Command(cmd!, {
      args,
      clearEnv: true,
      env: o.env,
      // Held open: the service exits when this process goes (--exit-with-parent).
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reads = [
      this.#lines(this.child.stdout, (l) => this.#onStdout(l)),
      this.#lines(
        this.child.stderr,
        (l) => {
          this.stderrTail = (this.stderrTail + l + "\n").slice(-6000);
        },
      ),
    ];
    this.exited = this.child.status.then(async (st) => {
      await Promise.allSettled(reads);
      this.exit = st;
      try {
        this.#log.close();
      } catch {
        // closed
      }
      return st;
    });
  }

  get label(): string {
    return `${this.service}#${this.instance}@${this.host}`;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  async #lines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      try {
        this.#log.writeSync(chunk);
      } catch {
        // the log is best effort
      }
      buf += decoder.decode(chunk, { stream: true });
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    if (buf !== "") onLine(buf);
  }

  #onStdout(line: string): void {
    if (!line.startsWith("{")) return;
    try {
      const v = JSON.parse(line) as { services?: ServiceStatus[] };
      const s = v.services?.find((x) => x.name === this.service);
      if (s !== undefined) this.last = s;
    } catch {
      // not a status line
    }
  }

  signal(sig: Deno.Signal): void {
    if (!this.running) return;
    try {
      this.child.kill(sig);
    } catch {
      // exited meanwhile
    }
  }

  describe(): string {
    const ex = this.exit === undefined
      ? "running"
      : `exit ${this.exit.code}${this.exit.signal ? ` (${this.exit.signal})` : ""}`;
    return `--- ${this.label}: ${ex}\n${this.stderrTail.slice(-3000)}`;
  }
}

/** Options of {@link Deployment.create}. */
export interface DeploymentOptions {
  net: Netns;
  names: RunNames;
  run: RunShape;
  /** The servers' settings (KAFKA_BOOTSTRAP_SERVERS, AWS_*, EVOCHORA_S3_BUCKET). */
  serversEnv: Record<string, string>;
  /** A directory for the config file and the logs. */
  dir: string;
  apiToken: string;
}

/** The services of one run on the hosts. */
export class Deployment {
  readonly names: RunNames;
  readonly configPath: string;
  readonly apiUrl: string;
  readonly processes: ServiceProcess[] = [];
  readonly #o: DeploymentOptions;
  readonly #resolved: ResolvedConfig;
  readonly #env: Record<string, string>;
  #instances = 0;

  private constructor(o: DeploymentOptions, configPath: string, resolved: ResolvedConfig) {
    this.#o = o;
    this.names = o.names;
    this.configPath = configPath;
    this.#resolved = resolved;
    this.apiUrl = `http://${o.net.host("view").address}:${API_PORT}`;
    // Only what a service needs: where the servers are, the API token, and what deno needs to
    // find its cache. Nothing from this process' environment names 127.0.0.1.
    // Group joins (with their partitions), crashes and pauses go to each service's log, so
    // that a failure can be traced to the consumer that held a partition.
    this.#env = {
      ...o.serversEnv,
      EVOCHORA_API_TOKEN: o.apiToken,
      NO_COLOR: "1",
      EVOCHORA_KAFKA_LOG: "info",
    };
    for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
      const v = Deno.env.get(k);
      if (v !== undefined) this.#env[k] = v;
    }
  }

  /** Writes the config and loads it as the services will. */
  static async create(o: DeploymentOptions): Promise<Deployment> {
    await Deno.mkdir(`${o.dir}/logs`, { recursive: true });
    const path = `${o.dir}/${o.names.tag}.config.ts`;
    const config = systemConfig(o.names, o.run, {
      apiHost: o.net.host("view").address,
      bucket: o.serversEnv.EVOCHORA_S3_BUCKET!,
    });
    await Deno.writeTextFile(path, `export default ${JSON.stringify(config, null, 2)};\n`);
    const loaded = await loadConfigFlag(path);
    return new Deployment(o, path, loaded.resolved);
  }

  /** The host a service runs on. */
  hostOf(service: string): string {
    const host = Object.entries(PLACEMENT).find(([, s]) => s.includes(service))?.[0];
    if (host === undefined) throw new RangeError(`No host runs '${service}'`);
    return host;
  }

  /** The exact command line of `service`'s process (derived permissions, never -A). */
  command(service: string, engineArgs: readonly string[] = []): string[] {
    const [spec, ...more] = planChildren({
      config: this.#resolved,
      services: [service],
      configPath: this.configPath,
      env: (n) => this.#env[n],
      engineArgs,
      commonArgs: ["--json", "--report-every", "1000"],
    });
    if (spec === undefined || more.length > 0) throw new Error(`'${service}': not one process`);
    return spec.command;
  }

  /** Starts `service` on its host. */
  start(service: string, engineArgs: readonly string[] = []): ServiceProcess {
    const host = this.hostOf(service);
    const instance = ++this.#instances;
    const p = new ServiceProcess({
      service,
      host,
      instance,
      command: [...this.#o.net.launcher(host), ...this.command(service, engineArgs)],
      env: this.#env,
      logFile: `${this.#o.dir}/logs/${this.names.tag}-${service}-${instance}.log`,
    });
    this.processes.push(p);
    return p;
  }

  /** The running (or last) process of a service. */
  current(service: string): ServiceProcess {
    const p = this.processes.findLast((x) => x.service === service);
    if (p === undefined) throw new RangeError(`'${service}' was never started`);
    return p;
  }

  /** Waits until each process has said "Started" (fails when one exits first). */
  async waitStarted(procs: readonly ServiceProcess[], timeoutMs = 90_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (const p of procs) {
      while (!p.stderrTail.includes("Started ")) {
        if (!p.running) throw new Error(`${p.label} exited during start\n${p.describe()}`);
        if (performance.now() > deadline) {
          throw new Error(`${p.label} did not start within ${timeoutMs} ms\n${p.describe()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** SIGKILLs the processes running `services` and waits for their exit. */
  async kill(services: readonly string[]): Promise<void> {
    const doomed = this.processes.filter((p) => p.running && services.includes(p.service));
    for (const p of doomed) p.signal("SIGKILL");
    await Promise.all(doomed.map((p) => p.exited));
  }

  /** A counter summed over every process of services of `kind` (killed ones: last report). */
  sum(kind: string, metric: string): number {
    return this.processes.reduce(
      (n, p) => n + (p.last?.kind === kind ? p.last.metrics[metric] ?? 0 : 0),
      0,
    );
  }

  /**
   * Records the persistence workers that are gone (killed) had received and not committed, by
   * their last report: what the group hands to others again.
   */
  lostInFlight(): number {
    return this.processes.reduce((n, p) => {
      if (p.running || p.last?.kind !== "persistence") return n;
      const m = p.last.metrics;
      const done = CHUNKS_PER_BATCH * ((m.batches ?? 0) + (m.duplicate_batches ?? 0)) +
        (m.dead_letters ?? 0);
      return n + Math.max(0, (m.records ?? 0) - done);
    }, 0);
  }

  /** SIGTERM to every running process, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 20_000): Promise<void> {
    const live = this.processes.filter((p) => p.running);
    for (const p of live) p.signal("SIGTERM");
    const timer = setTimeout(() => live.forEach((p) => p.signal("SIGKILL")), graceMs);
    await Promise.all(live.map((p) => p.exited));
    clearTimeout(timer);
  }
}
