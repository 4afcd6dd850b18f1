/**
 * One service process: what each `services/<kind>/main.ts` runs (the launcher,
 * `evochora service`, starts it with the permissions of services/runner/permissions.ts).
 * Reads the config, builds the named services' resources, runs them until they finish (a
 * finite engine run) or until SIGINT/SIGTERM, then stops them cleanly. An engine started on a
 * stored run id continues that run (engineRunOf) before it starts.
 *
 *   deno run <flags> services/<kind>/main.ts --config F <name>... [--run-id ID] [--ticks N]
 *     [--seed S] [--shape WxH] [--idle-after S] [--json] [--report-every MS] [--exit-with-parent]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AssemblyError } from "../services/simulation_engine/assembler/mod.ts";
import { ConfigError } from "../services/simulation_engine/runtime/mod.ts";
import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import {
  Pipeline,
  type PipelineOptions,
  resolveConfig,
  type ResolvedConfig,
} from "../services/runner/mod.ts";
import { derivePermissions, missingPermissions } from "../services/runner/permissions.ts";
import { denoEnv } from "../resources/kafka/client.ts";
import { CliError, intFlag, seedFlag, shapeFlag } from "./cli_error.ts";
import { loadConfigFlag, type LoadedConfig } from "./config_flag.ts";
import { applyOverrides, type RunOverrides } from "./run_overrides.ts";
import { checkRunIdFlag, engineRunStart, resumeFrom } from "./run_resume.ts";
import { pipelineSetupError } from "./engine_setup_error.ts";
import { Progress } from "./progress.ts";
import { startStatusReports } from "./status_report.ts";

/** The flags of a service process (the launcher passes them on). */
export const SERVICE_PROCESS_FLAGS = {
  config: { type: "string" },
  "run-id": { type: "string" },
  ticks: { type: "string" },
  seed: { type: "string" },
  shape: { type: "string" },
  "idle-after": { type: "string" },
  json: { type: "boolean", default: false },
  "report-every": { type: "string" },
  "exit-with-parent": { type: "boolean", default: false },
} as const;

/** Signals this close after the first are the same signal delivered twice, ms. */
const DUPLICATE_SIGNAL_MS = 500;

/** Options of {@link serviceProcessMain}. */
export interface ServiceProcessOptions {
  /** The service kind of the entry point; every named service must be one (undefined: any). */
  kind: string | undefined;
  args: readonly string[];
}

/**
 * Runs a service process and returns its exit code. Bad input becomes one line on stderr,
 * `evochora service: ...`, and exit code 2 (or the CliError's own); anything else propagates.
 */
export async function serviceProcessMain(o: ServiceProcessOptions): Promise<number> {
  try {
    return await runServiceProcess(o);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const usage = e instanceof CliError || e instanceof AssemblyError || e instanceof ConfigError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
    if (!usage) throw e;
    console.error(`evochora service: ${(e as Error).message.trim().replace(/\s*\n\s*/g, " ")}`);
    return e instanceof CliError ? e.exitCode : 2;
  }
}

async function runServiceProcess(o: ServiceProcessOptions): Promise<number> {
  const { values, positionals: names } = parseArgs({
    args: [...o.args],
    options: SERVICE_PROCESS_FLAGS,
    strict: true,
    allowPositionals: true,
  });
  if (values["exit-with-parent"]) exitWithParent();
  if (values.config === undefined) throw new CliError("--config is required");
  if (names.length === 0) throw new CliError("name at least one service to run");
  const reportEvery = intFlag("report-every", values["report-every"], 0, 1);
  const loaded = await loadConfigFlag(values.config);
  for (const n of names) {
    const s = loaded.resolved.services[n];
    if (s === undefined) {
      throw new CliError(
        `No service named '${n}'; the config defines: ${
          loaded.resolved.startupSequence.join(", ")
        }`,
      );
    }
    if (o.kind !== undefined && s.kind !== o.kind) {
      throw new CliError(`'${n}' is a ${s.kind} service; this entry point runs ${o.kind} only`);
    }
  }
  checkPermissions(loaded.resolved, names, values.config);
  const overridden = withEngineFlags(loaded, names, values);
  const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) * 1000;
  const engineRun = await engineRunOf(overridden, names, values["run-id"], idleAfterMs);
  if (engineRun === "finished") return 0;
  const { config, options } = engineRun;
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config, names, options);
  } catch (e) {
    const setup = pipelineSetupError(e, { config, only: names, configPath: values.config });
    if (setup !== undefined) throw setup;
    throw new CliError((e as Error).message, 1);
  }
  return await runPipeline(pipeline, {
    names,
    configPath: values.config,
    json: values.json,
    reportEvery,
  });
}

