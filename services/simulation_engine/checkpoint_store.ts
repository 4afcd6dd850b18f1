/**
 * Checkpoints in storage: each one the engine takes is stored under
 * `runs/<run>/checkpoints/ckpt_<tick>.pb.zst` (zstd, see {@link checkpointKey}) with a
 * no-clobber commit. A checkpoint's bytes are a pure function of the run's state, so a resumed
 * run that takes the same checkpoint again rebuilds the same key and bytes and the commit is a
 * no-op: exactly once, by the same rule as the batches.
 *
 * @module
 */

import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { compressZstd, decompressZstd } from "../../resources/storage/zstd.ts";
import type { Compressor } from "../../resources/storage/message_stream.ts";
import { checkpointKey, checkpointPrefix, parseCheckpointKey } from "../common/storage_layout.ts";

/** zstd level of stored checkpoints (the bench's 483 kB raw give ~58 kB). */
export const CHECKPOINT_ZSTD_LEVEL = 3;

/** What {@link storeCheckpoint} did. */
export interface StoredCheckpoint {
  key: string;
  /** false: the key existed already (a resumed run took the same checkpoint again). */
  created: boolean;
  storedBytes: number;
}

/**
 * Compresses and stores a checkpoint (its encoded bytes) taken after `tick`, no-clobber. With a
 * `compressor` (the engine's zstd thread) the compression runs there, on a copy of `bytes`: the
 * same zstd library and level give the same stored bytes.
 */
export async function storeCheckpoint(
  storage: Storage,
  runId: string,
  tick: number,
  bytes: Uint8Array,
  compressor?: Compressor,
): Promise<StoredCheckpoint> {
  const key = checkpointKey(runId, tick);
  const stored = compressor === undefined
    ? compressZstd(bytes, CHECKPOINT_ZSTD_LEVEL)
    : await compressor.compress(bytes.slice(), CHECKPOINT_ZSTD_LEVEL);
  const w = await storage.openWriter(key);
  try {
    await w.write(stored);
    const { created } = await w.commit();
    return { key, created, storedBytes: stored.length };
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** The ticks of the run's stored checkpoints, newest first. */
export async function checkpointTicks(storage: Storage, runId: string): Promise<number[]> {
  const ticks: number[] = [];
  for (const key of await listAllKeys(storage, checkpointPrefix(runId))) {
    const tick = parseCheckpointKey(key);
    if (tick !== null) ticks.push(tick);
  }
  return ticks.sort((a, b) => b - a);
}

/** The encoded checkpoint stored for `tick` (decompressed). Storage and zstd errors propagate. */
export async function readStoredCheckpoint(
  storage: Storage,
  runId: string,
  tick: number,
): Promise<Uint8Array> {
  return decompressZstd(await storage.read(checkpointKey(runId, tick)));
}
