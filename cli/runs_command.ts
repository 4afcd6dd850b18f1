/**
 * `evochora runs`: the runs in storage with their state, ticks, stored bytes and last activity,
 * one line each (or JSON). Nothing is decoded: `inspect` verifies in full.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_IDLE_MS, formatDuration } from "../services/common/run_state.ts";
import { intFlag } from "./cli_error.ts";
import { overviewRuns, type RunOverview } from "./run_overview.ts";
import { openStorageFlag } from "./storage_flag.ts";

export const RUNS_USAGE = `Usage: evochora runs [--data-dir D | --config F] [--json]

Lists the runs in storage: state (finished, running, incomplete, corrupt; see
'evochora inspect --help'), ticks, batches, stored bytes and last activity.

Options:
  --data-dir D       root of filesystem storage (default ./data)
  --config F         the storage of a config file instead (e.g. S3)
  --idle-after S     seconds without progress that make a run incomplete (default ${
  DEFAULT_IDLE_MS / 1000
})
  --json             print one JSON object as the last line of stdout: {"runs":[...]}
  -h, --help         show this help`;

/** Runs `evochora runs`. */
export async function runsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string" },
      config: { type: "string" },
      "idle-after": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(RUNS_USAGE);
    return 0;
  }
  const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) * 1000;
  const { storage, where } = await openStorageFlag(values);
  try {
    const now = Date.now();
    const runs = await overviewRuns(storage, { idleAfterMs, now });
    if (values.json) console.log(JSON.stringify({ storage: where, runs }));
    else printRuns(where, runs, now);
    return 0;
  } finally {
    await storage.close();
  }
}

function printRuns(where: string, runs: readonly RunOverview[], now: number): void {
  if (runs.length === 0) {
    console.log(`No runs in ${where}`);
    return;
  }
  const rows = runs.map((r) => [
    r.runId,
    r.state,
    r.lastTick === null ? "-" : `${r.firstTick}..${r.lastTick}`,
    String(r.batches),
    `${(r.storedBytes / 1e6).toFixed(1)} MB`,
    r.lastActivityMs === null ? "-" : `${formatDuration(now - r.lastActivityMs)} ago`,
  ]);
  const head = ["RUN", "STATE", "TICKS", "BATCHES", "STORED", "LAST ACTIVITY"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const r of runs.filter((r) => r.state === "corrupt" || r.state === "incomplete")) {
    console.log(`${r.runId}: ${r.state}: ${r.stateReason}`);
  }
}
