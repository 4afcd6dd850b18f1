/**
 * Storage access of the indexers: a raw batch decoded into its chunks, the run facts they need
 * from the run's metadata, paged listings, and no-clobber writes of derived objects.
 *
 * @module
 */

import { decodeLeanChunk, type LeanChunk, varintSize } from "../../codec/mod.ts";
import { FORMAT_VERSION, fromBinary, SimulationMetadataSchema } from "../../proto/mod.ts";
import { CorruptObjectError, decodeMessages } from "../../resources/storage/message_stream.ts";
import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { metadataKey, parseBatchKey, runIdOf } from "../common/storage_layout.ts";

/** A raw batch that exists but cannot be used: bad zstd, framing, protobuf or contents. */
export class CorruptBatchError extends Error {
  override readonly name = "CorruptBatchError";
  constructor(readonly key: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A raw batch key that names no object. */
export class MissingBatchError extends Error {
  override readonly name = "MissingBatchError";
  constructor(readonly key: string) {
    super(`Raw batch '${key}' does not exist`);
  }
}

/** A raw batch key taken apart. */
export interface BatchRef {
  runId: string;
  key: string;
  firstTick: number;
  lastTick: number;
}

/** The parts of a raw batch key, or null when `key` is not one. */
export function batchRef(key: string): BatchRef | null {
  const ticks = parseBatchKey(key);
  const runId = runIdOf(key);
  if (ticks === null || runId === null || !key.startsWith(`runs/${runId}/raw/`)) return null;
  if (ticks.lastTick < ticks.firstTick) return null;
  return { runId, key, ...ticks };
}

/** A decoded raw batch. */
export interface RawBatch extends BatchRef {
  /** Chunks in order (ascending chunk index), decoded leanly (codec/lean_chunk.ts). */
  chunks: LeanChunk[];
  /** Size of the framed messages before compression. */
  rawBytes: number;
  /** Size of the stored object. */
  storedBytes: number;
}

/**
 * Reads the stored bytes of the raw batch at `ref.key`. Throws {@link MissingBatchError} when
 * it is absent; other errors (storage failures) pass through.
 */
async function readRawBatch(storage: Storage, ref: BatchRef): Promise<Uint8Array> {
  try {
    return await storage.read(ref.key);
  } catch (e) {
    if (e instanceof NotFoundError) throw new MissingBatchError(ref.key);
    throw e;
  }
}

/**
 * Decodes a raw batch from its stored bytes. Throws
 * {@link CorruptBatchError} (naming the key and what is wrong) when they are not a readable
 * batch of the ticks its key names.
 */
function decodeRawBatch(ref: BatchRef, stored: Uint8Array): RawBatch {
  const { key } = ref;
  let messages: Uint8Array[];
  try {
    messages = decodeMessages(key, stored).messages;
  } catch (e) {
    if (e instanceof CorruptObjectError) throw new CorruptBatchError(key, e.message, { cause: e });
    throw e;
  }
  if (messages.length === 0) throw new CorruptBatchError(key, `Raw batch '${key}' has no chunks`);
  const chunks: LeanChunk[] = [];
  let rawBytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    rawBytes += varintSize(m.length) + m.length;
    let chunk: LeanChunk;
    try {
      chunk = decodeLeanChunk(m);
    } catch (e) {
      throw new CorruptBatchError(
        key,
        `Raw batch '${key}': chunk ${i} is not a TickDataChunk: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (chunk.formatVersion > FORMAT_VERSION) {
      throw new CorruptBatchError(
        key,
        `Raw batch '${key}': chunk ${i} has format version ${chunk.formatVersion}, this build reads ${FORMAT_VERSION}`,
      );
    }
    if (chunk.snapshot === undefined) {
      throw new CorruptBatchError(key, `Raw batch '${key}': chunk ${i} has no snapshot`);
    }
    chunks.push(chunk);
  }
  const first = chunks[0]!.firstTick;
  const last = chunks[chunks.length - 1]!.lastTick;
  if (first !== ref.firstTick || last !== ref.lastTick) {
    throw new CorruptBatchError(
      key,
      `Raw batch '${key}' holds ticks ${first}..${last}, its key says ${ref.firstTick}..${ref.lastTick}`,
    );
  }
  const { runId, firstTick, lastTick } = ref;
  return { runId, key, firstTick, lastTick, chunks, rawBytes, storedBytes: stored.length };
}

/**
 * Reads and decodes the raw batch at `ref.key`: {@link readRawBatch}, then
 * {@link decodeRawBatch}, with their errors.
 */
export async function loadRawBatch(storage: Storage, ref: BatchRef): Promise<RawBatch> {
  return decodeRawBatch(ref, await readRawBatch(storage, ref));
}

/** Most decoded batches kept per storage for the other indexers of this process. */
const SHARED_BATCHES = 4;

/** A batch being or recently decoded, and how many indexers took it. */
interface SharedBatch {
  loading: Promise<RawBatch>;
  taken: number;
}

/** Per storage instance: its indexers in this process, and their batches, oldest first. */
const shared = new WeakMap<Storage, { readers: number; batches: Map<string, SharedBatch> }>();

/**
 * Registers an indexer of this process as a reader of `storage`'s batches, for
 * {@link loadSharedRawBatch}; returns the function that unregisters it.
 */
export function shareRawBatches(storage: Storage): () => void {
  let s = shared.get(storage);
  if (s === undefined) shared.set(storage, s = { readers: 0, batches: new Map() });
  const own = s;
  own.readers++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    own.readers--;
    own.batches.clear(); // who still reads takes its batches anew
  };
}

/**
 * {@link loadRawBatch}, shared by the indexers of one process (see {@link shareRawBatches}):
 * the stats, organisms and catalog indexers take the same batches at about the same time, and
 * decoding a batch (with the garbage it makes) was most of their work, three times over. A
 * batch is read and decoded once and kept until every registered indexer took it (at most the
 * last few batches; a failed read is not kept). Batches are write-once, and the indexers do not
 * change what they are given. With one indexer, nothing is kept.
 */
export function loadSharedRawBatch(storage: Storage, ref: BatchRef): Promise<RawBatch> {
  const s = shared.get(storage);
  if (s === undefined || s.readers < 2) return loadRawBatch(storage, ref);
  const known = s.batches.get(ref.key);
  if (known !== undefined) {
    if (++known.taken >= s.readers) s.batches.delete(ref.key);
    return known.loading;
  }
  const entry: SharedBatch = { loading: loadRawBatch(storage, ref), taken: 1 };
  s.batches.set(ref.key, entry);
  entry.loading.catch(() => {
    if (s.batches.get(ref.key) === entry) s.batches.delete(ref.key);
  });
  for (const key of s.batches.keys()) {
    if (s.batches.size <= SHARED_BATCHES) break;
    s.batches.delete(key);
  }
  return entry.loading;
}

/** What the indexers need from a run's metadata. */
export interface RunInfo {
  runId: string;
  shape: number[];
  /** Cells in the world. */
  size: number;
  /** Ticks between samples. */
  sampling: number;
}

/** A run whose metadata is not (yet) in storage. */
export class MissingMetadataError extends Error {
  override readonly name = "MissingMetadataError";
  constructor(readonly key: string) {
    super(`Run metadata '${key}' does not exist (yet)`);
  }
}

/**
 * Reads a run's metadata. Throws {@link MissingMetadataError} when it is absent (it may still
 * be on its way) and a plain Error naming the key when it is undecodable or unusable.
 */
export async function loadRunInfo(storage: Storage, runId: string): Promise<RunInfo> {
  const key = metadataKey(runId);
  let bytes: Uint8Array;
  try {
    bytes = await storage.read(key);
  } catch (e) {
    if (e instanceof NotFoundError) throw new MissingMetadataError(key);
    throw e;
  }
  let shape: number[];
  let sampling: number;
  try {
    const meta = fromBinary(SimulationMetadataSchema, bytes);
    shape = [...meta.shape];
    sampling = meta.intervals?.sampling ?? 0;
  } catch (e) {
    throw new Error(`Run metadata '${key}' is not a SimulationMetadata: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 0 || !Number.isSafeInteger(size) || size <= 0) {
    throw new Error(`Run metadata '${key}' has an unusable world shape [${shape.join(", ")}]`);
  }
  if (!(sampling >= 1)) {
    throw new Error(`Run metadata '${key}' has sampling interval ${sampling}`);
  }
  return { runId, shape, size, sampling };
}

/**
 * Writes `bytes` under `key` with a no-clobber commit. Returns false when the key existed (the
 * write was a no-op: another instance or an earlier attempt wrote it). Leaves nothing behind
 * on failure.
 */
export async function writeObject(
  storage: Storage,
  key: string,
  bytes: Uint8Array,
): Promise<boolean> {
  const w = await storage.openWriter(key);
  try {
    await w.write(bytes);
    return (await w.commit()).created;
  } catch (e) {
    await w.abort().catch(() => {
      // The original error matters more than a failed cleanup.
    });
    throw e;
  }
}

export { listAllKeys } from "../../resources/storage/list_all_keys.ts";
