/**
 * `evochora service <name> --config F`: one service of a config in this process, for
 * multi-process and multi-host setups (Kafka queues and topics, S3 storage). The same service
 * code as in-process; only the resources differ.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import {
  Pipeline,
  type PipelineOptions,
  resolveConfig,
  type ResolvedConfig,
} from "../services/runner/mod.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { loadConfigFlag, type LoadedConfig } from "./config_flag.ts";
import { applyOverrides } from "./run_overrides.ts";
import { checkRunIdFlag, engineRunStart } from "./run_resume.ts";
import { pipelineSetupError } from "./engine_setup_error.ts";
import { Progress } from "./progress.ts";
import { startStatusReports } from "./status_report.ts";

export const SERVICE_USAGE =
  `Usage: evochora service <name> [<name>...] --config F [--run-id ID] [--json] [--report-every MS]

Runs the named services of config F in this process until they finish (a finite engine run)
or until Ctrl-C/SIGTERM, then stops them cleanly.

A simulation-engine service started on a run id (--run-id, or its runId in the config) that
the storage holds already continues that run from its newest checkpoint at a batch boundary,
byte for byte as if it had never stopped (a finished run is extended when the engine's ticks
go beyond its end, or run until stopped with ticks 0). It refuses a run still running: a
second engine would only duplicate the first one's work.

Options:
  --config F     the config file (required)
  --run-id ID    the run of the simulation-engine service among <name>
  --idle-after S seconds without progress after which a stored run without an end record
                 counts as dead, so that an engine may continue it (default ${
    DEFAULT_IDLE_MS / 1000
  })
  --json         print the final status as one JSON object on stdout
  --report-every MS
                 print a status report (memory, services' state and metrics) as one JSON
                 line on stdout every MS milliseconds, and one at the end
  -h, --help     show this help`;

/** Runs `evochora service`. */
export async function serviceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      "run-id": { type: "string" },
      "idle-after": { type: "string" },
      json: { type: "boolean", default: false },
      "report-every": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(SERVICE_USAGE);
    return 0;
  }
  if (values.config === undefined) throw new CliError("--config is required; see --help");
  if (positionals.length === 0) throw new CliError("name at least one service to run; see --help");
  const reportEvery = intFlag("report-every", values["report-every"], 0, 1);
  const loaded = await loadConfigFlag(values.config);
  const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) * 1000;
  const engineRun = await engineRunOf(loaded, positionals, values["run-id"], idleAfterMs);
  if (engineRun === "finished") return 0;
  const { config, options } = engineRun;
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config, positionals, options);
  } catch (e) {
    const setup = pipelineSetupError(e, { config, only: positionals, configPath: values.config });
    if (setup !== undefined) throw setup;
    throw new CliError((e as Error).message, 1);
  }
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(130);
    console.error("\nStopping (Ctrl-C again to abandon)");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const progress = new Progress();
  const line = () =>
    pipeline.status().services.map((s) => {
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
  try {
    await pipeline.start();
    console.error(`Started ${positionals.join(", ")} from ${values.config}`);
    if (pipeline.engine !== undefined) console.error(`Run ${pipeline.engine.runId}`);
    const timer = setInterval(() => progress.update(line), 500);
    const stopReports = reportEvery > 0
      ? startStatusReports({ everyMs: reportEvery, status: () => pipeline.status() })
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
    if (values.json) {
      console.log(JSON.stringify({ runId: pipeline.engine?.runId ?? null, ...status }));
    }
    const failed = status.services.filter((s) => s.state === "failed");
    for (const s of failed) console.error(`${s.name} failed: ${s.error}`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
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
      resume: {
        metadata: point.metadata,
        ...(point.checkpoint === null ? {} : { checkpoint: point.checkpoint.bytes }),
      },
    },
  };
}
