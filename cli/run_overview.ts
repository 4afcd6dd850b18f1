/**
 * A run at a glance, from a listing of its objects (no batch is decoded): its state (see
 * services/common/run_state.ts), ticks from the batch names, stored bytes and last activity.
 * What `runs` lists and what `delete` checks before it removes anything; `inspect` verifies in
 * full instead.
 *
 * @module
 */

import { fromBinary, SimulationMetadataSchema } from "../proto/mod.ts";
import { listAllObjects } from "../resources/storage/list_all_keys.ts";
import type { ObjectInfo, Storage } from "../resources/storage/storage.ts";
import { newerFormatProblem } from "../services/common/format_version.ts";
import { readRunEnd, type RunEndFields } from "../services/common/run_end.ts";
import {
  activityOf,
  DEFAULT_IDLE_MS,
  inferRunState,
  type RunState,
} from "../services/common/run_state.ts";
import { metadataKey, parseBatchKey, runIdOf } from "../services/common/storage_layout.ts";

/** One run at a glance. */
export interface RunOverview {
  runId: string;
  state: RunState;
  /** Why, in one line. */
  stateReason: string;
  firstTick: number | null;
  lastTick: number | null;
  batches: number;
  /** Objects of the run (raw, metadata, end records, indexes, dead letters, ...). */
  objects: number;
  storedBytes: number;
  /** Newest object of any kind, ms since the epoch, or null. */
  lastActivityMs: number | null;
  end: RunEndFields | null;
  /** What makes the run corrupt, one line each. */
  problems: string[];
}

/** Options of {@link overviewRuns}. */
export interface OverviewOptions {
  idleAfterMs?: number;
  now?: number;
}

/** Every run under `runs/` (or only `only`), at a glance, sorted by run id. */
export async function overviewRuns(
  storage: Storage,
  options: OverviewOptions = {},
  only?: string,
): Promise<RunOverview[]> {
  const byRun = new Map<string, ObjectInfo[]>();
  const prefix = only === undefined ? "runs/" : `runs/${only}/`;
  for (const o of await listAllObjects(storage, prefix)) {
    const id = runIdOf(o.key);
    if (id === null) continue;
    let list = byRun.get(id);
    if (list === undefined) byRun.set(id, list = []);
    list.push(o);
  }
  const out: RunOverview[] = [];
  for (const [runId, objects] of [...byRun].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(await overviewRun(storage, runId, objects, options));
  }
  return out;
}

/** One run at a glance, from its objects. */
export async function overviewRun(
  storage: Storage,
  runId: string,
  objects: readonly ObjectInfo[],
  options: OverviewOptions = {},
): Promise<RunOverview> {
  const problems: string[] = [];
  const gaps: string[] = [];
  const sampling = await samplingOf(storage, runId, objects, problems, gaps);
  const batches = objects
    .map((o) => ({ key: o.key, range: parseBatchKey(o.key) }))
    .filter((b): b is { key: string; range: { firstTick: number; lastTick: number } } =>
      b.range !== null
    )
    .sort((a, b) => a.range.firstTick - b.range.firstTick);
  for (let i = 1; i < batches.length; i++) {
    const [a, b] = [batches[i - 1]!, batches[i]!];
    if (b.range.firstTick <= a.range.lastTick) problems.push(`'${b.key}' overlaps '${a.key}'`);
    else if (sampling !== null && b.range.firstTick !== a.range.lastTick + sampling) {
      gaps.push(`no batch holds ticks ${a.range.lastTick + sampling}..${b.range.firstTick - 1}`);
    }
  }
  if (batches.length > 0 && batches[0]!.range.firstTick !== 0) {
    gaps.push(`no batch holds ticks 0..${batches[0]!.range.firstTick - 1}`);
  }
  const dead = objects.filter((o) => o.key.includes("/dead-letter/")).length;
  if (dead > 0) problems.push(`${dead} dead letters`);
  const end = await readRunEnd(storage, runId);
  if (end.problem !== null) problems.push(end.problem);
  const own = objects.filter((o) => !o.key.includes("/index/")); // indexers are no progress
  const activity = activityOf(own, options.idleAfterMs ?? DEFAULT_IDLE_MS);
  const lastTick = batches.length === 0 ? null : Math.max(...batches.map((b) => b.range.lastTick));
  const verdict = inferRunState({
    end: end.end,
    storedBatches: batches.length,
    storedLastTick: lastTick,
    gaps,
    problems,
    lastActivityMs: activity.lastActivityMs,
    idleAfterMs: activity.idleAfterMs,
    nowMs: options.now ?? Date.now(),
  });
  return {
    runId,
    state: verdict.state,
    stateReason: verdict.reason,
    firstTick: batches[0]?.range.firstTick ?? null,
    lastTick,
    batches: batches.length,
    objects: objects.length,
    storedBytes: objects.reduce((n, o) => n + o.size, 0),
    lastActivityMs: objects.reduce<number | null>((t, o) => Math.max(t ?? 0, o.modifiedMs), null),
    end: end.end,
    problems,
  };
}

/**
 * The run's sampling interval from its metadata. Bad metadata is a problem; missing metadata a
 * gap (metadata persistence may not have got to it yet).
 */
async function samplingOf(
  storage: Storage,
  runId: string,
  objects: readonly ObjectInfo[],
  problems: string[],
  gaps: string[],
): Promise<number | null> {
  const key = metadataKey(runId);
  if (!objects.some((o) => o.key === key)) {
    gaps.push(`'${key}' is missing`);
    return null;
  }
  try {
    const meta = fromBinary(SimulationMetadataSchema, await storage.read(key));
    const newer = newerFormatProblem(`'${key}'`, meta.formatVersion);
    if (newer !== null) problems.push(`Cannot read ${newer}`);
    return Math.max(1, meta.intervals?.sampling ?? 1);
  } catch (e) {
    problems.push(`'${key}' does not decode as SimulationMetadata: ${(e as Error).message}`);
    return null;
  }
}
