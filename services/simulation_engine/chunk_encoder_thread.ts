/**
 * A {@link ChunkEncoder} on a worker thread: the engine's thread only captures each sample,
 * and the encoding (organism columns, varints, the chunk's bytes) runs beside the simulation.
 * The capture's arrays travel to the thread and back (transferred, not copied); the chunk's
 * bytes come back transferred too.
 *
 * @module
 */

import { capturedBuffers, type CapturedChunk } from "../../codec/mod.ts";
import { WorkerRequestError, WorkerRpc } from "../../resources/worker/worker_rpc.ts";
import type { ChunkEncoder } from "./chunk_encoder.ts";
import { type EncodedChunk, encodedChunk } from "./runtime/mod.ts";

/** What the thread is asked (./_chunk_encoder_worker.ts). */
export interface EncodeRequest {
  capture: CapturedChunk;
}

/** Its answer: the chunk's bytes and the capture, to be reused. */
export interface EncodeReply {
  bytes: Uint8Array;
  capture: CapturedChunk;
}

/** See the module doc; {@link ChunkEncoderThread.close} ends the thread. */
export class ChunkEncoderThread implements ChunkEncoder {
  readonly #rpc = new WorkerRpc<EncodeRequest, EncodeReply>(
    new URL("./_chunk_encoder_worker.ts", import.meta.url),
    "chunk encoder",
  );

  /** Starts the thread now rather than with the first chunk. */
  warmUp(): void {
    this.#rpc.warmUp();
  }

  /** See ChunkEncoder.encode. */
  async encode(
    capture: CapturedChunk,
    recycle: (capture: CapturedChunk) => void,
  ): Promise<EncodedChunk> {
    const f = capture.fields;
    try {
      const reply = await this.#rpc.call({ capture }, capturedBuffers(capture));
      recycle(reply.capture);
      return encodedChunk(reply.capture.fields, reply.bytes);
    } catch (e) {
      if (!(e instanceof WorkerRequestError)) throw e;
      throw new Error(
        `Cannot encode chunk ${f.chunkIndex} (ticks ${f.firstTick}..${f.lastTick}): ${e.message}`,
      );
    }
  }

  /** Ends the thread; chunks being encoded reject. */
  close(): void {
    this.#rpc.close();
  }
}
