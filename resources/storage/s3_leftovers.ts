/**
 * Pending multipart uploads: a writer killed between CreateMultipartUpload and its commit or
 * abort leaves one behind, invisible to listings and reads but billed for its parts. The sweep
 * lists them under a prefix (ListMultipartUploads, paged by key and upload id markers) and
 * aborts those begun longer ago than the sweep's age. A server without ListMultipartUploads
 * answers 501: nothing is swept there, and the bucket's lifecycle rule
 * `AbortIncompleteMultipartUpload` remains the backstop.
 *
 * @module
 */

import type { Context } from "./_s3_context.ts";
import { describeS3Error, httpStatus, isNotFound } from "./_s3_errors.ts";
import { isKeySegment, type Leftover } from "./storage.ts";

/** Uploads per ListMultipartUploads request (S3's maximum). */
const PAGE = 1000;

/** Whether `key` (below the storage's prefix) is made of valid key segments. */
function isStorageKey(key: string): boolean {
  return key.length > 0 && key.split("/").every(isKeySegment);
}

/**
 * Aborts the uploads under `prefix` begun more than `olderThanMs` before `now` (epoch ms), and
 * returns them. `description` names the storage in errors.
 */
export async function abortStaleUploads(
  ctx: Context,
  prefix: string,
  olderThanMs: number,
  now: number,
  description: string,
): Promise<Leftover[]> {
  const out: Leftover[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page: Awaited<ReturnType<Context["ops"]["listMultipartUploads"]>>;
    try {
      page = await ctx.ops.listMultipartUploads({
        Bucket: ctx.bucket,
        Prefix: ctx.root + prefix,
        MaxUploads: PAGE,
        ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
        ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
      });
    } catch (e) {
      if (httpStatus(e) === 501) return out; // not listable here: the lifecycle rule is the backstop
      throw new Error(
        `Cannot list pending uploads under '${prefix}' in ${description}: ${describeS3Error(e)}`,
        { cause: e },
      );
    }
    for (const u of page.Uploads ?? []) {
      const left = await abortIfStale(ctx, u, olderThanMs, now);
      if (left !== null) out.push(left);
    }
    if (page.IsTruncated !== true || page.NextKeyMarker === undefined) return out;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Aborts one listed upload when it is old enough and below the storage's prefix. */
async function abortIfStale(
  ctx: Context,
  u: { Key?: string | undefined; UploadId?: string | undefined; Initiated?: Date | undefined },
  olderThanMs: number,
  now: number,
): Promise<Leftover | null> {
  if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(ctx.root)) return null;
  const key = u.Key.slice(ctx.root.length);
  if (!isStorageKey(key)) return null; // not one of ours (e.g. the conditional-write probe)
  const ageMs = now - (u.Initiated?.getTime() ?? now);
  if (ageMs <= olderThanMs) return null;
  try {
    await ctx.ops.abortMultipartUpload({ Bucket: ctx.bucket, Key: u.Key, UploadId: u.UploadId });
  } catch (e) {
    if (isNotFound(e)) return null; // completed or aborted meanwhile
    throw new Error(`Cannot abort the pending upload of '${key}': ${describeS3Error(e)}`, {
      cause: e,
    });
  }
  return { key, kind: "multipart upload", bytes: null, ageMs };
}
