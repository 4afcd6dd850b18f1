/**
 * Validation of a pipeline config: checks every field, fills in defaults, and checks that
 * services name resources of the right kind (a queue, a topic or a storage). Errors are
 * ConfigErrors naming the field, e.g. `services.persistence-1.storage`.
 *
 * @module
 */

import { ConfigError, type EngineConfigInput } from "../simulation_engine/runtime/mod.ts";
import { DEFAULT_CACHE_BYTES } from "../api/cache_budget.ts";
import { tokenProblem } from "../api/access_token.ts";
import { isRunId, RUN_ID_RULE } from "../common/storage_layout.ts";
import type { ResolvedConfig, ResolvedResource, ResolvedService } from "./config_types.ts";

const RESOURCE_KINDS = [
  "memory-queue",
  "memory-topic",
  "filesystem",
  "s3",
  "kafka-queue",
  "kafka-topic",
] as const;
const SERVICE_KINDS = [
  "simulation-engine",
  "metadata-persistence",
  "persistence",
  "indexer",
  "http-api",
] as const;
const QUEUE_KINDS = new Set(["memory-queue", "kafka-queue"]);
const TOPIC_KINDS = new Set(["memory-topic", "kafka-topic"]);
const STORAGE_KINDS = new Set(["filesystem", "s3"]);

type Obj = Record<string, unknown>;

/** True for a plain object (not null, not an array). */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(path: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ConfigError(path, `expected an integer, got ${JSON.stringify(v)}`);
  }
  // Beyond 2^53 a number is no longer exact: the file's digits are already lost, so echoing
  // the value would show a number nobody wrote.
  if (!Number.isSafeInteger(v)) {
    throw new ConfigError(
      path,
      `expected ${min}..${max}, got a number too ${v > 0 ? "large" : "small"} to be exact ` +
        `(beyond ±2^53-1)`,
    );
  }
  if (v < min || v > max) throw new ConfigError(path, `expected ${min}..${max}, got ${v}`);
  return v;
}

