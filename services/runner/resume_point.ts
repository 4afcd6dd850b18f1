/**
 * Where a run continues (`evochora run --resume ID`): its stored metadata (the engine config it
 * ran with) and the newest stored checkpoint from which every chunk the resumed engine emits
 * lands in a batch that is either stored already (then the file is a byte-identical duplicate
 * and its no-clobber commit a no-op) or written completely by the resumed run.
 *
 * That holds for a checkpoint taken at a batch boundary (its chunk count a multiple of the
 * chunks per batch, not inside a chunk) whose earlier batches are all stored: a checkpoint in
 * the middle of a batch would re-emit only the batch's later chunks, which no worker could ever
 * complete. When no checkpoint qualifies the run starts again from tick 0 with the same config
 * and run id: the engine is deterministic, so that also re-emits only duplicates.
 *
 * @module
 */

import { decodeCheckpoint } from "../../codec/mod.ts";
import { fromBinary, SimulationMetadataSchema } from "../../proto/mod.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { newerFormatProblem } from "../common/format_version.ts";
import { readRunEnd, type RunEndFields } from "../common/run_end.ts";
import { metadataKey, parseBatchKey, rawPrefix } from "../common/storage_layout.ts";
import { checkpointTicks, readStoredCheckpoint } from "../simulation_engine/checkpoint_store.ts";
import type { EngineConfigInput } from "../simulation_engine/runtime/mod.ts";

/** A run cannot be resumed; the message says why and what to do. */
export class ResumeError extends Error {
  /** Always "ResumeError". */
  override readonly name = "ResumeError";
}

/** The checkpoint a run continues from. */
export interface ResumeCheckpoint {
  /** The tick it was taken after. */
  tick: number;
  /** Chunks before it (the index of the next chunk). */
  chunks: number;
  /** The encoded checkpoint (decompressed). */
  bytes: Uint8Array;
}

/** Where and how a run continues. */
export interface ResumePoint {
  runId: string;
  /** The stored metadata's bytes, to be put again unchanged. */
  metadata: Uint8Array;
  /** The engine config the run started with (from its metadata). */
  engine: EngineConfigInput;
  /** The checkpoint to restore, or null: start again from tick 0. */
  checkpoint: ResumeCheckpoint | null;
  /** The run's end record, when it has one (a finished run). */
  end: RunEndFields | null;
  /** Raw batches stored. */
  storedBatches: number;
  /** Checkpoints stored, and why the newer ones were passed over (one line each). */
  checkpointsStored: number;
  skipped: string[];
}

/** The engine config of a run's metadata JSON (bigints were written as decimal strings). */
export function engineConfigOfMetadata(json: string): EngineConfigInput {
  const parsed = JSON.parse(json) as EngineConfigInput & { seed?: string | number | bigint };
  const seed = parsed.seed;
  return { ...parsed, ...(typeof seed === "string" ? { seed: BigInt(seed) } : {}) };
}

/** The run's metadata bytes and engine config. Throws ResumeError when it cannot be used. */
async function readMetadata(
  storage: Storage,
  runId: string,
): Promise<{ bytes: Uint8Array; engine: EngineConfigInput }> {
  const key = metadataKey(runId);
  let bytes: Uint8Array;
  try {
    bytes = await storage.read(key);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    throw new ResumeError(
      `Cannot resume run '${runId}': '${key}' is missing, so there is no such run in this ` +
        `storage; check the run id (evochora runs) and --data-dir / --config`,
    );
  }
  try {
    const meta = fromBinary(SimulationMetadataSchema, bytes);
    const newer = newerFormatProblem(`'${key}'`, meta.formatVersion);
    if (newer !== null) throw new ResumeError(`Cannot resume run '${runId}': ${newer}`);
    return { bytes, engine: engineConfigOfMetadata(meta.resolvedConfigJson) };
  } catch (e) {
    if (e instanceof ResumeError) throw e;
    throw new ResumeError(
      `Cannot resume run '${runId}': '${key}' does not decode as SimulationMetadata ` +
        `(${(e as Error).message})`,
    );
  }
}

/** How {@link findResumePoint} looks. */
export interface ResumeSearch {
  /** Chunks per batch file of the pipeline that resumes (it must be the run's). */
  chunksPerBatch: number;
  /**
   * A finished run is to be extended: only checkpoints before its end qualify, since its last
   * batch ends early and is taken back (see run_extension.ts).
   */
  extending?: boolean;
}

/**
 * Finds where run `runId` continues (with another pipeline's chunks per batch every checkpoint
 * is passed over and the run restarts from tick 0, whose batches would then overlap the stored
 * ones). Throws ResumeError for a run that is not there or whose metadata cannot be read;
 * storage errors propagate.
 */
export async function findResumePoint(
  storage: Storage,
  runId: string,
  search: ResumeSearch,
): Promise<ResumePoint> {
  const { chunksPerBatch } = search;
  const meta = await readMetadata(storage, runId);
  const end = await readRunEnd(storage, runId);
  const endTick = search.extending === true ? end.end?.lastTick ?? null : null;
  const batches: { firstTick: number; lastTick: number }[] = [];
  for (const key of await listAllKeys(storage, rawPrefix(runId))) {
    const b = parseBatchKey(key);
    if (b !== null) batches.push(b);
  }
  const ticks = await checkpointTicks(storage, runId);
  const skipped: string[] = [];
  let checkpoint: ResumeCheckpoint | null = null;
  for (const tick of ticks) {
    if (endTick !== null && tick >= endTick) {
      skipped.push(`tick ${tick}: at the end of the run, which its extension continues`);
      continue;
    }
    let bytes: Uint8Array;
    let chunks: number;
    let inside: boolean;
    try {
      bytes = await readStoredCheckpoint(storage, runId, tick);
      const cp = decodeCheckpoint(bytes);
      chunks = Number(cp.stream?.chunkIndex ?? 0n);
      inside = cp.stream?.openChunk !== undefined;
    } catch (e) {
      if (!(e instanceof Error) || e.name === "NotFoundError") throw e;
      skipped.push(`tick ${tick}: unreadable (${e.message})`);
      continue;
    }
    if (inside || chunks % chunksPerBatch !== 0) {
      skipped.push(`tick ${tick}: not at a batch boundary`);
      continue;
    }
    const before = batches.filter((b) => b.lastTick <= tick).length;
    if (before !== chunks / chunksPerBatch) {
      skipped.push(
        `tick ${tick}: ${before} of the ${chunks / chunksPerBatch} batches before it are stored`,
      );
      continue;
    }
    checkpoint = { tick, chunks, bytes };
    break;
  }
  return {
    runId,
    metadata: meta.bytes,
    engine: meta.engine,
    checkpoint,
    end: end.end,
    storedBatches: batches.length,
    checkpointsStored: ticks.length,
    skipped,
  };
}
