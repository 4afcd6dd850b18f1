/**
 * Validation of the `services` of a pipeline config: one resolver per service kind, each
 * checking the fields its kind has, filling in their defaults, and checking that the
 * resources it names exist and are of the right kind (a queue, a topic or a storage).
 *
 * @module
 */

import { ConfigError, type EngineConfigInput } from "../simulation_engine/runtime/mod.ts";
import { DEFAULT_CACHE_BYTES } from "../api/cache_budget.ts";
import { tokenProblem } from "../api/access_token.ts";
import { isRunId, RUN_ID_RULE } from "../common/storage_layout.ts";
import {
  byKind,
  Fields,
  type FieldsAt,
  isObj,
  QUEUE,
  ref,
  type ResourceRole,
  STORAGE,
  TOPIC,
} from "./_config_fields.ts";
import type { ResolvedResource, ResolvedService } from "./config_types.ts";

/**
 * Whether an engine encodes its chunks on a worker thread unless its config says: where the
 * machine has a core to spare for it (see SimulationEngineServiceConfig.encodeOnWorker).
 */
export function encodeOnWorkerByDefault(cores = navigator.hardwareConcurrency): boolean {
  return cores >= 4;
}

/** Where a service sits in the config, its raw fields, and the resources it may name. */
interface ServiceAt extends FieldsAt {
  resources: Record<string, ResolvedResource>;
}

/** The fields of a service, which may also name resources. */
class ServiceFields extends Fields {
  readonly resources: Record<string, ResolvedResource>;

  constructor(at: ServiceAt) {
    super(at);
    this.resources = at.resources;
  }

  /** The resource `field` names, which must be one of `role`'s kinds. */
  ref(field: string, role: ResourceRole): string {
    return ref(this.at(field), this.raw[field], this.resources, role);
  }
}

