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
 * **Retries.** Every request is retried by the SDK with exponential backoff and jitter (see
 * {@link BackoffRetryStrategy}) on 5xx answers (not 501), throttling (503 SlowDown, 429),
 * timeouts and network errors. Reads that fail while streaming the body are retried by `read()`;
 * a stream from `openReader()` reports the error to its reader instead.
 *
 * Credentials come from the options or from the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), never from `~/.aws` files.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  type AbortMultipartUploadCommandInput,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandInput,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadBucketCommand,
  type HeadBucketCommandInput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  type UploadPartCommandInput,
} from "@aws-sdk/client-s3";
import {
  type CommitResult,
  type KeyPage,
  type ListOptions,
  NotFoundError,
  type Storage,
  type StorageWriter,
  validateKey,
  validatePrefix,
} from "./storage.ts";

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
/** Attempts per request (the first one included), by default. */
export const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_PAGE_SIZE = 1000;
/** ListObjectsV2 returns at most this many keys per request. */
const S3_MAX_KEYS = 1000;

/** How the commit keeps from replacing an existing object; see the module documentation. */
export type ConditionalWrites = "auto" | "required" | "check";

/** Whether request payloads carry CRC32 checksums. */
export type ChecksumMode = "when-supported" | "when-required";

/** Static credentials. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Backoff of retried requests: the delay before retry n (from 0) is drawn from [cap/2, cap],
 * cap = min(maxDelayMs, baseDelayMs * 2^n).
 */
export interface BackoffOptions {
  /** Delay base in ms, default 100. Throttling answers use 5 times this base. */
  baseDelayMs?: number;
  /** Largest delay in ms, default 5000. A server's Retry-After is honoured up to this. */
  maxDelayMs?: number;
}

/** Settings of the S3 client (shared by {@link S3Storage} and {@link createS3Client}). */
export interface S3ClientOptions {
  /**
   * Endpoint URL of an S3-compatible server, e.g. "http://127.0.0.1:18333". Default: env
   * `AWS_ENDPOINT` (or `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`); without one, AWS S3.
   */
  endpoint?: string;
  /** Default: env `AWS_REGION` (or `AWS_DEFAULT_REGION`), else "us-east-1". */
  region?: string;
  /** Default: env `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. */
  credentials?: S3Credentials;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Attempts per request including the first, default 5. */
  maxAttempts?: number;
  /** Backoff between attempts. */
  backoff?: BackoffOptions;
  /** Time to establish a connection, ms, default 5000. */
  connectTimeoutMs?: number;
  /** Time from sending a request until the response headers arrive, ms, default 120000. */
  requestTimeoutMs?: number;
  /** Time a socket may sit idle mid-request or mid-response, ms, default 60000. */
  idleTimeoutMs?: number;
  /**
   * "when-supported" (default): PutObject and UploadPart carry a CRC32 the server verifies, and
   * responses that carry one are verified. "when-required": only where S3 demands it, for
   * servers that reject checksum headers.
   */
  checksums?: ChecksumMode;
}

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

/** The body of a GetObject answer (the SDK's stream mixin, reduced to what is used). */
export interface S3Body {
  transformToWebStream(): ReadableStream<Uint8Array>;
  transformToByteArray(): Promise<Uint8Array>;
}

/**
 * The S3 requests the storage makes, with the SDK's inputs and the parts of the outputs it
 * reads. {@link sdkOperations} implements them on an S3Client; unit tests pass a fake.
 */
