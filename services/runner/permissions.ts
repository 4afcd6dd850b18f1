/**
 * The Deno permissions of a service process, derived from the resolved config and the
 * environment: each service's `permissions.ts` says what it needs in terms of its config
 * (storages and how, queues and topics, a listen address, variables), and this module turns
 * that into paths, hosts and variable names, knowing what each resource kind touches:
 *
 * - filesystem storage: its root, read (and write for writers); S3: no disk at all;
 * - S3: the endpoint's host:port (`AWS_ENDPOINT`, …; absent: the AWS hosts of the region and
 *   bucket), the `AWS_*` variables and `osRelease` (the AWS SDK's user agent asks for it);
 * - Kafka: the bootstrap brokers (`KAFKA_BOOTSTRAP_SERVERS`, else `REDPANDA_BOOTSTRAP_SERVERS`),
 *   the `KAFKA_*` variables and the CA file `KAFKA_SSL_CA_FILE` names;
 * - memory queues and topics: nothing.
 *
 * Every process may read its config file (imported at run time) and the ancestor program (read
 * when the engine runtime's module loads). Nothing gets
 * `--allow-run`, `--allow-ffi` or a permission without a list: a flag is either narrowed to
 * named things or absent.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBrokers } from "../../resources/kafka/brokers.ts";
import { apiNeeds } from "../api/permissions.ts";
import { indexerNeeds } from "../indexer/permissions.ts";
import { metadataPersistenceNeeds } from "../metadata_persistence/permissions.ts";
import { persistenceNeeds } from "../persistence/permissions.ts";
import { engineNeeds } from "../simulation_engine/permissions.ts";
import type { ServiceNeeds } from "../common/service_needs.ts";
import type { ResolvedConfig, ResolvedResource, ResolvedService } from "./config.ts";

/**
 * Variables that modules every service process imports read when they load (kafkajs reads
 * NODE_ENV, the AWS SDK two AWS_LAMBDA_* ones), whatever its resources: found by starting each kind with none allowed.
 */
export const LOAD_ENV: readonly string[] = [
  "NODE_ENV",
  "AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA",
  "AWS_LAMBDA_BENCHMARK_MODE",
];

/**
 * The variables the Kafka client reads: resources/kafka/connection.ts's and _stderr_log.ts's,
 * and kafkajs' own (its log level and protocol debugging, read when a client is created).
 */
export const KAFKA_ENV: readonly string[] = [
  "KAFKAJS_LOG_LEVEL",
  "KAFKAJS_DEBUG_PROTOCOL_BUFFERS",
  "KAFKAJS_DEBUG_EXTENDED_PROTOCOL_BUFFERS",
  "KAFKA_BOOTSTRAP_SERVERS",
  "REDPANDA_BOOTSTRAP_SERVERS",
  "KAFKA_SASL_MECHANISM",
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_PASSWORD",
  "KAFKA_SSL",
  "KAFKA_SSL_CA_FILE",
  "KAFKA_SSL_REJECT_UNAUTHORIZED",
  "EVOCHORA_KAFKA_LOG",
];

/**
 * The variables S3 storage reads: resources/storage/s3_client_setup.ts, the bucket default of
 * _resolve_resources.ts, and those the AWS SDK itself reads while building a client (found by
 * running it with none allowed: it throws on the first one it may not read).
 */
export const S3_ENV: readonly string[] = [
  "AWS_ENDPOINT",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "EVOCHORA_S3_BUCKET",
  // The SDK's own, read while a client is built and on the first request: where shared config
  // files would be (it computes the paths; the files are never read: no read permission and
  // the client's settings are all explicit), its runtime and Lambda detection.
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "HOME",
  "USERPROFILE",
  "HOMEPATH",
  "HOMEDRIVE",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "_X_AMZN_TRACE_ID",
  "AWS_LAMBDA_MAX_CONCURRENCY",
];

/** System information a process publishing heartbeats asks for (they name its host). */
export const STATUS_SYS: readonly string[] = ["hostname"];

/**
 * What a process with worker threads may do to them: a worker lowers its own priority below
 * the main thread's (resources/worker/worker_rpc.ts serveRequests).
 */
export const WORKER_SYS: readonly string[] = ["setPriority"];

/** System information the AWS SDK asks for (its user agent names the OS release). */
export const S3_SYS: readonly string[] = ["osRelease"];

