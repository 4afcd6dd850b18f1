/**
 * `evochora delete ID --yes`: removes everything of a run from storage (raw batches, metadata,
 * end records, checkpoints, indexes, dead letters, crash leftovers: all under `runs/<ID>/`) and
 * says what it removed. A running run (recent activity and no end record) is refused: its
 * writers would recreate what was removed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { listAllKeys, listAllObjects } from "../resources/storage/list_all_keys.ts";
import type { ObjectInfo, Storage } from "../resources/storage/storage.ts";
import { DEFAULT_IDLE_MS, formatDuration } from "../services/common/run_state.ts";
import {
  isRunId,
  RUN_ID_RULE,
  runPrefix,
  runTargetKey,
} from "../services/common/storage_layout.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { overviewRun } from "./run_overview.ts";
import { openStorageFlag } from "./storage_flag.ts";

export const DELETE_USAGE = `Usage: evochora delete ID --yes [--data-dir D | --config F] [--json]

Removes everything of run ID from storage: raw batches, metadata, end records,
checkpoints, indexes, dead letters and crash leftovers, and says what it removed.
A running run (recent activity and no end record) is refused; stop it first, or wait
until it has been idle for --idle-after seconds.

Options:
  --yes              really remove (without it nothing is removed)
  --data-dir D       root of filesystem storage (default ./data)
  --config F         the storage of a config file instead (e.g. S3)
  --idle-after S     seconds without progress after which a run counts as not running
                     (default ${DEFAULT_IDLE_MS / 1000})
  --json             print one JSON object as the last line of stdout
  -h, --help         show this help`;

/** What a deletion removed, by kind of object. */
export interface Removal {
  runId: string;
  /** Objects removed by kind: raw, metadata, target, end, checkpoints, index, dead-letter, other. */
  removed: Record<string, number>;
  objects: number;
  bytes: number;
  /** Crash leftovers removed (temp files, pending uploads). */
  leftovers: number;
}

/** The kind of a run's object, from its key. */
export function objectKind(runId: string, key: string): string {
  const rest = key.slice(runPrefix(runId).length);
  if (rest === "metadata.pb") return "metadata";
  if (key === runTargetKey(runId)) return "target";
  const top = rest.split("/")[0]!;
  return ["raw", "end", "checkpoints", "index", "dead-letter"].includes(top) ? top : "other";
}

/** Runs `evochora delete`. */
export async function deleteCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      yes: { type: "boolean", default: false },
      "data-dir": { type: "string" },
      config: { type: "string" },
      "idle-after": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(DELETE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new CliError(`delete expects one run id, got ${positionals.length}; see --help`);
  }
  const runId = positionals[0]!;
  if (!isRunId(runId)) throw new CliError(`'${runId}' is not a run id (${RUN_ID_RULE})`);
  const idleAfterMs = intFlag("idle-after", values["idle-after"], DEFAULT_IDLE_MS / 1000) * 1000;
  const { storage, where } = await openStorageFlag(values);
  try {
    const objects = await listAllObjects(storage, runPrefix(runId));
    if (objects.length === 0) throw new CliError(`no run '${runId}' in ${where}`);
    const overview = await overviewRun(storage, runId, objects, { idleAfterMs });
    if (overview.state === "running") {
      throw new CliError(
        `run '${runId}' is running (${overview.stateReason}); stop it first, or wait until ` +
          `it has been idle for ${formatDuration(idleAfterMs)}; nothing removed`,
        1,
      );
    }
    const bytes = objects.reduce((n, o) => n + o.size, 0);
    if (!values.yes) {
      throw new CliError(
        `would remove run '${runId}' (${overview.state}): ${objects.length} objects, ` +
          `${(bytes / 1e6).toFixed(1)} MB; pass --yes to remove them`,
      );
    }
    const removal = await removeRun(storage, runId, objects);
    if (values.json) console.log(JSON.stringify({ storage: where, ...removal }));
    else console.log(describeRemoval(removal, where));
    const left = await listAllKeys(storage, runPrefix(runId));
    if (left.length > 0) {
      console.error(`${left.length} objects of '${runId}' appeared meanwhile, e.g. '${left[0]}'`);
      return 1;
    }
    return 0;
  } finally {
    await storage.close();
  }
}

/** Removes the objects (16 at a time) and the run's crash leftovers. */
export async function removeRun(
  storage: Storage,
  runId: string,
  objects: readonly ObjectInfo[],
): Promise<Removal> {
  const removal: Removal = { runId, removed: {}, objects: 0, bytes: 0, leftovers: 0 };
  let next = 0;
  const lane = async () => {
    while (next < objects.length) {
      const o = objects[next++]!;
      if (!(await storage.delete(o.key))) continue; // gone meanwhile
      const kind = objectKind(runId, o.key);
      removal.removed[kind] = (removal.removed[kind] ?? 0) + 1;
      removal.objects++;
      removal.bytes += o.size;
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  // The run is not running: whatever a writer left is a leftover, however young.
  removal.leftovers = (await storage.sweepLeftovers({ prefix: runPrefix(runId), olderThanMs: 0 }))
    .length;
  return removal;
}

/** "Removed run X from D: 9 raw batches, 1 metadata, ... (40 objects, 1.2 MB)". */
export function describeRemoval(r: Removal, where: string): string {
  const names: Record<string, [string, string]> = {
    raw: ["raw batch", "raw batches"],
    metadata: ["metadata", "metadata"],
    target: ["tick target", "tick targets"],
    end: ["end record", "end records"],
    checkpoints: ["checkpoint", "checkpoints"],
    index: ["index file", "index files"],
    "dead-letter": ["dead letter", "dead letters"],
    other: ["other object", "other objects"],
  };
  const count = (n: number, [one, many]: [string, string]) => `${n} ${n === 1 ? one : many}`;
  const parts = Object.keys(names)
    .filter((k) => (r.removed[k] ?? 0) > 0)
    .map((k) => count(r.removed[k]!, names[k]!));
  if (r.leftovers > 0) parts.push(count(r.leftovers, ["crash leftover", "crash leftovers"]));
  return `Removed run '${r.runId}' from ${where}: ${parts.join(", ") || "nothing"} ` +
    `(${r.objects} objects, ${(r.bytes / 1e6).toFixed(1)} MB)`;
}
