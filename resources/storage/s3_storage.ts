/**
 * Storage in an S3 bucket (AWS S3, SeaweedFS, MinIO, any S3-compatible server) on
 * `@aws-sdk/client-s3`: key `a/b` is the object `<prefix>a/b` of the bucket.
 *
 * Writers buffer up to `partSize` bytes. An object that stays smaller is sent with one PutObject
 * at commit; a larger one becomes a multipart upload (CreateMultipartUpload when the first part
 * is full, UploadPart per part with a little concurrency, CompleteMultipartUpload at commit).
 * Either way nothing is visible before the commit, and every failure, and abort(), aborts the
 * multipart upload, so no upload is left pending. (A process killed mid-upload still leaves one
 * behind: give the bucket a lifecycle rule `AbortIncompleteMultipartUpload` as the backstop.)
 *
 * **No-clobber.** The commit sends `If-None-Match: *` (S3 conditional writes, on AWS since
 * 2024), so S3 itself refuses to replace an existing object: a 412 answer means the key exists,
 * and the commit reports `created: false`. Servers that ignore the header would replace the
 * object silently, so by default (`conditionalWrites: "auto"`) the storage first probes the
 * bucket once per process (it writes a probe object, writes it again conditionally and sees
 * whether the second write is refused; PutObject and CompleteMultipartUpload are probed
 * separately). Where the header is ignored, the commit checks with HeadObject right before it
 * publishes instead. That check leaves a race: two writers that both find the key absent and
 * complete at the same instant both succeed, and the last one wins. In the pipeline both wrote
 * the same bytes (batches are a pure function of the data), so the object is still correct; only
 * both report `created: true`.
 *
 * **Listing.** ListObjectsV2 with `Prefix`; the page cursor is the last key returned (as with
 * the filesystem storage) and maps to `StartAfter`. Objects whose names are not valid keys
 * (foreign objects, directory markers, this module's probe objects, which carry a `~`) are
 * skipped.
 *
 * **Leftovers.** `sweepLeftovers` aborts pending multipart uploads that a killed writer left
 * (where the server lists them, see ./s3_leftovers.ts). `delete` is DeleteObject after a
 * HeadObject that tells whether there was an object.
 *
 * **Retries.** Every request is retried by the SDK with exponential backoff and jitter (see
 * {@link BackoffRetryStrategy}) on 5xx answers (not 501), throttling (503 SlowDown, 429),
 * timeouts and network errors. Reads that fail while streaming the body are retried by `read()`;
 * a stream from `openReader()` reports the error to its reader instead.
 *
 * Credentials come from the options or from the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), never from `~/.aws` files.
 *
 * This module is the S3 storage's public face and re-exports the API of its parts: the client
 * (`./s3_client_setup.ts`), the S3 requests (`./s3_operations.ts`), the conditional-write probe
 * (`./s3_conditional_writes.ts`) and the writer (`./s3_writer.ts`); retry policy, error
 * classification and the shared state are private (`./_s3_*.ts`).
 *
 * @module
 */

