/**
 * The options of S3Storage and the S3 part-size limits, in a file of their own so that the
 * storage, its writer and their shared context depend on them without depending on each other.
 *
 * @module
 */

import type { S3Client } from "@aws-sdk/client-s3";
import type { S3ClientOptions } from "./s3_client_setup.ts";
import type { ConditionalWrites } from "./s3_conditional_writes.ts";
import type { S3Operations } from "./s3_operations.ts";

const MiB = 1024 * 1024;
/** S3's smallest part (all parts but the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;
/** S3's limit on the number of parts of one upload. */
export const MAX_PARTS = 10_000;
/** Default part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * MiB;
/** Parts of one writer in flight at once, by default. */
export const DEFAULT_PART_CONCURRENCY = 2;

/** Options of {@link S3Storage}. */
export interface S3StorageOptions extends S3ClientOptions {
  /** The bucket. It must exist. */
  bucket: string;
  /**
   * Key prefix inside the bucket, e.g. "evochora/" (a trailing "/" is added when missing).
   * Default "" (keys at the bucket's top).
   */
  prefix?: string;
  /** Part size in bytes, from 5 MiB to 5 GiB, default 8 MiB. Smaller objects use one PutObject. */
  partSize?: number;
  /** Parts of one writer uploaded at once, default 2. A writer holds (this + 1) parts in memory. */
  partConcurrency?: number;
  /** No-clobber strategy, default "auto"; see the module documentation. */
  conditionalWrites?: ConditionalWrites;
  /** Use this client instead of creating one (it is not destroyed by close()). */
  client?: S3Client;
  /** The S3 calls themselves, replacing the SDK; for tests. */
  operations?: S3Operations;
}
