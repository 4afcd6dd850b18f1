/**
 * GET /api/runs/:run/stats: metric series from the stats index over a tick range, downsampled
 * to at most `maxPoints` points by bucket means.
 *
 * @module
 */

import { STATS_COLUMNS, type StatsColumn, type StatsRow } from "../common/index_schema.ts";
import type { StatsResponse } from "./api_types.ts";
import { noIndex } from "./errors.ts";
import type { IndexData } from "./index_data.ts";
import type { BatchRange } from "./index_reader.ts";
import { StatsSummary } from "./stats_summary.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";

/** Metric names: every stats column but `tick`. */
export const STATS_METRICS: readonly Exclude<StatsColumn, "tick">[] = STATS_COLUMNS
  .map((c) => c[0])
  .filter((n): n is Exclude<StatsColumn, "tick"> => n !== "tick");

/** What a stats request asks for. */
export interface StatsQuery {
  metrics: Exclude<StatsColumn, "tick">[];
  /** Inclusive tick bounds. */
  from: number;
  to: number;
  maxPoints: number;
}

/**
 * Averages consecutive rows in buckets of `bucket` rows; each point carries the first tick of
 * its bucket. `bucket` 1 keeps the rows as they are.
 */
export function downsample(
  rows: readonly StatsRow[],
  metrics: readonly StatsColumn[],
  maxPoints: number,
): { ticks: number[]; series: Record<string, number[]>; bucket: number } {
  const bucket = Math.max(1, Math.ceil(rows.length / maxPoints));
  const ticks: number[] = [];
  const series: Record<string, number[]> = {};
  for (const m of metrics) series[m] = [];
  for (let i = 0; i < rows.length; i += bucket) {
    const end = Math.min(rows.length, i + bucket);
    ticks.push(rows[i]!.tick);
    for (const m of metrics) {
      let sum = 0;
      for (let j = i; j < end; j++) sum += rows[j]![m];
      series[m]!.push(bucket === 1 ? sum : sum / (end - i));
    }
  }
  return { ticks, series, bucket };
}

/**
 * Answers of {@link statsSeries}, reused until the run gains a stats file. A whole-run series
 * (what clients poll while a run grows) comes from the run's {@link StatsSummary}, which adds
 * each new file once; other ranges, and series finer than the summary's blocks, read the rows.
 */
export class StatsAnswers {
  readonly #answers: LruCache<string, { version: string; answer: StatsResponse }>;
  readonly #summaries: LruCache<string, StatsSummary>;
  readonly #building = new Map<string, Promise<StatsSummary>>();

  /** `maxBytes`: estimated bytes of answers kept, and as much for summaries (at least 4). */
  constructor(maxBytes: number) {
    this.#answers = new LruCache({
      name: "stats_answers",
      maxEntries: 256,
      maxBytes,
      sizeOf: (e) => approxSize(e.answer),
    });
    const one = new StatsSummary(STATS_METRICS).bytes;
    this.#summaries = new LruCache({
      name: "stats_summaries",
      maxEntries: 64,
      maxBytes: Math.max(maxBytes, 4 * one),
      sizeOf: (s) => s.bytes,
    });
  }

  /** The series, from the cache while the run's stats files are the same. */
  async series(index: IndexData, runId: string, q: StatsQuery): Promise<StatsResponse> {
    const files = await index.list(runId, "stats");
    const last = files.at(-1);
    const version = `${files.length}:${last?.firstTick}_${last?.lastTick}`;
    const key = `${runId}|${q.metrics.join(",")}|${q.from}|${q.to}|${q.maxPoints}`;
    const cached = this.#answers.get(key);
    if (cached !== undefined && cached.version === version) return cached.answer;
    let answer: StatsResponse | null = null;
    if (last !== undefined && q.from <= files[0]!.firstTick && q.to >= last.lastTick) {
      const summary = await this.#summary(index, runId, files);
      const s = summary.series(q.metrics, q.maxPoints);
      if (s !== null) answer = { runId, metrics: q.metrics, ...s };
    }
    answer ??= await statsSeries(index, runId, q);
    this.#answers.set(key, { version, answer });
    return answer;
  }

  /** The run's summary with every file of `files` added (one build at a time per run). */
  #summary(index: IndexData, runId: string, files: readonly BatchRange[]): Promise<StatsSummary> {
    const build = async () => {
      let s = this.#summaries.get(runId);
      if (s === undefined || !s.agreesWith(files)) s = new StatsSummary(STATS_METRICS);
      for (const f of files.slice(s.files.length)) {
        // Straight from the file: every file is read once here, so caching its rows would
        // only push out rows other requests use.
        s.add(f, (await index.reader.stats(runId, f)) ?? []);
      }
      this.#summaries.set(runId, s);
      return s;
    };
    const next = (this.#building.get(runId) ?? Promise.resolve()).then(build, build);
    this.#building.set(runId, next);
    const forget = () => {
      if (this.#building.get(runId) === next) this.#building.delete(runId);
    };
    next.then(forget, forget);
    return next;
  }

  /** Counters of the answer and summary caches. */
  cacheStats(): CacheStats[] {
    return [this.#answers.stats(), this.#summaries.stats()];
  }
}

/** The series of a run; 404 `no_index` when no stats file exists for it yet. */
export async function statsSeries(
  index: IndexData,
  runId: string,
  q: StatsQuery,
): Promise<StatsResponse> {
  const files = await index.list(runId, "stats");
  if (files.length === 0) {
    throw noIndex(
      `No statistics for run '${runId}' yet: the stats indexer has not written any batch`,
    );
  }
  const wanted = files.filter((f) => f.lastTick >= q.from && f.firstTick <= q.to);
  const parts = await Promise.all(wanted.map((f) => index.statsRows(runId, f)));
  const rows: StatsRow[] = [];
  for (const part of parts) {
    for (const r of part) if (r.tick >= q.from && r.tick <= q.to) rows.push(r);
  }
  rows.sort((a, b) => a.tick - b.tick);
  // Batches are disjoint; drop a duplicated tick anyway rather than double-count it.
  const unique = rows.filter((r, i) => i === 0 || r.tick !== rows[i - 1]!.tick);
  return { runId, metrics: q.metrics, ...downsample(unique, q.metrics, q.maxPoints) };
}
