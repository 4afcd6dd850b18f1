/**
 * `run --run-id ID` and `run --resume ID`: naming a new run (refused when the storage holds the
 * run already) and continuing a stored one from its newest usable checkpoint (see
 * services/runner/resume_point.ts). The storage looked at is the one the config's persistence
 * writes to.
 *
 * @module
 */

import { listAllKeys, listAllObjects } from "../resources/storage/list_all_keys.ts";
import type { Storage } from "../resources/storage/storage.ts";
import { activityOf, formatDuration } from "../services/common/run_state.ts";
import { readRunTarget } from "../services/common/run_target.ts";
import {
  extensionRetraction,
  findResumePoint,
  type ResolvedConfig,
  ResumeError,
  type ResumeFrom,
  type ResumePoint,
  retract,
} from "../services/runner/mod.ts";
import { isRunId, metadataKey, RUN_ID_RULE, runPrefix } from "../services/common/storage_layout.ts";
import { CliError } from "./cli_error.ts";
import { openConfigStorage } from "./storage_flag.ts";

/** Throws CliError unless `id` is a valid run id; `flag` names the option. */
export function checkRunIdFlag(flag: string, id: string): string {
  if (!isRunId(id)) throw new CliError(`--${flag} '${id}': expected ${RUN_ID_RULE}`);
  return id;
}

/** Runs `f` on the config's storage and closes it. */
async function withStorage<T>(
  config: ResolvedConfig,
  f: (storage: Awaited<ReturnType<typeof openConfigStorage>>) => Promise<T>,
): Promise<T> {
  const opened = await openConfigStorage(config);
  try {
    return await f(opened);
  } finally {
    await opened.storage.close();
  }
}

/** The tick target run `runId` was last started with, or null when none is stored. */
export function storedTarget(config: ResolvedConfig, runId: string): Promise<number | null> {
  return withStorage(config, ({ storage }) => readRunTarget(storage, runId));
}

/** Refuses `--run-id ID` when the storage has anything of that run. */
export async function refuseExistingRun(config: ResolvedConfig, runId: string): Promise<void> {
  await withStorage(config, async ({ storage, where }) => {
    if ((await listAllKeys(storage, runPrefix(runId))).length === 0) return;
    throw new CliError(
      `--run-id '${runId}': ${where} holds that run already; continue it with ` +
        `'evochora run --resume ${runId}' or choose another --run-id`,
    );
  });
}

/** The engine service's chunks per batch in `config`. */
function chunksPerBatchOf(config: ResolvedConfig): number {
  for (const s of Object.values(config.services)) {
    if (s.kind === "simulation-engine") return s.chunksPerBatch;
  }
  throw new CliError("the config has no simulation-engine service");
}

/** The engine service's ticks in `config` (0: until stopped). */
export function ticksOf(config: ResolvedConfig): number {
  for (const s of Object.values(config.services)) {
    if (s.kind === "simulation-engine") return s.ticks;
  }
  return 0;
}

/**
 * Refuses to resume a run that is still storing things (its engine may be alive: a second one
 * would only duplicate its work), by the rule `inspect` uses to call a run running.
 */
async function refuseLiveRun(storage: Storage, runId: string, idleAfterMs: number): Promise<void> {
  const own = (await listAllObjects(storage, runPrefix(runId)))
    .filter((o) => !o.key.includes("/index/")); // indexers catching up are no progress
  const activity = activityOf(own, idleAfterMs);
  if (activity.lastActivityMs === null) return;
  const idle = Date.now() - activity.lastActivityMs;
  if (idle >= activity.idleAfterMs) return;
  throw new CliError(
    `Cannot resume run '${runId}': it is running (it stored something ${formatDuration(idle)} ` +
      `ago; a run is idle after ${formatDuration(activity.idleAfterMs)} without progress); ` +
      `stop its engine first, or wait until 'evochora inspect' says incomplete (a killed ` +
      `run's engine is gone: --idle-after S shortens the wait)`,
    1,
  );
}

/** Where a run continues, and how many files an extension took back first. */
export interface ResumeFlagPoint extends ResumePoint {
  /** Files stored after the checkpoint that extending a finished run removed (0 otherwise). */
  retracted: number;
}

/**
 * Where run `runId` continues in `config`'s storage, or CliError: a run that is not there, or
 * one still running (no progress for `idleAfterMs` makes it idle, as in `inspect`). A finished
 * run asked for more ticks than it has is extended: the files stored after the checkpoint it
 * continues from are taken back first (services/runner/run_extension.ts). Resolves null for a
 * finished run asked to run no further (nothing to do).
 */
export function resumePointFlag(
  config: ResolvedConfig,
  runId: string,
  idleAfterMs: number,
): Promise<ResumeFlagPoint | null> {
  const chunksPerBatch = chunksPerBatchOf(config);
  return withStorage(config, async ({ storage }) => {
    try {
      const found = await findResumePoint(storage, runId, { chunksPerBatch });
      if (found.end === null) {
        await refuseLiveRun(storage, runId, idleAfterMs);
        return { ...found, retracted: 0 };
      }
      const ticks = ticksOf(config);
      if (ticks !== 0 && ticks <= found.end.lastTick) return null;
      const point = await findResumePoint(storage, runId, { chunksPerBatch, extending: true });
      const keys = await extensionRetraction(storage, runId, point.checkpoint?.tick ?? null);
      return { ...point, retracted: await retract(storage, keys) };
    } catch (e) {
      if (e instanceof ResumeError) throw new CliError(e.message, 1);
      throw e;
    }
  });
}

/** The pipeline's `resume` option for a run continued from `point`. */
export function resumeFrom(point: ResumePoint): ResumeFrom {
  return {
    metadata: point.metadata,
    ...(point.checkpoint === null ? {} : { checkpoint: point.checkpoint.bytes }),
  };
}

/** How an engine started on a named run goes on (see {@link engineRunStart}). */
export type EngineRunStart =
  | { kind: "new" }
  | { kind: "finished" }
  | { kind: "continue"; point: ResumeFlagPoint };

/**
 * For an engine service started on run `runId` (distributed mode, `evochora service`): a new
 * run when the storage has no metadata of it, nothing to do when it is finished and the engine
 * would run no further, otherwise the point it continues from (extending a finished run, as
 * `run --resume` does). Refuses (CliError) a run still running: a second engine would only
 * duplicate the first one's work.
 */
export async function engineRunStart(
  config: ResolvedConfig,
  runId: string,
  idleAfterMs: number,
): Promise<EngineRunStart> {
  const exists = await withStorage(config, ({ storage }) => storage.exists(metadataKey(runId)));
  if (!exists) return { kind: "new" };
  const point = await resumePointFlag(config, runId, idleAfterMs);
  return point === null ? { kind: "finished" } : { kind: "continue", point };
}
