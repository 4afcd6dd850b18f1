/**
 * What an S3 SDK or network error means: its HTTP status and attempt count, which answer it is
 * (not found, precondition failed, …), a readable one-line account, and why a bucket cannot be
 * used. Private to `resources/storage`.
 *
 * The SDK's errors are plain objects with optional `$metadata` and `code`, so every accessor
 * narrows from `unknown` instead of trusting a type.
 *
 * @module
 */

/** The HTTP status of an SDK error, if it has one. */
export function httpStatus(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return undefined;
  const meta = e.$metadata;
  if (typeof meta !== "object" || meta === null || !("httpStatusCode" in meta)) return undefined;
  return typeof meta.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

/** How many attempts the SDK made before it gave up with `e` (1 when unknown). */
export function attemptsOf(e: unknown): number {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return 1;
  const meta = e.$metadata;
  if (typeof meta !== "object" || meta === null || !("attempts" in meta)) return 1;
  return typeof meta.attempts === "number" ? meta.attempts : 1;
}

/** The error's name ("" for a non-Error). */
export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "";
}

/** A Node-style error code such as "ECONNRESET", or "". */
export function errorCode(e: unknown): string {
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

/** The object (or bucket) does not exist. */
export function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  return httpStatus(e) === 404 || name === "NotFound" || name === "NoSuchKey";
}

/** `If-None-Match: *` refused the write: the key exists. */
export function isPreconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || errorName(e) === "PreconditionFailed";
}

/** A concurrent conditional write to the same key is in progress; worth another attempt. */
export function isConditionalConflict(e: unknown): boolean {
  return httpStatus(e) === 409 || errorName(e) === "ConditionalRequestConflict";
}

/** The multipart upload is gone (aborted, or completed by an earlier attempt). */
export function isNoSuchUpload(e: unknown): boolean {
  return errorName(e) === "NoSuchUpload" || httpStatus(e) === 404;
}

/** A server that does not implement conditional writes may refuse the header outright. */
export function isUnsupported(e: unknown): boolean {
  const status = httpStatus(e);
  const name = errorName(e);
  return status === 501 || name === "NotImplemented" ||
    (status === 400 && (name === "InvalidArgument" || name === "InvalidRequest"));
}

/** Node error codes of a server that cannot be reached at all. */
const UNREACHABLE_CODES = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"];

/** Why HeadBucket on `bucket` failed with `e`, and what to do about it. */
export function bucketProblem(bucket: string, e: unknown): string {
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
    const network = UNREACHABLE_CODES.includes(code) || name === "TimeoutError";
    if (network) {
      return `the endpoint cannot be reached (${what}); is the S3 server running and ` +
        `AWS_ENDPOINT right? (for local tests: \`deno task services:up\`)`;
    }
  }
  return `HeadBucket failed (${what})`;
}
