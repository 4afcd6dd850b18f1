/**
 * `evochora run` and `evochora dev`: the pipeline in one process, with a live status line, a
 * clean stop on Ctrl-C/SIGTERM and a final summary.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ApiService } from "../services/api/mod.ts";
import {
  ConfigError,
  defaultConfig,
  type DefaultConfigOptions,
  Pipeline,
  type PipelineOptions,
  resolveConfig,
} from "../services/runner/mod.ts";
import { CliError, encoderFlag, intFlag, seedFlag, shapeFlag } from "./cli_error.ts";
import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import { loadConfigFlag, type LoadedConfig } from "./config_flag.ts";
import { pipelineSetupError } from "./engine_setup_error.ts";
import { applyOverrides, checkPersistenceFlag, type RunOverrides } from "./run_overrides.ts";
import { compact, Progress } from "./progress.ts";
import {
  checkRunIdFlag,
  refuseExistingRun,
  resumeFrom,
  resumePointFlag,
  storedTarget,
} from "./run_resume.ts";
import { mb, reportSummary, sum, summarize } from "./run_summary.ts";

export type { RunSummary } from "./run_summary.ts";

export const RUN_USAGE = `Usage: evochora run [options]

Runs the whole pipeline in this process (engine, queue, competing persistence workers,
indexers, storage) for a number of ticks, waits until everything is stored and every index
of the run is written (at most --drain-timeout seconds), and prints a summary: the run's
state, its index files and what is missing if the drain timed out. Exits 0 only when
everything is stored and indexed. It indexes only its own run: batches of earlier runs in the
storage that lack index files are left to 'evochora serve' (or 'dev'), which catch up on them.

Options:
  --ticks N          ticks to simulate; 0 runs until Ctrl-C (default: the config's ticks,
                     10000 when it sets none)
  --shape WxH        world shape (default 256x256)
  --seed S           random seed (default 42)
  --sampling N       store every Nth tick (default: the config's, 10 by default)
  --encoder E        where the engine encodes its chunks: 'worker' (a thread of their own,
                     beside the simulation) or 'inline' (the engine's thread); default: the
                     config's, else worker on machines with 4 or more cores
  --data-dir D       root of filesystem storage (default ./data)
  --persistence K    competing persistence workers, at most the tick queue's partitions
                     (default: as configured, 3 by default; the default queue has 6)
  --config F         a config file (default: the in-process defaults)
  --run-id ID        name the run (refused when the storage holds that run already)
  --resume ID        continue run ID from its newest checkpoint whose batches are all
                     stored, with the engine config it started with, to --ticks (total
                     ticks, as for a new run; default: the target it was last started
                     with); files already stored are written again as
                     byte-identical duplicates, which are no-ops. A finished run with
                     --ticks beyond its end is extended: what it stored after its last
                     checkpoint at a batch boundary is taken back and written again as a
                     run of that many ticks would have. Not with --seed, --shape,
                     --sampling or --run-id; a run that is still running (as inspect
                     says) is refused
  --idle-after S     with --resume: seconds without progress after which a run without an
                     end record counts as dead (default ${DEFAULT_IDLE_MS / 1000}, as inspect)
  --drain-timeout S  seconds to wait for storage and indexes after the run (default 120)
  --json             print one JSON object as the last line of stdout
  -h, --help         show this help`;

export const DEV_USAGE = `Usage: evochora dev [options]

Runs the in-process pipeline with the default config, the indexers, the query API and the
web client until Ctrl-C, and prints the URL. Accepts the options of 'evochora run';
--ticks defaults to 0 (run until stopped), --port sets the API port (default 8080).`;

/** The built-in config, validated like a file's. */
function defaultPipeline(options: DefaultConfigOptions): LoadedConfig {
  const config = defaultConfig(options);
  return { config, resolved: resolveConfig(config) };
}

