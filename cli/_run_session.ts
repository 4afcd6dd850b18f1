/**
 * The running half of `evochora run` and `evochora dev`: the pipeline created, started with a
 * live status line, stopped cleanly on Ctrl-C/SIGTERM (or abandoned on a second one), drained
 * and summarized.
 *
 * @module
 */

import { ApiService } from "../services/api/mod.ts";
import { ConfigError, Pipeline, type ResolvedConfig } from "../services/runner/mod.ts";
import { CliError } from "./cli_error.ts";
import { pipelineSetupError } from "./engine_setup_error.ts";
import { compact, Progress } from "./progress.ts";
import { mb, reportSummary, sum, summarize, type SummaryInput } from "./run_summary.ts";
import type { RunFlags, RunPlan } from "./_run_plan.ts";

/** The engine service of a pipeline. */
export type Engine = NonNullable<Pipeline["engine"]>;

/**
 * Creates the pipeline of `plan`. An engine that cannot be set up becomes a CliError naming the
 * flag or config field at fault; other failures exit 1 with their message.
 */
export async function createPipeline(
  plan: RunPlan,
  flags: Pick<RunFlags, "shape" | "seed">,
): Promise<Pipeline> {
  try {
    return await Pipeline.create(plan.config, undefined, plan.options);
  } catch (e) {
    const setup = pipelineSetupError(e, {
      config: plan.config,
      configPath: plan.configPath,
      shape: flags.shape,
      seed: flags.seed,
    });
    if (setup !== undefined) throw setup;
    if (e instanceof ConfigError) throw e;
    throw new CliError((e as Error).message, 1);
  }
}

/** Options of {@link runToEnd}. */
export interface RunToEndOptions {
  /** Created, not started. */
  pipeline: Pipeline;
  config: ResolvedConfig;
  /** `dev`: announce how to stop, and keep serving a run whose population died out. */
  dev: boolean;
  /** --json: the summary as one JSON line, and no start line on stderr (unless `dev`). */
  json: boolean;
  /** How long the drain after the run may take. */
  drainMs: number;
}

/**
 * Starts the pipeline, runs it until its engine is done or a stop signal, drains it and prints
 * the summary. Resolves the exit code: 0 only when everything was stored and indexed and
 * nothing went to the dead letters.
 */
export async function runToEnd(o: RunToEndOptions): Promise<number> {
  const { pipeline, config } = o;
  const engine = pipeline.engine;
  if (engine === undefined) throw new CliError("the config has no simulation-engine service");
  const storage = storageOf(config);
  const progress = new Progress();
  const started = performance.now();
  const status = statusLine(pipeline, started);
  const stop = listenForStop();
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    await pipeline.start();
    announce({ ...o, engine, ...storage });
    timer = setInterval(() => progress.update(status), 250);
    await untilEnd({ engine, stop: stop.signal, progress, dev: o.dev });
    const complete = await pipeline.stop(o.drainMs);
    clearInterval(timer);
    progress.done(status);
    const summary = await summarize({ pipeline, config, started, complete, ...storage });
    reportSummary(summary, { json: o.json, drainMs: o.drainMs, status: pipeline.status() });
    return complete && summary.deadLetters === 0 ? 0 : 1;
  } finally {
    // A failing stop or summary must not leave the status line ticking.
    clearInterval(timer);
    stop.close();
  }
}

/** Where the run's data goes: the config's filesystem storage or its S3 bucket. */
type RunStorage = Pick<SummaryInput, "dataDir" | "s3">;

/** The storage resources of `config`, for the start line and the summary. */
function storageOf(config: ResolvedConfig): RunStorage {
  const dataDir = Object.values(config.resources).find((r) => r.kind === "filesystem");
  const s3Resource = Object.values(config.resources).find((r) => r.kind === "s3");
  const s3 = s3Resource?.kind === "s3" ? s3Resource : undefined;
  return { dataDir, s3 };
}

/** The live status line of a running pipeline, with rates since `started`. */
function statusLine(pipeline: Pipeline, started: number): () => string {
  const rawQueue = [...pipeline.resources.values()].find((r) => r.role === "queue");
  return () => {
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
}

/** Ctrl-C/SIGTERM while the pipeline runs, until `close`. */
interface StopListener {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** Removes the signal listeners. */
  close(): void;
}

/**
 * Listens for Ctrl-C and SIGTERM: the first one asks for a clean stop (the last chunk flushed,
 * persistence waited for), a second one exits 130 at once for a user who will not wait.
 */
function listenForStop(): StopListener {
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      console.error(
        "\nStopping: flushing the last chunk and waiting for persistence (Ctrl-C again to abandon)",
      );
      stop.abort();
    } else {
      console.error("Abandoning: records not yet stored are lost from the in-memory queue.");
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  return {
    signal: stop.signal,
    close: () => {
      Deno.removeSignalListener("SIGINT", onSignal);
      if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", onSignal);
    },
  };
}

/** Options of {@link announce}. */
interface AnnounceOptions extends RunToEndOptions, RunStorage {
  engine: Engine;
}

/** Prints the web client's URL when the pipeline serves one, and the run's start line. */
function announce(o: AnnounceOptions): void {
  const api = o.pipeline.services.find((s): s is ApiService => s instanceof ApiService);
  if (api !== undefined) console.log(`Evochora: ${api.url}/ - open it in a browser`);
  if (o.dev || !o.json) {
    console.error(
      `Run ${o.engine.runId}: ${o.config.startupSequence.length} services, data in ${
        o.dataDir?.kind === "filesystem"
          ? o.dataDir.root
          : o.s3 !== undefined
          ? `s3://${o.s3.bucket}/${o.s3.prefix}`
          : "(no storage)"
      }${o.dev ? "; Ctrl-C to stop" : ""}`,
    );
  }
}

/** Options of {@link untilEnd}. */
export interface UntilEndOptions {
  engine: Engine;
  /** Aborted by a stop signal. */
  stop: AbortSignal;
  progress: Progress;
  dev: boolean;
}

/**
 * Waits until the engine is done or a stop signal. A run whose population died out is said to
 * have ended there; under `dev` it stays served until the stop signal.
 */
export async function untilEnd(o: UntilEndOptions): Promise<void> {
  // A Ctrl-C while the pipeline was starting has already aborted the signal, and an abort
  // listener added now would never fire.
  const stopped = o.stop.aborted
    ? Promise.resolve()
    : new Promise<void>((r) => o.stop.addEventListener("abort", () => r(), { once: true }));
  await Promise.race([o.engine.done, stopped]);
  if (o.engine.extinctAt === null) return;
  console.error(
    (o.progress.enabled ? "\n" : "") +
      `Run ${o.engine.runId}: the population died out at tick ${o.engine.extinctAt}; the run ` +
      `ends there (endWhenExtinct: false in the engine's config simulates on)` +
      (o.dev ? "; still serving its data, Ctrl-C to stop" : ""),
  );
  // dev is for watching: the run stays on view until the user is done with it.
  if (o.dev) await stopped;
}