/**
 * Exits at once when the launcher is gone: it holds this process' stdin open while it runs,
 * so end of input means it died (even by SIGKILL, which it cannot forward). Exiting without a
 * clean stop is what a kill of the launcher asks for.
 */
function exitWithParent(): void {
  (async () => {
    const buf = new Uint8Array(256);
    try {
      while ((await Deno.stdin.read(buf)) !== null) { /* the launcher sends nothing */ }
    } catch {
      // A broken pipe is the same news.
    }
    console.error("evochora service: the launcher is gone; exiting");
    Deno.exit(137);
  })();
}

/**
 * Throws CliError (exit 1) naming what the services need and this process may not do, before
 * anything connects: a denied connection would otherwise be retried by the clients for a
 * minute and then reported as an obscure EPERM.
 */
function checkPermissions(config: ResolvedConfig, names: string[], configPath: string): void {
  let missing: string[];
  try {
    missing = missingPermissions(
      derivePermissions({ config, services: names, configPath, env: denoEnv }),
    );
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`${configPath}: ${e.message}`);
    throw e;
  }
  if (missing.length === 0) return;
  throw new CliError(
    `${names.join(", ")} ${names.length === 1 ? "needs" : "need"} permissions this process lacks: ${
      missing.join(", ")
    }; ` +
      `'evochora service ${names.join(" ")} --config ${configPath}' starts them with the ` +
      `permissions derived from the config and this environment (--print-permissions shows them)`,
    1,
  );
}

/** The config with --ticks, --seed and --shape applied to its engine (which must be named). */
function withEngineFlags(
  loaded: LoadedConfig,
  names: readonly string[],
  values: { ticks?: string | undefined; seed?: string | undefined; shape?: string | undefined },
): LoadedConfig {
  const o: RunOverrides = {};
  if (values.ticks !== undefined) o.ticks = intFlag("ticks", values.ticks, 0);
  const seed = seedFlag(values.seed);
  if (seed !== undefined) o.seed = seed;
  const shape = shapeFlag(values.shape);
  if (shape !== undefined) o.shape = shape;
  if (Object.keys(o).length === 0) return loaded;
  if (!names.some((n) => loaded.resolved.services[n]?.kind === "simulation-engine")) {
    throw new CliError(
      `--ticks, --seed and --shape set the simulation-engine's run; none of ${
        names.join(", ")
      } is one`,
    );
  }
  const config = applyOverrides(loaded.config, o);
  return { config, resolved: resolveConfig(config) };
}

/** Options of {@link runPipeline}. */
interface RunOptions {
  names: readonly string[];
  configPath: string;
  json: boolean;
  reportEvery: number;
}

