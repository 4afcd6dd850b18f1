/**
 * Extending a finished run (`evochora run --resume ID --ticks N` beyond its end): the run's last
 * batch ends early (at the end tick, not at a batch boundary), and a longer run would have
 * stored a full batch in its place under another key. So the extension continues from a
 * checkpoint at a batch boundary before the end, and first takes back everything stored after
 * that checkpoint: raw batches, the index files derived from them, later checkpoints and the
 * end record. The resumed engine then writes exactly the files a run of N ticks from the start
 * would have (same keys, same bytes).
 *
 * The end record goes last: an interrupted retraction leaves a finished run whose files after
 * the checkpoint are partly gone, and the next extension finds the same checkpoint and takes
 * back the rest.
 *
 * @module
 */

import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import {
  parseBatchKey,
  parseCheckpointKey,
  parseRunEndKey,
  runPrefix,
} from "../common/storage_layout.ts";

/** `<first:019>_<last:019>.<ext>` (index files keyed by their batch). */
const RANGE_FILE = /\/(\d{19})_(\d{19})\.[a-z]+$/;
/** `index/state/<kind>/<last:019>.json` (an indexer's state after a batch). */
const STATE_FILE = /\/index\/state\/[a-z]+\/(\d{19})\.json$/;

/** The tick from which a run file counts as stored after `tick`, or null for the run's own. */
function positionOf(key: string): { tick: number; end: boolean } | null {
  const end = parseRunEndKey(key);
  if (end !== null) return { tick: end, end: true };
  const batch = parseBatchKey(key);
  if (batch !== null) return { tick: batch.firstTick, end: false };
  const checkpoint = parseCheckpointKey(key);
  if (checkpoint !== null) return { tick: checkpoint, end: false };
  if (!key.includes("/index/")) return null;
  const state = STATE_FILE.exec(key);
  if (state !== null) return { tick: Number(state[1]), end: false };
  const range = RANGE_FILE.exec(key);
  if (range !== null) return { tick: Number(range[1]), end: false };
  return null;
}

/**
 * The keys of run `runId` to take back before it is extended from the checkpoint after `tick`
 * (null: from tick 0): every raw batch, index file, indexer state and checkpoint positioned
 * after it, then the end records. Metadata, dead letters and unknown files stay.
 */
export async function extensionRetraction(
  storage: Storage,
  runId: string,
  tick: number | null,
): Promise<string[]> {
  const from = tick ?? -1;
  const files: string[] = [];
  const ends: string[] = [];
  for (const key of await listAllKeys(storage, runPrefix(runId))) {
    const at = positionOf(key);
    if (at === null) continue;
    if (at.end) ends.push(key);
    else if (at.tick > from) files.push(key);
  }
  return [...files.sort(), ...ends.sort()];
}

/** Deletes `keys` in order (see {@link extensionRetraction}); resolves how many existed. */
export async function retract(storage: Storage, keys: readonly string[]): Promise<number> {
  let removed = 0;
  for (const key of keys) if (await storage.delete(key)) removed++;
  return removed;
}
