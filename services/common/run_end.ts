/**
 * The end of a run in storage: an `evochora.v1.RunEnd` record under
 * `runs/<run>/end/end_<last tick>.pb` (see {@link runEndKey}), written once (no-clobber) by the
 * persistence worker that stored the run's final chunk, after the run's batches are stored. Its
 * presence is what "finished" means; readers verify the totals it names against storage.
 *
 * @module
 */

import { create, fromBinary, type RunEnd, RunEndSchema, toBinary } from "../../proto/mod.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { FORMAT_VERSION, newerFormatProblem } from "./format_version.ts";
import { parseRunEndKey, runEndKey, runEndPrefix } from "./storage_layout.ts";

export type { RunEnd };

/** What an end record says, as plain numbers. */
export interface RunEndFields {
  runId: string;
  lastTick: number;
  chunks: number;
  batches: number;
  chunksPerBatch: number;
  finalBatchKey: string;
  batchesStored: number;
  writer: string;
  endedAtMs: number;
}

/** The record's bytes (format version: this build's). */
export function encodeRunEnd(f: RunEndFields): Uint8Array {
  return toBinary(
    RunEndSchema,
    create(RunEndSchema, {
      runId: f.runId,
      lastTick: BigInt(f.lastTick),
      chunks: BigInt(f.chunks),
      batches: BigInt(f.batches),
      chunksPerBatch: f.chunksPerBatch,
      finalBatchKey: f.finalBatchKey,
      batchesStored: BigInt(f.batchesStored),
      writer: f.writer,
      endedAtMs: BigInt(f.endedAtMs),
      formatVersion: FORMAT_VERSION,
    }),
  );
}

/** Stores the end record (no-clobber). Resolves whether it was new. */
export async function writeRunEnd(storage: Storage, f: RunEndFields): Promise<boolean> {
  const w = await storage.openWriter(runEndKey(f.runId, f.lastTick));
  try {
    await w.write(encodeRunEnd(f));
    return (await w.commit()).created;
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** A run's end as storage holds it. */
export interface RunEndRead {
  /** The newest end record (highest last tick), or null when there is none or it is unusable. */
  end: RunEndFields | null;
  /** Its key. */
  key: string | null;
  /** Why an end record that exists cannot be used, or null. */
  problem: string | null;
}

/** Reads the run's newest end record. Storage errors propagate; bad records become `problem`. */
export async function readRunEnd(storage: Storage, runId: string): Promise<RunEndRead> {
  let newest: { key: string; tick: number } | null = null;
  for (const key of await listAllKeys(storage, runEndPrefix(runId))) {
    const tick = parseRunEndKey(key);
    if (tick !== null && (newest === null || tick > newest.tick)) newest = { key, tick };
  }
  if (newest === null) return { end: null, key: null, problem: null };
  let bytes: Uint8Array;
  try {
    bytes = await storage.read(newest.key);
  } catch (e) {
    if (e instanceof NotFoundError) return { end: null, key: null, problem: null }; // deleted
    throw e;
  }
  const decoded = decodeRunEnd(newest.key, bytes);
  if (typeof decoded === "string") return { end: null, key: newest.key, problem: decoded };
  if (decoded.runId !== runId) {
    return { end: null, key: newest.key, problem: `'${newest.key}' names run '${decoded.runId}'` };
  }
  if (decoded.lastTick !== newest.tick) {
    return {
      end: null,
      key: newest.key,
      problem: `'${newest.key}' says the run ended at tick ${decoded.lastTick}`,
    };
  }
  return { end: decoded, key: newest.key, problem: null };
}

/** The record's fields, or why they cannot be read. */
export function decodeRunEnd(key: string, bytes: Uint8Array): RunEndFields | string {
  if (bytes.length === 0) return `'${key}' is empty (0 bytes)`;
  let m: RunEnd;
  try {
    m = fromBinary(RunEndSchema, bytes);
  } catch (e) {
    return `'${key}' (${bytes.length} bytes) does not decode as RunEnd: ${(e as Error).message}`;
  }
  const newer = newerFormatProblem(`'${key}'`, m.formatVersion);
  if (newer !== null) return newer;
  return {
    runId: m.runId,
    lastTick: Number(m.lastTick),
    chunks: Number(m.chunks),
    batches: Number(m.batches),
    chunksPerBatch: m.chunksPerBatch,
    finalBatchKey: m.finalBatchKey,
    batchesStored: Number(m.batchesStored),
    writer: m.writer,
    endedAtMs: Number(m.endedAtMs),
  };
}
