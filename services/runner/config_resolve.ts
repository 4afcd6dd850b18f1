/**
 * Validation of a pipeline config: checks every field, fills in defaults, and checks that
 * services name resources of the right kind (a queue, a topic or a storage). Errors are
 * ConfigErrors naming the field, e.g. `services.persistence-1.storage`.
 *
 * @module
 */

import { ConfigError } from "../simulation_engine/runtime/mod.ts";
import { isObj, onlyFields, ref, TOPIC } from "./_config_fields.ts";
import { resolveResource } from "./_resolve_resources.ts";
import { resolveService } from "./_resolve_services.ts";
import type { ResolvedConfig, ResolvedResource, ResolvedService } from "./config_types.ts";

export { isObj } from "./_config_fields.ts";
export { encodeOnWorkerByDefault } from "./_resolve_services.ts";

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
  const sequence = startupSequence(input.startupSequence, services);
  const engines = names.filter((n) => services[n]!.kind === "simulation-engine");
  if (engines.length > 1) {
    throw new ConfigError("services", `more than one simulation-engine: ${engines.join(", ")}`);
  }
  const out: ResolvedConfig = { resources, services, startupSequence: sequence };
  if (input.status !== undefined) {
    out.status = ref("status", input.status, resources, TOPIC);
  }
  return out;
}

/**
 * The start order: the services' own order unless the config gives one, which must then name
 * every service once (a service left out would silently never run).
 */
function startupSequence(raw: unknown, services: Record<string, ResolvedService>): string[] {
  const names = Object.keys(services);
  if (raw === undefined) return names;
  if (!Array.isArray(raw)) {
    throw new ConfigError("startupSequence", "expected an array of service names");
  }
  const sequence: string[] = raw.map((n: unknown, i) => {
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
  return sequence;
}
