/**
 * The writer of `S3Storage`: it buffers up to `partSize` bytes; an object that stays smaller is
 * sent with one PutObject at commit, a larger one becomes a multipart upload
 * (CreateMultipartUpload when the first part is full, UploadPart per part with a little
 * concurrency, CompleteMultipartUpload at commit). Nothing is visible before the commit, and
 * every failure, and abort(), aborts the multipart upload. Also S3's part limits and the ETag
 * of a multipart object ({@link multipartEtag}).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { CompletedPart } from "@aws-sdk/client-s3";
import type { Context } from "./_s3_context.ts";
import {
  attemptsOf,
  describeS3Error,
  isConditionalConflict,
  isNoSuchUpload,
  isPreconditionFailed,
} from "./_s3_errors.ts";
import { ConditionalWritesUnsupportedError } from "./s3_conditional_writes.ts";
import { MAX_PARTS } from "./s3_storage_options.ts";
import type { CommitResult, StorageWriter } from "./storage.ts";

export {
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
} from "./s3_storage_options.ts";

type WriterState = "open" | "committing" | "committed" | "aborted" | "failed";

/** MD5 is what S3 ETags are made of; used only to check an object is ours, not for security. */
function md5(bytes: Uint8Array): Uint8Array {
  return createHash("md5").update(bytes).digest();
}

/** An ETag as bare lowercase hex: servers differ in quoting and in marking it weak (`W/`). */
function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase();
}

