/**
 * Readers of single config fields, shared by the resource and service resolvers: each checks
 * one value and, when it is wrong, throws a ConfigError naming the field by its full path
 * (e.g. `services.persistence-1.storage`), so that a user finds it in the file.
 *
 * @module
 */

import { ConfigError } from "../simulation_engine/runtime/mod.ts";
import type { ResolvedResource } from "./config_types.ts";

/** A config object as a config file gives it, before any check. */
export type Obj = Record<string, unknown>;

/** True for a plain object (not null, not an array). */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The bounds of an integer field, and its value when the field is absent. */
export interface IntRange {
  fallback: number;
  min: number;
  max: number;
}

/** An integer within `range`; absent, its fallback. */
export function int(path: string, v: unknown, range: IntRange): number {
  const { fallback, min, max } = range;
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

/** A non-empty string; absent, the fallback when there is one (else the field is required). */
export function str(path: string, v: unknown, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string" || v.length === 0) {
    throw new ConfigError(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A boolean; absent, the fallback. */
export function bool(path: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new ConfigError(path, "expected true or false");
  return v;
}

/** Rejects any field not in `allowed`: a misspelt option would otherwise be silently ignored. */
export function onlyFields(path: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${path}.${k}`, `unknown field; allowed: ${allowed.join(", ")}`);
    }
  }
}

/** The kinds of resource a field may name, and what its error message calls them. */
export interface ResourceRole {
  kinds: ReadonlySet<string>;
  what: string;
}

/** A field naming a queue. */
export const QUEUE: ResourceRole = {
  kinds: new Set(["memory-queue", "kafka-queue"]),
  what: "a queue",
};
/** A field naming a topic. */
export const TOPIC: ResourceRole = {
  kinds: new Set(["memory-topic", "kafka-topic"]),
  what: "a topic",
};
/** A field naming a storage. */
export const STORAGE: ResourceRole = { kinds: new Set(["filesystem", "s3"]), what: "a storage" };

/**
 * The name of a defined resource of one of `role`'s kinds: a service bound to a topic where
 * it expects a queue would fail only once it runs, so the mismatch is reported here.
 */
export function ref(
  path: string,
  v: unknown,
  resources: Record<string, ResolvedResource>,
  role: ResourceRole,
): string {
  const name = str(path, v);
  const r = resources[name];
  if (r === undefined) {
    throw new ConfigError(
      path,
      `no resource named '${name}'; defined: ${Object.keys(resources).join(", ") || "none"}`,
    );
  }
  if (!role.kinds.has(r.kind)) {
    throw new ConfigError(path, `resource '${name}' is a ${r.kind}, expected ${role.what}`);
  }
  return name;
}

/** Where a config object sits in the config, and its raw fields. */
export interface FieldsAt {
  /** The object's path, e.g. `resources.raw-tick-data`. */
  path: string;
  raw: Obj;
}

/**
 * The fields of one config object (a resource or a service), read by name: the readers above
 * with the object's path and value filled in, which keeps each resolver to its own settings.
 */
export class Fields {
  /** The object's path, e.g. `resources.raw-tick-data`. */
  readonly path: string;
  readonly raw: Obj;

  constructor(at: FieldsAt) {
    this.path = at.path;
    this.raw = at.raw;
  }

  /** The path of `field`, as error messages name it. */
  at(field: string): string {
    return `${this.path}.${field}`;
  }

  /** See {@link onlyFields}. */
  only(allowed: readonly string[]): void {
    onlyFields(this.path, this.raw, allowed);
  }

  /** See {@link int}. */
  int(field: string, range: IntRange): number {
    return int(this.at(field), this.raw[field], range);
  }

  /** See {@link str}. */
  str(field: string, fallback?: string): string {
    return str(this.at(field), this.raw[field], fallback);
  }

  /** See {@link bool}. */
  bool(field: string, fallback: boolean): boolean {
    return bool(this.at(field), this.raw[field], fallback);
  }
}

/**
 * Resolves the object of `f` with the resolver its `kind` names, in a table whose keys are the
 * kinds allowed (in the order an unknown kind's message lists them).
 */
export function byKind<F extends Fields, R>(
  f: F,
  resolvers: Readonly<Record<string, (f: F) => R>>,
): R {
  const kind = f.raw.kind;
  const resolve = typeof kind === "string" && Object.hasOwn(resolvers, kind)
    ? resolvers[kind]
    : undefined;
  if (resolve === undefined) {
    throw new ConfigError(
      f.at("kind"),
      `unknown kind ${JSON.stringify(kind)}; allowed: ${Object.keys(resolvers).join(", ")}`,
    );
  }
  return resolve(f);
}
