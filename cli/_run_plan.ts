/**
 * The setup half of `evochora run` and `evochora dev`: their flags turned into the resolved
 * config and pipeline options to start, with --run-id and --resume checked against the storage.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  defaultConfig,
  type DefaultConfigOptions,
  type PipelineConfig,
  type PipelineOptions,
  resolveConfig,
  type ResolvedConfig,
} from "../services/runner/mod.ts";
import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import { CliError, encoderFlag, intFlag, seedFlag, shapeFlag } from "./cli_error.ts";
import { loadConfigFlag, type LoadedConfig } from "./config_flag.ts";
import { applyOverrides, checkPersistenceFlag, type RunOverrides } from "./run_overrides.ts";
import {
  checkRunIdFlag,
  refuseExistingRun,
  type ResumeFlagPoint,
  resumeFrom,
  resumePointFlag,
  storedTarget,
} from "./run_resume.ts";

/** Parses the flags of `run` and `dev` (unknown ones throw). */
export function parseRunFlags(args: string[]) {
  return parseArgs({
    args,
    options: {
      ticks: { type: "string" },
      shape: { type: "string" },
      seed: { type: "string" },
      sampling: { type: "string" },
      encoder: { type: "string" },
      "data-dir": { type: "string" },
      persistence: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      "drain-timeout": { type: "string" },
      "run-id": { type: "string" },
      resume: { type: "string" },
      "idle-after": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/** The flags of `run` and `dev` as parsed. */
export type RunFlags = ReturnType<typeof parseRunFlags>;

/** What `run` or `dev` starts. */
export interface RunPlan {
  /** The config with every flag applied (and a resumed run's own engine config). */
  config: ResolvedConfig;
  options: PipelineOptions;
  /** The --config file; undefined for the built-in default config. */
  configPath: string | undefined;
}

/**
 * The config and options `run` (or `dev`) starts with from its flags. Refuses (CliError) bad
 * flags and a --run-id the storage holds already; resolves null, after saying so, when
 * --resume names a finished run that is to run no further.
 */
export async function planRun(flags: RunFlags, dev: boolean): Promise<RunPlan | null> {
  if (flags["data-dir"] === "") {
    throw new CliError("--data-dir expects a directory, got ''");
  }
  const configPath = flags.config;
  const defaultTicks = dev ? 0 : 10000;
  const loaded = await loadRunConfig({ flags, dev, defaultTicks });
  const engineFlags = engineOverrides(flags, loaded.resolved, defaultTicks);
  const resumeId = flags.resume === undefined ? undefined : checkRunIdFlag("resume", flags.resume);
  const overrides = await withRunId({ flags, base: loaded.config, engineFlags, resumeId });
  const config = resolveConfig(applyOverrides(loaded.config, overrides));
  // `run` indexes its own run only; `dev` serves (and so indexes) every run in the storage.
  const options: PipelineOptions = dev ? {} : { indexOwnRunOnly: true };
  if (resumeId === undefined) {
    if (overrides.runId !== undefined) await refuseExistingRun(config, overrides.runId);
    return { config, options, configPath };
  }
  return await planResume({
    flags,
    dev,
    base: loaded.config,
    overrides,
    config,
    options,
    configPath,
    resumeId,
  });
}

/** The built-in config, validated like a file's. */
function defaultPipeline(options: DefaultConfigOptions): LoadedConfig {
  const config = defaultConfig(options);
  return { config, resolved: resolveConfig(config) };
}

/**
 * The --config file, or the built-in config (with --data-dir, the command's default ticks and,
 * for `dev`, --port); refuses a config without an engine, as there would be no run.
 */
async function loadRunConfig(
  o: { flags: RunFlags; dev: boolean; defaultTicks: number },
): Promise<LoadedConfig> {
  const configPath = o.flags.config;
  const loaded = configPath === undefined
    ? defaultPipeline({
      dataDir: o.flags["data-dir"] ?? "./data",
      ticks: o.defaultTicks,
      ...(o.dev ? { apiPort: intFlag("port", o.flags.port, 8080, 0, 65535) } : {}),
    })
    : await loadConfigFlag(configPath);
  if (!Object.values(loaded.resolved.services).some((s) => s.kind === "simulation-engine")) {
    throw new CliError(
      `'${configPath}' has no simulation-engine service; add one to its services`,
    );
  }
  return loaded;
}

/**
 * The overrides of the engine, storage and persistence flags, validated in the usage's order
 * so that the first bad one is the one reported; `checked` is the config they apply to (for
 * the --persistence limit).
 */
function engineOverrides(
  flags: RunFlags,
  checked: ResolvedConfig,
  defaultTicks: number,
): RunOverrides {
  // --ticks overrides; without it the config's ticks run, or the command's default.
  const overrides: RunOverrides = { defaultTicks };
  if (flags.ticks !== undefined) overrides.ticks = intFlag("ticks", flags.ticks, 0);
  const shape = shapeFlag(flags.shape);
  if (shape !== undefined) overrides.shape = shape;
  const seed = seedFlag(flags.seed);
  if (seed !== undefined) overrides.seed = seed;
  if (flags.sampling !== undefined) {
    overrides.sampling = intFlag("sampling", flags.sampling, 10, 1);
  }
  const encodeOnWorker = encoderFlag(flags.encoder);
  if (encodeOnWorker !== undefined) overrides.encodeOnWorker = encodeOnWorker;
  if (flags["data-dir"] !== undefined) overrides.dataDir = flags["data-dir"];
  if (flags.persistence !== undefined) {
    const workers = intFlag("persistence", flags.persistence, 3, 1);
    checkPersistenceFlag({ workers, config: checked, configPath: flags.config });
    overrides.persistence = workers;
  }
  return overrides;
}

/** Options of {@link withRunId}. */
interface RunIdInput {
  flags: RunFlags;
  /** The config as loaded, before any override. */
  base: PipelineConfig;
  /** The overrides of every other flag. */
  engineFlags: RunOverrides;
  /** The run --resume continues (already checked), if any. */
  resumeId: string | undefined;
}

/**
 * The overrides with the run id of --run-id or --resume. A resumed run without --ticks runs to
 * the target it was last started with, so resuming it finishes what it set out to do.
 */
async function withRunId(o: RunIdInput): Promise<RunOverrides> {
  const runIdFlag = o.flags["run-id"];
  if (o.resumeId === undefined) {
    return runIdFlag === undefined
      ? o.engineFlags
      : { ...o.engineFlags, runId: checkRunIdFlag("run-id", runIdFlag) };
  }
  refuseResumeConflicts(o.flags);
  const overrides: RunOverrides = { ...o.engineFlags, runId: o.resumeId };
  if (o.flags.ticks !== undefined) return overrides;
  const target = await storedTarget(resolveConfig(applyOverrides(o.base, overrides)), o.resumeId);
  return target === null ? overrides : { ...overrides, ticks: target };
}

/** Refuses the flags that would change what a resumed run is: its engine config and its id. */
function refuseResumeConflicts(flags: RunFlags): void {
  for (const flag of ["seed", "shape", "sampling", "run-id"] as const) {
    if (flags[flag] !== undefined) {
      throw new CliError(
        `--${flag} cannot be combined with --resume: a resumed run keeps its own ` +
          `${flag === "run-id" ? "id" : "engine config"}`,
      );
    }
  }
}

/** Options of {@link planResume}: the plan of a new run, to be turned into a resumed one. */
interface ResumeInput extends RunPlan {
  flags: RunFlags;
  dev: boolean;
  base: PipelineConfig;
  overrides: RunOverrides;
  resumeId: string;
}

/**
 * The plan of `--resume`: the run's own engine config and the checkpoint it continues from,
 * announced on stderr (`run --json` stays quiet but for its summary); null, after saying so,
 * for a finished run with nothing to resume.
 */
async function planResume(o: ResumeInput): Promise<RunPlan | null> {
  const idleAfterMs = intFlag("idle-after", o.flags["idle-after"], DEFAULT_IDLE_MS / 1000) *
    1000;
  const point = await resumePointFlag(o.config, o.resumeId, idleAfterMs);
  if (point === null) {
    console.error(`Run ${o.resumeId} is finished; nothing to resume`);
    return null;
  }
  const config = resolveConfig(applyOverrides(o.base, { ...o.overrides, engine: point.engine }));
  const options: PipelineOptions = { ...o.options, resume: resumeFrom(point) };
  if (o.dev || !o.flags.json) console.error(resumeMessage(o.resumeId, point));
  return { config, options, configPath: o.configPath };
}

/** The line saying where a resumed (or extended) run continues from. */
function resumeMessage(runId: string, point: ResumeFlagPoint): string {
  return (point.end === null
    ? `Resuming run ${runId}`
    : `Extending run ${runId} (it ended at tick ${point.end.lastTick}; ` +
      `${point.retracted} files stored after the checkpoint taken back)`) +
    (point.checkpoint === null
      ? ` from tick 0 (no checkpoint with all its batches stored` +
        `${point.skipped.length > 0 ? `: ${point.skipped.at(-1)}` : ""})`
      : ` from the checkpoint at tick ${point.checkpoint.tick} ` +
        `(${point.storedBatches} batches stored)`);
}
