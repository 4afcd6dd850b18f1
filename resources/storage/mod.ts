/**
 * Object storage for the pipeline: the {@link Storage} interface, its filesystem
 * implementation, and message streams (size-delimited protobuf messages compressed as one zstd
 * stream, the format of raw batches).
 *
 * The contract tests every implementation must pass live in `./storage_contract.ts` (test code,
 * not exported here).
 *
 * @module
 */

export {
  type CommitResult,
  DEFAULT_LEFTOVER_AGE_MS,
  InvalidKeyError,
  isKeySegment,
  type KeyPage,
  type Leftover,
  type ListOptions,
  NotFoundError,
  type ObjectInfo,
  type ObjectPage,
  type Storage,
  type StorageWriter,
  type SweepOptions,
  validateKey,
  validatePrefix,
} from "./storage.ts";
export {
  DataDirectoryError,
  FilesystemStorage,
  type FilesystemStorageOptions,
} from "./filesystem_storage.ts";
export {
  CorruptObjectError,
  readMessages,
  type ReadMessagesResult,
  splitDelimited,
  writeMessages,
  type WriteMessagesOptions,
  type WriteMessagesResult,
} from "./message_stream.ts";
export {
  checkZstdLevel,
  compressZstd,
  decompressZstd,
  DEFAULT_ZSTD_LEVEL,
  ZstdDecodeError,
} from "./zstd.ts";
export {
  type ConditionalWrites,
  ConditionalWritesUnsupportedError,
  S3BucketError,
  S3Storage,
  type S3StorageOptions,
} from "./s3_storage.ts";
export { listAllKeys, listAllObjects } from "./list_all_keys.ts";