/** Runs the pipeline; shared by `run` and `dev`. */
async function runPipeline(args: string[], dev: boolean): Promise<number> {
  const { values } = parseArgs({
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
  });
  if (values.help) {
    console.log(dev ? DEV_USAGE : RUN_USAGE);
    return 0;
  }
  if (values["data-dir"] === "") {
    throw new CliError("--data-dir expects a directory, got ''");
  }
  const configPath = values.config;
  const defaultTicks = dev ? 0 : 10000;
  const { config: base, resolved: checked } = configPath === undefined
    ? defaultPipeline({
      dataDir: values["data-dir"] ?? "./data",
      ticks: defaultTicks,
      ...(dev ? { apiPort: intFlag("port", values.port, 8080, 0, 65535) } : {}),
    })
    : await loadConfigFlag(configPath);
  if (!Object.values(checked.services).some((s) => s.kind === "simulation-engine")) {
    throw new CliError(
      `'${configPath}' has no simulation-engine service; add one to its services`,
    );
  }
  // --ticks overrides; without it the config's ticks run, or the command's default.
  const overrides: RunOverrides = { defaultTicks };
  if (values.ticks !== undefined) overrides.ticks = intFlag("ticks", values.ticks, 0);
  const shape = shapeFlag(values.shape);
  if (shape !== undefined) overrides.shape = shape;
  const seed = seedFlag(values.seed);
  if (seed !== undefined) overrides.seed = seed;
  if (values.sampling !== undefined) {
    overrides.sampling = intFlag("sampling", values.sampling, 10, 1);
  }
  const encodeOnWorker = encoderFlag(values.encoder);
  if (encodeOnWorker !== undefined) overrides.encodeOnWorker = encodeOnWorker;
  if (values["data-dir"] !== undefined) overrides.dataDir = values["data-dir"];
  if (values.persistence !== undefined) {
    const workers = intFlag("persistence", values.persistence, 3, 1);
    checkPersistenceFlag({ workers, config: checked, configPath });
    overrides.persistence = workers;
  }
  const resumeId = values.resume === undefined
    ? undefined
    : checkRunIdFlag("resume", values.resume);
  if (resumeId !== undefined) {
    for (const flag of ["seed", "shape", "sampling", "run-id"] as const) {
      if (values[flag] !== undefined) {
        throw new CliError(
          `--${flag} cannot be combined with --resume: a resumed run keeps its own ` +
            `${flag === "run-id" ? "id" : "engine config"}`,
        );
      }
    }
    overrides.runId = resumeId;
    if (values.ticks === undefined) {
      const target = await storedTarget(resolveConfig(applyOverrides(base, overrides)), resumeId);
      if (target !== null) overrides.ticks = target;
    }
  } else if (values["run-id"] !== undefined) {
    overrides.runId = checkRunIdFlag("run-id", values["run-id"]);
  }
  let config = resolveConfig(applyOverrides(base, overrides));
  // `run` indexes its own run only; `dev` serves (and so indexes) every run in the storage.
  const pipelineOptions: PipelineOptions = dev ? {} : { indexOwnRunOnly: true };
  if (resumeId !== undefined) {
    const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) *
      1000;
    const point = await resumePointFlag(config, resumeId, idleAfterMs);
    if (point === null) {
      console.error(`Run ${resumeId} is finished; nothing to resume`);
      return 0;
    }
    config = resolveConfig(applyOverrides(base, { ...overrides, engine: point.engine }));
    pipelineOptions.resume = resumeFrom(point);
    if (dev || !values.json) {
      console.error(
        (point.end === null
          ? `Resuming run ${resumeId}`
          : `Extending run ${resumeId} (it ended at tick ${point.end.lastTick}; ` +
            `${point.retracted} files stored after the checkpoint taken back)`) +
          (point.checkpoint === null
            ? ` from tick 0 (no checkpoint with all its batches stored` +
              `${point.skipped.length > 0 ? `: ${point.skipped.at(-1)}` : ""})`
            : ` from the checkpoint at tick ${point.checkpoint.tick} ` +
              `(${point.storedBatches} batches stored)`),
      );
    }
  } else if (overrides.runId !== undefined) {
    await refuseExistingRun(config, overrides.runId);
  }
  const drainMs = intFlag("drain-timeout", values["drain-timeout"], 120, 1) * 1000;
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config, undefined, pipelineOptions);
  } catch (e) {
    const setup = pipelineSetupError(e, {
      config,
      configPath,
      shape: values.shape,
      seed: values.seed,
    });
    if (setup !== undefined) throw setup;
    if (e instanceof ConfigError) throw e;
    throw new CliError((e as Error).message, 1);
  }
  const engine = pipeline.engine;
  if (engine === undefined) throw new CliError("the config has no simulation-engine service");
  const dataDir = Object.values(config.resources).find((r) => r.kind === "filesystem");
  const s3Resource = Object.values(config.resources).find((r) => r.kind === "s3");
  const s3 = s3Resource?.kind === "s3" ? s3Resource : undefined;
  const progress = new Progress();
  const started = performance.now();
  const rawQueue = [...pipeline.resources.values()].find((r) => r.role === "queue");
  const status = () => {
    const st = pipeline.status();
    const secs = Math.max((performance.now() - started) / 1000, 1e-9);
    const e = st.services.find((s) => s.kind === "simulation-engine")!.metrics;
    const stored = sum(st, "persistence", "stored_bytes");
    const raw = sum(st, "persistence", "bytes");
    const retained = rawQueue?.role === "queue" ? rawQueue.instance.stats().retainedBytes : 0;
    return `tick ${e.tick} | ${compact(e.ticks_per_second ?? 0)} ticks/s | queue ${
      mb(retained)
    } MB | ` +
      `raw ${mb((e.bytes ?? 0) / secs)} MB/s | stored ${mb(stored / secs)} MB/s | ` +
      `ratio ${stored > 0 ? (raw / stored).toFixed(2) : "-"} | batches ${
        sum(st, "persistence", "batches")
      } | alive ${e.organisms_alive}`;
  };
  const stopSignal = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      console.error(
        "\nStopping: flushing the last chunk and waiting for persistence (Ctrl-C again to abandon)",
      );
      stopSignal.abort();
    } else {
      console.error("Abandoning: records not yet stored are lost from the in-memory queue.");
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await pipeline.start();
    const api = pipeline.services.find((s): s is ApiService => s instanceof ApiService);
    if (api !== undefined) console.log(`Evochora: ${api.url}/ - open it in a browser`);
    if (dev || !values.json) {
      console.error(
        `Run ${engine.runId}: ${config.startupSequence.length} services, data in ${
          dataDir?.kind === "filesystem"
            ? dataDir.root
            : s3 !== undefined
            ? `s3://${s3.bucket}/${s3.prefix}`
            : "(no storage)"
        }${dev ? "; Ctrl-C to stop" : ""}`,
      );
    }
    const timer = setInterval(() => progress.update(status), 250);
    const stopped = new Promise<void>((r) =>
      stopSignal.signal.addEventListener("abort", () => r())
    );
    await Promise.race([engine.done, stopped]);
    if (engine.extinctAt !== null) {
      console.error(
        (progress.enabled ? "\n" : "") +
          `Run ${engine.runId}: the population died out at tick ${engine.extinctAt}; the run ` +
          `ends there (endWhenExtinct: false in the engine's config simulates on)` +
          (dev ? "; still serving its data, Ctrl-C to stop" : ""),
      );
      // dev is for watching: the run stays on view until the user is done with it.
      if (dev) await stopped;
    }
    const complete = await pipeline.stop(drainMs);
    clearInterval(timer);
    progress.done(status);
    const summary = await summarize({ pipeline, config, started, complete, dataDir, s3 });
    reportSummary(summary, { json: values.json, drainMs, status: pipeline.status() });
    return complete && summary.deadLetters === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** `evochora run` */
export function runCommand(args: string[]): Promise<number> {
  return runPipeline(args, false);
}

/** `evochora dev` */
export function devCommand(args: string[]): Promise<number> {
  return runPipeline(args, true);
}