import { namesHoldingKeys } from "./list_all_keys.ts";
import type { ListObjectsV2CommandInput } from "@aws-sdk/client-s3";
import { abortStaleUploads } from "./s3_leftovers.ts";
import { Context } from "./_s3_context.ts";
import { bucketProblem, describeS3Error, httpStatus, isNotFound } from "./_s3_errors.ts";
import { isTransient } from "./_s3_retry.ts";
import { createS3Client, resolveS3ClientOptions } from "./s3_client_setup.ts";
import type { ConditionalWriteSupport } from "./s3_conditional_writes.ts";
import { type S3Body, type S3Operations, sdkOperations } from "./s3_operations.ts";
import {
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  S3Writer,
} from "./s3_writer.ts";
import {
  checkChildPrefix,
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
import type { S3StorageOptions } from "./s3_storage_options.ts";

export type { S3StorageOptions };

// The S3 storage's public API is this module's; the pieces live in the modules named here.
export {
  type BackoffOptions,
  type ChecksumMode,
  createS3Client,
  DEFAULT_MAX_ATTEMPTS,
  type ResolvedS3ClientOptions,
  resolveS3ClientOptions,
  type S3ClientOptions,
  type S3Credentials,
} from "./s3_client_setup.ts";
export { type S3Body, type S3Operations, sdkOperations } from "./s3_operations.ts";
export {
  type ConditionalWrites,
  ConditionalWritesUnsupportedError,
  type ConditionalWriteSupport,
} from "./s3_conditional_writes.ts";
export {
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  multipartEtag,
} from "./s3_writer.ts";
export { backoffDelay, BackoffRetryStrategy, type RetryErrorInfo } from "./_s3_retry.ts";
export { describeS3Error, httpStatus } from "./_s3_errors.ts";

const DEFAULT_PAGE_SIZE = 1000;
/** ListObjectsV2 returns at most this many keys per request. */
const S3_MAX_KEYS = 1000;

/** The bucket cannot be used: unreachable endpoint, bad credentials, missing bucket. */
export class S3BucketError extends Error {
  /** Always "S3BucketError". */
  override readonly name = "S3BucketError";
  /** `why` says what is wrong and what to do. */
  constructor(
    /** The bucket. */
    readonly bucket: string,
    /** The endpoint, or "AWS S3". */
    readonly endpoint: string,
    why: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot use S3 bucket '${bucket}' at ${endpoint}: ${why}`, options);
  }
}

/** The storage's key prefix as an object-key prefix ("" or ending with "/"); throws if invalid. */
function normalizeRoot(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "") return "";
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  try {
    validateKey(trimmed);
  } catch (e) {
    throw new TypeError(
      `Invalid S3 prefix '${prefix}': ${
        (e as Error).message.replace(/^Invalid storage key '[^']*': /, "")
      }`,
    );
  }
  return trimmed + "/";
}

/**
 * Checks the options S3Storage itself uses (the client's are checked where the client is made)
 * and returns the normalized prefix.
 */
function checkStorageOptions(options: S3StorageOptions): string {
  if (typeof options.bucket !== "string" || options.bucket === "") {
    throw new TypeError("S3Storage needs a bucket name");
  }
  const root = normalizeRoot(options.prefix);
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new RangeError(
      `S3 partSize must be an integer from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} ` +
        `(5 GiB), got ${partSize}`,
    );
  }
  const concurrency = options.partConcurrency ?? DEFAULT_PART_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`S3 partConcurrency must be a positive integer, got ${concurrency}`);
  }
  const mode = options.conditionalWrites ?? "auto";
  if (mode !== "auto" && mode !== "required" && mode !== "check") {
    throw new TypeError(
      `S3 conditionalWrites must be "auto", "required" or "check", got ${JSON.stringify(mode)}`,
    );
  }
  return root;
}

/** The page size and cursor of a listKeys call, checked. */
function checkListOptions(options: ListOptions): { pageSize: number; cursor: string | undefined } {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`listKeys pageSize must be a positive integer, got ${pageSize}`);
  }
  const cursor = options.cursor;
  if (cursor !== undefined) {
    try {
      validateKey(cursor);
    } catch {
      throw new TypeError(`Invalid listKeys cursor '${cursor}': pass the cursor of a page`);
    }
  }
  return { pageSize, cursor };
}

/** Whether an object name below the prefix is a storage key (foreign objects may not be). */
function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Object storage in an S3 bucket. */
export class S3Storage implements Storage {
  /** "s3://bucket/prefix" and, with an endpoint, " at <endpoint>". */
  readonly description: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix inside the bucket ("" or ending with "/"). */
  readonly prefix: string;
  /** The endpoint, or undefined for AWS S3. */
  readonly endpoint: string | undefined;
  readonly #ctx: Context;
  #closed = false;

  /**
   * Does no I/O. Use {@link S3Storage.open} to check the bucket at startup. Throws when an
   * option is invalid or no credentials are found.
   */
  constructor(options: S3StorageOptions) {
    const root = checkStorageOptions(options);
    const resolved = resolveS3ClientOptions(options);
    this.bucket = options.bucket;
    this.prefix = root;
    this.endpoint = resolved.endpoint;
    const endpointLabel = resolved.endpoint ?? `AWS S3 (${resolved.region})`;
    let ops: S3Operations;
    let probeKey: string | undefined;
    if (options.operations !== undefined) {
      ops = options.operations;
    } else {
      const client = options.client ?? createS3Client(options);
      ops = sdkOperations(client, options.client === undefined);
      probeKey = `${resolved.endpoint ?? "aws:" + resolved.region}|${options.bucket}`;
    }
    this.#ctx = new Context(options, ops, root, endpointLabel, probeKey);
    this.description = `s3://${this.bucket}/${root}` +
      (resolved.endpoint === undefined ? "" : ` at ${resolved.endpoint}`);
  }

  /**
   * Creates the storage and checks the bucket with HeadBucket, or throws {@link S3BucketError}
   * saying what is wrong (endpoint unreachable, credentials refused, bucket missing) and what
   * to do.
   */
  static async open(options: S3StorageOptions): Promise<S3Storage> {
    const storage = new S3Storage(options);
    try {
      await storage.checkBucket();
    } catch (e) {
      await storage.close();
      throw e;
    }
    return storage;
  }

  /** HeadBucket; throws {@link S3BucketError}. */
  async checkBucket(): Promise<void> {
    const ctx = this.#ctx;
    try {
      await ctx.ops.headBucket({ Bucket: ctx.bucket });
    } catch (e) {
      throw new S3BucketError(ctx.bucket, ctx.endpointLabel, bucketProblem(ctx.bucket, e), {
        cause: e,
      });
    }
  }

  /**
   * Which commits rely on `If-None-Match: *`: for "auto" and "required" the result of the
   * bucket's probe (run once per process, at the first commit or here), for "check" none.
   * Throws {@link ConditionalWritesUnsupportedError} for "required" on a server without them.
   */
  conditionalWriteSupport(): Promise<ConditionalWriteSupport> {
    return this.#ctx.conditional();
  }

  /** Throws once the storage is closed. */
  #assertOpen(): void {
    if (this.#closed) throw new Error(`Storage ${this.description} is closed`);
  }

  /** Opens a writer; does no I/O until the first part is full or the commit. */
  openWriter(key: string): Promise<StorageWriter> {
    try {
      validateKey(key);
      this.#assertOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(new S3Writer(key, this.#ctx));
  }

  /**
   * GetObject as a stream; a failure while streaming reaches the reader (named after the key)
   * instead of being retried.
   */
  async openReader(key: string): Promise<ReadableStream<Uint8Array>> {
    validateKey(key);
    this.#assertOpen();
    const ctx = this.#ctx;
    let body: S3Body | undefined;
    try {
      body = (await ctx.ops.getObject({ Bucket: ctx.bucket, Key: ctx.object(key) })).Body;
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(key);
      throw readError(key, ctx.where(key), e);
    }
    if (body === undefined) return new ReadableStream({ start: (c) => c.close() });
    return nameStreamErrors(body.transformToWebStream(), key, ctx.where(key));
  }

  /** GetObject; a failure while reading the body is retried like a failed request. */
  async read(key: string): Promise<Uint8Array> {
    validateKey(key);
    this.#assertOpen();
    const ctx = this.#ctx;
    for (let attempt = 1;; attempt++) {
      try {
        const out = await ctx.ops.getObject({ Bucket: ctx.bucket, Key: ctx.object(key) });
        return out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      } catch (e) {
        if (isNotFound(e)) throw new NotFoundError(key);
        // The SDK retried the request already; this retries failures while reading the body.
        if (httpStatus(e) === undefined && isTransient(e) && attempt < ctx.maxAttempts) {
          await ctx.sleep(attempt - 1);
          continue;
        }
        throw readError(key, ctx.where(key), e);
      }
    }
  }

  /** HeadObject: whether the object exists. */
  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  /** HeadObject: the object's size, or null when it does not exist. */
  async size(key: string): Promise<number | null> {
    return (await this.stat(key))?.size ?? null;
  }

  /** HeadObject: the object's size and LastModified, or null when it does not exist. */
  async stat(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    this.#assertOpen();
    try {
      const head = await this.#ctx.head(key);
      return head === null ? null : { key, size: head.size, modifiedMs: head.modifiedMs };
    } catch (e) {
      throw readError(key, this.#ctx.where(key), e);
    }
  }

  /** HeadObject, then DeleteObject (which answers alike whether or not the object existed). */
  async delete(key: string): Promise<boolean> {
    validateKey(key);
    this.#assertOpen();
    const ctx = this.#ctx;
    try {
      if ((await ctx.head(key)) === null) return false;
      await ctx.ops.deleteObject({ Bucket: ctx.bucket, Key: ctx.object(key) });
      return true;
    } catch (e) {
      throw new Error(`Cannot delete '${key}' (${ctx.where(key)}): ${describeS3Error(e)}`, {
        cause: e,
      });
    }
  }

  /** Aborts pending multipart uploads begun longer than `olderThanMs` ago. */
  sweepLeftovers(options: SweepOptions): Promise<Leftover[]> {
    const prefix = options.prefix ?? "";
    try {
      validatePrefix(prefix);
      this.#assertOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return abortStaleUploads(this.#ctx, prefix, options.olderThanMs, Date.now(), this.description);
  }

  /** Keys of {@link listObjects}. */
  async listKeys(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    const page = await this.listObjects(prefix, options);
    const keys = page.objects.map((o) => o.key);
    return page.cursor === undefined ? { keys } : { keys, cursor: page.cursor };
  }

  /**
   * ListObjectsV2 pages of up to 1000 keys until `pageSize` valid keys and one more are found
   * (the extra one tells whether a next page exists; past 1000 keys S3's own truncation flag
   * tells it, so a next page may then come back empty if only invalid names remain). Sizes and
   * times come with the listing.
   */
  async listObjects(prefix: string, options: ListOptions = {}): Promise<ObjectPage> {
    validatePrefix(prefix);
    this.#assertOpen();
    const { pageSize, cursor } = checkListOptions(options);
    const ctx = this.#ctx;
    const objects: ObjectInfo[] = [];
    let token: string | undefined;
    let truncated = false;
    do {
      const input: ListObjectsV2CommandInput = {
        Bucket: ctx.bucket,
        Prefix: ctx.root + prefix,
        MaxKeys: Math.min(S3_MAX_KEYS, pageSize + 1 - objects.length),
      };
      if (token !== undefined) input.ContinuationToken = token;
      else if (cursor !== undefined) input.StartAfter = ctx.root + cursor;
      const out = await this.#listObjects(prefix, input);
      for (const item of out.Contents ?? []) {
        const name = item.Key;
        if (name === undefined || !name.startsWith(ctx.root)) continue;
        const key = name.slice(ctx.root.length);
        if (!isValidKey(key)) continue;
        objects.push({
          key,
          size: item.Size ?? 0,
          modifiedMs: item.LastModified?.getTime() ?? 0,
        });
      }
      truncated = out.IsTruncated === true;
      token = out.NextContinuationToken;
      if (truncated && token === undefined) {
        throw new Error(
          `Cannot list '${prefix}' in ${this.description}: the server said the listing is ` +
            `truncated but gave no continuation token`,
        );
      }
    } while (truncated && objects.length < pageSize);
    if (objects.length > pageSize) {
      objects.length = pageSize;
      return { objects, cursor: objects[pageSize - 1]!.key };
    }
    if (truncated && objects.length > 0) return { objects, cursor: objects.at(-1)!.key };
    return { objects };
  }

  /** One ListObjectsV2 request; its error names the listed prefix. */
  /**
   * See Storage.listChildren: ListObjectsV2 with a "/" delimiter (a page per 1000 names), then
   * {@link namesHoldingKeys}.
   */
  async listChildren(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    checkChildPrefix(prefix);
    this.#assertOpen();
    const ctx = this.#ctx;
    const from = ctx.root + prefix;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const input: ListObjectsV2CommandInput = { Bucket: ctx.bucket, Prefix: from, Delimiter: "/" };
      if (token !== undefined) input.ContinuationToken = token;
      const out = await this.#listObjects(prefix, input);
      for (const p of out.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(from.length, -1);
        // Foreign objects may be named outside the key grammar; listKeys leaves them out too.
        if (name !== undefined && isKeySegment(name)) names.push(name);
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Sorted by name: S3 orders "a-b/" before "a/" ('-' < '/'). Names are ASCII, so sort()
    // is byte order.
    return await namesHoldingKeys(this, prefix, names.sort());
  }

  async #listObjects(
    prefix: string,
    input: ListObjectsV2CommandInput,
  ): Promise<Awaited<ReturnType<S3Operations["listObjectsV2"]>>> {
    try {
      return await this.#ctx.ops.listObjectsV2(input);
    } catch (e) {
      throw new Error(
        `Cannot list '${prefix}' in ${this.description}: ${describeS3Error(e)}`,
        { cause: e },
      );
    }
  }

  /**
   * Makes later calls fail and releases the client's connections (a client passed in the
   * options is left alone). Writers already open should be committed or aborted first.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#ctx.ops.destroy();
    }
    return Promise.resolve();
  }
}

/** A read failure, naming the key and its object. */
function readError(key: string, where: string, e: unknown): Error {
  return new Error(`Cannot read '${key}' (${where}): ${describeS3Error(e)}`, { cause: e });
}

/** Passes the stream through, naming the key in any error it raises. */
function nameStreamErrors(
  stream: ReadableStream<Uint8Array>,
  key: string,
  where: string,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        controller.error(readError(key, where, e));
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
