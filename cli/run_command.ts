/**
 * `evochora run` and `evochora dev`: the pipeline in one process, with a live status line, a
 * clean stop on Ctrl-C/SIGTERM and a final summary.
 *
 * @module
 */

import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import { intFlag } from "./cli_error.ts";
import { parseRunFlags, planRun } from "./_run_plan.ts";
import { createPipeline, runToEnd } from "./_run_session.ts";

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

/** Runs the pipeline; shared by `run` and `dev`. */
async function runPipeline(args: string[], dev: boolean): Promise<number> {
  const flags = parseRunFlags(args);
  if (flags.help) {
    console.log(dev ? DEV_USAGE : RUN_USAGE);
    return 0;
  }
  // Checked before planRun: resuming a finished run takes files back from storage, which a bad
  // flag found afterwards would leave half done.
  const drainMs = intFlag("drain-timeout", flags["drain-timeout"], 120, 1) * 1000;
  const plan = await planRun(flags, dev);
  if (plan === null) return 0;
  const pipeline = await createPipeline(plan, flags);
  return await runToEnd({ pipeline, config: plan.config, dev, json: flags.json, drainMs });
}

/** `evochora run` */
export function runCommand(args: string[]): Promise<number> {
  return runPipeline(args, false);
}

/** `evochora dev` */
export function devCommand(args: string[]): Promise<number> {
  return runPipeline(args, true);
}
