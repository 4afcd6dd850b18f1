/**
 * Full verification of a stored run, for `inspect`: its metadata, every batch decoded (each
 * sampled tick stored exactly once, batches disjoint, names true to their contents), its end
 * record against what is stored, its dead letters, and from all that its state (see
 * services/common/run_state.ts). Problems name the file and the byte offset.
 *
 * @module
 */

import { fromBinary, SimulationMetadataSchema, type TickDataChunk } from "../proto/mod.ts";
import { decodeTickDataChunk } from "../codec/mod.ts";
import { listAllKeys } from "../resources/storage/list_all_keys.ts";
import { readMessages } from "../resources/storage/message_stream.ts";
import type { ObjectInfo, Storage } from "../resources/storage/storage.ts";
import { newerFormatProblem } from "../services/common/format_version.ts";
import { readRunEnd, type RunEndFields } from "../services/common/run_end.ts";
import {
  activityOf,
  DEFAULT_IDLE_MS,
  inferRunState,
  type RunState,
} from "../services/common/run_state.ts";
import {
  deadLetterPrefix,
  metadataKey,
  parseBatchKey,
  rawPrefix,
} from "../services/common/storage_layout.ts";

/** The verification of one run. */
export interface RunReport {
  runId: string;
  /** See services/common/run_state.ts. */
  state: RunState;
  /** Why, in one line. */
  stateReason: string;
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
  /** The end record, or null when the run has none. */
  end: RunEndFields | null;
  /** When the run last stored something (ms since the epoch), or null. */
  lastActivityMs: number | null;
  /** Verification failures (any makes the run corrupt), one line each. */
  problems: string[];
  /** Sampled ticks missing between stored ones: a dead run's holes, or a finished run's losses. */
  gaps: string[];
  /** The run is finished and verified. */
  ok: boolean;
  /** `problems`, and `gaps` when the run should have none; kept for older readers. */
  errors: string[];
}

/** Options of {@link verifyRun}. */
export interface VerifyOptions {
  /** Least idle time that makes a run without an end record incomplete, ms. */
  idleAfterMs?: number;
  /** Now, ms since the epoch. */
  now?: number;
}

/** Run ids present under `runs/` (listing the runs, not their keys). */
export function listRuns(storage: Storage): Promise<string[]> {
  return storage.listChildren("runs/");
}

/** What decoding the batches found. */
interface BatchScan {
  ticks: number[];
  infos: ObjectInfo[];
}

/** Verifies one run. */
export async function verifyRun(
  storage: Storage,
  runId: string,
  options: VerifyOptions = {},
): Promise<RunReport> {
  const r = emptyReport(runId);
  const infos: ObjectInfo[] = [];
  await checkMetadata(storage, r, infos);
  const dead = await listAllKeys(storage, deadLetterPrefix(runId));
  r.deadLetters = dead.length;
  if (dead.length > 0) {
    r.problems.push(`${dead.length} dead letters under '${deadLetterPrefix(runId)}'`);
  }
  const scan = await scanBatches(storage, r);
  infos.push(...scan.infos);
  checkTicks(r, scan.ticks);
  const read = await readRunEnd(storage, runId);
  if (read.problem !== null) r.problems.push(read.problem);
  r.end = read.end;
  if (read.key !== null) {
    const info = await storage.stat(read.key);
    if (info !== null) infos.push(info);
  }
  checkEnd(r);
  const activity = activityOf(infos, options.idleAfterMs ?? DEFAULT_IDLE_MS);
  r.lastActivityMs = activity.lastActivityMs;
  const verdict = inferRunState({
    end: r.end,
    storedBatches: r.batches,
    storedLastTick: r.lastTick,
    gaps: r.gaps,
    problems: r.problems,
    lastActivityMs: activity.lastActivityMs,
    idleAfterMs: activity.idleAfterMs,
    nowMs: options.now ?? Date.now(),
  });
  r.state = verdict.state;
  r.stateReason = verdict.reason;
  r.ok = r.state === "finished";
  r.errors = r.end === null ? [...r.problems] : [...r.problems, ...r.gaps];
  return r;
}

function emptyReport(runId: string): RunReport {
  return {
    runId,
    state: "incomplete",
    stateReason: "",
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
    end: null,
    lastActivityMs: null,
    problems: [],
    gaps: [],
    ok: false,
    errors: [],
  };
}

async function checkMetadata(storage: Storage, r: RunReport, infos: ObjectInfo[]): Promise<void> {
  const key = metadataKey(r.runId);
  const info = await storage.stat(key);
  if (info === null) {
    r.gaps.push(`'${key}' is missing`); // metadata persistence may not have got to it yet
    return;
  }
  infos.push(info);
  r.metadata = true;
  try {
    const meta = fromBinary(SimulationMetadataSchema, await storage.read(key));
    const newer = newerFormatProblem(`'${key}'`, meta.formatVersion);
    if (newer !== null) r.problems.push(`Cannot read ${newer}`);
    r.samplingInterval = meta.intervals?.sampling ?? null;
    if (meta.runId !== r.runId) r.problems.push(`'${key}': run id is '${meta.runId}'`);
  } catch (e) {
    r.problems.push(`'${key}' does not decode as SimulationMetadata: ${(e as Error).message}`);
  }
}

