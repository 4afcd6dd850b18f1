/**
 * An in-memory S3 behind the {@link S3Operations} interface, for unit tests of S3Storage's
 * adapter logic (test code, not exported from mod.ts). It keeps objects and pending multipart
 * uploads, lists in byte order with StartAfter / MaxKeys / continuation tokens, optionally
 * honours `If-None-Match: *`, logs every call, and lets a test inject failures and delays.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type {
  AbortMultipartUploadCommandInput,
  CompleteMultipartUploadCommandInput,
  CreateMultipartUploadCommandInput,
  DeleteObjectCommandInput,
  GetObjectCommandInput,
  HeadBucketCommandInput,
  HeadObjectCommandInput,
  ListMultipartUploadsCommandInput,
  ListObjectsV2CommandInput,
  PutObjectCommandInput,
  UploadPartCommandInput,
} from "@aws-sdk/client-s3";
import type { S3Body, S3Operations } from "./s3_operations.ts";
import { multipartEtag } from "./s3_writer.ts";

/** An error shaped like the SDK's service exceptions. */
export function s3Error(name: string, status: number | undefined, attempts = 1): Error {
  const e = new Error(`${name} (fake S3)`);
  e.name = name;
  return Object.assign(e, {
    $metadata: status === undefined ? { attempts } : { httpStatusCode: status, attempts },
  });
}

/** A network error shaped like Node's. */
export function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

/** One logged call. */
export interface FakeCall {
  op: keyof S3Operations;
  input: unknown;
}

/** What the fake does with `If-None-Match: *`. */
export type FakeConditional = "honour" | "ignore" | "reject";

/** Options of {@link FakeS3}. */
export interface FakeS3Options {
  /** On PutObject, default "honour". */
  put?: FakeConditional;
  /** On CompleteMultipartUpload, default "honour". */
  complete?: FakeConditional;
  /** Body chunk size of getObject streams, default 64 KiB. */
  chunk?: number;
}

