/**
 * The queue record that carries one batch from the engine to persistence. The engine frames
 * the batch's encoded TickDataChunks (size-delimited, resources/storage/message_stream.ts) and
 * zstd-compresses them once, off its own thread: the value is exactly the file a persistence
 * worker stores, so workers check it and write it as it came, without compressing again, and
 * the bytes cross the network compressed (the queue's own compression is best off for this
 * topic: compressing zstd output again only costs CPU on both ends). Headers say where the
 * batch belongs, so workers route, check and name files without decompressing first. The key
 * sends every record of a run's batch to one partition.
 *
 * @module
 */

import type { Delivery, QueueRecord } from "../../resources/queue/queue.ts";
import { isRunId } from "./storage_layout.ts";

/** What a batch record says about its batch. */
export interface BatchRecordInfo {
  runId: string;
  /** Batch number: floor(chunk index / batchChunks). */
  batch: number;
  /** Chunks per batch, decided by the engine. */
  batchChunks: number;
  /** Chunks in this batch: batchChunks, or fewer in the run's final batch. */
  chunkCount: number;
  firstTick: number;
  lastTick: number;
  /** Size of the framed chunks before compression. */
  rawBytes: number;
  /** This batch holds the run's last chunk. */
  final: boolean;
}

/** Index of the batch's first chunk. */
export function firstChunkOf(info: BatchRecordInfo): number {
  return info.batch * info.batchChunks;
}

/** Builds the record for a batch whose compressed bytes are `bytes`. */
export function batchRecord(info: BatchRecordInfo, bytes: Uint8Array): QueueRecord {
  return {
    key: `${info.runId}/${info.batch}`,
    value: bytes,
    headers: {
      run: info.runId,
      batch: String(info.batch),
      "batch-chunks": String(info.batchChunks),
      chunks: String(info.chunkCount),
      first: String(info.firstTick),
      last: String(info.lastTick),
      raw: String(info.rawBytes),
      final: info.final ? "1" : "0",
      encoding: "zstd",
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
export function parseBatchRecord(d: Delivery): BatchRecordInfo {
  const h = d.headers;
  const runId = h.run;
  if (runId === undefined || !isRunId(runId)) {
    throw new RangeError(`header 'run' is ${runId === undefined ? "missing" : `'${runId}'`}`);
  }
  if (h.encoding !== "zstd") {
    throw new RangeError(
      `header 'encoding' is ${
        h.encoding === undefined ? "missing" : `'${h.encoding}'`
      }: not a batch record of this version (records carry whole zstd batches)`,
    );
  }
  const info: BatchRecordInfo = {
    runId,
    batch: nat(h, "batch"),
    batchChunks: nat(h, "batch-chunks"),
    chunkCount: nat(h, "chunks"),
    firstTick: nat(h, "first"),
    lastTick: nat(h, "last"),
    rawBytes: nat(h, "raw"),
    final: h.final === "1",
  };
  if (info.batchChunks < 1) throw new RangeError("header 'batch-chunks' is 0");
  if (info.chunkCount < 1 || info.chunkCount > info.batchChunks) {
    throw new RangeError(
      `header 'chunks' (${info.chunkCount}) is not in 1..${info.batchChunks} ('batch-chunks')`,
    );
  }
  if (info.chunkCount < info.batchChunks && !info.final) {
    throw new RangeError(
      `header 'chunks' (${info.chunkCount}) is short of 'batch-chunks' (${info.batchChunks}) ` +
        "in a batch that is not the run's final one",
    );
  }
  if (info.lastTick < info.firstTick) {
    throw new RangeError(`header 'last' (${info.lastTick}) is before 'first' (${info.firstTick})`);
  }
  return info;
}
