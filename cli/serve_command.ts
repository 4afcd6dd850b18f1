/**
 * `evochora serve`: the query API and the web client over existing data, with the indexers
 * catching up on whatever batches lack their index files. The web client is built on first
 * start when web/dist is missing or stale. Bound to anything but loopback, it needs an access
 * token (`--token` or EVOCHORA_API_TOKEN) and refuses to start without one.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  API_TOKEN_ENV,
  ApiService,
  isLoopbackBind,
  MIN_TOKEN_LENGTH,
  tokenProblem,
} from "../services/api/mod.ts";
import { Pipeline, type PipelineConfig, resolveConfig } from "../services/runner/mod.ts";
import { CliError, intFlag } from "./cli_error.ts";

export const SERVE_USAGE = `Usage: evochora serve [--data-dir D] [--port P] [--host H] [--token T]
                      [--allow-host NAME]... [--cache-mb N] [--no-index]

Serves the query API and the web client over the runs in D, and indexes batches that have no
index files yet. Binds 127.0.0.1 unless --host says otherwise; there it answers only requests
addressed to this machine (localhost, 127.0.0.1, [::1]). Any other --host needs an access token,
which every request must then carry ('Authorization: Bearer T'; a browser opens /?token=T once).

Options:
  --data-dir D        root of filesystem storage (default ./data)
  --port P            port (default 8080; 0 picks a free one)
  --host H            interface to bind (default 127.0.0.1)
  --token T           access token, at least ${MIN_TOKEN_LENGTH} characters (default: the
                      ${API_TOKEN_ENV} environment variable, which keeps it out of
                      the process list); required unless H is loopback
  --allow-host NAME   also answer requests addressed to NAME (e.g. a reverse proxy's host name)
  --cache-mb N        MiB all the API's caches may hold together (default 704); the process
                      needs about this much plus a few hundred MiB
  --no-index          do not run the indexers
  -h, --help          show this help`;

/** How `serve` is reached: interface, port, token and extra host names. */
export interface ServeAccess {
  host: string;
  port: number;
  token?: string;
  allowedHosts?: string[];
  /** Bytes all the API's caches may hold together (the http-api service's default if absent). */
  cacheBytes?: number;
}

/** The serve setup: storage, an idle topic for the indexers, indexers, API. */
export function serveConfig(
  dataDir: string,
  access: ServeAccess,
  index: boolean,
): PipelineConfig {
  const services: PipelineConfig["services"] = {};
  if (index) {
    for (const i of ["stats", "organisms", "catalog"] as const) {
      services[`${i}-indexer`] = {
        kind: "indexer",
        index: i,
        input: "batch-topic",
        storage: "tick-storage",
      };
    }
  }
  const { host, port, token, allowedHosts, cacheBytes } = access;
  services["http-api"] = {
    kind: "http-api",
    storage: "tick-storage",
    host,
    port,
    ...(token === undefined ? {} : { token }),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    ...(cacheBytes === undefined ? {} : { cacheBytes }),
  };
  return {
    resources: {
      "batch-topic": { kind: "memory-topic", partitions: 1 },
      "tick-storage": { kind: "filesystem", root: dataDir },
    },
    services,
  };
}

/** Runs `evochora serve`. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string", default: "./data" },
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string" },
      "allow-host": { type: "string", multiple: true },
      "cache-mb": { type: "string" },
      "no-index": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const port = intFlag("port", values.port, 8080);
  if (port > 65535) throw new CliError(`--port must be 0..65535, got ${port}`);
  const dir = values["data-dir"]!;
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error();
  } catch {
    throw new CliError(`--data-dir '${dir}' is not a directory; pass the directory a run wrote to`);
  }
  const host = values.host!;
  const token = serveToken(values.token, host);
  const allowedHosts = values["allow-host"];
  for (const name of allowedHosts ?? []) {
    if (!/^[^\s:/@]+$|^\[[0-9a-fA-F:.]+\]$/.test(name)) {
      throw new CliError(`--allow-host expects a host name without port, got '${name}'`);
    }
  }
  const access: ServeAccess = { host, port };
  if (token !== undefined) access.token = token;
  if (allowedHosts !== undefined) access.allowedHosts = allowedHosts;
  if (values["cache-mb"] !== undefined) {
    access.cacheBytes = intFlag("cache-mb", values["cache-mb"], 704, 1, 1 << 20) * 2 ** 20;
  }
  const config = resolveConfig(serveConfig(dir, access, !values["no-index"]));
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config);
    await pipeline.start();
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  const api = pipeline.services.find((s): s is ApiService => s instanceof ApiService)!;
  console.log(`Evochora: ${api.url}/ (data in ${dir}); Ctrl-C to stop`);
  if (token !== undefined) {
    // The token itself is not printed: logs keep what a terminal shows.
    console.log(
      `Access token required: open ${api.url}/?token=<token> in a browser; programs send ` +
        `'Authorization: Bearer <token>'`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  await pipeline.stop(0);
  return 0;
}

/**
 * The access token from --token or the environment (an empty one is none), checked; a bind
 * beyond loopback without one is refused with what to do.
 */
function serveToken(flag: string | undefined, host: string): string | undefined {
  const fromEnv = Deno.env.get(API_TOKEN_ENV);
  const token = flag ?? (fromEnv === "" ? undefined : fromEnv);
  if (token === undefined) {
    if (isLoopbackBind(host)) return undefined;
    throw new CliError(
      `--host ${host} lets other machines reach the API, so it needs an access token: pass ` +
        `--token T or set ${API_TOKEN_ENV} (at least ${MIN_TOKEN_LENGTH} characters, e.g. ` +
        `from 'openssl rand -hex 16'), or bind 127.0.0.1`,
    );
  }
  const problem = tokenProblem(token);
  if (problem !== null) {
    throw new CliError(`${flag !== undefined ? "--token" : API_TOKEN_ENV}: ${problem}`);
  }
  return token;
}
