/**
 * Whether a bucket honours `If-None-Match: *` (S3 conditional writes), which the commit relies on
 * to keep from replacing an existing object. Servers that ignore the header would replace the
 * object silently, so {@link probeConditionalWrites} tries it out once per endpoint and bucket
 * and {@link ConditionalWriteProbe} remembers the answer for the process; see `./s3_storage.ts`
 * for what the commit does with it.
 *
 * @module
 */

import type { CompletedPart } from "@aws-sdk/client-s3";
import { describeS3Error, isPreconditionFailed, isUnsupported } from "./_s3_errors.ts";
import type { S3Operations } from "./s3_operations.ts";

/** How the commit keeps from replacing an existing object; see `./s3_storage.ts`. */
export type ConditionalWrites = "auto" | "required" | "check";

/** Which requests honour `If-None-Match: *`. */
export interface ConditionalWriteSupport {
  /** PutObject refuses to replace an existing object. */
  putObject: boolean;
  /** CompleteMultipartUpload refuses to replace an existing object. */
  completeMultipartUpload: boolean;
}

/** `conditionalWrites: "required"` on a server that ignores or refuses `If-None-Match: *`. */
export class ConditionalWritesUnsupportedError extends Error {
  /** Always "ConditionalWritesUnsupportedError". */
  override readonly name = "ConditionalWritesUnsupportedError";
}

/** What the probe needs of a storage: its requests and where it keeps its objects. */
export interface ProbeTarget {
  /** The S3 requests. */
  readonly ops: S3Operations;
  /** The bucket. */
  readonly bucket: string;
  /** The storage's key prefix ("" or ending with "/"); the probe object goes below it. */
  readonly root: string;
  /** The endpoint, for messages. */
  readonly endpointLabel: string;
  /** CreateMultipartUpload for an object key (already prefixed); returns the upload id. */
  createUpload(objectKey: string): Promise<string>;
  /** UploadPart; returns the part as CompleteMultipartUpload wants it. */
  uploadPart(
    objectKey: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<CompletedPart>;
}

/** Probe results per endpoint and bucket, for the process (SDK-backed storages only). */
const probes = new Map<string, Promise<ConditionalWriteSupport>>();

/** One storage's view of conditional-write support under its `conditionalWrites` mode. */
export class ConditionalWriteProbe {
  readonly #target: ProbeTarget;
  readonly #mode: ConditionalWrites;
  readonly #cacheKey: string | undefined;
  #probe: Promise<ConditionalWriteSupport> | undefined;

  /**
   * `cacheKey` names the endpoint and bucket so that storages on the same bucket share one
   * probe; without one (fake operations in tests) the probe is this object's own.
   */
  constructor(target: ProbeTarget, mode: ConditionalWrites, cacheKey: string | undefined) {
    this.#target = target;
    this.#mode = mode;
    this.#cacheKey = cacheKey;
  }

