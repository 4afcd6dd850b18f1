/**
 * `evochora inspect`: lists the runs in a data directory and verifies each one: every sampled
 * tick stored exactly once, no overlapping batches, every file decodes. Problems name the file
 * and the byte offset.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fromBinary, SimulationMetadataSchema, type TickDataChunk } from "../proto/mod.ts";
import { decodeTickDataChunk } from "../codec/mod.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { readMessages } from "../resources/storage/message_stream.ts";
import { listAllKeys } from "../resources/storage/list_all_keys.ts";
import type { Storage } from "../resources/storage/storage.ts";
import {
  deadLetterPrefix,
  metadataKey,
  parseBatchKey,
  rawPrefix,
} from "../services/common/storage_layout.ts";
import { isRunId, RUN_ID_RULE } from "../services/common/storage_layout.ts";
import { CliError } from "./cli_error.ts";

export const INSPECT_USAGE = `Usage: evochora inspect --data-dir D [--run R] [--json]

Lists the runs under D and verifies them: every sampled tick stored exactly once, batch
ranges disjoint, every batch file decodes. Exits 1 when a run fails verification.

Options:
  --data-dir D   root of filesystem storage (default ./data)
  --run R        only this run
  --json         print one JSON object as the last line of stdout
  -h, --help     show this help`;

/** The verification of one run. */
export interface RunReport {
  runId: string;
  metadata: boolean;
  samplingInterval: number | null;
  firstTick: number | null;
  lastTick: number | null;
  samples: number;
  batches: number;
  chunks: number;
  rawBytes: number;
  storedBytes: number;
  deadLetters: number;
  ok: boolean;
  errors: string[];
}

/** Run ids present under `runs/`. */
export async function listRuns(storage: Storage): Promise<string[]> {
  const runs = new Set<string>();
  for (const k of await listAllKeys(storage, "runs/")) {
    const m = /^runs\/([^/]+)\//.exec(k);
    if (m) runs.add(m[1]!);
  }
  return [...runs].sort();
}

