/**
 * The queue record that carries one encoded TickDataChunk from the engine to persistence: the
 * value is the chunk's bytes; headers say where it belongs, so workers route and batch without
 * decoding. The key routes every chunk of a batch to one partition (one worker).
 *
 * @module
 */

import type { Delivery, QueueRecord } from "../../resources/queue/queue.ts";
import { isRunId } from "./storage_layout.ts";

/** What a chunk record says about its chunk. */
export interface ChunkRecordInfo {
  runId: string;
  chunkIndex: number;
  firstTick: number;
  lastTick: number;
  /** Chunks per batch, decided by the engine: batch = floor(chunkIndex / batchChunks). */
  batchChunks: number;
  /** This is the run's last chunk: its batch ends here even if short. */
  final: boolean;
}

/** Batch number of a chunk. */
export function batchIndexOf(info: ChunkRecordInfo): number {
  return Math.floor(info.chunkIndex / info.batchChunks);
}

/** Builds the record for a chunk. */
export function chunkRecord(info: ChunkRecordInfo, bytes: Uint8Array): QueueRecord {
  return {
    key: `${info.runId}/${batchIndexOf(info)}`,
    value: bytes,
    headers: {
      run: info.runId,
      chunk: String(info.chunkIndex),
      first: String(info.firstTick),
      last: String(info.lastTick),
      "batch-chunks": String(info.batchChunks),
      final: info.final ? "1" : "0",
    },
  };
}

function nat(headers: Readonly<Record<string, string>>, name: string): number {
  const v = headers[name];
  if (v === undefined || !/^\d{1,16}$/.test(v)) {
    throw new RangeError(`header '${name}' is ${v === undefined ? "missing" : `'${v}'`}`);
  }
  return Number(v);
}

/** Reads a delivery's headers. Throws RangeError saying which header is wrong. */
export function parseChunkRecord(d: Delivery): ChunkRecordInfo {
  const h = d.headers;
  const runId = h.run;
  if (runId === undefined || !isRunId(runId)) {
    throw new RangeError(`header 'run' is ${runId === undefined ? "missing" : `'${runId}'`}`);
  }
  const info: ChunkRecordInfo = {
    runId,
    chunkIndex: nat(h, "chunk"),
    firstTick: nat(h, "first"),
    lastTick: nat(h, "last"),
    batchChunks: nat(h, "batch-chunks"),
    final: h.final === "1",
  };
  if (info.batchChunks < 1) throw new RangeError("header 'batch-chunks' is 0");
  if (info.lastTick < info.firstTick) {
    throw new RangeError(`header 'last' (${info.lastTick}) is before 'first' (${info.firstTick})`);
  }
  return info;
}
