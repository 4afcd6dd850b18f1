// Versions, ports, credentials and paths of the local integration services (see docs/services.md).
// Every default can be overridden through the environment; nothing here reads AWS_* or KAFKA_*, so
// a developer's real credentials never end up in a server's config.

import { ServiceError } from "./_proc.ts";

/** Apache Kafka broker, from Maven Central (`org.apache.kafka:kafka_2.13`). KRaft only. */
export const KAFKA_VERSION = "4.1.1";
/** The slf4j 1.x binding for the log4j-core that kafka_2.13 brings (same version as that core). */
export const LOG4J_VERSION = "2.24.3";
/** Pinned so `mvn` never asks the registry for "the latest" dependency plugin. */
export const MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/** SeaweedFS from the Go module proxy. The module has no semver tags, so it is a pseudo-version. */
export const SEAWEEDFS_MODULE = "github.com/seaweedfs/seaweedfs";
export const SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6";
/** What `weed version` reports for SEAWEEDFS_VERSION. */
export const SEAWEEDFS_RELEASE = "4.53";

export const HOST = "127.0.0.1";

export interface ServicesConfig {
  /** The address the servers bind to and advertise: HOST for `services:up`. */
  host: string;
  /** `${XDG_CACHE_HOME:-$HOME/.cache}/evochora`: downloads and builds, kept between runs. */
  cacheRoot: string;
  /** Data, logs, configs and PID files of the running servers; wiped on every `services:up`. */
  runDir: string;
  /** The NAME=value file that `services:up` writes for tests and CI. */
  envFile: string;
  kafka: {
    port: number;
    controllerPort: number;
    heap: string;
    /** message.max.bytes and replica.fetch.max.bytes. */
    maxMessageBytes: number;
  };
  s3: {
    port: number;
    masterPort: number;
    volumePort: number;
    filerPort: number;
    region: string;
    accessKey: string;
    secretKey: string;
    bucket: string;
  };
}

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ServiceError(`${name}=${raw} is not a port number (1-65535)`);
  }
  return n;
}

function text(env: Record<string, string | undefined>, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === "" ? fallback : raw;
}

export function defaultCacheRoot(env: Record<string, string | undefined>): string {
  const explicit = env["EVOCHORA_CACHE"];
  if (explicit) return explicit;
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg) return `${xdg}/evochora`;
  const home = env["HOME"];
  if (!home) throw new ServiceError("HOME is not set; set EVOCHORA_CACHE to a cache directory");
  return `${home}/.cache/evochora`;
}

export function loadConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): ServicesConfig {
  const cacheRoot = defaultCacheRoot(env);
  const cfg: ServicesConfig = {
    host: HOST,
    cacheRoot,
    runDir: `${cacheRoot}/services/run`,
    envFile: text(env, "EVOCHORA_SERVICES_ENV_FILE", `${cacheRoot}/services/env`),
    kafka: {
      port: port(env, "EVOCHORA_KAFKA_PORT", 19092),
      controllerPort: port(env, "EVOCHORA_KAFKA_CONTROLLER_PORT", 19093),
      heap: text(env, "EVOCHORA_KAFKA_HEAP", "1g"),
      maxMessageBytes: 16 * 1024 * 1024,
    },
    s3: {
      port: port(env, "EVOCHORA_S3_PORT", 18333),
      masterPort: port(env, "EVOCHORA_WEED_MASTER_PORT", 19333),
      volumePort: port(env, "EVOCHORA_WEED_VOLUME_PORT", 18080),
      filerPort: port(env, "EVOCHORA_WEED_FILER_PORT", 18888),
      region: text(env, "EVOCHORA_S3_REGION", "us-east-1"),
      accessKey: text(env, "EVOCHORA_S3_ACCESS_KEY", "evochora"),
      secretKey: text(env, "EVOCHORA_S3_SECRET_KEY", "evochora-secret"),
      bucket: text(env, "EVOCHORA_S3_BUCKET", "evochora-test"),
    },
  };
  const used = new Map<number, string>();
  for (const [name, p] of Object.entries(allPorts(cfg))) {
    if (p > 65535) {
      throw new ServiceError(`the ${name} port would be ${p} (HTTP port + 10000): too high`);
    }
    const other = used.get(p);
    if (other) throw new ServiceError(`port ${p} is configured twice: ${other} and ${name}`);
    used.set(p, name);
  }
  return cfg;
}

/** Every port the two servers listen on (SeaweedFS gRPC ports are HTTP port + 10000). */
export function allPorts(cfg: ServicesConfig): Record<string, number> {
  return {
    "kafka": cfg.kafka.port,
    "kafka controller": cfg.kafka.controllerPort,
    "s3": cfg.s3.port,
    "s3 grpc": cfg.s3.port + 10000,
    "weed master": cfg.s3.masterPort,
    "weed master grpc": cfg.s3.masterPort + 10000,
    "weed volume": cfg.s3.volumePort,
    "weed volume grpc": cfg.s3.volumePort + 10000,
    "weed filer": cfg.s3.filerPort,
    "weed filer grpc": cfg.s3.filerPort + 10000,
  };
}

/** The environment a test or service uses to reach the two servers, in a stable order. */
export function envEntries(cfg: ServicesConfig): Array<[string, string]> {
  const bootstrap = `${cfg.host}:${cfg.kafka.port}`;
  return [
    ["REDPANDA_BOOTSTRAP_SERVERS", bootstrap],
    ["KAFKA_BOOTSTRAP_SERVERS", bootstrap],
    ["AWS_ENDPOINT", `http://${cfg.host}:${cfg.s3.port}`],
    ["AWS_REGION", cfg.s3.region],
    ["AWS_ACCESS_KEY_ID", cfg.s3.accessKey],
    ["AWS_SECRET_ACCESS_KEY", cfg.s3.secretKey],
    ["EVOCHORA_S3_BUCKET", cfg.s3.bucket],
  ];
}

export function envText(cfg: ServicesConfig): string {
  return envEntries(cfg).map(([k, v]) => `${k}=${v}\n`).join("");
}