/**
 * The zstd worker's modules, which the engine and persistence load with `new Worker`: a worker
 * loads its module graph anew, so each of its local modules must be readable.
 */
export const ZSTD_WORKER_MODULES: readonly string[] = [
  "resources/storage/_zstd_worker.ts",
  "resources/storage/zstd.ts",
  "resources/worker/worker_rpc.ts",
  "codec/varint.ts",
].map((f) => fileURLToPath(new URL(`../../${f}`, import.meta.url)));

/**
 * The directories of the indexing thread's modules (services/runner/_index_thread.ts and what
 * it imports: the index kinds, the codec, the generated protobuf code, the storages): like the
 * zstd worker's, loaded anew by the thread, so they must be readable. Source code only; its npm
 * packages come from Deno's cache without a read permission.
 */
export const INDEX_WORKER_MODULE_DIRS: readonly string[] = [
  "codec/",
  "proto/",
  "resources/",
  "services/",
].map((d) => fileURLToPath(new URL(`../../${d}`, import.meta.url)));

/**
 * The directories of the chunk encoder thread's modules
 * (services/simulation_engine/_chunk_encoder_worker.ts and what it imports), which an engine
 * with `encodeOnWorker` loads with `new Worker`.
 */
export const ENCODER_WORKER_MODULE_DIRS: readonly string[] = [
  "codec/",
  "proto/",
  "resources/worker/",
  "services/simulation_engine/",
].map((d) => fileURLToPath(new URL(`../../${d}`, import.meta.url)));

/**
 * The Kafka producer thread's local modules (resources/kafka/_producer_thread_worker.ts and what
 * it imports), which an engine putting its batches on a Kafka queue loads with `new Worker`.
 */
export const KAFKA_PRODUCER_WORKER_MODULES: readonly string[] = [
  "resources/common/",
  "resources/kafka/",
  "resources/queue/",
  "resources/storage/zstd.ts",
  "resources/worker/",
].map((d) => fileURLToPath(new URL(`../../${d}`, import.meta.url)));

/**
 * The ancestor program, which the engine runtime reads when its module loads; every service
 * process imports the runtime through the wiring, so every one reads it.
 */
export const ANCESTOR_PROGRAM: string = fileURLToPath(
  new URL("../simulation_engine/programs/ancestor.evo", import.meta.url),
);

/** The repository's web/ folder (sources and the built client in web/dist). */
export const REPOSITORY_WEB: string = fileURLToPath(new URL("../../web/", import.meta.url));

/** A process' permissions: every list is what the flag allows; an empty list: no flag. */
export interface ProcessPermissions {
  read: string[];
  write: string[];
  net: string[];
  env: string[];
  sys: string[];
}

/** Reads an environment variable (undefined: unset). */
export type EnvLookup = (name: string) => string | undefined;

/** Options of {@link derivePermissions}. */
export interface DerivePermissionsOptions {
  config: ResolvedConfig;
  /** The services the process runs (names in `config`). */
  services: readonly string[];
  /** The config file the process imports. */
  configPath: string;
  /** The environment the process will see. */
  env: EnvLookup;
  /** The directory relative roots resolve against. Default Deno.cwd(). */
  cwd?: string;
  /**
   * Variables the config file read when it was evaluated: every process evaluates it and must
   * see the same config (e.g. an API host taken from the environment).
   */
  configEnv?: readonly string[];
}

/** What service `s` needs, by its kind. */
export function serviceNeeds(s: ResolvedService): ServiceNeeds {
  switch (s.kind) {
    case "simulation-engine":
      return engineNeeds(s);
    case "persistence":
      return persistenceNeeds(s);
    case "metadata-persistence":
      return metadataPersistenceNeeds(s);
    case "indexer":
      return indexerNeeds(s);
    case "http-api":
      return apiNeeds(s);
  }
}

/**
 * The storage a run lands in: the persistence services' (as `evochora inspect --config` picks
 * it). An engine continuing a stored run reads and trims it, so the engine may write it.
 */
export function runStorageOf(config: ResolvedConfig): string | undefined {
  const storages = Object.keys(config.resources).filter((n) => isStorage(config.resources[n]!));
  const writers = Object.values(config.services).flatMap((s) =>
    s.kind === "persistence" || s.kind === "metadata-persistence" ? [s.storage] : []
  );
  return writers.find((n) => storages.includes(n)) ?? storages[0];
}

