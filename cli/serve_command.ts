/**
 * `evochora serve`: the query API and the web client over existing data, with the indexers
 * catching up on whatever batches lack their index files. The data is a directory
 * (`--data-dir D`) or the storage a config file names (`--config F`, S3 included), whose
 * http-api service, when it has one, gives the API settings that no flag overrides. The web
 * client is built on first start when web/dist is missing or stale. Bound to anything but
 * loopback, it needs an access token (`--token` or EVOCHORA_API_TOKEN) and refuses to start
 * without one.
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
import {
  Pipeline,
  type PipelineConfig,
  resolveConfig,
  type ResolvedConfig,
  type ResolvedService,
  type ResourceConfig,
} from "../services/runner/mod.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { loadConfigFlag } from "./config_flag.ts";

export const SERVE_USAGE =
  `Usage: evochora serve [--data-dir D | --config F] [--port P] [--host H] [--token T]
                      [--allow-host NAME]... [--cache-mb N] [--no-index]

Serves the query API and the web client over the runs in D (or in the storage F names), and
indexes batches that have no index files yet. Binds 127.0.0.1 unless --host (or F's http-api
service) says otherwise; there it answers only requests addressed to this machine (localhost,
127.0.0.1, [::1]). Any other host needs an access token, which every request must then carry
('Authorization: Bearer T'; a browser opens /?token=T once).

Options:
  --data-dir D        root of filesystem storage (default ./data)
  --config F          serve the storage config file F names instead (its http-api service's,
                      else the one its persistence writes to; S3 included); host, port, token,
                      allowed hosts and cache size come from F's http-api service when it has
                      one, and the flags below override them
  --port P            port (default 8080; 0 picks a free one)
  --host H            interface to bind (default 127.0.0.1)
  --token T           access token, at least ${MIN_TOKEN_LENGTH} characters (default: F's, else the
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
  /** Directory of the built web client (the http-api service's default if absent). */
  webRoot?: string;
}

/** Options of {@link serveConfig}. */
export interface ServeConfigOptions {
  /** The storage to serve: a filesystem root or an S3 bucket and prefix. */
  storage: ResourceConfig;
  access: ServeAccess;
  /** Run the three indexers (catching up from storage). */
  index: boolean;
}

/** The serve setup: storage, an idle topic for the indexers, indexers, API. */
export function serveConfig(options: ServeConfigOptions): PipelineConfig {
  const services: PipelineConfig["services"] = {};
  if (options.index) {
    for (const i of ["stats", "organisms", "catalog"] as const) {
      services[`${i}-indexer`] = {
        kind: "indexer",
        index: i,
        input: "batch-topic",
        storage: "tick-storage",
      };
    }
  }
  const { host, port, token, allowedHosts, cacheBytes, webRoot } = options.access;
  services["http-api"] = {
    kind: "http-api",
    storage: "tick-storage",
    host,
    port,
    ...(token === undefined ? {} : { token }),
    ...(allowedHosts === undefined ? {} : { allowedHosts }),
    ...(cacheBytes === undefined ? {} : { cacheBytes }),
    ...(webRoot === undefined ? {} : { webRoot }),
  };
  return {
    resources: {
      "batch-topic": { kind: "memory-topic", partitions: 1 },
      "tick-storage": options.storage,
    },
    services,
  };
}

/** The http-api service of a resolved config, if it has one. */
type ApiSettings = Extract<ResolvedService, { kind: "http-api" }>;

/** What `--config F` contributes: the storage to serve and F's API settings. */
interface ConfigSource {
  storage: ResourceConfig;
  api: ApiSettings | undefined;
}

/**
 * The storage a config's API serves (else the one its persistence writes to, else its first
 * storage) and its http-api settings. Throws CliError naming the file when it has no storage.
 */
