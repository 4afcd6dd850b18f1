/**
 * The stored form of a checkpoint (`evochora.v1.Checkpoint`, proto/evochora/v1/checkpoint.proto):
 * its format version, and encoding and decoding with the version rule applied before anything
 * else is read. The engine maps its state to and from the message
 * (services/simulation_engine/runtime/checkpoint*.ts); this module knows no engine class.
 *
 * Compatibility rule: `format_version` is the major version, always field 1. A reader refuses a
 * checkpoint of a newer major version with a message naming both versions; fields added in a
 * way older readers may skip keep the major version.
 *
 * @module
 */

import { type Checkpoint, CheckpointSchema, fromBinary, toBinary } from "../proto/mod.ts";

/** The checkpoint format this code writes and the newest major version it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** A checkpoint that cannot be read or restored; the message says why. */
export class CheckpointError extends Error {
  /** Builds the error; `message` is complete ("Cannot restore checkpoint: ..."). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/**
 * The format version in `bytes`, read from field 1 alone (which every checkpoint writes first),
 * so that a newer checkpoint is recognised before its other fields are parsed. 0 when the bytes
 * do not start with it.
 */
export function checkpointFormatVersion(bytes: Uint8Array): number {
  if (bytes.length < 2 || bytes[0] !== 0x08) return 0; // tag: field 1, varint
  let value = 0;
  for (let i = 1, shift = 0; i < bytes.length && i < 6; i++, shift += 7) {
    const b = bytes[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  return 0;
}

/**
 * Encodes a checkpoint message with protobuf-es. Deterministic: fields go in number order and
 * the message has no maps, so the same message gives the same bytes; for a decoded checkpoint
 * they are the bytes it was decoded from (the engine writes with checkpoint_writer.ts, which
 * produces the same bytes as this, faster).
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  return toBinary(CheckpointSchema, checkpoint);
}

/**
 * Decodes a checkpoint, refusing one without a format version, one of a newer major version
 * than {@link CHECKPOINT_FORMAT_VERSION} (before parsing the rest) and bytes that do not parse,
 * each with a {@link CheckpointError} that says which.
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const version = checkpointFormatVersion(bytes);
  if (version === 0) {
    throw new CheckpointError(
      `Cannot restore checkpoint: its ${bytes.length} bytes do not start with a format ` +
        `version; not a checkpoint`,
    );
  }
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      `Cannot restore checkpoint: format version ${version} is newer than this engine reads ` +
        `(${CHECKPOINT_FORMAT_VERSION}); restore it with a newer Evochora`,
    );
  }
  try {
    return fromBinary(CheckpointSchema, bytes);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new CheckpointError(
      `Cannot restore checkpoint: its ${bytes.length} bytes do not parse (${why})`,
      { cause },
    );
  }
}
