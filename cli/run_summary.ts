/**
 * The summary `run` and `dev` print when the pipeline stopped: what the engine produced, what
 * persistence stored, the run's state in storage, its index files against the raw batches, and
 * what was missing when the drain timed out.
 *
 * @module
 */

import { listAllObjects } from "../resources/storage/list_all_keys.ts";
import type { RunState } from "../services/common/run_state.ts";
import { runPrefix } from "../services/common/storage_layout.ts";
import type {
  DrainReport,
  Pipeline,
  PipelineStatus,
  ResolvedConfig,
  ResolvedResource,
} from "../services/runner/mod.ts";
import { overviewRun } from "./run_overview.ts";
import { openConfigStorage } from "./storage_flag.ts";

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
  /** Everything was stored and every index of the run written before the drain timeout. */
  complete: boolean;
  /** The run's state in storage after the drain (see services/common/run_state.ts). */
  state: RunState | "unknown";
  /** Index files written per kind, the raw batches they cover, and the lag (batches). */
  index: {
    rawBatches: number;
    files: Record<string, number>;
    lag: Record<string, number>;
  } | null;
  /** What was missing when the drain timed out, one line each (empty when complete). */
  missing: string[];
  /** Crash leftovers swept at start. */
  swept: number;
  persistence: Record<string, Record<string, number>>;
  dataDir: string | undefined;
  /** S3 bucket (and key prefix) when the storage is S3. */
  bucket: string | undefined;
  elapsedMs: number;
  ticksPerSecond: number;
}

/** MB with one decimal. */
export function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** Sums a metric over the services of a kind. */
export function sum(status: PipelineStatus, kind: string, metric: string): number {
  return status.services
    .filter((s) => s.kind === kind)
    .reduce((n, s) => n + (s.metrics[metric] ?? 0), 0);
}

/** What {@link summarize} needs of the finished command. */
export interface SummaryInput {
  pipeline: Pipeline;
  config: ResolvedConfig;
  /** performance.now() at the start. */
  started: number;
  /** What the pipeline's stop returned. */
  complete: boolean;
  dataDir: ResolvedResource | undefined;
  s3: Extract<ResolvedResource, { kind: "s3" }> | undefined;
}

/** The summary of a stopped pipeline (reads the run's state from storage again). */
export async function summarize(i: SummaryInput): Promise<RunSummary> {
  const st = i.pipeline.status();
  const elapsedMs = performance.now() - i.started;
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
  const drain = i.pipeline.lastDrain!;
  const runId = i.pipeline.engine!.runId;
  return {
    runId,
    ticks: e.metrics.tick ?? 0,
    chunks: e.metrics.chunks ?? 0,
    batches: sum(st, "persistence", "batches"),
    duplicateBatches: sum(st, "persistence", "duplicate_batches"),
    rawBytes,
    storedBytes,
    deadLetters: sum(st, "persistence", "dead_letters"),
    compressionRatio: storedBytes > 0 ? rawBytes / storedBytes : 0,
    complete: i.complete,
    state: await stateAfter(i.config, runId),
    index: indexSummary(drain),
    missing: drain.missing,
    swept: i.pipeline.swept.length,
    persistence,
    dataDir: i.dataDir?.kind === "filesystem" ? i.dataDir.root : undefined,
    bucket: i.s3 === undefined
      ? undefined
      : `${i.s3.bucket}${i.s3.prefix ? `/${i.s3.prefix}` : ""}`,
    elapsedMs: Math.round(elapsedMs),
    ticksPerSecond: Math.round((e.metrics.tick ?? 0) / (elapsedMs / 1000)),
  };
}

/** Prints the summary (one JSON line with `json`), services' errors and what was missing. */
export function reportSummary(
  summary: RunSummary,
  o: { json: boolean; drainMs: number; status: PipelineStatus },
): void {
  if (summary.swept > 0) {
    console.error(`Swept ${summary.swept} crash leftovers from earlier runs at start`);
  }
  for (const s of o.status.services) {
    if (s.error !== undefined) console.error(`${s.name}: ${s.error}`);
  }
  if (!summary.complete) {
    console.error(`Drain timed out after ${o.drainMs / 1000} s; missing:`);
    for (const m of summary.missing) console.error(`  - ${m}`);
  }
  if (o.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(
    `Run ${summary.runId}: ${summary.ticks} ticks, ${summary.chunks} chunks in ` +
      `${summary.batches} batches, ${mb(summary.rawBytes)} MB raw -> ${
        mb(summary.storedBytes)
      } MB stored (${summary.compressionRatio.toFixed(2)}:1), ${summary.deadLetters} dead ` +
      `letters, ${(summary.elapsedMs / 1000).toFixed(1)} s; ${summary.state}` +
      indexLine(summary.index) +
      (summary.complete ? "" : " - NOT everything was stored and indexed"),
  );
}

/** The index part of the summary. */
export function indexSummary(drain: DrainReport): RunSummary["index"] {
  const c = drain.index;
  if (c === null) return null;
  return {
    rawBatches: c.rawBatches,
    files: Object.fromEntries(c.kinds.map((k) => [k.kind, k.written])),
    lag: Object.fromEntries(c.kinds.map((k) => [k.kind, k.lag])),
  };
}

function indexLine(index: RunSummary["index"]): string {
  if (index === null) return "";
  const files = Object.entries(index.files).map(([k, n]) => `${k} ${n}`).join(", ");
  return `, index files of ${index.rawBatches} batches: ${files}`;
}

/** The run's state in storage (read again: the pipeline has closed its resources). */
export async function stateAfter(
  config: ResolvedConfig,
  runId: string,
): Promise<RunState | "unknown"> {
  try {
    const { storage } = await openConfigStorage(config);
    try {
      const objects = await listAllObjects(storage, runPrefix(runId));
      return (await overviewRun(storage, runId, objects)).state;
    } finally {
      await storage.close();
    }
  } catch {
    return "unknown"; // no storage in the config, or it cannot be reached now
  }
}