export function configSource(resolved: ResolvedConfig, path: string): ConfigSource {
  const services = Object.values(resolved.services);
  const api = services.find((s): s is ApiSettings => s.kind === "http-api");
  const isStorage = (n: string) => {
    const kind = resolved.resources[n]?.kind;
    return kind === "filesystem" || kind === "s3";
  };
  const writers = services
    .filter((s) => s.kind === "persistence" || s.kind === "metadata-persistence")
    .map((s) => (s as { storage: string }).storage);
  const name = [api?.storage, ...writers, ...Object.keys(resolved.resources)]
    .find((n): n is string => n !== undefined && isStorage(n));
  if (name === undefined) {
    throw new CliError(`${path}: the config has no storage resource (filesystem or s3) to serve`);
  }
  return { storage: resolved.resources[name]!, api };
}

/** Runs `evochora serve`. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
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
  if (values.config !== undefined && values["data-dir"] !== undefined) {
    throw new CliError("--data-dir and --config both name the data to serve; pass one of them");
  }
  const source = values.config === undefined
    ? await dataDirSource(values["data-dir"] ?? "./data")
    : configSource((await loadConfigFlag(values.config)).resolved, values.config);
  const access = serveAccess(values, source.api);
  const config = resolveConfig(
    serveConfig({ storage: source.storage, access, index: !values["no-index"] }),
  );
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config);
    await pipeline.start();
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  const api = pipeline.services.find((s): s is ApiService => s instanceof ApiService)!;
  const where = pipeline.resources.get("tick-storage")!.description;
  console.log(`Evochora: ${api.url}/ (data in ${where}); Ctrl-C to stop`);
  if (access.token !== undefined) {
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

/** `--data-dir D` as a source: filesystem storage at D, which must be a directory. */
async function dataDirSource(dir: string): Promise<ConfigSource> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error();
  } catch {
    throw new CliError(`--data-dir '${dir}' is not a directory; pass the directory a run wrote to`);
  }
  return { storage: { kind: "filesystem", root: dir }, api: undefined };
}

/** The serve flags that set how the API is reached. */
interface AccessFlags {
  port?: string | undefined;
  host?: string | undefined;
  token?: string | undefined;
  "allow-host"?: string[] | undefined;
  "cache-mb"?: string | undefined;
}

/** The API's access settings: each flag, else the config's http-api setting, else the default. */
function serveAccess(values: AccessFlags, api: ApiSettings | undefined): ServeAccess {
  const port = intFlag("port", values.port, api?.port ?? 8080);
  if (port > 65535) throw new CliError(`--port must be 0..65535, got ${port}`);
  const host = values.host ?? api?.host ?? "127.0.0.1";
  const token = serveToken(values.token, api?.token, {
    host,
    what: values.host !== undefined ? `--host ${host}` : `host ${host} (of the config's http-api)`,
  });
  const allowedHosts = values["allow-host"] ??
    (api !== undefined && api.allowedHosts.length > 0 ? api.allowedHosts : undefined);
  for (const name of values["allow-host"] ?? []) {
    if (!/^[^\s:/@]+$|^\[[0-9a-fA-F:.]+\]$/.test(name)) {
      throw new CliError(`--allow-host expects a host name without port, got '${name}'`);
    }
  }
  const access: ServeAccess = { host, port };
  if (token !== undefined) access.token = token;
  if (allowedHosts !== undefined) access.allowedHosts = allowedHosts;
  if (values["cache-mb"] !== undefined) {
    access.cacheBytes = intFlag("cache-mb", values["cache-mb"], 704, 1, 1 << 20) * 2 ** 20;
  } else if (api !== undefined) {
    access.cacheBytes = api.cacheBytes;
  }
  if (api?.webRoot !== undefined) access.webRoot = api.webRoot;
  return access;
}

/**
 * The access token from --token, the config or the environment (an empty one is none), checked; a bind
 * beyond loopback without one is refused with what to do.
 */
function serveToken(
  flag: string | undefined,
  fromConfig: string | undefined,
  bind: { host: string; what: string },
): string | undefined {
  const { host, what } = bind;
  const fromEnv = Deno.env.get(API_TOKEN_ENV);
  const token = flag ?? fromConfig ?? (fromEnv === "" ? undefined : fromEnv);
  if (token === undefined) {
    if (isLoopbackBind(host)) return undefined;
    throw new CliError(
      `${what} lets other machines reach the API, so it needs an access token: pass ` +
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