/** Starts the pipeline, waits for its end or a signal, stops it; the exit code. */
async function runPipeline(pipeline: Pipeline, o: RunOptions): Promise<number> {
  const stop = new AbortController();
  let firstSignalAt: number | undefined;
  const onSignal = () => {
    if (firstSignalAt !== undefined) {
      // One Ctrl-C reaches a child both from the terminal and from the launcher: a second
      // signal counts only when it comes later.
      if (performance.now() - firstSignalAt > DUPLICATE_SIGNAL_MS) Deno.exit(130);
      return;
    }
    firstSignalAt = performance.now();
    console.error("\nStopping (Ctrl-C again to abandon)");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const progress = new Progress();
  const line = () => statusLine(pipeline);
  try {
    await pipeline.start();
    console.error(`Started ${o.names.join(", ")} from ${o.configPath}`);
    if (pipeline.engine !== undefined) console.error(`Run ${pipeline.engine.runId}`);
    const timer = setInterval(() => progress.update(line), 500);
    const stopReports = o.reportEvery > 0
      ? startStatusReports({ everyMs: o.reportEvery, status: () => pipeline.status() })
      : undefined;
    await Promise.race([
      Promise.all(pipeline.services.map((s) => s.done)),
      new Promise<void>((r) => stop.signal.addEventListener("abort", () => r())),
    ]);
    // A lone engine stops when done; consumers stop on a signal. Drain only what this
    // process owns (its queues are shared with other processes, so do not wait for them).
    const onlyEngine = pipeline.services.every((s) => s.kind === "simulation-engine");
    await pipeline.stop(onlyEngine ? 0 : 5000);
    clearInterval(timer);
    stopReports?.();
    progress.done(line);
    const status = pipeline.status();
    if (o.json) console.log(JSON.stringify({ runId: pipeline.engine?.runId ?? null, ...status }));
    const failed = status.services.filter((s) => s.state === "failed");
    for (const s of failed) console.error(`${s.name} failed: ${s.error}`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** One line of every service's state and main figures. */
function statusLine(pipeline: Pipeline): string {
  return pipeline.status().services.map((s) => {
    const m = s.metrics;
    const figures = s.kind === "simulation-engine"
      ? `tick ${m.tick}, ${Math.round(m.ticks_per_second ?? 0)} ticks/s, ${m.chunks} chunks`
      : s.kind === "persistence"
      ? `${m.batches} batches, ${
        ((m.stored_bytes ?? 0) / 1e6).toFixed(1)
      } MB stored, ${m.pending_batches} pending`
      : `${m.records} records`;
    return `${s.name} ${s.state}: ${figures}${s.error ? ` (${s.error})` : ""}`;
  }).join(" | ");
}

/**
 * The config and pipeline options for the named services: unchanged without an engine on a
 * named run; for one, a new run, the stored run continued, or "finished" (nothing to do).
 */
async function engineRunOf(
  loaded: LoadedConfig,
  names: readonly string[],
  runIdFlag: string | undefined,
  idleAfterMs: number,
): Promise<{ config: ResolvedConfig; options: PipelineOptions } | "finished"> {
  const engine = names.find((n) => loaded.resolved.services[n]?.kind === "simulation-engine");
  if (engine === undefined) {
    if (runIdFlag !== undefined) {
      throw new CliError(
        `--run-id names the run of a simulation-engine service; none of ${names.join(", ")} is one`,
      );
    }
    return { config: loaded.resolved, options: {} };
  }
  const configured = loaded.resolved.services[engine];
  const runId = runIdFlag === undefined
    ? (configured?.kind === "simulation-engine" ? configured.runId : undefined)
    : checkRunIdFlag("run-id", runIdFlag);
  if (runId === undefined) return { config: loaded.resolved, options: {} };
  const named = resolveConfig(applyOverrides(loaded.config, { runId }));
  const start = await engineRunStart(named, runId, idleAfterMs);
  if (start.kind === "new") return { config: named, options: {} };
  if (start.kind === "finished") {
    console.error(`Run ${runId} is finished and the engine's ticks go no further; nothing to do`);
    return "finished";
  }
  const { point } = start;
  console.error(
    `${point.end === null ? "Resuming" : "Extending"} run ${runId} from ${
      point.checkpoint === null ? "tick 0" : `the checkpoint at tick ${point.checkpoint.tick}`
    } (${point.storedBatches} batches stored${
      point.retracted > 0 ? `, ${point.retracted} files after the checkpoint taken back` : ""
    })`,
  );
  return {
    config: resolveConfig(applyOverrides(loaded.config, { runId, engine: point.engine })),
    options: {
      resume: resumeFrom(point),
    },
  };
}
