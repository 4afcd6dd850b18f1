/**
 * The command-line overrides of `run` and `dev` applied to a pipeline config: ticks, world
 * shape, seed, sampling interval, where chunks are encoded, data directory, run id, the engine config of a resumed run and the number of
 * competing persistence workers, which cannot exceed the partitions of the queue they share.
 *
 * @module
 */

import type { PipelineConfig, ResolvedConfig, ServiceConfig } from "../services/runner/mod.ts";
import type { EngineConfigInput } from "../services/simulation_engine/runtime/mod.ts";
import { CliError } from "./cli_error.ts";

/** Values from the command line; absent fields leave the config as it is. */
export interface RunOverrides {
  /** Ticks for every engine (`--ticks`). */
  ticks?: number;
  /** Ticks for engines whose config sets none (the command's default). */
  defaultTicks?: number;
  shape?: number[];
  seed?: bigint;
  /** Ticks between sampled ticks of every engine (`--sampling`). */
  sampling?: number;
  /** Whether every engine encodes its chunks on a worker thread (`--encoder`). */
  encodeOnWorker?: boolean;
  /** Root of every filesystem storage. */
  dataDir?: string;
  /** Persistence workers: replaces the config's persistence services by this many copies. */
  persistence?: number;
  /** Run id of every engine (`--run-id`, or the run `--resume` continues). */
  runId?: string;
  /** The whole engine config (`--resume`: the run's own, from its metadata). */
  engine?: EngineConfigInput;
}

/** Applies command-line overrides to a config; the input is not changed. */
export function applyOverrides(config: PipelineConfig, o: RunOverrides): PipelineConfig {
  const resources = structuredClone(config.resources);
  let services: Record<string, ServiceConfig> = structuredClone(config.services);
  let sequence = [...(config.startupSequence ?? Object.keys(services))];
  if (o.dataDir !== undefined) {
    for (const r of Object.values(resources)) if (r.kind === "filesystem") r.root = o.dataDir;
  }
  for (const s of Object.values(services)) {
    if (s.kind !== "simulation-engine") continue;
    if (o.ticks !== undefined) s.ticks = o.ticks;
    else if (s.ticks === undefined && o.defaultTicks !== undefined) s.ticks = o.defaultTicks;
    if (o.runId !== undefined) s.runId = o.runId;
    if (o.encodeOnWorker !== undefined) s.encodeOnWorker = o.encodeOnWorker;
    s.engine = { ...(o.engine ?? s.engine ?? {}) };
    if (o.shape !== undefined) s.engine.shape = o.shape;
    if (o.seed !== undefined) s.engine.seed = o.seed;
    if (o.sampling !== undefined) {
      s.engine.intervals = { ...s.engine.intervals, sampling: o.sampling };
    }
  }
  if (o.persistence !== undefined) {
    const names = Object.keys(services).filter((n) => services[n]!.kind === "persistence");
    const template = names[0] === undefined ? undefined : services[names[0]];
    if (template === undefined) {
      throw new CliError("--persistence: the config has no persistence service to replicate");
    }
    const at = sequence.indexOf(names[0]!);
    const fresh: string[] = [];
    const next: Record<string, ServiceConfig> = {};
    for (const [n, s] of Object.entries(services)) if (!names.includes(n)) next[n] = s;
    for (let i = 1; i <= o.persistence; i++) {
      next[`persistence-${i}`] = structuredClone(template);
      fresh.push(`persistence-${i}`);
    }
    services = next;
    sequence = sequence.filter((n) => !names.includes(n));
    sequence.splice(Math.max(0, Math.min(at, sequence.length)), 0, ...fresh);
  }
  const out: PipelineConfig = { resources, services, startupSequence: sequence };
  if (config.status !== undefined) out.status = config.status;
  return out;
}

/** Options of {@link checkPersistenceFlag}. */
export interface PersistenceFlagOptions {
  /** The `--persistence` value. */
  workers: number;
  /** The config the workers would be added to, validated. */
  config: ResolvedConfig;
  /** The config file, or undefined for the built-in default config. */
  configPath: string | undefined;
}

/**
 * Refuses more persistence workers than the partitions of the queue they consume: a partition
 * has one owner per consumer group, so the extra workers would only idle (and cost memory and a
 * compression thread each). Throws CliError naming the flag, the queue, its partition count and
 * where that count is set.
 */
export function checkPersistenceFlag(o: PersistenceFlagOptions): void {
  const worker = Object.values(o.config.services).find((s) => s.kind === "persistence");
  const where = o.configPath === undefined ? "the default config" : `'${o.configPath}'`;
  if (worker === undefined || worker.kind !== "persistence") {
    throw new CliError(`--persistence: ${where} has no persistence service to replicate`);
  }
  const queue = o.config.resources[worker.input];
  if (queue === undefined || !("partitions" in queue)) return;
  const partitions = queue.partitions;
  if (o.workers <= partitions) return;
  const raise = o.configPath === undefined
    ? `(resources.${worker.input}.partitions of the default config; a --config file can set more)`
    : `or raise resources.${worker.input}.partitions in '${o.configPath}'`;
  throw new CliError(
    `--persistence ${o.workers}: the tick queue '${worker.input}' has ${partitions} ` +
      `partitions and each is worked by one persistence worker at a time, so at most ` +
      `${partitions} workers can work; choose 1..${partitions} ${raise}`,
  );
}
