/**
 * The state an `S3Storage` shares with its writers: the S3 requests, bucket and prefix, the
 * settings with their defaults filled in, and the request helpers both sides use. Private to
 * `resources/storage`.
 *
 * @module
 */

import type { CompletedPart } from "@aws-sdk/client-s3";
import { isNotFound } from "./_s3_errors.ts";
import { backoffDelay } from "./_s3_retry.ts";
import { type BackoffOptions, type ChecksumMode, DEFAULT_MAX_ATTEMPTS } from "./s3_client_setup.ts";
import {
  ConditionalWriteProbe,
  type ConditionalWriteSupport,
  type ProbeTarget,
} from "./s3_conditional_writes.ts";
import type { S3Operations } from "./s3_operations.ts";
import {
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  type S3StorageOptions,
} from "./s3_storage_options.ts";

/** Shared by the storage and its writers. */
export class Context implements ProbeTarget {
  /** The S3 requests. */
  readonly ops: S3Operations;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix inside the bucket ("" or ending with "/"). */
  readonly root: string;
  /** The endpoint, or "AWS S3 (<region>)", for messages. */
  readonly endpointLabel: string;
  /** Bytes per part of a multipart upload. */
  readonly partSize: number;
  /** Parts of one writer uploaded at once. */
  readonly partConcurrency: number;
  /** Whether UploadPart carries a CRC32. */
  readonly checksums: ChecksumMode;
  /** Attempts per request, and per commit's conflict and read's body retries. */
  readonly maxAttempts: number;
  /** Backoff between attempts the storage retries itself. */
  readonly backoff: Required<BackoffOptions>;
  readonly #conditional: ConditionalWriteProbe;

  /**
   * `options` are valid already; `probeKey` names endpoint and bucket for the process-wide
   * conditional-write probe (undefined: this storage probes on its own).
   */
  constructor(
    options: S3StorageOptions,
    ops: S3Operations,
    root: string,
    endpointLabel: string,
    probeKey: string | undefined,
  ) {
    this.ops = ops;
    this.bucket = options.bucket;
    this.root = root;
    this.endpointLabel = endpointLabel;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.partConcurrency = options.partConcurrency ?? DEFAULT_PART_CONCURRENCY;
    this.checksums = options.checksums ?? "when-supported";
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.backoff = {
      baseDelayMs: options.backoff?.baseDelayMs ?? 100,
      maxDelayMs: options.backoff?.maxDelayMs ?? 5000,
    };
    this.#conditional = new ConditionalWriteProbe(
      this,
      options.conditionalWrites ?? "auto",
      probeKey,
    );
  }

  /** "s3://bucket/objectKey", for messages. */
  where(key: string): string {
    return `s3://${this.bucket}/${this.root}${key}`;
  }

  /** The object key of a storage key. */
  object(key: string): string {
    return this.root + key;
  }

  /** Waits the backoff delay before retry number `retry` (from 0). */
  sleep(retry: number): Promise<void> {
    const ms = backoffDelay(retry, this.backoff.baseDelayMs, this.backoff.maxDelayMs);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Size, ETag and modification time of an object, or null when absent. */
  async head(
    key: string,
  ): Promise<{ size: number; etag: string | undefined; modifiedMs: number } | null> {
    try {
      const out = await this.ops.headObject({ Bucket: this.bucket, Key: this.object(key) });
      return {
        size: out.ContentLength ?? 0,
        etag: out.ETag,
        modifiedMs: out.LastModified?.getTime() ?? 0,
      };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Which commits can rely on `If-None-Match: *`. */
  conditional(): Promise<ConditionalWriteSupport> {
    return this.#conditional.support();
  }

  /** CreateMultipartUpload for an object key (already prefixed). */
  async createUpload(objectKey: string): Promise<string> {
    const out = await this.ops.createMultipartUpload({
      Bucket: this.bucket,
      Key: objectKey,
      ...(this.checksums === "when-supported" ? { ChecksumAlgorithm: "CRC32" as const } : {}),
    });
    if (out.UploadId === undefined) {
      throw new Error("CreateMultipartUpload answered without an UploadId");
    }
    return out.UploadId;
  }

  /** UploadPart; returns the part as CompleteMultipartUpload wants it. */
  async uploadPart(
    objectKey: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<CompletedPart> {
    const out = await this.ops.uploadPart({
      Bucket: this.bucket,
      Key: objectKey,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
      ...(this.checksums === "when-supported" ? { ChecksumAlgorithm: "CRC32" as const } : {}),
    });
    if (out.ETag === undefined) {
      throw new Error(`UploadPart ${partNumber} answered without an ETag`);
    }
    const part: CompletedPart = { PartNumber: partNumber, ETag: out.ETag };
    if (out.ChecksumCRC32 !== undefined) part.ChecksumCRC32 = out.ChecksumCRC32;
    return part;
  }
}