function isStorage(r: ResolvedResource): boolean {
  return r.kind === "filesystem" || r.kind === "s3";
}

/**
 * The permissions a process running `services` of `config` needs. Throws RangeError naming
 * the service or variable when a name is unknown or a setting cannot become a flag.
 */
export function derivePermissions(o: DerivePermissionsOptions): ProcessPermissions {
  const cwd = o.cwd ?? Deno.cwd();
  const p: ProcessPermissions = { read: [], write: [], net: [], env: [], sys: [] };
  p.read.push(resolve(cwd, o.configPath), ANCESTOR_PROGRAM);
  p.env.push(...LOAD_ENV, ...(o.configEnv ?? []));
  const storages = new Map<string, "read" | "write">();
  // Every process publishes its heartbeat on the config's status topic (and an API reads it);
  // a heartbeat names its host.
  const messaging = new Set<string>(o.config.status === undefined ? [] : [o.config.status]);
  if (o.config.status !== undefined) p.sys.push(...STATUS_SYS);
  for (const name of o.services) {
    const s = o.config.services[name];
    if (s === undefined) {
      throw new RangeError(
        `No service named '${name}'; the config defines: ${o.config.startupSequence.join(", ")}`,
      );
    }
    const needs = serviceNeeds(s);
    if (s.kind === "simulation-engine") {
      const run = runStorageOf(o.config);
      if (run !== undefined) storages.set(run, "write");
      // Its batches go to Kafka from a thread of its own (services/runner/resources.ts).
      if (o.config.resources[s.output]?.kind === "kafka-queue") {
        p.read.push(...KAFKA_PRODUCER_WORKER_MODULES);
      }
    }
    for (const st of needs.storages) {
      if (storages.get(st.resource) !== "write") storages.set(st.resource, st.access);
    }
    for (const m of needs.messaging) messaging.add(m);
    p.env.push(...needs.env);
    if (needs.listen !== undefined) p.net.push(listenAddress(needs.listen));
    if (needs.compressionWorker === true) p.read.push(...ZSTD_WORKER_MODULES);
    if (needs.indexWorker === true) p.read.push(...INDEX_WORKER_MODULE_DIRS);
    if (needs.encoderWorker === true) p.read.push(...ENCODER_WORKER_MODULE_DIRS);
    if (needs.compressionWorker === true || needs.indexWorker === true || needs.encoderWorker) {
      p.sys.push(...WORKER_SYS);
    }
    if (needs.web !== undefined) {
      p.read.push(needs.web.root === undefined ? REPOSITORY_WEB : resolve(cwd, needs.web.root));
    }
  }
  // resolveConfig runs in every process over the whole config: an S3 resource without a bucket
  // reads the bucket's variable even where that storage is not used.
  if (Object.values(o.config.resources).some((r) => r.kind === "s3")) {
    p.env.push("EVOCHORA_S3_BUCKET");
  }
  for (const [name, access] of storages) {
    addStorage(p, o.config.resources[name]!, access, cwd, o.env);
  }
  for (const name of messaging) addMessaging(p, o.config.resources[name]!, o.env);
  return tidy(p);
}

/** The listen address as a net permission: `host:port`, or the host alone for port 0. */
function listenAddress(l: { host: string; port: number }): string {
  return l.port === 0 ? l.host : `${l.host}:${l.port}`;
}

function addStorage(
  p: ProcessPermissions,
  r: ResolvedResource,
  access: "read" | "write",
  cwd: string,
  env: EnvLookup,
): void {
  if (r.kind === "filesystem") {
    const root = isAbsolute(r.root) ? r.root : resolve(cwd, r.root);
    p.read.push(root);
    if (access === "write") p.write.push(root);
  } else if (r.kind === "s3") {
    p.env.push(...S3_ENV);
    p.sys.push(...S3_SYS);
    p.net.push(...s3Hosts(r.bucket, env));
  }
}