function md5hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) return body.slice();
  if (typeof body === "string") return new TextEncoder().encode(body);
  throw new TypeError(`fake S3 takes Uint8Array or string bodies, got ${typeof body}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface StoredObject {
  bytes: Uint8Array;
  etag: string;
  /** When it was stored (the fake's clock); tests that plant objects may leave it out. */
  modified?: Date;
}

interface Upload {
  key: string;
  parts: Map<number, StoredObject>;
  initiated: Date;
}

/** The in-memory S3. */
export class FakeS3 implements S3Operations {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<string, Upload>();
  readonly calls: FakeCall[] = [];
  /** Return an error to fail the call (before it takes effect), or undefined. */
  fail: ((op: keyof S3Operations, input: unknown) => Error | undefined) | undefined;
  /** Awaited before each call takes effect. */
  delay: ((op: keyof S3Operations, input: unknown) => Promise<void>) | undefined;
  /** UploadPart calls running now, and the most at once. */
  partsInFlight = 0;
  maxPartsInFlight = 0;
  destroyed = false;
  /** The fake's clock (LastModified, Initiated); tests may move it. */
  now: () => Date = () => new Date();
  readonly #options: Required<FakeS3Options>;
  #nextUpload = 1;

  constructor(options: FakeS3Options = {}) {
    this.#options = {
      put: options.put ?? "honour",
      complete: options.complete ?? "honour",
      chunk: options.chunk ?? 64 * 1024,
    };
  }

  /** Calls of one operation, in order. */
  callsOf(op: keyof S3Operations): unknown[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.input);
  }

  async #enter(op: keyof S3Operations, input: unknown): Promise<void> {
    this.calls.push({ op, input });
    if (this.delay !== undefined) await this.delay(op, input);
    const e = this.fail?.(op, input);
    if (e !== undefined) throw e;
  }

  #conditional(mode: FakeConditional, ifNoneMatch: string | undefined, key: string): void {
    if (ifNoneMatch === undefined) return;
    if (mode === "reject") throw s3Error("NotImplemented", 501);
    if (mode === "honour" && this.objects.has(key)) throw s3Error("PreconditionFailed", 412);
  }

  async headBucket(input: HeadBucketCommandInput): Promise<unknown> {
    await this.#enter("headBucket", input);
    return {};
  }

  async putObject(input: PutObjectCommandInput): Promise<{ ETag?: string }> {
    await this.#enter("putObject", input);
    const key = input.Key!;
    this.#conditional(this.#options.put, input.IfNoneMatch, key);
    const bytes = bodyBytes(input.Body);
    const etag = `"${md5hex(bytes)}"`;
    this.objects.set(key, { bytes, etag, modified: this.now() });
    return { ETag: etag };
  }

  async createMultipartUpload(
    input: CreateMultipartUploadCommandInput,
  ): Promise<{ UploadId?: string }> {
    await this.#enter("createMultipartUpload", input);
    const id = `upload-${this.#nextUpload++}`;
    this.uploads.set(id, { key: input.Key!, parts: new Map(), initiated: this.now() });
    return { UploadId: id };
  }

  async uploadPart(input: UploadPartCommandInput): Promise<{ ETag?: string }> {
    this.partsInFlight++;
    this.maxPartsInFlight = Math.max(this.maxPartsInFlight, this.partsInFlight);
    try {
      await this.#enter("uploadPart", input);
      const upload = this.uploads.get(input.UploadId!);
      if (upload === undefined || upload.key !== input.Key) throw s3Error("NoSuchUpload", 404);
      const bytes = bodyBytes(input.Body);
      const etag = `"${md5hex(bytes)}"`;
      upload.parts.set(input.PartNumber!, { bytes, etag, modified: this.now() });
      return { ETag: etag };
    } finally {
      this.partsInFlight--;
    }
  }

  async completeMultipartUpload(
    input: CompleteMultipartUploadCommandInput,
  ): Promise<{ ETag?: string }> {
    await this.#enter("completeMultipartUpload", input);
    const upload = this.uploads.get(input.UploadId!);
    if (upload === undefined || upload.key !== input.Key) throw s3Error("NoSuchUpload", 404);
    this.#conditional(this.#options.complete, input.IfNoneMatch, upload.key);
    const parts = input.MultipartUpload?.Parts ?? [];
    const chunks: Uint8Array[] = [];
    parts.forEach((p, i) => {
      const stored = upload.parts.get(p.PartNumber!);
      if (stored === undefined || stored.etag !== p.ETag) throw s3Error("InvalidPart", 400);
      if (i < parts.length - 1 && stored.bytes.length < 5 * 1024 * 1024) {
        throw s3Error("EntityTooSmall", 400);
      }
      if (i > 0 && p.PartNumber! <= parts[i - 1]!.PartNumber!) {
        throw s3Error("InvalidPartOrder", 400);
      }
      chunks.push(stored.bytes);
    });
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const etag = `"${multipartEtag(parts.map((p) => p.ETag!))}"`;
    this.objects.set(upload.key, { bytes, etag, modified: this.now() });
    this.uploads.delete(input.UploadId!);
    return { ETag: etag };
  }

  async abortMultipartUpload(input: AbortMultipartUploadCommandInput): Promise<unknown> {
    await this.#enter("abortMultipartUpload", input);
    if (!this.uploads.delete(input.UploadId!)) throw s3Error("NoSuchUpload", 404);
    return {};
  }

  async headObject(
    input: HeadObjectCommandInput,
  ): Promise<{ ContentLength?: number; ETag?: string; LastModified?: Date }> {
    await this.#enter("headObject", input);
    const o = this.objects.get(input.Key!);
    if (o === undefined) throw s3Error("NotFound", 404);
    return {
      ContentLength: o.bytes.length,
      ETag: o.etag,
      LastModified: o.modified ?? new Date(0),
    };
  }

  async getObject(input: GetObjectCommandInput): Promise<{ Body?: S3Body }> {
    await this.#enter("getObject", input);
    const o = this.objects.get(input.Key!);
    if (o === undefined) throw s3Error("NoSuchKey", 404);
    const bytes = o.bytes;
    const chunk = this.#options.chunk;
    return {
      Body: {
        transformToWebStream: () => {
          let at = 0;
          return new ReadableStream<Uint8Array>({
            pull(c) {
              if (at >= bytes.length) return c.close();
              c.enqueue(bytes.slice(at, at + chunk));
              at += chunk;
            },
          });
        },
        transformToByteArray: () => Promise.resolve(bytes.slice()),
      },
    };
  }

  async listObjectsV2(input: ListObjectsV2CommandInput): Promise<{
    Contents?: { Key?: string; Size?: number; LastModified?: Date }[];
    CommonPrefixes?: { Prefix?: string }[];
    IsTruncated?: boolean;
    NextContinuationToken?: string;
  }> {
    await this.#enter("listObjectsV2", input);
    const prefix = input.Prefix ?? "";
    const after = input.ContinuationToken ?? input.StartAfter ?? "";
    const max = Math.min(input.MaxKeys ?? 1000, 1000);
    const delimiter = input.Delimiter;
    // Entries in key order: keys, and with a delimiter the common prefixes in their place.
    const entries: { key: string; common: boolean }[] = [];
    for (const k of [...this.objects.keys()].sort(compare)) {
      if (
        !k.startsWith(prefix) || k <= after ||
        (delimiter && after.endsWith(delimiter) && k.startsWith(after))
      ) continue;
      const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (cut < 0) entries.push({ key: k, common: false });
      else if (entries.at(-1)?.key !== k.slice(0, cut + 1)) {
        entries.push({ key: k.slice(0, cut + 1), common: true });
      }
    }
    const page = entries.slice(0, max);
    const truncated = entries.length > max;
    return {
      Contents: page.filter((e) => !e.common).map(({ key: Key }) => {
        const o = this.objects.get(Key)!;
        return { Key, Size: o.bytes.length, LastModified: o.modified ?? new Date(0) };
      }),
      CommonPrefixes: page.filter((e) => e.common).map((e) => ({ Prefix: e.key })),
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: page[page.length - 1]!.key } : {}),
    };
  }

  async deleteObject(input: DeleteObjectCommandInput): Promise<unknown> {
    await this.#enter("deleteObject", input);
    this.objects.delete(input.Key!);
    return {};
  }

  async listMultipartUploads(input: ListMultipartUploadsCommandInput): Promise<{
    Uploads?: { Key?: string; UploadId?: string; Initiated?: Date }[];
    IsTruncated?: boolean;
    NextKeyMarker?: string;
    NextUploadIdMarker?: string;
  }> {
    await this.#enter("listMultipartUploads", input);
    const prefix = input.Prefix ?? "";
    const max = Math.min(input.MaxUploads ?? 1000, 1000);
    const marker = `${input.KeyMarker ?? ""}\u0000${input.UploadIdMarker ?? ""}`;
    const all = [...this.uploads.entries()]
      .map(([UploadId, u]) => ({ Key: u.key, UploadId, Initiated: u.initiated }))
      .filter((u) => u.Key.startsWith(prefix) && `${u.Key}\u0000${u.UploadId}` > marker)
      .sort((a, b) => compare(`${a.Key}\u0000${a.UploadId}`, `${b.Key}\u0000${b.UploadId}`));
    const page = all.slice(0, max);
    const truncated = all.length > max;
    const last = page.at(-1);
    return {
      Uploads: page,
      IsTruncated: truncated,
      ...(truncated && last !== undefined
        ? { NextKeyMarker: last.Key, NextUploadIdMarker: last.UploadId }
        : {}),
    };
  }

  destroy(): void {
    this.destroyed = true;
  }
}
