/**
 * One service process: what each `services/<kind>/main.ts` runs (the launcher,
 * `evochora service`, starts it with the permissions of services/runner/permissions.ts).
 * Reads the config, builds the named services' resources, runs them until they finish (a
 * finite engine run) or until SIGINT/SIGTERM, then stops them cleanly. An engine started on a
 * stored run id continues that run (engineRunOf) before it starts. While a broker or S3
 * endpoint does not answer, it says so (cli/waiting_report.ts), shows its services `waiting`
 * and sets them up again until it does.
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
import { denoEnv } from "../resources/common/env_reader.ts";
import { CliError, intFlag, seedFlag, shapeFlag } from "./cli_error.ts";
import { loadConfigFlag, type LoadedConfig } from "./config_flag.ts";
import { applyOverrides, type RunOverrides } from "./run_overrides.ts";
import { checkRunIdFlag, engineRunStart, resumeFrom } from "./run_resume.ts";
import { pipelineSetupError } from "./engine_setup_error.ts";
import { Progress } from "./progress.ts";
import { startStatusReports } from "./status_report.ts";
import { endpointHealth, waitingDetail } from "../resources/common/endpoint_health.ts";
import { type PipelineStatus, withWaiting } from "../services/common/service.ts";
import { WaitingReport } from "./waiting_report.ts";
import { HeartbeatPublisher } from "../services/common/heartbeat_publisher.ts";
import { buildResource } from "../services/runner/resources.ts";
import type { Topic } from "../resources/topic/topic.ts";

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
  const session = new Session({
    config: loaded.resolved,
    names,
    configPath: values.config,
    json: values.json,
    reportEvery,
  });
  try {
    const pipeline = await session.untilReachable(async () => {
      const engineRun = await engineRunOf(overridden, names, {
        runIdFlag: values["run-id"],
        idleAfterMs,
        engineFlags: ["seed", "shape"].filter((f) => values[f as "seed" | "shape"] !== undefined),
      });
      if (engineRun === "finished") return "finished";
      const { config, options } = engineRun;
      try {
        return await Pipeline.create(config, names, options);
      } catch (e) {
        const setup = pipelineSetupError(e, { config, only: names, configPath: values.config });
        if (setup !== undefined) throw setup;
        throw e;
      }
    });
    if (pipeline === "finished" || pipeline === "stopped") return 0;
    return await session.run(pipeline);
  } finally {
    await session.close();
  }
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

/** Options of {@link Session}. */
interface SessionOptions {
  config: ResolvedConfig;
  names: readonly string[];
  configPath: string;
  json: boolean;
  reportEvery: number;
}

/** How often the status line and the waiting lines are checked, ms. */
const CHECK_MS = 500;

/** How long a process that stops waits for its last heartbeat while waiting, ms. */
const LAST_BEAT_MS = 3000;

/** How long to wait before setting the services up again after an endpoint failed them, ms. */
const RETRY_SETUP_MS = 1000;

/**
 * One service process from its setup to its end: signals (the first one stops), the status
 * line, status reports, and the lines about endpoints that do not answer (cli/waiting_report.ts),
 * from the start, so that a process waiting for its broker says so instead of being silent.
 */
class Session {
  readonly #o: SessionOptions;
  readonly #stop = new AbortController();
  readonly #progress = new Progress();
  readonly #waiting: WaitingReport;
  readonly #timer: ReturnType<typeof setInterval>;
  #stopReports: (() => void) | undefined;
  #pipeline: Pipeline | undefined;
  /** Heartbeats while the pipeline is being set up and an endpoint does not answer. */
  #waitingBeats: Promise<{ topic: Topic; publisher: HeartbeatPublisher } | undefined> | undefined;
  #closed = false;
  #firstSignalAt: number | undefined;
  readonly #onSignal = () => {
    if (this.#firstSignalAt !== undefined) {
      // One Ctrl-C reaches a child both from the terminal and from the launcher: a second
      // signal counts only when it comes later.
      if (performance.now() - this.#firstSignalAt > DUPLICATE_SIGNAL_MS) Deno.exit(130);
      return;
    }
    this.#firstSignalAt = performance.now();
    console.error("\nStopping (Ctrl-C again to abandon)");
    this.#stop.abort();
  };

