/**
 * Validation of the `resources` of a pipeline config: one resolver per resource kind, each
 * checking the fields its kind has and filling in their defaults.
 *
 * @module
 */

import { ConfigError } from "../simulation_engine/runtime/mod.ts";
import { byKind, Fields, isObj, str } from "./_config_fields.ts";
import type { ResolvedResource } from "./config_types.ts";

/** Resolves resource `name`; its `kind` picks the fields it may have. */
export function resolveResource(name: string, raw: unknown): ResolvedResource {
  const path = `resources.${name}`;
  if (!isObj(raw)) throw new ConfigError(path, "expected an object with a 'kind'");
  return byKind(new Fields({ path, raw }), {
    "memory-queue": memoryQueue,
    "memory-topic": memoryTopic,
    "filesystem": filesystem,
    "s3": s3,
    "kafka-queue": (f) => kafkaQueue(f, name),
    "kafka-topic": (f) => kafkaTopic(f, name),
  });
}

/** An in-process queue: its bounds only. */
function memoryQueue(f: Fields): ResolvedResource {
  f.only(["kind", "partitions", "maxBytes"]);
  return {
    kind: "memory-queue",
    partitions: f.int("partitions", { fallback: 6, min: 1, max: 1024 }),
    maxBytes: f.int("maxBytes", { fallback: 256 * 2 ** 20, min: 1024, max: 2 ** 40 }),
  };
}

/** An in-process topic: its bounds only. */
function memoryTopic(f: Fields): ResolvedResource {
  f.only(["kind", "partitions", "retention"]);
  return {
    kind: "memory-topic",
    partitions: f.int("partitions", { fallback: 3, min: 1, max: 1024 }),
    retention: f.int("retention", { fallback: 10000, min: 1, max: 2 ** 31 }),
  };
}

/** Files under `root`, which has no default (relative paths resolve at run time). */
function filesystem(f: Fields): ResolvedResource {
  f.only(["kind", "root"]);
  return { kind: "filesystem", root: f.str("root") };
}

/** A Kafka topic used as a queue; its topic defaults to the resource's `name`. */
function kafkaQueue(f: Fields, name: string): ResolvedResource {
  f.only([
    "kind",
    "topic",
    "partitions",
    "maxMessageBytes",
    "maxBytes",
    "compression",
    "lingerMs",
    "groups",
  ]);
  const compression = f.raw.compression ?? "zstd";
  if (compression !== "zstd" && compression !== "none") {
    throw new ConfigError(
      f.at("compression"),
      `unknown compression ${JSON.stringify(compression)}; allowed: zstd, none`,
    );
  }
  const groups = f.raw.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== "string")) {
    throw new ConfigError(f.at("groups"), "expected an array of group names");
  }
  return {
    kind: "kafka-queue",
    topic: f.str("topic", name),
    partitions: f.int("partitions", { fallback: 6, min: 1, max: 10000 }),
    maxMessageBytes: f.int("maxMessageBytes", { fallback: 900 * 1024, min: 1024, max: 2 ** 30 }),
    maxBytes: f.int("maxBytes", { fallback: 64 * 2 ** 20, min: 1024, max: 2 ** 40 }),
    compression,
    lingerMs: f.int("lingerMs", { fallback: 0, min: 0, max: 60000 }),
    groups: groups as string[],
  };
}

/**
 * A Kafka topic for notifications; its topic defaults to the resource's `name`. Without a
 * `retentionMs` it has none, so that a topic created here gets the broker's default.
 */
function kafkaTopic(f: Fields, name: string): ResolvedResource {
  f.only(["kind", "topic", "partitions", "retentionMs"]);
  const out: ResolvedResource = {
    kind: "kafka-topic",
    topic: f.str("topic", name),
    partitions: f.int("partitions", { fallback: 3, min: 1, max: 10000 }),
  };
  if (f.raw.retentionMs !== undefined) {
    // The fallback is never used: the field is read only when present.
    out.retentionMs = f.int("retentionMs", { fallback: 0, min: 10_000, max: 2 ** 50 });
  }
  return out;
}

/**
 * An S3 bucket; its name may come from the environment instead, like the endpoint and the
 * credentials, so that one config file serves several deployments.
 */
function s3(f: Fields): ResolvedResource {
  f.only(["kind", "bucket", "prefix", "partSize", "conditionalWrites"]);
  const bucket = f.raw.bucket ?? Deno.env.get("EVOCHORA_S3_BUCKET");
  if (bucket === undefined) {
    throw new ConfigError(f.at("bucket"), "missing; set it or the EVOCHORA_S3_BUCKET variable");
  }
  const cw = f.raw.conditionalWrites ?? "auto";
  if (cw !== "auto" && cw !== "required" && cw !== "check") {
    throw new ConfigError(
      f.at("conditionalWrites"),
      `unknown mode ${JSON.stringify(cw)}; allowed: auto, required, check`,
    );
  }
  return {
    kind: "s3",
    bucket: str(f.at("bucket"), bucket),
    prefix: f.raw.prefix === undefined ? "" : String(f.raw.prefix),
    partSize: f.int("partSize", { fallback: 8 * 2 ** 20, min: 5 * 2 ** 20, max: 5 * 2 ** 30 }),
    conditionalWrites: cw,
  };
}