/** Decodes every batch; collects the sampled ticks and the batches' sizes and times. */
async function scanBatches(storage: Storage, r: RunReport): Promise<BatchScan> {
  const batches = (await listAllKeys(storage, rawPrefix(r.runId)))
    .map((key) => ({ key, range: parseBatchKey(key) }))
    .filter((b): b is { key: string; range: { firstTick: number; lastTick: number } } => {
      if (b.range === null) r.problems.push(`'${b.key}' is not a batch file name`);
      return b.range !== null;
    })
    .sort((a, b) => a.range.firstTick - b.range.firstTick);
  r.batches = batches.length;
  const scan: BatchScan = { ticks: [], infos: [] };
  let previous: (typeof batches)[number] | undefined;
  for (const b of batches) {
    if (previous && b.range.firstTick <= previous.range.lastTick) {
      r.problems.push(
        `'${b.key}' (ticks ${b.range.firstTick}..${b.range.lastTick}) overlaps '${previous.key}'`,
      );
    }
    previous = b;
    const info = await storage.stat(b.key);
    if (info !== null) {
      scan.infos.push(info);
      r.storedBytes += info.size;
    }
    await scanBatch(storage, r, b.key, b.range, scan.ticks);
  }
  return scan;
}

/** Decodes one batch's chunks, pushing their sampled ticks. */
async function scanBatch(
  storage: Storage,
  r: RunReport,
  key: string,
  range: { firstTick: number; lastTick: number },
  ticks: number[],
): Promise<void> {
  let records: { messages: Uint8Array[]; offsets: number[] };
  try {
    records = await readMessages(storage, key);
  } catch (e) {
    r.problems.push((e as Error).message);
    return;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < records.messages.length; i++) {
    const bytes = records.messages[i]!;
    const at = `'${key}' record at byte ${records.offsets[i]}`;
    r.rawBytes += bytes.length;
    let chunk: TickDataChunk;
    try {
      chunk = decodeTickDataChunk(bytes);
    } catch (e) {
      r.problems.push(
        `Cannot read batch '${key}': record at byte ${records.offsets[i]} is not a ` +
          `TickDataChunk: ${(e as Error).message}`,
      );
      continue;
    }
    const newer = newerFormatProblem(at, chunk.formatVersion);
    if (newer !== null) {
      r.problems.push(`Cannot read ${newer}`);
      return;
    }
    r.chunks++;
    if (chunk.runId !== r.runId) r.problems.push(`${at}: run id '${chunk.runId}'`);
    if (chunk.snapshot === undefined) {
      r.problems.push(`${at}: chunk has no snapshot`);
      continue;
    }
    ticks.push(Number(chunk.snapshot.tick));
    for (const d of chunk.deltas) ticks.push(Number(d.tick));
    lo = Math.min(lo, Number(chunk.firstTick));
    hi = Math.max(hi, Number(chunk.lastTick));
  }
  if (records.messages.length > 0 && (lo !== range.firstTick || hi !== range.lastTick)) {
    r.problems.push(
      `'${key}' holds ticks ${lo}..${hi}, its name says ${range.firstTick}..${range.lastTick}`,
    );
  }
}

/** Each sampled tick once, on the sampling grid; holes go to `gaps`. */
function checkTicks(r: RunReport, ticks: number[]): void {
  ticks.sort((a, b) => a - b);
  r.samples = ticks.length;
  if (ticks.length > 0) {
    r.firstTick = ticks[0]!;
    r.lastTick = ticks[ticks.length - 1]!;
  }
  for (let i = 1; i < ticks.length; i++) {
    if (ticks[i] === ticks[i - 1]) r.problems.push(`tick ${ticks[i]} is stored more than once`);
  }
  const s = r.samplingInterval;
  if (s === null || s <= 0 || ticks.length === 0) return;
  const unique = [...new Set(ticks)];
  const off = unique.find((t) => t % s !== 0);
  if (off !== undefined) {
    r.problems.push(`tick ${off} is not a multiple of the sampling interval ${s}`);
    return;
  }
  // Sampled ticks are the multiples of the interval from the first, with none left out between.
  if (unique[0] !== 0) r.gaps.push(`sampled ticks 0..${unique[0]! - s} are missing`);
  const expected = (unique[unique.length - 1]! - unique[0]!) / s + 1;
  if (unique.length < expected) {
    const gap = unique.findIndex((t, i) => i > 0 && t - unique[i - 1]! !== s);
    r.gaps.push(
      `${expected - unique.length} sampled ticks are missing, the first is ${unique[gap - 1]! + s}`,
    );
  }
}

/** What storage holds against what the end record names. */
function checkEnd(r: RunReport): void {
  const end = r.end;
  if (end === null || r.lastTick === null || r.lastTick > end.lastTick) return;
  if (r.lastTick === end.lastTick && r.batches === end.batches && r.chunks !== end.chunks) {
    r.problems.push(`the run holds ${r.chunks} chunks, its end record names ${end.chunks}`);
  }
}