export interface S3Operations {
  headBucket(input: HeadBucketCommandInput): Promise<unknown>;
  putObject(input: PutObjectCommandInput): Promise<{ ETag?: string | undefined }>;
  createMultipartUpload(
    input: CreateMultipartUploadCommandInput,
  ): Promise<{ UploadId?: string | undefined }>;
  uploadPart(
    input: UploadPartCommandInput,
  ): Promise<{ ETag?: string | undefined; ChecksumCRC32?: string | undefined }>;
  completeMultipartUpload(
    input: CompleteMultipartUploadCommandInput,
  ): Promise<{ ETag?: string | undefined }>;
  abortMultipartUpload(input: AbortMultipartUploadCommandInput): Promise<unknown>;
  headObject(
    input: HeadObjectCommandInput,
  ): Promise<{ ContentLength?: number | undefined; ETag?: string | undefined }>;
  getObject(input: GetObjectCommandInput): Promise<{ Body?: S3Body | undefined }>;
  listObjectsV2(input: ListObjectsV2CommandInput): Promise<{
    Contents?: { Key?: string | undefined }[] | undefined;
    IsTruncated?: boolean | undefined;
    NextContinuationToken?: string | undefined;
  }>;
  deleteObject(input: DeleteObjectCommandInput): Promise<unknown>;
  /** Releases connections. */
  destroy(): void;
}

/** The SDK's retry strategy interface (v2), as S3ClientConfig declares it. */
type RetryStrategyV2 = Extract<
  NonNullable<S3ClientConfig["retryStrategy"]>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2["acquireInitialRetryToken"]>>;
/** What the SDK says about a failed attempt. */
export type RetryErrorInfo = Parameters<RetryStrategyV2["refreshRetryTokenForRetry"]>[1];

/** The delay before retry number `retry` (0 = the first retry): within [cap/2, cap]. */
export function backoffDelay(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/**
 * The SDK retry strategy used by {@link createS3Client}: up to `maxAttempts` attempts per
 * request with {@link backoffDelay}; retries throttling, transient errors (timeouts, resets,
 * refused connections, 500/502/503/504) and other 5xx answers except 501 Not Implemented.
 */
export class BackoffRetryStrategy implements RetryStrategyV2 {
  readonly #maxAttempts: number;
  readonly #base: number;
  readonly #max: number;
  readonly #random: () => number;

  /** `random` is for tests. */
  constructor(
    maxAttempts: number,
    backoff: BackoffOptions = {},
    random: () => number = Math.random,
  ) {
    this.#maxAttempts = maxAttempts;
    this.#base = backoff.baseDelayMs ?? 100;
    this.#max = backoff.maxDelayMs ?? 5000;
    this.#random = random;
  }

  /** A token for a first attempt. */
  acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return Promise.resolve(retryToken(0, 0));
  }

  /** A token for the next attempt, or a rejection when the error is final. */
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = token.getRetryCount();
    if (retries + 1 >= this.#maxAttempts || !isRetryable(info)) {
      return Promise.reject(new Error("not retried")); // the SDK rethrows the request's error
    }
    const base = info.errorType === "THROTTLING" ? this.#base * 5 : this.#base;
    let delay = backoffDelay(retries, base, this.#max, this.#random);
    if (info.retryAfterHint instanceof Date) {
      const hinted = info.retryAfterHint.getTime() - Date.now();
      delay = Math.max(delay, Math.min(hinted, this.#max));
    }
    return Promise.resolve(retryToken(retries + 1, delay));
  }

  /** Nothing to record: no retry budget is kept. */
  recordSuccess(_token: RetryToken): void {}
}

function retryToken(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

function isRetryable(info: RetryErrorInfo): boolean {
  if (info.errorType === "THROTTLING" || info.errorType === "TRANSIENT") return true;
  return info.errorType === "SERVER_ERROR" && httpStatus(info.error) !== 501;
}

/** Client settings with the environment's defaults filled in. */
export interface ResolvedS3ClientOptions {
  endpoint: string | undefined;
  region: string;
  credentials: S3Credentials | undefined;
  forcePathStyle: boolean;
}

function env(name: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : v;
}

/** Fills endpoint, region, credentials and path style from the environment where not given. */
export function resolveS3ClientOptions(options: S3ClientOptions = {}): ResolvedS3ClientOptions {
  const endpoint = options.endpoint ?? env("AWS_ENDPOINT") ?? env("AWS_ENDPOINT_URL_S3") ??
    env("AWS_ENDPOINT_URL");
  const region = options.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  let credentials = options.credentials;
  if (credentials === undefined) {
    const accessKeyId = env("AWS_ACCESS_KEY_ID");
    const secretAccessKey = env("AWS_SECRET_ACCESS_KEY");
    const sessionToken = env("AWS_SESSION_TOKEN");
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      credentials = sessionToken === undefined
        ? { accessKeyId, secretAccessKey }
        : { accessKeyId, secretAccessKey, sessionToken };
    }
  }
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new TypeError(`Invalid S3 endpoint '${endpoint}': not a URL (e.g. http://host:9000)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Invalid S3 endpoint '${endpoint}': use http:// or https://`);
    }
  }
  return {
    endpoint,
    region,
    credentials,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
  };
}