  constructor(o: SessionOptions) {
    this.#o = o;
    Deno.addSignalListener("SIGINT", this.#onSignal);
    Deno.addSignalListener("SIGTERM", this.#onSignal);
    this.#waiting = new WaitingReport({
      health: endpointHealth,
      who: o.names.join(", "),
      log: (line) => this.#log(line),
    });
    this.#timer = setInterval(() => {
      this.#waiting.check();
      this.#progress.update(() => this.#statusLine());
      if (this.#pipeline === undefined && endpointHealth.problems().length > 0) {
        this.#waitingBeats ??= this.#beatWhileWaiting();
      }
    }, CHECK_MS);
    if (o.reportEvery > 0) {
      this.#stopReports = startStatusReports({
        everyMs: o.reportEvery,
        status: () => this.status(),
      });
    }
  }

  /** The services' status: the pipeline's, or theirs while it is being set up. */
  status(): PipelineStatus {
    if (this.#pipeline !== undefined) return this.#pipeline.status();
    return {
      services: this.#o.names.map((name) => {
        const kinds = Pipeline.endpointKinds(this.#o.config, name);
        const detail = waitingDetail(endpointHealth.problems().filter((p) => kinds.has(p.kind)));
        const kind = this.#o.config.services[name]!.kind;
        if (this.#stop.signal.aborted) return { name, kind, state: "stopped", metrics: {} };
        return withWaiting({ name, kind, state: "starting", metrics: {} }, detail);
      }),
      resources: [],
    };
  }

  /**
   * Runs `setUp` again while it fails and an endpoint does not answer (the clients' own
   * retries give up after a minute; a broker that comes up later is still to be used), until
   * it succeeds or a signal stops the process ("stopped"). Other failures propagate.
   */
  async untilReachable<T>(setUp: () => Promise<T>): Promise<T | "stopped"> {
    const stopped = new Promise<"stopped">((r) =>
      this.#stop.signal.addEventListener("abort", () => r("stopped"), { once: true })
    );
    for (;;) {
      if (this.#stop.signal.aborted) return "stopped";
      try {
        // A setup cannot be aborted: on a signal it is left behind (the process exits).
        return await Promise.race([setUp(), stopped]);
      } catch (e) {
        if (e instanceof CliError) throw e;
        if (!endpointHealth.anyUnanswered()) throw new CliError((e as Error).message, 1);
        const pause = new Promise((r) => setTimeout(r, RETRY_SETUP_MS));
        if ((await Promise.race([pause, stopped])) === "stopped") return "stopped";
      }
    }
  }

  /**
   * Publishes this process's heartbeat (its services `waiting`) on the config's status topic
   * until the pipeline, which publishes its own, is set up: so that `evochora status` shows
   * what a process waits for, when the status topic's broker answers (when the broker is what
   * it waits for, its lines and status line say so).
   */
  async #beatWhileWaiting(): Promise<{ topic: Topic; publisher: HeartbeatPublisher } | undefined> {
    const name = this.#o.config.status;
    if (name === undefined) return undefined;
    let topic: Topic;
    try {
      topic = (await buildResource(name, this.#o.config.resources[name]!)).instance as Topic;
    } catch {
      return undefined; // its broker does not answer: the lines about it say so
    }
    if (this.#pipeline !== undefined || this.#closed) {
      await topic.close();
      return undefined;
    }
    const publisher = new HeartbeatPublisher({
      topic,
      services: () => this.status().services,
      log: () => {},
    });
    publisher.start();
    return { topic, publisher };
  }

  /**
   * Stops the heartbeats of {@link #beatWhileWaiting}, if they started, after a last beat;
   * waits for that up to {@link LAST_BEAT_MS} (a status topic still being opened is closed
   * once open).
   */
  async #stopWaitingBeats(): Promise<void> {
    const stopped = this.#waitingBeats?.then(async (beats) => {
      if (beats === undefined) return;
      await beats.publisher.stop();
      await beats.topic.close();
    }).catch(() => {});
    this.#waitingBeats = Promise.resolve(undefined);
    await Promise.race([stopped, new Promise((r) => setTimeout(r, LAST_BEAT_MS))]);
  }

  /** Starts the pipeline, waits for its end or a signal, stops it; the exit code. */
  async run(pipeline: Pipeline): Promise<number> {
    this.#pipeline = pipeline;
    await this.#stopWaitingBeats();
    await pipeline.start();
    const o = this.#o;
    this.#log(`Started ${o.names.join(", ")} from ${o.configPath}`);
    if (pipeline.engine !== undefined) this.#log(`Run ${pipeline.engine.runId}`);
    await Promise.race([
      Promise.all(pipeline.services.map((s) => s.done)),
      new Promise<void>((r) => this.#stop.signal.addEventListener("abort", () => r())),
    ]);
    // A lone engine stops when done; consumers stop on a signal. Drain only what this
    // process owns (its queues are shared with other processes, so do not wait for them).
    const onlyEngine = pipeline.services.every((s) => s.kind === "simulation-engine");
    await pipeline.stop(onlyEngine ? 0 : 5000);
    await this.close();
    const status = pipeline.status();
    if (o.json) console.log(JSON.stringify({ runId: pipeline.engine?.runId ?? null, ...status }));
    const failed = status.services.filter((s) => s.state === "failed");
    for (const s of failed) console.error(`${s.name} failed: ${s.error}`);
    return failed.length === 0 ? 0 : 1;
  }

  /**
   * Stops the timers (a last status line, report and heartbeat) and the signal handling.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#stopWaitingBeats();
    this.#stopReports?.();
    this.#progress.done(() => this.#statusLine());
    Deno.removeSignalListener("SIGINT", this.#onSignal);
    Deno.removeSignalListener("SIGTERM", this.#onSignal);
  }

  /** A line on stderr, on a line of its own beside the status line. */
  #log(line: string): void {
    if (this.#progress.enabled) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    console.error(line);
  }

  /** One line of every service's state and main figures. */
  #statusLine(): string {
    return this.status().services.map((s) => {
      const m = s.metrics;
      const figures = s.state === "waiting" || s.state === "starting"
        ? ""
        : s.kind === "simulation-engine"
        ? `: tick ${m.tick}, ${Math.round(m.ticks_per_second ?? 0)} ticks/s, ${m.chunks} chunks`
        : s.kind === "persistence"
        ? `: ${m.batches} batches, ${
          ((m.stored_bytes ?? 0) / 1e6).toFixed(1)
        } MB stored, ${m.pending_batches} pending`
        : `: ${m.records} records`;
      const notes = [s.detail, s.error].filter((x) => x !== undefined).join("; ");
      return `${s.name} ${s.state}${figures}${notes === "" ? "" : ` (${notes})`}`;
    }).join(" | ");
  }
}

