/**
 * The query API as a pipeline service: the Hono app served by `Deno.serve`, on 127.0.0.1 by
 * default.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
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
  readonly #life: Lifecycle;
  readonly #options: ApiServiceOptions;
  readonly #closing = new AbortController();
  readonly #api: ReturnType<typeof buildApi>;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #url = "";
  #startedAt = 0;

  constructor(options: ApiServiceOptions) {
    this.name = options.name;
    this.#options = options;
    const { name: _n, host: _h, port: _p, ...app } = options;
    this.#api = buildApi({ ...app, signal: this.#closing.signal });
    this.#life = new Lifecycle(this.name, this.kind);
  }

  /** See Service.done. */
  get done(): Promise<void> {
    return this.#life.done;
  }

  /** The Hono app (for in-process requests without a socket). */
  get app(): ReturnType<typeof buildApi>["app"] {
    return this.#api.app;
  }

  /** The bound base URL, e.g. `http://127.0.0.1:8080`; empty before start. */
  get url(): string {
    return this.#url;
  }

  /** Binds the port (a clear error when it cannot), then serves until stop(). */
  start(): Promise<void> {
    return this.#life.start(() => this.#listen(), async (signal) => {
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      // Live streams never end by themselves; end them so that shutdown can finish.
      this.#closing.abort();
      await this.#server!.shutdown();
    });
  }

  #listen(): void {
    const hostname = this.#options.host ?? "127.0.0.1";
    try {
      this.#server = Deno.serve({
        hostname,
        port: this.#options.port ?? 8080,
        onListen: () => {},
      }, this.#api.app.fetch);
    } catch (e) {
      throw new Error(
        `Cannot listen on ${hostname}:${this.#options.port ?? 8080}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const addr = this.#server.addr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    this.#url = `http://${host}:${addr.port}`;
    this.#startedAt = performance.now();
  }

  /** Ends live streams and shuts the server down. */
  stop(): Promise<void> {
    return this.#life.stop();
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
    return this.#life.status(metrics);
  }
}