/** The hosts an S3 client connects to: the endpoint's, or AWS S3's for the region. */
export function s3Hosts(bucket: string, env: EnvLookup): string[] {
  const get = (n: string) => (env(n) === "" ? undefined : env(n));
  const endpoint = get("AWS_ENDPOINT") ?? get("AWS_ENDPOINT_URL_S3") ?? get("AWS_ENDPOINT_URL");
  if (endpoint === undefined) {
    const region = get("AWS_REGION") ?? get("AWS_DEFAULT_REGION") ?? "us-east-1";
    // Virtual-hosted style (the bucket as subdomain) without an endpoint; path style for some
    // bucket names: both hosts.
    return [`s3.${region}.amazonaws.com:443`, `${bucket}.s3.${region}.amazonaws.com:443`];
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new RangeError(`Invalid S3 endpoint '${endpoint}': not a URL (e.g. http://host:9000)`);
  }
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return [`${url.hostname}:${port}`];
}

function addMessaging(p: ProcessPermissions, r: ResolvedResource, env: EnvLookup): void {
  if (r.kind !== "kafka-queue" && r.kind !== "kafka-topic") return;
  p.env.push(...KAFKA_ENV);
  p.net.push(...kafkaBrokers(env));
  const ca = env("KAFKA_SSL_CA_FILE");
  if (ca !== undefined && ca !== "") p.read.push(ca);
}

/**
 * The bootstrap brokers, as the Kafka client picks them. The brokers a cluster advertises
 * must be among them (one broker, or every broker listed), since a client connects to the
 * advertised addresses after bootstrapping.
 */
export function kafkaBrokers(env: EnvLookup): string[] {
  for (const name of ["KAFKA_BOOTSTRAP_SERVERS", "REDPANDA_BOOTSTRAP_SERVERS"]) {
    const v = env(name);
    if (v !== undefined && v.trim() !== "") return parseBrokers(v, name);
  }
  throw new RangeError(
    "no Kafka brokers: set KAFKA_BOOTSTRAP_SERVERS (or REDPANDA_BOOTSTRAP_SERVERS); the " +
      "service processes may connect only to the brokers named there",
  );
}

/** Sorted, without duplicates or paths inside another listed path. */
function tidy(p: ProcessPermissions): ProcessPermissions {
  const unique = (xs: string[]) => [...new Set(xs)].sort();
  return {
    read: withoutNested(unique(p.read)),
    write: withoutNested(unique(p.write)),
    net: unique(p.net),
    env: unique(p.env),
    sys: unique(p.sys),
  };
}

function withoutNested(paths: string[]): string[] {
  return paths.filter((a) =>
    !paths.some((b) => b !== a && (a.startsWith(b.endsWith("/") ? b : join(b, "/"))))
  );
}

/**
 * The `deno run` flags for `p`: one `--allow-<name>=<list>` per non-empty list, nothing else.
 * Throws RangeError when a value holds a comma (Deno splits the lists at commas).
 */
export function permissionFlags(p: ProcessPermissions): string[] {
  const flags: string[] = [];
  for (const name of ["read", "write", "net", "env", "sys"] as const) {
    const list = p[name];
    if (list.length === 0) continue;
    const bad = list.find((v) => v.includes(","));
    if (bad !== undefined) {
      throw new RangeError(
        `Cannot grant --allow-${name} to '${bad}': Deno permission lists are separated by ` +
          `commas; rename it without one`,
      );
    }
    flags.push(`--allow-${name}=${list.join(",")}`);
  }
  return flags;
}

/**
 * What `p` allows that this process may not do, one line each (`net 'host:port'`,
 * `read '/path'`, ...); empty when everything is granted. A service process checks this
 * before it connects anywhere, so that a permission it lacks (started by hand with other
 * flags, or with an environment that names other brokers than the launcher saw) is one clear
 * error at start instead of a client retrying a connection it may never open.
 */
export function missingPermissions(p: ProcessPermissions): string[] {
  const missing: string[] = [];
  const check = (d: Deno.PermissionDescriptor, what: string) => {
    if (Deno.permissions.querySync(d).state !== "granted") missing.push(what);
  };
  for (const path of p.read) check({ name: "read", path }, `read '${path}'`);
  for (const path of p.write) check({ name: "write", path }, `write '${path}'`);
  for (const host of p.net) check({ name: "net", host }, `net '${host}'`);
  for (const variable of p.env) check({ name: "env", variable }, `env '${variable}'`);
  // Optional: without it a worker keeps its priority (it asks before it tries).
  for (const kind of p.sys.filter((k) => !WORKER_SYS.includes(k))) {
    const d = { name: "sys", kind } as Deno.SysPermissionDescriptor;
    check(d, `sys '${kind}'`);
  }
  return missing;
}
