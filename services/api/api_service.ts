/**
 * The query API as a pipeline service: the Hono app served by `Deno.serve`, on 127.0.0.1 by
 * default. Bound to loopback, it answers only requests whose Host names this machine (a guard
 * against DNS rebinding); bound to anything else, it refuses to start without an access token.
 *
 * @module
 */

import type { Storage } from "../../resources/storage/storage.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import { API_TOKEN_ENV } from "./access_token.ts";
import { type AppOptions, buildApi } from "./app.ts";
import { acceptedHosts, isLoopbackBind } from "./host_check.ts";

/** Options of {@link ApiService}. */
export interface ApiServiceOptions
  extends Omit<AppOptions, "storage" | "signal" | "log" | "allowedHosts"> {
  name: string;
  storage: Storage;
  /**
   * Interface to bind. Default 127.0.0.1 (this machine only). Any other than loopback needs a
   * `token`.
   */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /**
   * Host names a request may name besides the loopback names and the bound address (e.g. a
   * reverse proxy's); with a non-loopback bind, the only ones accepted. Default none.
   */
  allowedHosts?: readonly string[];
  /**
   * Makes the web client's files ready before the server listens (e.g. builds them when they
   * are missing or stale). A failure is logged and the server starts anyway, with the text page.
   */
  prepareWeb?: () => Promise<void>;
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
    const { name: _n, host: _h, port: _p, allowedHosts: _a, prepareWeb: _w, ...app } = options;
    const allowedHosts = acceptedHosts(options.host ?? "127.0.0.1", options.allowedHosts);
    this.#api = buildApi({
      ...app,
      ...(allowedHosts === undefined ? {} : { allowedHosts }),
      signal: this.#closing.signal,
    });
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
    return this.#life.start(async () => {
      this.#checkAccess();
      await this.#prepareWeb();
      this.#listen();
    }, async (signal) => {
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      // Live streams never end by themselves; end them so that shutdown can finish.
      this.#closing.abort();
      await this.#server!.shutdown();
    });
  }

  /** A server others can reach must have a token (buildApi has checked a given one). */
  #checkAccess(): void {
    const { host = "127.0.0.1", token } = this.#options;
    if (token !== undefined || isLoopbackBind(host)) return;
    throw new Error(
      `Cannot listen on ${host} without an access token: anyone who reaches it could read ` +
        `every run. Set the http-api service's token or ${API_TOKEN_ENV}, or bind 127.0.0.1`,
    );
  }

  async #prepareWeb(): Promise<void> {
    if (this.#options.prepareWeb === undefined) return;
    try {
      await this.#options.prepareWeb();
    } catch (e) {
      (this.#options.log ?? console.error)(
        `api: the web client is not available, serving a text page at / instead: ` +
          (e as Error).message,
      );
    }
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
    for (const c of this.#api.cacheStats()) {
      metrics[`cache_${c.name}_hits`] = c.hits;
      metrics[`cache_${c.name}_misses`] = c.misses;
      metrics[`cache_${c.name}_bytes`] = c.bytes;
    }
    return this.#life.status(metrics);
  }
}
