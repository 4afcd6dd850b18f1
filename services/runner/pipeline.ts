/**
 * The runner: builds the resources a config names, creates the services bound to them, starts
 * them in the configured order, reports their status, drains and stops them.
 *
 * @module
 */

import type { Queue } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import { API_TOKEN_ENV, ApiService, type ApiServiceOptions, splitCacheBudget } from "../api/mod.ts";
import { IndexerService } from "../indexer/mod.ts";
import { IndexThread } from "./index_thread.ts";
import { indexesOf, type RunIndexes, waitForIndexes } from "./_index_wait.ts";
import { MetadataPersistenceService } from "../metadata_persistence/metadata_persistence_service.ts";
import { PersistenceService } from "../persistence/persistence_service.ts";
import { ZstdWorker } from "../../resources/storage/zstd_worker.ts";
import { ChunkEncoderThread } from "../simulation_engine/chunk_encoder_thread.ts";
import { EngineService, newRunId } from "../simulation_engine/engine_service.ts";
import type { ResolvedConfig, ResolvedResource } from "./config.ts";
import { buildResource, type Resource } from "./resources.ts";
import { ensureWebBuilt, WEB_DIST } from "../../web/ensure_built.ts";
import type { PipelineStatus, ResourceStatus, Service } from "../common/service.ts";
import { describeMissingIndexes, type IndexCoverage } from "../common/index_coverage.ts";
import { DEFAULT_LEFTOVER_AGE_MS, type Leftover } from "../../resources/storage/storage.ts";
import { HeartbeatPublisher } from "../common/heartbeat_publisher.ts";
import { ClusterStatusReader } from "../common/cluster_status_reader.ts";
import { withWaiting } from "../common/service.ts";
import {
  endpointHealth,
  type EndpointKind,
  waitingDetail,
} from "../../resources/common/endpoint_health.ts";

export type { PipelineStatus, ResourceStatus };

/** How a stop's drain ended. */
export interface DrainReport {
  /** Everything accepted was stored, and every index of the run was written. */
  complete: boolean;
  /** What was still missing when the drain gave up, one line each. */
  missing: string[];
  /** The engine's run's indexes at the end, when this pipeline runs indexers beside it. */
  index: IndexCoverage | null;
}

/** A run to continue instead of starting one (see services/runner/resume_point.ts). */
export interface ResumeFrom {
  /** The encoded checkpoint to restore the engine from; absent: start again at tick 0. */
  checkpoint?: Uint8Array;
  /** The run's metadata as stored: put again unchanged (a no-op duplicate). */
  metadata: Uint8Array;
}

/** Options of {@link Pipeline.create}. */
export interface PipelineOptions {
  /** Continue the engine's run from a stored checkpoint. */
  resume?: ResumeFrom;
  /**
   * Index only the engine's own run (`run`): older runs in the storage are left to a process
   * that serves them, so a run's cost does not grow with the store. Default: every run.
   */
  indexOwnRunOnly?: boolean;
}

/**
 * The chunks' `created_at_ms`: always 0. A wall-clock time would make every chunk, and so every
 * batch file, differ between two runs of the same seed and between a run and its resumption,
 * and files re-emitted after a resume must be byte-identical duplicates of those stored. The
 * run's start time is in its metadata; each batch's write time in its BatchInfo.
 */
export const CHUNK_CLOCK = (): number => 0;

/** A built pipeline. */
export class Pipeline {
  readonly config: ResolvedConfig;
  readonly resources: ReadonlyMap<string, Resource>;
  /** Services in start order. */
  readonly services: readonly Service[];
  /** The engine service, when the config has one. */
  readonly engine: EngineService | undefined;
  #started: Service[] = [];
  /** Releases what the wiring made for the services (compression threads). */
  readonly #closers: (() => void)[];
  /** The index kinds this pipeline writes, and where. */
  readonly #indexes: RunIndexes | undefined;
  /** Crash leftovers the storages swept at start. */
  swept: Leftover[] = [];
  /** How the last stop's drain ended (undefined before a stop). */
  lastDrain: DrainReport | undefined;
  /** Storages only the http-api services here use: never written, not even swept. */
  #readOnly: ReadonlySet<string> = new Set();
  /** This process's heartbeat on the config's status topic, when it names one. */
  #heartbeat: HeartbeatPublisher | undefined;
  /** The deployment's status for an http-api service here, when the config names a status topic. */
  #cluster: ClusterStatusReader | undefined;