/** Verifies one run. */
export async function verifyRun(storage: Storage, runId: string): Promise<RunReport> {
  const r: RunReport = {
    runId,
    metadata: false,
    samplingInterval: null,
    firstTick: null,
    lastTick: null,
    samples: 0,
    batches: 0,
    chunks: 0,
    rawBytes: 0,
    storedBytes: 0,
    deadLetters: 0,
    ok: true,
    errors: [],
  };
  const fail = (msg: string) => {
    r.ok = false;
    r.errors.push(msg);
  };
  const metaKey = metadataKey(runId);
  if (await storage.exists(metaKey)) {
    r.metadata = true;
    try {
      const meta = fromBinary(SimulationMetadataSchema, await storage.read(metaKey));
      r.samplingInterval = meta.intervals?.sampling ?? null;
      if (meta.runId !== runId) fail(`'${metaKey}': run id is '${meta.runId}'`);
    } catch (e) {
      fail(`'${metaKey}' does not decode as SimulationMetadata: ${(e as Error).message}`);
    }
  } else fail(`'${metaKey}' is missing`);
  r.deadLetters = (await listAllKeys(storage, deadLetterPrefix(runId))).length;
  if (r.deadLetters > 0) fail(`${r.deadLetters} dead letters under '${deadLetterPrefix(runId)}'`);
  const batches = (await listAllKeys(storage, rawPrefix(runId)))
    .map((key) => ({ key, range: parseBatchKey(key) }))
    .filter((b): b is { key: string; range: { firstTick: number; lastTick: number } } => {
      if (b.range === null) fail(`'${b.key}' is not a batch file name`);
      return b.range !== null;
    })
    .sort((a, b) => a.range.firstTick - b.range.firstTick);
  r.batches = batches.length;
  const ticks: number[] = [];
  let previous: (typeof batches)[number] | undefined;
  for (const b of batches) {
    if (previous && b.range.firstTick <= previous.range.lastTick) {
      fail(
        `'${b.key}' (ticks ${b.range.firstTick}..${b.range.lastTick}) overlaps '${previous.key}'`,
      );
    }
    previous = b;
    r.storedBytes += (await storage.size(b.key)) ?? 0;
    let records: { messages: Uint8Array[]; offsets: number[] };
    try {
      records = await readMessages(storage, b.key);
    } catch (e) {
      fail((e as Error).message);
      continue;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < records.messages.length; i++) {
      const bytes = records.messages[i]!;
      r.rawBytes += bytes.length;
      let chunk: TickDataChunk;
      try {
        chunk = decodeTickDataChunk(bytes);
      } catch (e) {
        fail(
          `Cannot read batch '${b.key}': record at byte ${
            records.offsets[i]
          } is not a TickDataChunk: ${(e as Error).message}`,
        );
        continue;
      }
      r.chunks++;
      if (chunk.runId !== runId) {
        fail(`'${b.key}' record at byte ${records.offsets[i]}: run id '${chunk.runId}'`);
      }
      if (chunk.snapshot === undefined) {
        fail(`'${b.key}' record at byte ${records.offsets[i]}: chunk has no snapshot`);
        continue;
      }
      ticks.push(Number(chunk.snapshot.tick));
      for (const d of chunk.deltas) ticks.push(Number(d.tick));
      lo = Math.min(lo, Number(chunk.firstTick));
      hi = Math.max(hi, Number(chunk.lastTick));
    }
    if (records.messages.length > 0 && (lo !== b.range.firstTick || hi !== b.range.lastTick)) {
      fail(
        `'${b.key}' holds ticks ${lo}..${hi}, its name says ${b.range.firstTick}..${b.range.lastTick}`,
      );
    }
  }
  ticks.sort((a, b) => a - b);
  r.samples = ticks.length;
  if (ticks.length > 0) {
    r.firstTick = ticks[0]!;
    r.lastTick = ticks[ticks.length - 1]!;
  } else if (r.batches === 0) fail("no batches");
  for (let i = 1; i < ticks.length; i++) {
    if (ticks[i] === ticks[i - 1]) fail(`tick ${ticks[i]} is stored more than once`);
  }
  const s = r.samplingInterval;
  if (s !== null && s > 0 && ticks.length > 0) {
    // Sampled ticks are the multiples of the interval, with none left out in between.
    const unique = [...new Set(ticks)];
    const off = unique.find((t) => t % s !== 0);
    if (off !== undefined) fail(`tick ${off} is not a multiple of the sampling interval ${s}`);
    const expected = (unique[unique.length - 1]! - unique[0]!) / s + 1;
    if (off === undefined && unique.length < expected) {
      const gap = unique.findIndex((t, i) => i > 0 && t - unique[i - 1]! !== s);
      fail(
        `${expected - unique.length} sampled ticks are missing, the first is ${
          unique[gap - 1]! + s
        }`,
      );
    }
  }
  return r;
}

/** Runs `evochora inspect`. */
export async function inspectCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string", default: "./data" },
      run: { type: "string" },
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
  const dir = values["data-dir"]!;
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) throw new CliError(`--data-dir '${dir}' is not a directory`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--data-dir '${dir}' does not exist; pass the directory a run wrote to`);
  }
  const storage = await FilesystemStorage.open({ root: dir });
  try {
    const runs = values.run === undefined ? await listRuns(storage) : [values.run];
    if (values.run !== undefined && !isRunId(values.run)) {
      throw new CliError(`--run '${values.run}' is not a run id (${RUN_ID_RULE})`);
    }
    const reports: RunReport[] = [];
    for (const run of runs) reports.push(await verifyRun(storage, run));
    if (values.json) {
      console.log(JSON.stringify({ dataDir: dir, runs: reports }));
    } else {
      if (reports.length === 0) console.log(`No runs under ${dir}/runs/`);
      for (const r of reports) {
        console.log(
          `${r.runId}: ticks ${r.firstTick ?? "-"}..${r.lastTick ?? "-"}, ${r.samples} samples, ` +
            `${r.chunks} chunks in ${r.batches} batches, ${
              (r.storedBytes / 1e6).toFixed(1)
            } MB stored ` +
            `(${(r.rawBytes / 1e6).toFixed(1)} MB raw), ${r.deadLetters} dead letters: ${
              r.ok ? "OK" : "FAILED"
            }`,
        );
        for (const e of r.errors) console.log(`  - ${e}`);
      }
    }
    return reports.every((r) => r.ok) ? 0 : 1;
  } finally {
    await storage.close();
  }
}