/** Resolves service `name`; its `kind` picks the fields it may have. */
export function resolveService(
  name: string,
  raw: unknown,
  resources: Record<string, ResolvedResource>,
): ResolvedService {
  const path = `services.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  return byKind(new ServiceFields({ path, raw, resources }), {
    "simulation-engine": simulationEngine,
    "metadata-persistence": metadataPersistence,
    "persistence": persistence,
    "indexer": indexer,
    "http-api": httpApi,
  });
}

/** The engine; its `engine` settings pass through unchecked here (see EngineConfigInput). */
function simulationEngine(f: ServiceFields): ResolvedService {
  f.only([
    "kind",
    "output",
    "metadataOutput",
    "engine",
    "ticks",
    "chunksPerBatch",
    "zstdLevel",
    "compressOnWorker",
    "encodeOnWorker",
    "endWhenExtinct",
    "runId",
    "checkpointStorage",
  ]);
  if (f.raw.engine !== undefined && !isObj(f.raw.engine)) {
    throw new ConfigError(f.at("engine"), "expected an object");
  }
  const out: ResolvedService = {
    kind: "simulation-engine",
    output: f.ref("output", QUEUE),
    metadataOutput: f.ref("metadataOutput", QUEUE),
    engine: (f.raw.engine ?? {}) as EngineConfigInput,
    ticks: f.int("ticks", { fallback: 0, min: 0, max: Number.MAX_SAFE_INTEGER }),
    chunksPerBatch: f.int("chunksPerBatch", { fallback: 5, min: 1, max: 100000 }),
    zstdLevel: f.int("zstdLevel", { fallback: 3, min: 1, max: 19 }),
    compressOnWorker: f.bool("compressOnWorker", true),
    encodeOnWorker: f.bool("encodeOnWorker", encodeOnWorkerByDefault()),
    endWhenExtinct: f.bool("endWhenExtinct", true),
  };
  if (f.raw.runId !== undefined) out.runId = runId(f);
  if (f.raw.checkpointStorage !== undefined) {
    out.checkpointStorage = f.ref("checkpointStorage", STORAGE);
  }
  return out;
}

/** A run id set in the config: it is one segment of the run's storage keys, hence the rule. */
function runId(f: ServiceFields): string {
  const id = f.str("runId");
  if (!isRunId(id)) throw new ConfigError(f.at("runId"), `expected ${RUN_ID_RULE}`);
  return id;
}

/** Writes each run's metadata to storage. */
function metadataPersistence(f: ServiceFields): ResolvedService {
  f.only(["kind", "input", "storage", "group"]);
  return {
    kind: "metadata-persistence",
    input: f.ref("input", QUEUE),
    storage: f.ref("storage", STORAGE),
    group: f.str("group", "metadata-persistence"),
  };
}

/** Stores batches of chunks; its former compression settings are the engine's now. */
function persistence(f: ServiceFields): ResolvedService {
  rejectMovedToEngine(f);
  f.only([
    "kind",
    "input",
    "storage",
    "notify",
    "group",
    "maxRecords",
    "drainTimeoutMs",
    "attempts",
    "retryBaseMs",
    "checkOnWorker",
  ]);
  return {
    kind: "persistence",
    input: f.ref("input", QUEUE),
    storage: f.ref("storage", STORAGE),
    notify: f.ref("notify", TOPIC),
    group: f.str("group", "persistence"),
    maxRecords: f.int("maxRecords", { fallback: 64, min: 1, max: 100000 }),
    drainTimeoutMs: f.int("drainTimeoutMs", { fallback: 200, min: 1, max: 600000 }),
    attempts: f.int("attempts", { fallback: 3, min: 1, max: 100 }),
    retryBaseMs: f.int("retryBaseMs", { fallback: 100, min: 0, max: 600000 }),
    checkOnWorker: f.bool("checkOnWorker", true),
  };
}

/**
 * Rejects the persistence settings that moved to the engine with a message saying where they
 * went, which a plain "unknown field" would not tell an old config's author.
 */
function rejectMovedToEngine(f: ServiceFields): void {
  for (const moved of ["zstdLevel", "compressOnWorker"]) {
    if (f.raw[moved] !== undefined) {
      throw new ConfigError(
        f.at(moved),
        "is a setting of the simulation-engine service now: the engine compresses each " +
          "batch once and persistence workers store it as it comes; move it there",
      );
    }
  }
}

/** Derives one index; its consumer group defaults to one per index. */
function indexer(f: ServiceFields): ResolvedService {
  f.only([
    "kind",
    "index",
    "input",
    "storage",
    "group",
    "catchUpIntervalMs",
    "indexOnWorker",
  ]);
  const indexOnWorker = f.bool("indexOnWorker", true);
  const index = f.raw.index;
  if (index !== "stats" && index !== "organisms" && index !== "catalog") {
    throw new ConfigError(
      f.at("index"),
      `unknown index ${JSON.stringify(index)}; allowed: stats, organisms, catalog`,
    );
  }
  return {
    kind: "indexer",
    index,
    input: f.ref("input", TOPIC),
    storage: f.ref("storage", STORAGE),
    group: f.str("group", `${index}-indexer`),
    catchUpIntervalMs: f.int("catchUpIntervalMs", { fallback: 2000, min: 0, max: 3600000 }),
    indexOnWorker,
  };
}

/** The query API and the web client. */
function httpApi(f: ServiceFields): ResolvedService {
  f.only(["kind", "storage", "host", "port", "webRoot", "cacheBytes", "token", "allowedHosts"]);
  const allowedHosts = allowedHostsOf(f);
  const out: ResolvedService = {
    kind: "http-api",
    storage: f.ref("storage", STORAGE),
    host: f.str("host", "127.0.0.1"),
    port: f.int("port", { fallback: 8080, min: 0, max: 65535 }),
    cacheBytes: f.int("cacheBytes", { fallback: DEFAULT_CACHE_BYTES, min: 2 ** 20, max: 2 ** 40 }),
    allowedHosts,
  };
  if (f.raw.webRoot !== undefined) out.webRoot = f.str("webRoot");
  if (f.raw.token !== undefined) out.token = tokenOf(f.at("token"), f.raw.token);
  return out;
}

/**
 * The extra host names the API answers to: bare names or bracketed IPv6 addresses, without a
 * port, as they are compared with the Host header's name.
 */
function allowedHostsOf(f: ServiceFields): string[] {
  const allowedHosts = f.raw.allowedHosts ?? [];
  if (
    !Array.isArray(allowedHosts) ||
    allowedHosts.some((h) => typeof h !== "string" || !/^[^\s:/@]+$|^\[[0-9a-fA-F:.]+\]$/.test(h))
  ) {
    throw new ConfigError(
      f.at("allowedHosts"),
      'expected an array of host names without port, e.g. ["evochora.example"]',
    );
  }
  return allowedHosts as string[];
}

/** The API's access token, checked without ever echoing it: the message would show it in logs. */
function tokenOf(path: string, token: unknown): string {
  const problem = typeof token === "string" ? tokenProblem(token) : "not a string";
  if (problem !== null) throw new ConfigError(path, problem);
  return token as string;
}
