/**
 * The hand-written fast paths of the wire format beside proto/ (which holds the contracts and
 * protobuf-es): varints and size-delimited framing, the direct chunk writer, the chunk header
 * reader, the chunk decoder and its lean variant for the indexers, chunk replay and the packed cell (molecule) encoding; and the
 * instruction set's encoding (opcodes, operand kinds: stored programs and organisms' last
 * instructions are made of them) with the disassembler that turns them back into text. Each
 * fast path produces or reads exactly what protobuf-es does for the schemas in proto/gen/
 * (tested byte for byte), only faster. Beside them, the checkpoint's stored form: its format
 * version rule, its direct writer, encoding and decoding.
 *
 * Services, the CLI, benches and resources import these from here; the engine runtime too (it
 * feeds its world and organisms into the chunk writer). codec/ itself depends on proto/ only
 * (its tests also run the engine, for real chunks).
 *
 * @module
 */

export * from "./varint.ts";
export { LEN, ProtoWriter } from "./proto_writer.ts";
export * from "./chunk_writer.ts";
export { type ChunkHeader, readChunkHeader } from "./chunk_header.ts";
export {
  ChunkDecodeError,
  type ChunkDecodeOptions,
  decodeTickDataChunk,
  resolveChunkOrganisms,
} from "./chunk_decoder.ts";
export { OrganismColumnsWriter } from "./organism_columns_writer.ts";
export type { SampleSink } from "./sample_sink.ts";
export { ChunkBodyWriter } from "./chunk_body_writer.ts";
export {
  capturedBuffers,
  type CapturedChunk,
  ChunkCapture,
  encodeCapturedChunk,
  replayCapture,
} from "./chunk_capture.ts";
export { type CellArrays, decodeLeanChunk, type LeanChunk, type LeanSample } from "./lean_chunk.ts";
export {
  type LeanOrganism,
  leanOrganismAt,
  leanOrganismList,
  type LeanOrganisms,
  NO_ORGANISMS,
} from "./lean_organisms.ts";
export { ChunkReplayer, replayChunk, type ReplayedState, sharedReplayer } from "./chunk_replay.ts";
export * from "./molecule.ts";
export * from "./isa.ts";
export { disassemble, instructionText } from "./disassemble.ts";
export {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  checkpointFormatVersion,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint.ts";
export * from "./checkpoint_writer.ts";
