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
import { MetadataPersistenceService } from "../metadata_persistence/metadata_persistence_service.ts";
import { PersistenceService } from "../persistence/persistence_service.ts";
import { ZstdWorker } from "../../resources/storage/zstd_worker.ts";
import { EngineService } from "../simulation_engine/engine_service.ts";
import type { ResolvedConfig, ResolvedResource } from "./config.ts";
import { buildResource, type Resource } from "./resources.ts";
import { ensureWebBuilt, WEB_DIST } from "../../web/ensure_built.ts";
import type { PipelineStatus, ResourceStatus, Service } from "../common/service.ts";

export type { PipelineStatus, ResourceStatus };

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

  private constructor(
    config: ResolvedConfig,
    resources: Map<string, Resource>,
    services: Service[],
    closers: (() => void)[],
  ) {
    this.#closers = closers;
    this.config = config;
    this.resources = resources;
    this.services = services;
    this.engine = services.find((s): s is EngineService => s instanceof EngineService);
  }

  /**
   * Builds resources and services. `only` restricts to some services (one per process in
   * distributed setups); their resources are built, the others not.
   */
  static async create(config: ResolvedConfig, only?: readonly string[]): Promise<Pipeline> {
    const names = only ?? config.startupSequence;
    for (const n of names) {
      if (config.services[n] === undefined) {
        throw new RangeError(
          `No service named '${n}'; the config defines: ${config.startupSequence.join(", ")}`,
        );
      }
    }
    const needed = new Set<string>();
    for (const n of names) {
      const s = config.services[n]!;
      for (const v of Object.values(s)) {
        if (typeof v === "string" && config.resources[v] !== undefined) needed.add(v);
      }
    }
    const resources = new Map<string, Resource>();
    try {
      for (const name of needed) {
        resources.set(name, await buildResource(name, config.resources[name] as ResolvedResource));
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
            chunksPerBatch: s.chunksPerBatch,
          };
          if (s.runId !== undefined) o.runId = s.runId;
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
        case "indexer":
          services.push(
            new IndexerService({
              name,
              kind: s.index,
              input: topic(s.input),
              storage: storage(s.storage),
              group: s.group,
              catchUpIntervalMs: s.catchUpIntervalMs,
            }),
          );
          break;
        case "http-api":
          break; // below, once the pipeline exists
        case "persistence": {
          // One compression thread per worker, owned by the pipeline (closed in stop()).
          const compressor = s.compressOnWorker ? new ZstdWorker() : undefined;
          if (compressor !== undefined) {
            compressor.warmUp();
            closers.push(() => compressor.close());
          }
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
            zstdLevel: s.zstdLevel,
          };
          if (compressor !== undefined) o.compressor = compressor;
          services.push(new PersistenceService(o));
          break;
        }
      }
    }
    const pipeline = new Pipeline(config, resources, services, closers);
    // The API reports on the pipeline it runs in; built after, since it needs the others.
    const order = config.startupSequence.filter((n) => names.includes(n));
    for (const name of order) {
      const s = config.services[name]!;
      if (s.kind !== "http-api") continue;
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

  /** Starts the services in order. */
  async start(): Promise<void> {
    for (const s of this.services) {
      await s.start();
      this.#started.push(s);
    }
  }

  /**
   * Waits until every queue's consumer groups have committed everything (nothing left to
   * persist) and no service holds a pending batch. Resolves false on timeout.
   */
  async drained(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && !signal?.aborted) {
      if (this.#isDrained()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.#isDrained();
  }

  #isDrained(): boolean {
    for (const r of this.resources.values()) {
      if (r.role !== "queue") continue;
      const lag = (r.instance as Queue).stats().lag;
      if (Object.values(lag).some((n) => n > 0)) return false;
    }
    return this.services.every((s) => (s.status().metrics.pending_batches ?? 0) === 0);
  }

  /**
   * Stops gracefully: the engine first (it flushes its partial chunk), then waits up to
   * `drainMs` for the consumers to persist everything, then stops the rest in reverse order
   * and closes the resources. Returns whether everything accepted was persisted.
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
    const complete = errors.length === 0 ? await this.drained(drainMs, signal) : false;
    for (const s of [...this.#started].reverse()) await attempt(() => s.stop());
    this.#started = [];
    for (const c of this.#closers.splice(0)) await attempt(c);
    for (const r of this.resources.values()) await attempt(() => r.instance.close());
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "Stopping the pipeline failed");
    return complete;
  }

  status(): PipelineStatus {
    return {
      services: this.services.map((s) => s.status()),
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

/** The http-api service's token: the config's, else the environment's (an empty one is none). */
function apiToken(configured: string | undefined): { token?: string } {
  const token = configured ?? Deno.env.get(API_TOKEN_ENV);
  return token === undefined || token === "" ? {} : { token };
}

/** Builds the repository's web client when it is missing or stale (web/ensure_built.ts). */
async function buildRepositoryWeb(): Promise<void> {
  await ensureWebBuilt();
}