  private constructor(
    config: ResolvedConfig,
    resources: Map<string, Resource>,
    services: Service[],
    closers: (() => void)[],
  ) {
    this.#closers = closers;
    this.#indexes = indexesOf(config, services, resources);
    this.config = config;
    this.resources = resources;
    this.services = services;
    this.engine = services.find((s): s is EngineService => s instanceof EngineService);
  }

  /**
   * Builds resources and services. `only` restricts to some services (one per process in
   * distributed setups); their resources are built, the others not.
   */
  static async create(
    config: ResolvedConfig,
    only?: readonly string[],
    options: PipelineOptions = {},
  ): Promise<Pipeline> {
    const names = only ?? config.startupSequence;
    for (const n of names) {
      if (config.services[n] === undefined) {
        throw new RangeError(
          `No service named '${n}'; the config defines: ${config.startupSequence.join(", ")}`,
        );
      }
    }
    const needed = new Set<string>(config.status === undefined ? [] : [config.status]);
    for (const n of names) {
      const s = config.services[n]!;
      for (const v of Object.values(s)) {
        if (typeof v === "string" && config.resources[v] !== undefined) needed.add(v);
      }
    }
    const readOnly = readOnlyStorages(config, names, needed);
    const produced = new Set(
      names.map((n) => config.services[n]!).flatMap((s) =>
        s.kind === "simulation-engine" ? [s.output] : []
      ),
    );
    const resources = new Map<string, Resource>();
    try {
      for (const name of needed) {
        resources.set(
          name,
          await buildResource(name, config.resources[name] as ResolvedResource, {
            readOnly: readOnly.has(name),
            producer: produced.has(name),
          }),
        );
      }
    } catch (e) {
      for (const r of resources.values()) await r.instance.close().catch(() => {});
      throw e;
    }
    const queue = (n: string) => resources.get(n)!.instance as Queue;
    const topic = (n: string) => resources.get(n)!.instance as Topic;
    const storage = (n: string) => resources.get(n)!.instance as Storage;
    const services: Service[] = [];
    const closers: (() => void)[] = [];
    // One zstd thread compresses the engine's batches and checks those of every persistence
    // service of this process: a thread each cost an isolate each (~20 MiB resident), and
    // compressing and checking take a fraction of a core between them (zstd-3 compresses
    // ~350 MB/s, a check decompresses faster).
    let zstd: ZstdWorker | undefined;
    const zstdThread = () => zstd ??= startZstdWorker(closers);
    // One thread per storage indexes for every indexer of this process (the three kinds ask
    // for the same batches in turn; it keeps the last few decoded).
    const indexThreads = new Map<string, IndexThread>();
    const ownRun = options.indexOwnRunOnly === true ? engineRunId(config, names) : undefined;
    for (const name of config.startupSequence.filter((n) => names.includes(n))) {
      const s = config.services[name]!;
      switch (s.kind) {
        case "simulation-engine": {
          const o: ConstructorParameters<typeof EngineService>[0] = {
            name,
            output: queue(s.output),
            metadataOutput: queue(s.metadataOutput),
            engine: s.engine,
            ticks: s.ticks,
            endWhenExtinct: s.endWhenExtinct,
            chunksPerBatch: s.chunksPerBatch,
            zstdLevel: s.zstdLevel,
            clock: CHUNK_CLOCK,
          };
          if (s.compressOnWorker) o.compressor = zstdThread();
          if (s.encodeOnWorker) o.encoder = startEncoderThread(closers);
          const runId = s.runId ?? ownRun;
          if (runId !== undefined) o.runId = runId;
          if (s.checkpointStorage !== undefined) {
            o.checkpointStorage = storage(s.checkpointStorage);
          }
          if (options.resume !== undefined) {
            if (options.resume.checkpoint !== undefined) {
              o.restoreFrom = options.resume.checkpoint;
            }
            o.metadata = options.resume.metadata;
          }
          services.push(new EngineService(o));
          break;
        }
        case "metadata-persistence":
          services.push(
            new MetadataPersistenceService({
              name,
              input: queue(s.input),
              storage: storage(s.storage),
              group: s.group,
            }),
          );
          break;
        case "indexer": {
          const o: ConstructorParameters<typeof IndexerService>[0] = {
            name,
            kind: s.index,
            input: topic(s.input),
            storage: storage(s.storage),
            group: s.group,
            catchUpIntervalMs: s.catchUpIntervalMs,
            ...(ownRun === undefined ? {} : { runs: [ownRun] }),
          };
          if (s.indexOnWorker) {
            let thread = indexThreads.get(s.storage);
            if (thread === undefined) {
              thread = startIndexThread(s.storage, config.resources[s.storage]!, closers);
              indexThreads.set(s.storage, thread);
            }
            o.offload = thread;
          }
          services.push(new IndexerService(o));
          break;
        }
        case "http-api":
          break; // below, once the pipeline exists
        case "persistence": {
          const o: ConstructorParameters<typeof PersistenceService>[0] = {
            name,
            input: queue(s.input),
            storage: storage(s.storage),
            notify: topic(s.notify),
            group: s.group,
            maxRecords: s.maxRecords,
            drainTimeoutMs: s.drainTimeoutMs,
            attempts: s.attempts,
            retryBaseMs: s.retryBaseMs,
          };
          if (s.checkOnWorker) o.decompressor = zstdThread();
          services.push(new PersistenceService(o));
          break;
        }
      }
    }
    const pipeline = new Pipeline(config, resources, services, closers);
    pipeline.#readOnly = readOnly;
    if (config.status !== undefined) {
      pipeline.#heartbeat = new HeartbeatPublisher({
        topic: topic(config.status),
        services: () => pipeline.#serviceStatuses(),
      });
    }
    // The API reports on the pipeline it runs in; built after, since it needs the others.
    const order = config.startupSequence.filter((n) => names.includes(n));
    for (const name of order) {
      const s = config.services[name]!;
      if (s.kind !== "http-api") continue;
      if (config.status !== undefined) {
        pipeline.#cluster ??= new ClusterStatusReader({ topic: topic(config.status), role: "api" });
      }
      const cluster = pipeline.#cluster;
      const o: ApiServiceOptions = {
        name,
        storage: storage(s.storage),
        host: s.host,
        port: s.port,
        webRoot: s.webRoot ?? WEB_DIST,
        // The repository's own client is built on demand; a configured one is the user's.
        ...(s.webRoot === undefined ? { prepareWeb: buildRepositoryWeb } : {}),
        allowedHosts: s.allowedHosts,
        ...apiToken(s.token),
        ...splitCacheBudget(s.cacheBytes),
        pipeline: () => ({
          ...pipeline.status(),
          mode: pipeline.engine === undefined ? "serve" : "in-process",
        }),
        ...(cluster === undefined ? {} : { cluster: () => cluster.view() }),
        live: () => {
          const e = pipeline.engine;
          if (e === undefined) return null;
          const m = e.status().metrics;
          return {
            runId: e.runId,
            tick: m.tick ?? 0,
            ticksPerSecond: m.ticks_per_second ?? 0,
            organismsAlive: m.organisms_alive ?? 0,
          };
        },
      };
      services.splice(order.indexOf(name), 0, new ApiService(o));
    }
    return pipeline;
  }

  /**
   * Sweeps crash leftovers (temp files, pending uploads untouched for 10 minutes)
   * from every storage, then starts the services in order. A sweep that fails (the storage is
   * away for a moment, as while an S3 server restarts) is reported and skipped: it is
   * housekeeping, the next start or `inspect` sweeps again, and the services wait for their
   * storage themselves.
   */
  async start(): Promise<void> {
    for (const [name, r] of this.resources) {
      if (r.role !== "storage" || this.#readOnly.has(name)) continue;
      try {
        this.swept.push(
          ...await r.instance.sweepLeftovers({
            prefix: "runs/",
            olderThanMs: DEFAULT_LEFTOVER_AGE_MS,
          }),
        );
      } catch (e) {
        console.error(
          `Sweeping crash leftovers in '${name}' failed, skipped: ${(e as Error).message}`,
        );
      }
    }
    // Beats from the start, so that services still starting (or failing to) show too.
    this.#cluster?.start();
    this.#heartbeat?.start();
    try {
      for (const s of this.services) {
        await s.start();
        this.#started.push(s);
      }
    } catch (e) {
      await this.#heartbeat?.stop();
      await this.#cluster?.stop();
      throw e;
    }
  }

  /**
   * Waits until every queue's consumer groups have committed everything (nothing left to
   * persist) and no service holds a pending batch. Resolves false on timeout. The queues are
   * flushed first, so that their lag counts every record they accepted.
   */
  async drained(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    await this.#flushQueues(timeoutMs);
    while (performance.now() < deadline && !signal?.aborted) {
      if (this.#isDrained()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.#isDrained();
  }

  /**
   * Waits (at most `timeoutMs`) until every queue has stored what it accepted, so that its lag
   * counts the engine's last records: a Kafka queue learns of them only from the broker's
   * acknowledgements, and until then a drain would find nothing left to store. Failures are
   * left to the drain to report, as what is not stored.
   */
  async #flushQueues(timeoutMs: number): Promise<void> {
    const flushes = [...this.resources.values()]
      .filter((r) => r.role === "queue")
      .map((r) => r.instance.flush().catch(() => {}));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    await Promise.race([Promise.all(flushes), timeout]);
    clearTimeout(timer);
  }

  #isDrained(): boolean {
    return this.#undrained().length === 0;
  }

  /** What is not stored yet: queue lag per group and services' pending batches. */
  #undrained(): string[] {
    const out: string[] = [];
    for (const [name, r] of this.resources) {
      if (r.role !== "queue") continue;
      for (const [group, n] of Object.entries(r.instance.stats().lag)) {
        if (n > 0) out.push(`queue '${name}': ${n} records not yet stored by group '${group}'`);
      }
    }
    for (const s of this.services) {
      const n = s.status().metrics.pending_batches ?? 0;
      if (n > 0) out.push(`${s.name}: ${n} batches in hand`);
    }
    return out;
  }

  /**
   * Waits until every raw batch of the engine's run has its file of every index kind this
   * pipeline writes (storage is compared, so it holds whoever wrote them). Resolves the
   * coverage at the end; null without engine or indexers.
   */
  async indexed(timeoutMs: number, signal?: AbortSignal): Promise<IndexCoverage | null> {
    const runId = this.engine?.runId;
    if (runId === undefined || this.#indexes === undefined) return null;
    const indexers = this.services.filter((s) => s instanceof IndexerService);
    return await waitForIndexes({ ...this.#indexes, runId, indexers, timeoutMs, signal });
  }

  /**
   * Stops gracefully: the engine first (it flushes its partial chunk), then waits up to
   * `drainMs` for the consumers to persist everything and, with indexers beside the engine, for
   * every index of the run; then stops the rest in reverse order and closes the resources.
   * Returns whether all of that completed; {@link lastDrain} says what was missing.
   */
  async stop(drainMs = 60000, signal?: AbortSignal): Promise<boolean> {
    const errors: unknown[] = [];
    // Every service and resource is stopped even when one of them throws; the errors are
    // reported together at the end.
    const attempt = async (f: () => Promise<void> | void) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    if (this.engine && this.#started.includes(this.engine)) {
      await attempt(() => this.engine!.stop());
    }
    const report = errors.length === 0
      ? await this.#drain(drainMs, signal)
      : { complete: false, missing: ["the engine did not stop cleanly"], index: null };
    this.lastDrain = report;
    const complete = report.complete;
    for (const s of [...this.#started].reverse()) await attempt(() => s.stop());
    this.#started = [];
    // A last beat with the final states, before the status topic closes.
    await attempt(() => this.#heartbeat?.stop());
    await attempt(() => this.#cluster?.stop());
    for (const c of this.#closers.splice(0)) await attempt(c);
    for (const r of this.resources.values()) await attempt(() => r.instance.close());
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "Stopping the pipeline failed");
    return complete;
  }

  /** Waits for storage, then the indexes, within one deadline. */
  async #drain(drainMs: number, signal?: AbortSignal): Promise<DrainReport> {
    const deadline = performance.now() + drainMs;
    if (!(await this.drained(drainMs, signal))) {
      return { complete: false, missing: this.#undrained(), index: null };
    }
    let index: IndexCoverage | null = null;
    try {
      index = await this.indexed(Math.max(0, deadline - performance.now()), signal);
    } catch (e) {
      return { complete: false, missing: [`indexes: ${(e as Error).message}`], index: null };
    }
    const missing = index === null ? [] : describeMissingIndexes(index);
    return { complete: missing.length === 0, missing, index };
  }

  /**
   * The endpoints service `name` of `config` needs: a broker for its Kafka resources, an S3
   * endpoint for its S3 storage.
   */
  static endpointKinds(config: ResolvedConfig, name: string): Set<EndpointKind> {
    const kinds = new Set<EndpointKind>();
    for (const v of Object.values(config.services[name] ?? {})) {
      const kind = typeof v === "string" ? config.resources[v]?.kind : undefined;
      if (kind === "kafka-queue" || kind === "kafka-topic") kinds.add("broker");
      if (kind === "s3") kinds.add("S3 endpoint");
    }
    return kinds;
  }

  /** The services' status; `waiting` while an endpoint one needs does not answer. */
  #serviceStatuses(): PipelineStatus["services"] {
    const problems = endpointHealth.problems();
    return this.services.map((s) => {
      const kinds = Pipeline.endpointKinds(this.config, s.name);
      return withWaiting(s.status(), waitingDetail(problems.filter((p) => kinds.has(p.kind))));
    });
  }

  status(): PipelineStatus {
    return {
      services: this.#serviceStatuses(),
      resources: [...this.resources.entries()].map(([name, r]) => {
        const out: ResourceStatus = { name, kind: r.kind, description: r.description };
        if (r.role !== "storage") {
          out.stats = { ...(r.instance as Queue | Topic).stats() };
        }
        return out;
      }),
    };
  }
}

/**
 * The storages among `needed` that only http-api services of `names` use: the API reads, so
 * its process opens them read-only (and may lack the permission to write them).
 */
function readOnlyStorages(
  config: ResolvedConfig,
  names: readonly string[],
  needed: ReadonlySet<string>,
): Set<string> {
  const written = new Set<string>();
  for (const n of names) {
    const s = config.services[n]!;
    if (s.kind === "http-api") continue;
    for (const v of Object.values(s)) if (typeof v === "string") written.add(v);
  }
  return new Set(
    [...needed].filter((n) => {
      const kind = config.resources[n]?.kind;
      return (kind === "filesystem" || kind === "s3") && !written.has(n);
    }),
  );
}

/** The http-api service's token: the config's, else the environment's (an empty one is none). */
function apiToken(configured: string | undefined): { token?: string } {
  const token = configured ?? Deno.env.get(API_TOKEN_ENV);
  return token === undefined || token === "" ? {} : { token };
}

/** Builds the repository's web client when it is missing or stale (web/ensure_built.ts). */
async function buildRepositoryWeb(): Promise<void> {
  await ensureWebBuilt();
}

/**
 * The run id of the config's engine among `names`: its configured one, or a new one chosen now
 * (undefined without an engine), so that services built beside it can know its run.
 */
function engineRunId(config: ResolvedConfig, names: readonly string[]): string | undefined {
  for (const n of names) {
    const s = config.services[n];
    if (s?.kind === "simulation-engine") return s.runId ?? newRunId(s.engine.seed);
  }
  return undefined;
}

/** The indexing thread of one storage, owned by the pipeline (closed in stop()). */
function startIndexThread(
  name: string,
  config: ResolvedResource,
  closers: (() => void)[],
): IndexThread {
  const thread = new IndexThread({ name, config });
  thread.warmUp();
  closers.push(() => thread.close());
  return thread;
}

/** A chunk encoder thread for one engine, owned by the pipeline (closed in stop()). */
function startEncoderThread(closers: (() => void)[]): ChunkEncoderThread {
  const thread = new ChunkEncoderThread();
  thread.warmUp();
  closers.push(() => thread.close());
  return thread;
}

/** A zstd thread, owned by the pipeline (closed in stop()). */
function startZstdWorker(closers: (() => void)[]): ZstdWorker {
  const worker = new ZstdWorker();
  worker.warmUp();
  closers.push(() => worker.close());
  return worker;
}