/** The ETag S3 gives a multipart object: md5 of the parts' md5s, "-", the part count. */
export function multipartEtag(partEtags: string[]): string | undefined {
  const digests: number[] = [];
  for (const etag of partEtags) {
    const hex = unquote(etag);
    if (hex === undefined || !/^[0-9a-f]{32}$/.test(hex)) return undefined;
    for (let i = 0; i < 32; i += 2) digests.push(parseInt(hex.slice(i, i + 2), 16));
  }
  const hex = Array.from(md5(new Uint8Array(digests)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `${hex}-${partEtags.length}`;
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Buffers parts; a multipart upload once the first part is full; publishes at commit. Made by
 * `S3Storage.openWriter`.
 */
export class S3Writer implements StorageWriter {
  /** The key being written. */
  readonly key: string;
  readonly #ctx: Context;
  readonly #objectKey: string;
  #buffer: Uint8Array = new Uint8Array(0);
  #fill = 0;
  #bytes = 0;
  #state: WriterState = "open";
  /** Writes run one after another even if a caller does not await each one. */
  #queue: Promise<void> = Promise.resolve();
  #uploadId: string | undefined;
  #partCount = 0;
  readonly #parts: CompletedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** The first failure of a part uploaded in the background. */
  #partFailure: Error | undefined;
  /** Why the writer is "failed". */
  #failure: Error | undefined;
  /** The upload was aborted (or completed): nothing is left to clean up. */
  #settled = false;
  #aborting: Promise<void> | undefined;

  /** Does no I/O; `key` is valid already. */
  constructor(key: string, ctx: Context) {
    this.key = key;
    this.#ctx = ctx;
    this.#objectKey = ctx.object(key);
  }

  #assertState(action: string): void {
    if (this.#state === "open") return;
    const why = {
      committing: "it is being committed",
      committed: "it is already committed",
      aborted: "it was aborted",
      failed: "an earlier write or commit failed (abort it)",
    }[this.#state];
    const cause = this.#state === "failed" ? this.#failure : undefined;
    throw new Error(
      `Cannot ${action} '${this.key}': ${why}${cause === undefined ? "" : `: ${cause.message}`}`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Marks the writer failed, remembering the first error. */
  #fail(e: Error): Error {
    this.#state = "failed";
    this.#failure ??= e;
    return e;
  }

  #error(action: string, e: unknown): Error {
    if (e instanceof Error && e.message.startsWith(`Cannot ${action} '${this.key}'`)) return e;
    if (e instanceof ConditionalWritesUnsupportedError) return e;
    const upload = this.#uploadId === undefined ? "" : `, upload ${this.#uploadId}`;
    return new Error(
      `Cannot ${action} '${this.key}' (${this.#ctx.where(this.key)}${upload}): ` +
        describeS3Error(e),
      { cause: e },
    );
  }

  /** Appends bytes; a full part is uploaded before the returned promise settles. */
  write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`write('${this.key}') expects a Uint8Array`));
    }
    try {
      this.#assertState("write to");
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.#queue.then(() => this.#write(bytes));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#state === "aborted" || this.#state === "failed") this.#assertState("write to");
    try {
      if (this.#partFailure !== undefined) throw this.#partFailure;
      const partSize = this.#ctx.partSize;
      let rest = bytes;
      while (rest.length > 0) {
        this.#reserve(Math.min(partSize, this.#fill + rest.length));
        const n = Math.min(rest.length, partSize - this.#fill);
        this.#buffer.set(rest.subarray(0, n), this.#fill);
        this.#fill += n;
        rest = rest.subarray(n);
        if (this.#fill === partSize) await this.#sendPart();
      }
      this.#bytes += bytes.length;
    } catch (e) {
      const error = this.#fail(this.#error("write to", e));
      await this.#abortUpload().catch(() => {});
      throw error;
    }
  }

  /** Grows the buffer to hold `need` bytes, doubling, up to the part size. */
  #reserve(need: number): void {
    if (need <= this.#buffer.length) return;
    const size = Math.min(this.#ctx.partSize, Math.max(need, 64 * 1024, this.#buffer.length * 2));
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#fill));
    this.#buffer = grown;
  }

  /** Hands the buffer to an UploadPart (starting the upload first), waiting for a free slot. */
  async #sendPart(): Promise<void> {
    const body = this.#buffer.subarray(0, this.#fill);
    this.#buffer = new Uint8Array(0);
    this.#fill = 0;
    const ctx = this.#ctx;
    this.#uploadId ??= await ctx.createUpload(this.#objectKey);
    while (this.#inFlight.size >= ctx.partConcurrency) await Promise.race(this.#inFlight);
    if (this.#partFailure !== undefined) throw this.#partFailure;
    const partNumber = ++this.#partCount;
    if (partNumber > MAX_PARTS) {
      throw new RangeError(
        `the object needs more than ${MAX_PARTS} parts of ${ctx.partSize} bytes; raise partSize`,
      );
    }
    const uploadId = this.#uploadId;
    const sent: Promise<void> = ctx.uploadPart(this.#objectKey, uploadId, partNumber, body).then(
      (part) => {
        this.#parts[partNumber - 1] = part;
      },
      (e) => {
        this.#partFailure ??= this.#error("write to", e);
        if (this.#state === "open") {
          this.#fail(this.#partFailure);
          // Nobody may come back to this writer: clean up now.
          void this.#abortUpload().catch(() => {});
        }
      },
    ).finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** AbortMultipartUpload once all parts settled; repeated calls share the work. */
  #abortUpload(): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#aborting ??= (async () => {
      await this.#drain();
      const uploadId = this.#uploadId;
      if (uploadId === undefined) {
        this.#settled = true;
        return;
      }
      const ctx = this.#ctx;
      try {
        await ctx.ops.abortMultipartUpload({
          Bucket: ctx.bucket,
          Key: this.#objectKey,
          UploadId: uploadId,
        });
      } catch (e) {
        if (!isNoSuchUpload(e)) throw e;
      }
      this.#settled = true;
    })().finally(() => {
      this.#aborting = undefined;
    });
    return this.#aborting;
  }

  /** Publishes the object unless the key exists (`created: false`); see `./s3_storage.ts`. */
  async commit(): Promise<CommitResult> {
    this.#assertState("commit");
    this.#state = "committing";
    await this.#queue;
    if (this.#state !== "committing") this.#assertState("commit"); // a queued write failed
    try {
      if (this.#partFailure !== undefined) throw this.#partFailure;
      let created: boolean;
      if (this.#uploadId === undefined) {
        created = await this.#putObject(this.#buffer.subarray(0, this.#fill));
      } else {
        if (this.#fill > 0) await this.#sendPart();
        await this.#drain();
        if (this.#partFailure !== undefined) throw this.#partFailure;
        created = await this.#complete();
      }
      this.#state = "committed";
      this.#settled = true;
      this.#buffer = new Uint8Array(0);
      return { created, bytes: this.#bytes };
    } catch (e) {
      const error = this.#fail(this.#error("commit", e));
      this.#buffer = new Uint8Array(0);
      await this.#abortUpload().catch(() => {});
      throw error;
    }
  }

  /** One PutObject; false when the key exists. */
  async #putObject(body: Uint8Array): Promise<boolean> {
    const ctx = this.#ctx;
    const conditional = (await ctx.conditional()).putObject;
    if (!conditional && (await ctx.head(this.key)) !== null) return false;
    for (let conflicts = 0;; conflicts++) {
      try {
        await ctx.ops.putObject({
          Bucket: ctx.bucket,
          Key: this.#objectKey,
          Body: body,
          ContentLength: body.length,
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        });
        return true;
      } catch (e) {
        if (conditional && isPreconditionFailed(e)) {
          // After a retry the 412 may answer our own first attempt, whose answer was lost: the
          // object is ours if it holds exactly these bytes.
          if (attemptsOf(e) > 1) return await this.#holds(hexOf(md5(body)));
          return false;
        }
        if (conditional && isConditionalConflict(e) && conflicts + 1 < ctx.maxAttempts) {
          await ctx.sleep(conflicts);
          continue;
        }
        throw e;
      }
    }
  }

  /** CompleteMultipartUpload; false (upload aborted) when the key exists. */
  async #complete(): Promise<boolean> {
    const ctx = this.#ctx;
    const uploadId = this.#uploadId!;
    const conditional = (await ctx.conditional()).completeMultipartUpload;
    if (!conditional && (await ctx.head(this.key)) !== null) {
      await this.#abortUpload();
      return false;
    }
    const parts = this.#parts.slice(0, this.#partCount);
    for (let conflicts = 0;; conflicts++) {
      try {
        await ctx.ops.completeMultipartUpload({
          Bucket: ctx.bucket,
          Key: this.#objectKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        });
        this.#settled = true;
        return true;
      } catch (e) {
        const expected = () => multipartEtag(parts.map((p) => p.ETag ?? ""));
        if (conditional && isPreconditionFailed(e)) {
          if (attemptsOf(e) > 1 && await this.#holds(expected())) {
            this.#settled = true;
            return true;
          }
          await this.#abortUpload();
          return false;
        }
        // A retry after an attempt that succeeded but lost its answer finds the upload gone.
        if (isNoSuchUpload(e) && attemptsOf(e) > 1 && await this.#holds(expected())) {
          this.#settled = true;
          return true;
        }
        if (conditional && isConditionalConflict(e) && conflicts + 1 < ctx.maxAttempts) {
          await ctx.sleep(conflicts);
          continue;
        }
        throw e;
      }
    }
  }

  /** True when the object exists with this ETag. */
  async #holds(etag: string | undefined): Promise<boolean> {
    if (etag === undefined) return false;
    const head = await this.#ctx.head(this.key);
    return head !== null && unquote(head.etag) === etag;
  }

  /** Discards what was written and aborts the multipart upload, if any. */
  async abort(): Promise<void> {
    if (this.#state === "committed") return;
    if (this.#state === "committing") {
      throw new Error(`Cannot abort '${this.key}': a commit is in progress`);
    }
    this.#state = "aborted";
    await this.#queue;
    this.#buffer = new Uint8Array(0);
    this.#fill = 0;
    try {
      await this.#abortUpload();
    } catch (e) {
      throw new Error(
        `Cannot abort the upload of '${this.key}' (${this.#ctx.where(this.key)}, upload ` +
          `${this.#uploadId}): ${describeS3Error(e)}; abort() again, or let a lifecycle rule ` +
          `(AbortIncompleteMultipartUpload) remove it`,
        { cause: e },
      );
    }
  }
}