/** Options of {@link engineRunOf}. */
interface EngineRunOptions {
  /** --run-id, as given. */
  runIdFlag: string | undefined;
  idleAfterMs: number;
  /** The engine-config flags given (`seed`, `shape`): a stored run keeps its own. */
  engineFlags: readonly string[];
}

/**
 * The config and pipeline options for the named services: unchanged without an engine on a
 * named run; for one, a new run, the stored run continued, or "finished" (nothing to do).
 * Refuses --seed and --shape for a stored run, as `run --resume` does.
 */
async function engineRunOf(
  loaded: LoadedConfig,
  names: readonly string[],
  o: EngineRunOptions,
): Promise<{ config: ResolvedConfig; options: PipelineOptions } | "finished"> {
  const engine = names.find((n) => loaded.resolved.services[n]?.kind === "simulation-engine");
  if (engine === undefined) {
    if (o.runIdFlag !== undefined) {
      throw new CliError(
        `--run-id names the run of a simulation-engine service; none of ${names.join(", ")} is one`,
      );
    }
    return { config: loaded.resolved, options: {} };
  }
  const configured = loaded.resolved.services[engine];
  const runId = o.runIdFlag === undefined
    ? (configured?.kind === "simulation-engine" ? configured.runId : undefined)
    : checkRunIdFlag("run-id", o.runIdFlag);
  if (runId === undefined) return { config: loaded.resolved, options: {} };
  const named = resolveConfig(applyOverrides(loaded.config, { runId }));
  const start = await engineRunStart(named, runId, o.idleAfterMs);
  if (start.kind === "new") return { config: named, options: {} };
  const flag = o.engineFlags[0];
  if (flag !== undefined) {
    throw new CliError(
      `--${flag} cannot be used on run ${runId}: the storage holds it already, and a ` +
        `continued run keeps its own engine config; leave out --${flag}, or name a new run ` +
        `with --run-id`,
    );
  }
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
