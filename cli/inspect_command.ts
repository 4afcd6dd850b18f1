/**
 * `evochora inspect`: lists the runs in storage, verifies each one (see ./run_verify.ts) and
 * prints its state; sweeps what crashed writers left behind and says what it swept. The exit
 * code says the worst state found: 0 only when every run asked about is finished and verified.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DEFAULT_LEFTOVER_AGE_MS as LEFTOVER_AGE_MS,
  type Leftover,
  type Storage,
} from "../resources/storage/storage.ts";
import { DEFAULT_IDLE_MS, formatDuration, type RunState } from "../services/common/run_state.ts";
import { isRunId, RUN_ID_RULE, runPrefix } from "../services/common/storage_layout.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { listRuns, type RunReport, verifyRun } from "./run_verify.ts";
import { openStorageFlag } from "./storage_flag.ts";

export { listRuns, type RunReport, verifyRun };

/** Exit codes of `inspect` by the worst state found (0: every run finished and verified). */
export const INSPECT_EXIT: Readonly<Record<RunState, number>> = {
  finished: 0,
  corrupt: 1,
  incomplete: 3,
  running: 4,
};

export const INSPECT_USAGE = `Usage: evochora inspect [--data-dir D | --config F] [--run R] [--json]

Lists the runs in storage, verifies each one (every sampled tick stored exactly once,
batch ranges disjoint, every batch file decodes, the end record true to what is stored)
and prints its state:
  finished     its end record is stored and everything it names verifies
  running      no end record yet, and it stored something recently
  incomplete   no end record and no progress: the run died (SIGKILL, lost host)
  corrupt      verification failed (the problems are listed)
It also removes crash leftovers (temp files, pending multipart uploads) untouched for
--leftover-age seconds and says what it removed.

Exit code: 0 when every run asked about is finished and verified; otherwise the worst
state found: 1 corrupt, 3 incomplete, 4 running; 2 for bad input.

Options:
  --data-dir D          root of filesystem storage (default ./data)
  --config F            the storage of a config file instead (e.g. S3)
  --run R               only this run
  --idle-after S        seconds without progress that make a run without an end record
                        incomplete (default ${
  DEFAULT_IDLE_MS / 1000
}; slow runs get 3x their batch interval)
  --leftover-age S      sweep leftovers untouched for S seconds (default ${LEFTOVER_AGE_MS / 1000})
  --no-sweep            sweep nothing
  --json                print one JSON object as the last line of stdout:
                        {"runs":[{"runId","state","firstTick","lastTick","batches","problems",...}],
                         "swept":[...]}
  -h, --help            show this help`;

/** The worst state's exit code (0 for none). */
export function inspectExitCode(states: readonly RunState[]): number {
  for (const s of ["corrupt", "incomplete", "running"] as const) {
    if (states.includes(s)) return INSPECT_EXIT[s];
  }
  return 0;
}

/** Runs `evochora inspect`. */
export async function inspectCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string" },
      config: { type: "string" },
      run: { type: "string" },
      "idle-after": { type: "string" },
      "leftover-age": { type: "string" },
      "no-sweep": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(INSPECT_USAGE);
    return 0;
  }
  if (values.run !== undefined && !isRunId(values.run)) {
    throw new CliError(`--run '${values.run}' is not a run id (${RUN_ID_RULE})`);
  }
  const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) * 1000;
  const leftoverMs = intFlag("leftover-age", values["leftover-age"], LEFTOVER_AGE_MS / 1000) *
    1000;
  const { storage, where } = await openStorageFlag(values);
  try {
    const all = await listRuns(storage);
    if (values.run !== undefined && !all.includes(values.run)) {
      throw new CliError(`--run '${values.run}': no such run in ${where}`);
    }
    const runs = values.run === undefined ? all : [values.run];
    const swept = values["no-sweep"] ? [] : await sweep(storage, values.run, leftoverMs);
    const reports: RunReport[] = [];
    for (const run of runs) reports.push(await verifyRun(storage, run, { idleAfterMs }));
    if (values.json) {
      console.log(JSON.stringify({ storage: where, runs: reports, swept }));
    } else {
      printSwept(swept);
      if (reports.length === 0) console.log(`No runs in ${where}`);
      for (const r of reports) printReport(r);
    }
    return inspectExitCode(reports.map((r) => r.state));
  } finally {
    await storage.close();
  }
}

/** Sweeps the leftovers of one run, or of all runs. */
function sweep(
  storage: Storage,
  run: string | undefined,
  olderThanMs: number,
): Promise<Leftover[]> {
  return storage.sweepLeftovers({
    prefix: run === undefined ? "runs/" : runPrefix(run),
    olderThanMs,
  });
}

function printSwept(swept: readonly Leftover[]): void {
  if (swept.length === 0) return;
  console.log(`Swept ${swept.length} crash leftover${swept.length === 1 ? "" : "s"}:`);
  for (const l of swept) {
    const size = l.bytes === null ? "" : `, ${mb(l.bytes)} MB`;
    console.log(`  - ${l.kind} of '${l.key}' (untouched for ${formatDuration(l.ageMs)}${size})`);
  }
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** One run: its figures and state, then its problems and, when it died, how to go on. */
function printReport(r: RunReport): void {
  console.log(
    `${r.runId}: ticks ${r.firstTick ?? "-"}..${r.lastTick ?? "-"}, ${r.samples} samples, ` +
      `${r.chunks} chunks in ${r.batches} batches, ${mb(r.storedBytes)} MB stored ` +
      `(${mb(r.rawBytes)} MB raw), ${r.deadLetters} dead letters: ${r.state} (${r.stateReason})`,
  );
  for (const e of [...r.problems, ...r.gaps]) console.log(`  - ${e}`);
  if (r.state === "incomplete") {
    console.log(
      `  last stored tick: ${r.lastTick ?? "none"}; to continue it: evochora run --resume ` +
        `${r.runId} --ticks <the run's ticks> (and the same --data-dir or --config)`,
    );
  }
}
