/**
 * Worker side of {@link ChunkEncoderThread}: encodes captured chunks and sends their bytes
 * back with the capture's arrays.
 *
 * @module
 */

import { capturedBuffers, type ChunkBodyWriter, encodeCapturedChunk } from "../../codec/mod.ts";
import { serveRequests } from "../../resources/worker/worker_rpc.ts";
import { writerFor } from "./chunk_encoder.ts";
import type { EncodeReply, EncodeRequest } from "./chunk_encoder_thread.ts";

const writers = new Map<string, ChunkBodyWriter>();

serveRequests<EncodeRequest>(({ capture }) => {
  const bytes = encodeCapturedChunk(capture, writerFor(writers, capture));
  const value: EncodeReply = { bytes, capture };
  return { value, transfer: [bytes.buffer as ArrayBuffer, ...capturedBuffers(capture)] };
});
