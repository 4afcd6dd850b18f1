/**
 * The engine config a checkpoint was taken with: written into it as canonical JSON, and
 * compared with the config it is restored under, naming the first field that differs.
 *
 * `intervals.checkpoint` is left out: it decides when checkpoints are taken, not what the
 * simulation or its chunks are, so a run may continue under another cadence.
 *
 * @module
 */

import type { EngineConfig } from "./engine_config.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `value` with object keys sorted at every depth and bigints as decimal strings. */
function canonical(value: unknown): Json {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value as Json;
}

/**
 * The config as JSON with sorted keys, bigints as strings and without `intervals.checkpoint`:
 * the same config always gives the same text, whatever order its fields were written in.
 */
export function checkpointConfigJson(config: EngineConfig): string {
  const { checkpoint: _cadence, ...intervals } = config.intervals;
  return JSON.stringify(canonical({ ...config, intervals }));
}

/** A value for a message: short values as JSON, long ones (program sources) by their length. */
function shown(value: Json | undefined): string {
  if (value === undefined) return "absent";
  const text = JSON.stringify(value);
  return text.length <= 40
    ? text
    : `${typeof value === "string" ? "a text" : "a value"} of ${text.length} characters`;
}

/** Path and values of the first difference between `a` and `b`, or null when they are equal. */
function firstDifference(
  a: Json | undefined,
  b: Json | undefined,
  path: string,
): { path: string; a: Json | undefined; b: Json | undefined } | null {
  const bothObjects = typeof a === "object" && a !== null && typeof b === "object" && b !== null;
  if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? null : { path, a, b };
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  const ao = a as { [key: string]: Json };
  const bo = b as { [key: string]: Json };
  for (const key of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
    const d = firstDifference(ao[key], bo[key], path === "" ? key : `${path}.${key}`);
    if (d !== null) return d;
  }
  return null;
}

/**
 * Null when `config` is the one the checkpoint's `checkpointJson` describes, else what differs,
 * e.g. `thermo.maxEnergy is 60000 in the checkpoint, 50000 in this config`.
 */
export function configMismatch(checkpointJson: string, config: EngineConfig): string | null {
  const here = JSON.parse(checkpointConfigJson(config)) as Json;
  let taken: Json;
  try {
    taken = JSON.parse(checkpointJson) as Json;
  } catch {
    return "the checkpoint's config is not JSON";
  }
  const d = firstDifference(taken, here, "");
  if (d === null) return null;
  return `${d.path || "the config"} is ${shown(d.a)} in the checkpoint, ${
    shown(d.b)
  } in this config`;
}