  /**
   * Which commits can rely on `If-None-Match: *`: none for "check", else the probe's answer,
   * which for "required" must be both (or this throws {@link ConditionalWritesUnsupportedError}).
   */
  support(): Promise<ConditionalWriteSupport> {
    if (this.#mode === "check") {
      return Promise.resolve({ putObject: false, completeMultipartUpload: false });
    }
    const probe = this.#probe ?? this.#startProbe();
    if (this.#mode !== "required") return probe;
    return probe.then((support) => this.#required(support));
  }

  /** The process's probe of the bucket, started if there is none. */
  #startProbe(): Promise<ConditionalWriteSupport> {
    const key = this.#cacheKey;
    const cached = key === undefined ? undefined : probes.get(key);
    const probe = cached ?? probeConditionalWrites(this.#target);
    this.#probe = probe;
    if (key !== undefined && cached === undefined) probes.set(key, probe);
    // A failed probe (server down) is tried again by the next commit.
    probe.catch(() => {
      if (this.#probe === probe) this.#probe = undefined;
      if (key !== undefined && probes.get(key) === probe) probes.delete(key);
    });
    return probe;
  }

  /** `support` when both requests honour the header; else the "required" mode's error. */
  #required(support: ConditionalWriteSupport): ConditionalWriteSupport {
    const ignored = [
      support.putObject ? "" : "PutObject",
      support.completeMultipartUpload ? "" : "CompleteMultipartUpload",
    ].filter((s) => s !== "");
    if (ignored.length > 0) {
      const { endpointLabel, bucket } = this.#target;
      throw new ConditionalWritesUnsupportedError(
        `S3 server at ${endpointLabel} (bucket '${bucket}') does not honour ` +
          `'If-None-Match: *' on ${ignored.join(" and ")}, and conditionalWrites is ` +
          `"required": use "auto" or "check" (a HeadObject check before each commit)`,
      );
    }
    return support;
  }
}

function randomHex(bytes = 8): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The probe object: its key, its bytes, and its name in messages. */
interface ProbeObject {
  key: string;
  body: Uint8Array;
  label: string;
}

/**
 * Writes a probe object (its name has a `~`, which no key may contain, so listings never show
 * it), writes it again with `If-None-Match: *` by PutObject and by a one-part multipart
 * upload, and sees which of the two the server refuses. Deletes the probe object after.
 */
export async function probeConditionalWrites(
  target: ProbeTarget,
): Promise<ConditionalWriteSupport> {
  const key = `${target.root}evochora-probe~${randomHex()}`;
  const { ops, bucket } = target;
  const probe: ProbeObject = {
    key,
    body: new TextEncoder().encode("evochora conditional-write probe"),
    label: `conditional-write probe 's3://${bucket}/${key}' at ${target.endpointLabel}`,
  };
  try {
    try {
      await ops.putObject({ Bucket: bucket, Key: key, Body: probe.body });
    } catch (e) {
      throw new Error(`Cannot write the ${probe.label}: ${describeS3Error(e)}`, { cause: e });
    }
    const putObject = await probePutObject(target, probe);
    const completeMultipartUpload = await probeCompleteMultipartUpload(target, probe);
    return { putObject, completeMultipartUpload };
  } finally {
    await ops.deleteObject({ Bucket: bucket, Key: key }).catch(() => {
      // Without delete permission the probe object stays; listings skip it.
    });
  }
}

/** Whether a conditional PutObject over the existing probe object is refused. */
async function probePutObject(target: ProbeTarget, probe: ProbeObject): Promise<boolean> {
  const { key, body, label } = probe;
  try {
    await target.ops.putObject({ Bucket: target.bucket, Key: key, Body: body, IfNoneMatch: "*" });
    return false; // replaced: the header was ignored
  } catch (e) {
    if (isPreconditionFailed(e)) return true;
    if (isUnsupported(e)) return false;
    throw new Error(`The ${label} failed: ${describeS3Error(e)}`, { cause: e });
  }
}

/**
 * Whether a conditional CompleteMultipartUpload over the existing probe object is refused.
 * The upload is aborted unless it completed, so none is left pending.
 */
async function probeCompleteMultipartUpload(
  target: ProbeTarget,
  probe: ProbeObject,
): Promise<boolean> {
  const { ops, bucket } = target;
  const { key, body, label } = probe;
  let refused = false;
  const uploadId = await target.createUpload(key);
  let pending = true;
  try {
    const part = await target.uploadPart(key, uploadId, 1, body);
    try {
      await ops.completeMultipartUpload({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [part] },
        IfNoneMatch: "*",
      });
      pending = false;
    } catch (e) {
      if (isPreconditionFailed(e)) refused = true;
      else if (!isUnsupported(e)) {
        throw new Error(`The ${label} failed: ${describeS3Error(e)}`, { cause: e });
      }
    }
  } finally {
    if (pending) {
      await ops.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId: uploadId })
        .catch(() => {});
    }
  }
  return refused;
}
