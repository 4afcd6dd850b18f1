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
  loadConfigFile,
  Pipeline,
  type PipelineConfig,
  type PipelineStatus,
  resolveConfig,
  type ServiceConfig,
} from "../services/runner/mod.ts";
import { parseShape } from "../services/simulation_engine/runtime/mod.ts";
import { CliError, intFlag, seedFlag } from "./cli_error.ts";
import { compact, Progress } from "./progress.ts";

export const RUN_USAGE = `Usage: evochora run [options]

Runs the whole pipeline in this process (engine, queue, competing persistence workers,
storage) for a number of ticks, waits until everything is stored, and prints a summary.

Options:
  --ticks N          ticks to simulate (default 10000; 0 runs until Ctrl-C)
  --shape WxH        world shape (default 256x256)
  --seed S           random seed (default 42)
  --data-dir D       root of filesystem storage (default ./data)
  --persistence K    competing persistence workers (default: as configured, 3 by default)
  --config F         a config file (default: the in-process defaults)
  --json             print one JSON object as the last line of stdout
  -h, --help         show this help`;

export const DEV_USAGE = `Usage: evochora dev [options]

Runs the in-process pipeline with the default config, the indexers, the query API and the
web client until Ctrl-C, and prints the URL. Accepts the options of 'evochora run';
--ticks defaults to 0 (run until stopped), --port sets the API port (default 8080).`;

/** The --json summary of a run. */
export interface RunSummary {
  runId: string;
  ticks: number;
  chunks: number;
  batches: number;
  duplicateBatches: number;
  rawBytes: number;
  storedBytes: number;
  deadLetters: number;
  compressionRatio: number;
  complete: boolean;
  persistence: Record<string, Record<string, number>>;
  dataDir: string | undefined;
  /** S3 bucket (and key prefix) when the storage is S3. */
  bucket: string | undefined;
  elapsedMs: number;
  ticksPerSecond: number;
}

/** Applies command-line overrides to a config. */
export function applyOverrides(
  config: PipelineConfig,
  o: {
    ticks?: number;
    shape?: number[];
    seed?: bigint;
    dataDir?: string;
    persistence?: number;
  },
): PipelineConfig {
  const resources = structuredClone(config.resources);
  let services: Record<string, ServiceConfig> = structuredClone(config.services);
  let sequence = [...(config.startupSequence ?? Object.keys(services))];
  if (o.dataDir !== undefined) {
    for (const r of Object.values(resources)) if (r.kind === "filesystem") r.root = o.dataDir;
  }
  for (const s of Object.values(services)) {
    if (s.kind !== "simulation-engine") continue;
    if (o.ticks !== undefined) s.ticks = o.ticks;
    s.engine = { ...(s.engine ?? {}) };
    if (o.shape !== undefined) s.engine.shape = o.shape;
    if (o.seed !== undefined) s.engine.seed = o.seed;
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
  return { resources, services, startupSequence: sequence };
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** Sums a metric over the services of a kind. */
function sum(status: PipelineStatus, kind: string, metric: string): number {
  return status.services
    .filter((s) => s.kind === kind)
    .reduce((n, s) => n + (s.metrics[metric] ?? 0), 0);
}

/** Runs the pipeline; shared by `run` and `dev`. */
async function runPipeline(args: string[], dev: boolean): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ticks: { type: "string" },
      shape: { type: "string" },
      seed: { type: "string" },
      "data-dir": { type: "string" },
      persistence: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
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
  const base = values.config === undefined
    ? defaultConfig({
      dataDir: values["data-dir"] ?? "./data",
      ...(dev ? { apiPort: intFlag("port", values.port, 8080) } : {}),
    })
    : await loadConfigFile(values.config);
  const overrides: Parameters<typeof applyOverrides>[1] = {
    ticks: intFlag("ticks", values.ticks, dev ? 0 : 10000),
  };
  if (values.shape !== undefined) overrides.shape = parseShape(values.shape);
  const seed = seedFlag(values.seed);
  if (seed !== undefined) overrides.seed = seed;
  if (values["data-dir"] !== undefined) overrides.dataDir = values["data-dir"];
  if (values.persistence !== undefined) {
    overrides.persistence = intFlag("persistence", values.persistence, 3, 1);
  }
  const config = resolveConfig(applyOverrides(base, overrides));
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config);
  } catch (e) {
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
    await Promise.race([
      engine.done,
      new Promise<void>((r) => stopSignal.signal.addEventListener("abort", () => r())),
    ]);
    const complete = await pipeline.stop(60000);
    clearInterval(timer);
    progress.done(status);
    const st = pipeline.status();
    const elapsedMs = performance.now() - started;
    const e = st.services.find((s) => s.kind === "simulation-engine")!;
    const persistence: Record<string, Record<string, number>> = {};
    for (const s of st.services.filter((s) => s.kind === "persistence")) {
      persistence[s.name] = {
        batches: s.metrics.batches ?? 0,
        duplicateBatches: s.metrics.duplicate_batches ?? 0,
        records: s.metrics.records ?? 0,
        bytes: s.metrics.bytes ?? 0,
        storedBytes: s.metrics.stored_bytes ?? 0,
        deadLetters: s.metrics.dead_letters ?? 0,
        errors: s.metrics.errors ?? 0,
      };
    }
    const rawBytes = e.metrics.bytes ?? 0;
    const storedBytes = sum(st, "persistence", "stored_bytes");
    const summary: RunSummary = {
      runId: engine.runId,
      ticks: e.metrics.tick ?? 0,
      chunks: e.metrics.chunks ?? 0,
      batches: sum(st, "persistence", "batches"),
      duplicateBatches: sum(st, "persistence", "duplicate_batches"),
      rawBytes,
      storedBytes,
      deadLetters: sum(st, "persistence", "dead_letters"),
      compressionRatio: storedBytes > 0 ? rawBytes / storedBytes : 0,
      complete,
      persistence,
      dataDir: dataDir?.kind === "filesystem" ? dataDir.root : undefined,
      bucket: s3 === undefined ? undefined : `${s3.bucket}${s3.prefix ? `/${s3.prefix}` : ""}`,
      elapsedMs: Math.round(elapsedMs),
      ticksPerSecond: Math.round((e.metrics.tick ?? 0) / (elapsedMs / 1000)),
    };
    for (const s of st.services) {
      if (s.error !== undefined) console.error(`${s.name}: ${s.error}`);
    }
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `Run ${summary.runId}: ${summary.ticks} ticks, ${summary.chunks} chunks in ${summary.batches} batches, ` +
          `${mb(rawBytes)} MB raw -> ${mb(storedBytes)} MB stored (${
            summary.compressionRatio.toFixed(2)
          }:1), ${summary.deadLetters} dead letters, ${(elapsedMs / 1000).toFixed(1)} s` +
          (complete ? "" : " - NOT everything was stored"),
      );
    }
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