function str(path: string, v: unknown, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string" || v.length === 0) {
    throw new ConfigError(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Whether an engine encodes its chunks on a worker thread unless its config says: where the
 * machine has a core to spare for it (see SimulationEngineServiceConfig.encodeOnWorker).
 */
export function encodeOnWorkerByDefault(cores = navigator.hardwareConcurrency): boolean {
  return cores >= 4;
}

function bool(path: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new ConfigError(path, "expected true or false");
  return v;
}

function onlyFields(path: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${path}.${k}`, `unknown field; allowed: ${allowed.join(", ")}`);
    }
  }
}

function resolveResource(name: string, raw: unknown): ResolvedResource {
  const path = `resources.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  const kind = raw.kind;
  switch (kind) {
    case "memory-queue":
      onlyFields(path, raw, ["kind", "partitions", "maxBytes"]);
      return {
        kind,
        partitions: int(`${path}.partitions`, raw.partitions, 6, 1, 1024),
        maxBytes: int(`${path}.maxBytes`, raw.maxBytes, 256 * 2 ** 20, 1024, 2 ** 40),
      };
    case "memory-topic":
      onlyFields(path, raw, ["kind", "partitions", "retention"]);
      return {
        kind,
        partitions: int(`${path}.partitions`, raw.partitions, 3, 1, 1024),
        retention: int(`${path}.retention`, raw.retention, 10000, 1, 2 ** 31),
      };
    case "filesystem":
      onlyFields(path, raw, ["kind", "root"]);
      return { kind, root: str(`${path}.root`, raw.root) };
    case "kafka-queue": {
      onlyFields(path, raw, [
        "kind",
        "topic",
        "partitions",
        "maxMessageBytes",
        "maxBytes",
        "compression",
        "lingerMs",
        "groups",
      ]);
      const compression = raw.compression ?? "zstd";
      if (compression !== "zstd" && compression !== "none") {
        throw new ConfigError(
          `${path}.compression`,
          `unknown compression ${JSON.stringify(compression)}; allowed: zstd, none`,
        );
      }
      const groups = raw.groups ?? [];
      if (!Array.isArray(groups) || groups.some((g) => typeof g !== "string")) {
        throw new ConfigError(`${path}.groups`, "expected an array of group names");
      }
      return {
        kind,
        topic: str(`${path}.topic`, raw.topic, name),
        partitions: int(`${path}.partitions`, raw.partitions, 6, 1, 10000),
        maxMessageBytes: int(
          `${path}.maxMessageBytes`,
          raw.maxMessageBytes,
          900 * 1024,
          1024,
          2 ** 30,
        ),
        maxBytes: int(`${path}.maxBytes`, raw.maxBytes, 64 * 2 ** 20, 1024, 2 ** 40),
        compression,
        lingerMs: int(`${path}.lingerMs`, raw.lingerMs, 0, 0, 60000),
        groups: groups as string[],
      };
    }
    case "kafka-topic": {
      onlyFields(path, raw, ["kind", "topic", "partitions", "retentionMs"]);
      const out: ResolvedResource = {
        kind,
        topic: str(`${path}.topic`, raw.topic, name),
        partitions: int(`${path}.partitions`, raw.partitions, 3, 1, 10000),
      };
      if (raw.retentionMs !== undefined) {
        out.retentionMs = int(`${path}.retentionMs`, raw.retentionMs, 0, 10_000, 2 ** 50);
      }
      return out;
    }
    case "s3": {
      onlyFields(path, raw, ["kind", "bucket", "prefix", "partSize", "conditionalWrites"]);
      const bucket = raw.bucket ?? Deno.env.get("EVOCHORA_S3_BUCKET");
      if (bucket === undefined) {
        throw new ConfigError(
          `${path}.bucket`,
          "missing; set it or the EVOCHORA_S3_BUCKET variable",
        );
      }
      const cw = raw.conditionalWrites ?? "auto";
      if (cw !== "auto" && cw !== "required" && cw !== "check") {
        throw new ConfigError(
          `${path}.conditionalWrites`,
          `unknown mode ${JSON.stringify(cw)}; allowed: auto, required, check`,
        );
      }
      return {
        kind,
        bucket: str(`${path}.bucket`, bucket),
        prefix: raw.prefix === undefined ? "" : String(raw.prefix),
        partSize: int(`${path}.partSize`, raw.partSize, 8 * 2 ** 20, 5 * 2 ** 20, 5 * 2 ** 30),
        conditionalWrites: cw,
      };
    }
    default:
      throw new ConfigError(
        `${path}.kind`,
        `unknown kind ${JSON.stringify(kind)}; allowed: ${RESOURCE_KINDS.join(", ")}`,
      );
  }
}

function ref(
  path: string,
  v: unknown,
  resources: Record<string, ResolvedResource>,
  kinds: Set<string>,
  what: string,
): string {
  const name = str(path, v);
  const r = resources[name];
  if (r === undefined) {
    throw new ConfigError(
      path,
      `no resource named '${name}'; defined: ${Object.keys(resources).join(", ") || "none"}`,
    );
  }
  if (!kinds.has(r.kind)) {
    throw new ConfigError(path, `resource '${name}' is a ${r.kind}, expected ${what}`);
  }
  return name;
}

function resolveService(
  name: string,
  raw: unknown,
  resources: Record<string, ResolvedResource>,
): ResolvedService {
  const path = `services.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  const kind = raw.kind;
  const queue = (f: string) => ref(`${path}.${f}`, raw[f], resources, QUEUE_KINDS, "a queue");
  switch (kind) {
    case "simulation-engine": {
      onlyFields(path, raw, [
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
      if (raw.engine !== undefined && !isObj(raw.engine)) {
        throw new ConfigError(`${path}.engine`, "expected an object");
      }
      const out: ResolvedService = {
        kind,
        output: queue("output"),
        metadataOutput: queue("metadataOutput"),
        engine: (raw.engine ?? {}) as EngineConfigInput,
        ticks: int(`${path}.ticks`, raw.ticks, 0, 0, Number.MAX_SAFE_INTEGER),
        chunksPerBatch: int(`${path}.chunksPerBatch`, raw.chunksPerBatch, 5, 1, 100000),
        zstdLevel: int(`${path}.zstdLevel`, raw.zstdLevel, 3, 1, 19),
        compressOnWorker: bool(`${path}.compressOnWorker`, raw.compressOnWorker, true),
        encodeOnWorker: bool(
          `${path}.encodeOnWorker`,
          raw.encodeOnWorker,
          encodeOnWorkerByDefault(),
        ),
        endWhenExtinct: bool(`${path}.endWhenExtinct`, raw.endWhenExtinct, true),
      };
      if (raw.runId !== undefined) {
        const id = str(`${path}.runId`, raw.runId);
        if (!isRunId(id)) {
          throw new ConfigError(`${path}.runId`, `expected ${RUN_ID_RULE}`);
        }
        out.runId = id;
      }
      if (raw.checkpointStorage !== undefined) {
        out.checkpointStorage = ref(
          `${path}.checkpointStorage`,
          raw.checkpointStorage,
          resources,
          STORAGE_KINDS,
          "a storage",
        );
      }
      return out;
    }
    case "metadata-persistence":
      onlyFields(path, raw, ["kind", "input", "storage", "group"]);
      return {
        kind,
        input: queue("input"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        group: str(`${path}.group`, raw.group, "metadata-persistence"),
      };
    case "persistence":
      for (const moved of ["zstdLevel", "compressOnWorker"]) {
        if (raw[moved] !== undefined) {
          throw new ConfigError(
            `${path}.${moved}`,
            "is a setting of the simulation-engine service now: the engine compresses each " +
              "batch once and persistence workers store it as it comes; move it there",
          );
        }
      }
      onlyFields(path, raw, [
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
        kind,
        input: queue("input"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        notify: ref(`${path}.notify`, raw.notify, resources, TOPIC_KINDS, "a topic"),
        group: str(`${path}.group`, raw.group, "persistence"),
        maxRecords: int(`${path}.maxRecords`, raw.maxRecords, 64, 1, 100000),
        drainTimeoutMs: int(`${path}.drainTimeoutMs`, raw.drainTimeoutMs, 200, 1, 600000),
        attempts: int(`${path}.attempts`, raw.attempts, 3, 1, 100),
        retryBaseMs: int(`${path}.retryBaseMs`, raw.retryBaseMs, 100, 0, 600000),
        checkOnWorker: bool(`${path}.checkOnWorker`, raw.checkOnWorker, true),
      };
    case "indexer": {
      onlyFields(path, raw, [
        "kind",
        "index",
        "input",
        "storage",
        "group",
        "catchUpIntervalMs",
        "indexOnWorker",
      ]);
      if (raw.indexOnWorker !== undefined && typeof raw.indexOnWorker !== "boolean") {
        throw new ConfigError(`${path}.indexOnWorker`, "expected true or false");
      }
      const index = raw.index;
      if (index !== "stats" && index !== "organisms" && index !== "catalog") {
        throw new ConfigError(
          `${path}.index`,
          `unknown index ${JSON.stringify(index)}; allowed: stats, organisms, catalog`,
        );
      }
      return {
        kind,
        index,
        input: ref(`${path}.input`, raw.input, resources, TOPIC_KINDS, "a topic"),
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        group: str(`${path}.group`, raw.group, `${index}-indexer`),
        catchUpIntervalMs: int(
          `${path}.catchUpIntervalMs`,
          raw.catchUpIntervalMs,
          2000,
          0,
          3600000,
        ),
        indexOnWorker: raw.indexOnWorker ?? true,
      };
    }
    case "http-api": {
      onlyFields(path, raw, [
        "kind",
        "storage",
        "host",
        "port",
        "webRoot",
        "cacheBytes",
        "token",
        "allowedHosts",
      ]);
      const allowedHosts = raw.allowedHosts ?? [];
      if (
        !Array.isArray(allowedHosts) ||
        allowedHosts.some((h) =>
          typeof h !== "string" || !/^[^\s:/@]+$|^\[[0-9a-fA-F:.]+\]$/.test(h)
        )
      ) {
        throw new ConfigError(
          `${path}.allowedHosts`,
          'expected an array of host names without port, e.g. ["evochora.example"]',
        );
      }
      const out: ResolvedService = {
        kind,
        storage: ref(`${path}.storage`, raw.storage, resources, STORAGE_KINDS, "a storage"),
        host: str(`${path}.host`, raw.host, "127.0.0.1"),
        port: int(`${path}.port`, raw.port, 8080, 0, 65535),
        cacheBytes: int(
          `${path}.cacheBytes`,
          raw.cacheBytes,
          DEFAULT_CACHE_BYTES,
          2 ** 20,
          2 ** 40,
        ),
        allowedHosts: allowedHosts as string[],
      };
      if (raw.webRoot !== undefined) out.webRoot = str(`${path}.webRoot`, raw.webRoot);
      if (raw.token !== undefined) {
        // Never echo the token itself: the message would show it in logs.
        const problem = typeof raw.token === "string" ? tokenProblem(raw.token) : "not a string";
        if (problem !== null) throw new ConfigError(`${path}.token`, problem);
        out.token = raw.token as string;
      }
      return out;
    }
    default:
      throw new ConfigError(
        `${path}.kind`,
        `unknown kind ${JSON.stringify(kind)}; allowed: ${SERVICE_KINDS.join(", ")}`,
      );
  }
}

/** Validates a config and fills in defaults. Throws ConfigError naming the field. */
export function resolveConfig(input: unknown): ResolvedConfig {
  if (!isObj(input)) throw new ConfigError("(root)", "expected an object from defineConfig()");
  onlyFields("(root)", input, ["resources", "services", "startupSequence", "status"]);
  if (!isObj(input.resources)) {
    throw new ConfigError(
      "resources",
      `${input.resources === undefined ? "missing" : "not an object"}; expected ` +
        `the queues, topics and storage by name, e.g. { "tick-storage": { kind: "filesystem", ` +
        `root: "./data" } }`,
    );
  }
  if (!isObj(input.services)) {
    throw new ConfigError(
      "services",
      `${input.services === undefined ? "missing" : "not an object"}; expected ` +
        `the services by name, e.g. { "simulation-engine": { kind: "simulation-engine", ... } }`,
    );
  }
  const resources: Record<string, ResolvedResource> = {};
  for (const [name, raw] of Object.entries(input.resources)) {
    resources[name] = resolveResource(name, raw);
  }
  const services: Record<string, ResolvedService> = {};
  for (const [name, raw] of Object.entries(input.services)) {
    services[name] = resolveService(name, raw, resources);
  }
  const names = Object.keys(services);
  let sequence = names;
  if (input.startupSequence !== undefined) {
    if (!Array.isArray(input.startupSequence)) {
      throw new ConfigError("startupSequence", "expected an array of service names");
    }
    sequence = input.startupSequence.map((n, i) => {
      if (typeof n !== "string" || services[n] === undefined) {
        throw new ConfigError(
          `startupSequence[${i}]`,
          `no service named ${JSON.stringify(n)}; defined: ${names.join(", ")}`,
        );
      }
      return n;
    });
    const dup = sequence.find((n, i) => sequence.indexOf(n) !== i);
    if (dup) throw new ConfigError("startupSequence", `'${dup}' appears twice`);
    const missing = names.filter((n) => !sequence.includes(n));
    if (missing.length > 0) {
      throw new ConfigError("startupSequence", `does not start: ${missing.join(", ")}`);
    }
  }
  const engines = names.filter((n) => services[n]!.kind === "simulation-engine");
  if (engines.length > 1) {
    throw new ConfigError("services", `more than one simulation-engine: ${engines.join(", ")}`);
  }
  const out: ResolvedConfig = { resources, services, startupSequence: sequence };
  if (input.status !== undefined) {
    out.status = ref("status", input.status, resources, TOPIC_KINDS, "a topic");
  }
  return out;
}
