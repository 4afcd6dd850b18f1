/**
 * The query API as a pipeline service: the Hono app served by `Deno.serve`, on 127.0.0.1 by
 * default.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import type { Service, ServiceState, ServiceStatus } from "../runner/service.ts";
import { type AppOptions, buildApi } from "./app.ts";

/** Options of {@link ApiService}. */
export interface ApiServiceOptions extends Omit<AppOptions, "storage" | "signal" | "log"> {
  name: string;
  storage: Storage;
  /** Interface to bind. Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Where unexpected errors are logged. Default console.error. */
  log?: (message: string) => void;
}

/** Serves the query API over HTTP. */
export class ApiService implements Service {
  readonly name: string;
  /** The service kind, as in the runner's config. */
  readonly kind = "http-api";
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  readonly #options: ApiServiceOptions;
  readonly #closing = new AbortController();
  readonly #api: ReturnType<typeof buildApi>;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #state: ServiceState = "created";
  #error: string | undefined;
  #url = "";
  #startedAt = 0;

  constructor(options: ApiServiceOptions) {
    this.name = options.name;
    this.#options = options;
    const { name: _n, host: _h, port: _p, ...app } = options;
    this.#api = buildApi({ ...app, signal: this.#closing.signal });
    this.done = new Promise((r) => this.#resolveDone = r);
  }

  /** The Hono app (for in-process requests without a socket). */
  get app(): ReturnType<typeof buildApi>["app"] {
    return this.#api.app;
  }

  /** The bound base URL, e.g. `http://127.0.0.1:8080`; empty before start. */
  get url(): string {
    return this.#url;
  }

  start(): Promise<void> {
    if (this.#state !== "created") {
      return Promise.reject(new Error(`Service '${this.name}' was started already`));
    }
    this.#state = "starting";
    const hostname = this.#options.host ?? "127.0.0.1";
    try {
      this.#server = Deno.serve({
        hostname,
        port: this.#options.port ?? 8080,
        onListen: () => {},
      }, this.#api.app.fetch);
    } catch (e) {
      this.#state = "failed";
      this.#error = `Cannot listen on ${hostname}:${this.#options.port ?? 8080}: ${
        (e as Error).message
      }`;
      this.#resolveDone();
      return Promise.reject(new Error(this.#error, { cause: e }));
    }
    const addr = this.#server.addr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    this.#url = `http://${host}:${addr.port}`;
    this.#startedAt = performance.now();
    this.#state = "running";
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "failed") return;
    if (this.#server === undefined) {
      this.#state = "stopped";
      this.#resolveDone();
      return;
    }
    if (this.#state === "stopping") return await this.done;
    this.#state = "stopping";
    // Live streams never end by themselves; end them so that shutdown can finish.
    this.#closing.abort();
    await this.#server.shutdown();
    this.#state = "stopped";
    this.#resolveDone();
  }

  status(): ServiceStatus {
    const metrics: Record<string, number> = {
      requests: this.#api.counters.total(),
      uptime_seconds: this.#startedAt === 0 ? 0 : (performance.now() - this.#startedAt) / 1000,
    };
    if (this.#server !== undefined) metrics.port = this.#server.addr.port;
    for (const c of this.#api.store.cacheStats()) {
      metrics[`cache_${c.name}_hits`] = c.hits;
      metrics[`cache_${c.name}_misses`] = c.misses;
      metrics[`cache_${c.name}_bytes`] = c.bytes;
    }
    const s: ServiceStatus = { name: this.name, kind: this.kind, state: this.#state, metrics };
    if (this.#error !== undefined) s.error = this.#error;
    return s;
  }
}