/**
 * An S3Client configured as S3Storage configures its own: explicit region and credentials (no
 * shared config files), {@link BackoffRetryStrategy}, timeouts, no `Expect: 100-continue`.
 * Throws when no credentials are given or in the environment.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const resolved = resolveS3ClientOptions(options);
  if (resolved.credentials === undefined) {
    throw new Error(
      `No S3 credentials for ${resolved.endpoint ?? "AWS S3"}: set AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY (shared config files such as ~/.aws/credentials are not read)`,
    );
  }
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`S3 maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const checksums = options.checksums ?? "when-supported";
  const calc = checksums === "when-supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  const config: S3ClientConfig = {
    region: resolved.region,
    credentials: resolved.credentials,
    forcePathStyle: resolved.forcePathStyle,
    maxAttempts,
    retryStrategy: new BackoffRetryStrategy(maxAttempts, options.backoff),
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      throwOnRequestTimeout: true,
      socketTimeout: options.idleTimeoutMs ?? 60_000,
    },
    // With 100-continue the SDK opens a fresh connection for every large body; the round trip
    // it saves (a refused request does not send its body) does not happen in normal operation.
    expectContinueHeader: false,
    requestChecksumCalculation: calc,
    responseChecksumValidation: calc,
    // Settled here so that the SDK does not look for them in ~/.aws/config.
    defaultsMode: "standard",
    retryMode: "standard",
    useDualstackEndpoint: false,
    useFipsEndpoint: false,
    useArnRegion: false,
    disableS3ExpressSessionAuth: true,
    userAgentAppId: "evochora",
  };
  if (resolved.endpoint !== undefined) config.endpoint = resolved.endpoint;
  return new S3Client(config);
}

/** {@link S3Operations} on an S3Client. `destroy()` destroys the client. */
export function sdkOperations(client: S3Client, destroy = true): S3Operations {
  return {
    headBucket: (input) => client.send(new HeadBucketCommand(input)),
    putObject: (input) => client.send(new PutObjectCommand(input)),
    createMultipartUpload: (input) => client.send(new CreateMultipartUploadCommand(input)),
    uploadPart: (input) => client.send(new UploadPartCommand(input)),
    completeMultipartUpload: (input) => client.send(new CompleteMultipartUploadCommand(input)),
    abortMultipartUpload: (input) => client.send(new AbortMultipartUploadCommand(input)),
    headObject: (input) => client.send(new HeadObjectCommand(input)),
    getObject: async (input) => {
      const out = await client.send(new GetObjectCommand(input));
      const body = out.Body;
      if (body === undefined) return {};
      return {
        Body: {
          transformToWebStream: () => body.transformToWebStream() as ReadableStream<Uint8Array>,
          transformToByteArray: () => body.transformToByteArray(),
        },
      };
    },
    listObjectsV2: (input) => client.send(new ListObjectsV2Command(input)),
    deleteObject: (input) => client.send(new DeleteObjectCommand(input)),
    destroy: () => {
      if (destroy) client.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The HTTP status of an SDK error, if it has one. */
export function httpStatus(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return undefined;
  const meta = e.$metadata;
  if (typeof meta !== "object" || meta === null || !("httpStatusCode" in meta)) return undefined;
  return typeof meta.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

/** How many attempts the SDK made before it gave up with `e` (1 when unknown). */
function attemptsOf(e: unknown): number {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return 1;
  const meta = e.$metadata;
  if (typeof meta !== "object" || meta === null || !("attempts" in meta)) return 1;
  return typeof meta.attempts === "number" ? meta.attempts : 1;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "";
}

function errorCode(e: unknown): string {
  if (typeof e !== "object" || e === null || !("code" in e)) return "";
  return typeof e.code === "string" ? e.code : "";
}

/** A readable one-line account of an SDK or network error. */
export function describeS3Error(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const status = httpStatus(e);
  const code = errorCode(e);
  let message = e.message;
  // HEAD answers have no body, so the SDK's name and message say nothing ("Unknown",
  // "UnknownError", or the status code).
  const vague = (s: string) =>
    s === "" || s === "Unknown" || s === "UnknownError" || s === String(status);
  if (vague(message) || message === e.name) message = "";
  const name = status !== undefined && vague(e.name) ? STATUS_TEXT[status] ?? "" : e.name;
  const head = status !== undefined
    ? `HTTP ${status}${name === "" ? "" : " " + name}`
    : code !== "" && !e.message.includes(code)
    ? `${e.name} ${code}`
    : e.name === "Error"
    ? ""
    : e.name;
  return [head, message].filter((s) => s !== "").join(": ") || "unknown error";
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  412: "Precondition Failed",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  return httpStatus(e) === 404 || name === "NotFound" || name === "NoSuchKey";
}

function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || errorName(e) === "PreconditionFailed";
}

function isConditionalConflict(e: unknown): boolean {
  return httpStatus(e) === 409 || errorName(e) === "ConditionalRequestConflict";
}

function isNoSuchUpload(e: unknown): boolean {
  return errorName(e) === "NoSuchUpload" || httpStatus(e) === 404;
}

/** A server that does not implement conditional writes may refuse the header outright. */
function isUnsupported(e: unknown): boolean {
  const status = httpStatus(e);
  const name = errorName(e);
  return status === 501 || name === "NotImplemented" ||
    (status === 400 && (name === "InvalidArgument" || name === "InvalidRequest"));
}

const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/** Errors worth another attempt when they happen outside the SDK's retries (body streaming). */
function isTransient(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== undefined) return status >= 500 && status !== 501 || status === 429;
  const name = errorName(e);
  return name === "TimeoutError" || TRANSIENT_CODES.has(errorCode(e)) ||
    (e instanceof Error && /aborted|socket hang up|premature close/i.test(e.message));
}

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

/** `conditionalWrites: "required"` on a server that ignores or refuses `If-None-Match: *`. */
export class ConditionalWritesUnsupportedError extends Error {
  /** Always "ConditionalWritesUnsupportedError". */
  override readonly name = "ConditionalWritesUnsupportedError";
}

// ---------------------------------------------------------------------------------------------
// The storage

/** Which requests honour `If-None-Match: *`. */
export interface ConditionalWriteSupport {
  putObject: boolean;
  completeMultipartUpload: boolean;
}

/** Probe results per endpoint and bucket, for the process (SDK-backed storages only). */
const probes = new Map<string, Promise<ConditionalWriteSupport>>();

function randomHex(bytes = 8): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

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

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Shared by the storage and its writers. */
class Context {
  readonly ops: S3Operations;
  readonly bucket: string;
  readonly root: string;
  readonly endpointLabel: string;
  readonly partSize: number;
  readonly partConcurrency: number;
  readonly checksums: ChecksumMode;
  readonly conditionalWrites: ConditionalWrites;
  readonly maxAttempts: number;
  readonly backoff: Required<BackoffOptions>;
  readonly probeKey: string | undefined;
  #probe: Promise<ConditionalWriteSupport> | undefined;

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
    this.conditionalWrites = options.conditionalWrites ?? "auto";
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.backoff = {
      baseDelayMs: options.backoff?.baseDelayMs ?? 100,
      maxDelayMs: options.backoff?.maxDelayMs ?? 5000,
    };
    this.probeKey = probeKey;
  }

  /** "s3://bucket/objectKey", for messages. */
  where(key: string): string {
    return `s3://${this.bucket}/${this.root}${key}`;
  }

  object(key: string): string {
    return this.root + key;
  }

  sleep(retry: number): Promise<void> {
    const ms = backoffDelay(retry, this.backoff.baseDelayMs, this.backoff.maxDelayMs);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Size and ETag of an object, or null when absent. */
  async head(key: string): Promise<{ size: number; etag: string | undefined } | null> {
    try {
      const out = await this.ops.headObject({ Bucket: this.bucket, Key: this.object(key) });
      return { size: out.ContentLength ?? 0, etag: out.ETag };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Which commits can rely on `If-None-Match: *`. */
  conditional(): Promise<ConditionalWriteSupport> {
    if (this.conditionalWrites === "check") {
      return Promise.resolve({ putObject: false, completeMultipartUpload: false });
    }
    if (this.#probe === undefined) {
      const cached = this.probeKey === undefined ? undefined : probes.get(this.probeKey);
      const probe = cached ?? this.#runProbe();
      this.#probe = probe;
      if (this.probeKey !== undefined && cached === undefined) probes.set(this.probeKey, probe);
      // A failed probe (server down) is tried again by the next commit.
      probe.catch(() => {
        if (this.#probe === probe) this.#probe = undefined;
        if (this.probeKey !== undefined && probes.get(this.probeKey) === probe) {
          probes.delete(this.probeKey);
        }
      });
    }
    const probe = this.#probe;
    if (this.conditionalWrites !== "required") return probe;
    return probe.then((support) => {
      const ignored = [
        support.putObject ? "" : "PutObject",
        support.completeMultipartUpload ? "" : "CompleteMultipartUpload",
      ].filter((s) => s !== "");
      if (ignored.length > 0) {
        throw new ConditionalWritesUnsupportedError(
          `S3 server at ${this.endpointLabel} (bucket '${this.bucket}') does not honour ` +
            `'If-None-Match: *' on ${ignored.join(" and ")}, and conditionalWrites is ` +
            `"required": use "auto" or "check" (a HeadObject check before each commit)`,
        );
      }
      return support;
    });
  }

  /**
   * Writes a probe object (its name has a `~`, which no key may contain, so listings never show
   * it), writes it again with `If-None-Match: *` by PutObject and by a one-part multipart
   * upload, and sees which of the two the server refuses. Deletes the probe object after.
   */
  async #runProbe(): Promise<ConditionalWriteSupport> {
    const key = `${this.root}evochora-probe~${randomHex()}`;
    const bucket = this.bucket;
    const body = new TextEncoder().encode("evochora conditional-write probe");
    const label = `conditional-write probe 's3://${bucket}/${key}' at ${this.endpointLabel}`;
    try {
      try {
        await this.ops.putObject({ Bucket: bucket, Key: key, Body: body });
      } catch (e) {
        throw new Error(`Cannot write the ${label}: ${describeS3Error(e)}`, { cause: e });
      }
      let putObject: boolean;
      try {
        await this.ops.putObject({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: "*" });
        putObject = false; // replaced: the header was ignored
      } catch (e) {
        if (isPreconditionFailed(e)) putObject = true;
        else if (isUnsupported(e)) putObject = false;
        else throw new Error(`The ${label} failed: ${describeS3Error(e)}`, { cause: e });
      }
      let completeMultipartUpload = false;
      const uploadId = await this.createUpload(key);
      let pending = true;
      try {
        const part = await this.uploadPart(key, uploadId, 1, body);
        try {
          await this.ops.completeMultipartUpload({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: [part] },
            IfNoneMatch: "*",
          });
          pending = false;
        } catch (e) {
          if (isPreconditionFailed(e)) completeMultipartUpload = true;
          else if (!isUnsupported(e)) {
            throw new Error(`The ${label} failed: ${describeS3Error(e)}`, { cause: e });
          }
        }
      } finally {
        if (pending) {
          await this.ops.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId: uploadId })
            .catch(() => {});
        }
      }
      return { putObject, completeMultipartUpload };
    } finally {
      await this.ops.deleteObject({ Bucket: bucket, Key: key }).catch(() => {
        // Without delete permission the probe object stays; listings skip it.
      });
    }
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

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async size(key: string): Promise<number | null> {
    validateKey(key);
    this.#assertOpen();
    try {
      return (await this.#ctx.head(key))?.size ?? null;
    } catch (e) {
      throw readError(key, this.#ctx.where(key), e);
    }
  }

  /**
   * ListObjectsV2 pages of up to 1000 keys until `pageSize` valid keys and one more are found
   * (the extra one tells whether a next page exists; past 1000 keys S3's own truncation flag
   * tells it, so a next page may then come back empty if only invalid names remain).
   */
  async listKeys(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    validatePrefix(prefix);
    this.#assertOpen();
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
    const ctx = this.#ctx;
    const keys: string[] = [];
    let token: string | undefined;
    let truncated = false;
    do {
      const input: ListObjectsV2CommandInput = {
        Bucket: ctx.bucket,
        Prefix: ctx.root + prefix,
        MaxKeys: Math.min(S3_MAX_KEYS, pageSize + 1 - keys.length),
      };
      if (token !== undefined) input.ContinuationToken = token;
      else if (cursor !== undefined) input.StartAfter = ctx.root + cursor;
      let out: Awaited<ReturnType<S3Operations["listObjectsV2"]>>;
      try {
        out = await ctx.ops.listObjectsV2(input);
      } catch (e) {
        throw new Error(
          `Cannot list '${prefix}' in ${this.description}: ${describeS3Error(e)}`,
          { cause: e },
        );
      }
      for (const item of out.Contents ?? []) {
        const name = item.Key;
        if (name === undefined || !name.startsWith(ctx.root)) continue;
        const key = name.slice(ctx.root.length);
        if (isValidKey(key)) keys.push(key);
      }
      truncated = out.IsTruncated === true;
      token = out.NextContinuationToken;
      if (truncated && token === undefined) {
        throw new Error(
          `Cannot list '${prefix}' in ${this.description}: the server said the listing is ` +
            `truncated but gave no continuation token`,
        );
      }
    } while (truncated && keys.length < pageSize);
    if (keys.length > pageSize) {
      keys.length = pageSize;
      return { keys, cursor: keys[pageSize - 1]! };
    }
    if (truncated && keys.length > 0) return { keys, cursor: keys[keys.length - 1]! };
    return { keys };
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

function bucketProblem(bucket: string, e: unknown): string {
  const status = httpStatus(e);
  const name = errorName(e);
  const code = errorCode(e);
  const what = describeS3Error(e);
  if (status === 404 || name === "NoSuchBucket") {
    return `the bucket does not exist (${what}); create it (e.g. \`aws s3 mb s3://${bucket}\`) ` +
      `or name an existing one`;
  }
  if (status === 403 || status === 401) {
    return `access denied (${what}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that ` +
      `they may use this bucket`;
  }
  if (status === 400 && /Signature|InvalidAccessKeyId|AuthorizationHeader/i.test(name)) {
    return `the credentials were refused (${what}); check AWS_ACCESS_KEY_ID / ` +
      `AWS_SECRET_ACCESS_KEY`;
  }
  if (status === 301 || name === "PermanentRedirect") {
    return `the bucket is in another region (${what}); set AWS_REGION to the bucket's region`;
  }
  if (status === undefined) {
    const network = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]
      .includes(code) || name === "TimeoutError";
    if (network) {
      return `the endpoint cannot be reached (${what}); is the S3 server running and ` +
        `AWS_ENDPOINT right? (for local tests: \`deno task services:up\`)`;
    }
  }
  return `HeadBucket failed (${what})`;
}

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

// ---------------------------------------------------------------------------------------------
// The writer

type WriterState = "open" | "committing" | "committed" | "aborted" | "failed";

function md5(bytes: Uint8Array): Uint8Array {
  return createHash("md5").update(bytes).digest();
}

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

/** Buffers parts; a multipart upload once the first part is full; publishes at commit. */
class S3Writer implements StorageWriter {
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
