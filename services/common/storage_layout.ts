/**
 * The storage layout every service shares: the run-id grammar and the keys of a run (metadata,
 * raw batches, the end record, checkpoints, dead letters, indexes). Batch keys are a pure function of the
 * data, so a replay after a crash rebuilds the same keys and the no-clobber commit turns
 * duplicates into no-ops. Everything of a run lies under {@link runPrefix}, so removing a run is
 * removing that prefix.
 *
 * @module
 */

/** Run ids: 1-128 of `[A-Za-z0-9._=-]` (one storage key segment), not `.` or `..`. */
export const RUN_ID_PATTERN: RegExp = /^[A-Za-z0-9._=-]{1,128}$/;

/** The run-id rule in words, for messages. */
export const RUN_ID_RULE = "1-128 characters of [A-Za-z0-9._=-], not '.' or '..'";

/** Whether `id` is a valid run id (see {@link RUN_ID_PATTERN}). */
export function isRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id) && id !== "." && id !== "..";
}

/** The run id a record's `run` header names, or `unknown-run` when it names none valid. */
export function runIdOrUnknown(header: string | undefined): string {
  return header !== undefined && isRunId(header) ? header : "unknown-run";
}

/** Ticks per prefix directory: keeps directories (and S3 listings) to a few thousand keys. */
export const TICKS_PER_PREFIX = 1_000_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** `runs/<runId>/` */
export function runPrefix(runId: string): string {
  return `runs/${runId}/`;
}

/** `runs/<runId>/metadata.pb` */
export function metadataKey(runId: string): string {
  return `runs/${runId}/metadata.pb`;
}

/** `runs/<runId>/raw/` */
export function rawPrefix(runId: string): string {
  return `runs/${runId}/raw/`;
}

/** `runs/<runId>/raw/<first / 1e6, 7 digits>/batch_<first:019>_<last:019>.pb.zst` */
export function batchKey(runId: string, firstTick: number, lastTick: number): string {
  return `runs/${runId}/raw/${pad(Math.floor(firstTick / TICKS_PER_PREFIX), 7)}/batch_${
    pad(firstTick, 19)
  }_${pad(lastTick, 19)}.pb.zst`;
}

/**
 * `runs/<runId>/target.json`: the ticks the run was last started to reach (`{"ticks": N}`, 0:
 * until stopped). The operator's plan, rewritten by every start, not run data; `run --resume`
 * continues to it when no --ticks is given.
 */
export function runTargetKey(runId: string): string {
  return `runs/${runId}/target.json`;
}

/** `runs/<runId>/end/`: the run's end records (see {@link runEndKey}). */
export function runEndPrefix(runId: string): string {
  return `runs/${runId}/end/`;
}

/**
 * `runs/<runId>/end/end_<lastTick:019>.pb`: the record that the run ended at `lastTick`
 * (evochora.v1.RunEnd). Keyed by the last tick so that a run extended later gets a record of
 * its own beside the first, each written once; the one with the highest tick is the run's end.
 */
export function runEndKey(runId: string, lastTick: number): string {
  return `runs/${runId}/end/end_${pad(lastTick, 19)}.pb`;
}

const END_RE = /\/end\/end_(\d{19})\.pb$/;

/** The last tick an end record's key names, or null when the key is not an end record. */
export function parseRunEndKey(key: string): number | null {
  const m = END_RE.exec(key);
  return m ? Number(m[1]) : null;
}

/** `runs/<runId>/checkpoints/`: the run's engine checkpoints (see {@link checkpointKey}). */
export function checkpointPrefix(runId: string): string {
  return `runs/${runId}/checkpoints/`;
}

/**
 * `runs/<runId>/checkpoints/ckpt_<tick:019>.pb.zst`: the engine's checkpoint taken after `tick`
 * (a zstd-compressed evochora.v1.Checkpoint). Its bytes are a pure function of the run's state,
 * so a resumed run that takes it again rebuilds the same key and bytes (a no-op commit).
 */
export function checkpointKey(runId: string, tick: number): string {
  return `runs/${runId}/checkpoints/ckpt_${pad(tick, 19)}.pb.zst`;
}

const CHECKPOINT_RE = /\/checkpoints\/ckpt_(\d{19})\.pb\.zst$/;

/** The tick a checkpoint's key names, or null when the key is not a checkpoint. */
export function parseCheckpointKey(key: string): number | null {
  const m = CHECKPOINT_RE.exec(key);
  return m ? Number(m[1]) : null;
}

/** `runs/<runId>/index/`: everything the indexers derived from the run. */
export function indexRunPrefix(runId: string): string {
  return `runs/${runId}/index/`;
}

/** `runs/<runId>/dead-letter/` */
export function deadLetterPrefix(runId: string): string {
  return `runs/${runId}/dead-letter/`;
}

/** Key of a dead letter for one record: unique per source position. */
export function deadLetterKey(
  runId: string,
  source: string,
  partition: number,
  offset: number,
): string {
  return `runs/${runId}/dead-letter/${source}_p${pad(partition, 4)}_o${pad(offset, 19)}.pb`;
}

const BATCH_RE = /\/batch_(\d{19})_(\d{19})\.pb\.zst$/;

/** First and last tick of a batch key, or null when the key is not a batch. */
export function parseBatchKey(key: string): { firstTick: number; lastTick: number } | null {
  const m = BATCH_RE.exec(key);
  return m ? { firstTick: Number(m[1]), lastTick: Number(m[2]) } : null;
}

/** Run id from any key under `runs/`, or null. */
export function runIdOf(key: string): string | null {
  const m = /^runs\/([^/]+)\//.exec(key);
  return m ? m[1]! : null;
}
